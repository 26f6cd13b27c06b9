// smtp_command_fuzz.cc: fuzz target for the SMTP command parser and the DATA
// reader, the two parsers that see raw client input.
//
// The input is one command line for ParseSmtpCommand (both envelope modes)
// and, at the same time, a DATA stream for DataReader fed in pieces whose
// sizes and the line length limit come from the input's first bytes.
// Checked: replies are well-formed SMTP reply lines, a parsed command never
// carries a reply, pieces never exceed the limit, the reader never claims to
// consume more than it was given, and feeding in pieces gives the same result
// as feeding everything at once.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/data_reader.h"
#include "runtime/smtp_command.h"

namespace {

using posthaste::runtime::DataReader;
using posthaste::runtime::DataReaderOptions;
using posthaste::runtime::ParsedSmtpCommand;
using posthaste::runtime::ParseSmtpCommand;
using posthaste::runtime::SmtpCommandOptions;

void Check(bool ok) {
  if (!ok) std::abort();
}

void CheckCommand(std::string_view line, bool strict) {
  SmtpCommandOptions options;
  options.strict_rfc821_envelopes = strict;
  ParsedSmtpCommand p = ParseSmtpCommand(line, options);
  if (p.ok()) return;
  // "DDD text": three digits, a space, printable ASCII, no line breaks.
  Check(p.reply.size() > 4);
  Check(p.reply[0] >= '2' && p.reply[0] <= '5');
  for (int i = 1; i < 3; ++i) Check(p.reply[i] >= '0' && p.reply[i] <= '9');
  Check(p.reply[3] == ' ');
  for (char c : p.reply) Check(c != '\r' && c != '\n');
}

struct Run {
  std::vector<std::string> pieces;
  size_t consumed = 0;
  bool done = false;
  bool exceeded = false;
};

Run ReadData(std::string_view data, size_t limit, uint64_t size_limit, size_t step) {
  DataReaderOptions options;
  options.line_length_limit = limit;
  options.message_size_limit = size_limit;
  DataReader reader(options);
  Run run;
  auto sink = [&](std::string_view piece, bool continued) {
    Check(piece.size() <= limit);
    run.pieces.push_back(std::string(piece) + (continued ? "+" : "$"));
  };
  size_t at = 0;
  while (at < data.size() && !reader.done()) {
    std::string_view chunk = data.substr(at, step);
    size_t n = reader.Feed(chunk, sink);
    Check(n <= chunk.size());
    Check(reader.done() || n == chunk.size());
    run.consumed += n;
    at += chunk.size();
  }
  run.done = reader.done();
  run.exceeded = reader.size_exceeded();
  return run;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  CheckCommand(input, false);
  CheckCommand(input, true);
  posthaste::runtime::ExtractEnvelopeAddress(input, false);

  if (size < 3) return 0;
  size_t limit = 1 + static_cast<uint8_t>(input[0]) % 64;
  size_t step = 1 + static_cast<uint8_t>(input[1]) % 17;
  uint64_t size_limit = static_cast<uint8_t>(input[2]) % 4 == 0 ? 0 : 64 + input[2];
  std::string_view body = input.substr(3);
  Run whole = ReadData(body, limit, size_limit, body.size() + 1);
  Run split = ReadData(body, limit, size_limit, step);
  Check(whole.done == split.done);
  Check(whole.exceeded == split.exceeded);
  if (whole.done) {
    Check(whole.consumed == split.consumed);
    Check(whole.pieces == split.pieces);
  }
  return 0;
}
