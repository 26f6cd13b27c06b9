// smtp_reply_fuzz.cc: fuzz target for the smtp client's reply reader, EHLO
// parser and DATA encoder, the code that sees what remote servers send and
// what goes out as message content.
//
// Input: byte 0 picks the line limit (16..4111), byte 1 the size of the
// pieces the rest is fed in; the rest is the server's byte stream, and also
// a message content for the DATA encoder. Checked: replies have a code of
// 0 or three digits, a well-formed enhanced status code of the right class,
// printable text within the limits; the reader's buffer stays bounded;
// feeding in pieces gives the same replies as feeding everything at once;
// the encoded DATA never contains a line that is a lone "." and uses CR LF
// line ends only.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/smtp_client.h"
#include "runtime/smtp_reply.h"

namespace {

using posthaste::runtime::EhloFeatures;
using posthaste::runtime::EncodeSmtpData;
using posthaste::runtime::EnhancedStatusLength;
using posthaste::runtime::ParseEhloFeatures;
using posthaste::runtime::SmtpReply;
using posthaste::runtime::SmtpReplyReader;

void Check(bool ok) {
  if (!ok) std::abort();
}

void CheckReply(const SmtpReply& r, size_t limit) {
  Check(r.code >= 0 && r.code <= 999);
  if (r.code / 100 == 2 || r.code / 100 == 4 || r.code / 100 == 5) {
    Check(EnhancedStatusLength(r.dsn) == r.dsn.size());
    Check(r.dsn[0] == static_cast<char>('0' + r.code / 100));
  } else {
    Check(r.dsn == "5.5.0");
  }
  Check(r.text.size() <= 2 * limit + 1);
  for (char c : r.text) Check(c == '\n' || (c >= 0x20 && c <= 0x7e));
  for (char c : r.OneLine()) Check(c != '\n');
  EhloFeatures f = ParseEhloFeatures(r.text, "pipelining size");
  Check(!f.pipelining);
  Check(!f.size);
}

std::vector<SmtpReply> ReadAll(std::string_view data, size_t limit, size_t step) {
  SmtpReplyReader reader(limit);
  std::vector<SmtpReply> replies;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t n = std::min(step, data.size() - pos);
    reader.Append(data.substr(pos, n));
    pos += n;
    while (std::optional<SmtpReply> r = reader.Next()) replies.push_back(std::move(*r));
    Check(reader.buffered() <= limit);
  }
  return replies;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  size_t limit = 16 + (static_cast<size_t>(data[0]) << 4);
  size_t step = 1 + data[1];
  std::string_view stream(reinterpret_cast<const char*>(data) + 2, size - 2);

  std::vector<SmtpReply> pieces = ReadAll(stream, limit, step);
  std::vector<SmtpReply> whole = ReadAll(stream, limit, stream.size() + 1);
  Check(pieces.size() == whole.size());
  for (size_t i = 0; i < pieces.size(); ++i) {
    CheckReply(pieces[i], limit);
    Check(pieces[i].code == whole[i].code);
    Check(pieces[i].dsn == whole[i].dsn);
    Check(pieces[i].text == whole[i].text);
  }
  (void)ParseEhloFeatures(stream, stream);

  bool folded = false;
  std::string out = EncodeSmtpData(stream, limit % 1000, &folded);
  if (!out.empty()) Check(out.size() >= 2 && out.substr(out.size() - 2) == "\r\n");
  Check(out.rfind(".\r\n", 0) != 0);
  Check(out.find("\r\n.\r\n") == std::string::npos);
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == '\n') Check(i > 0 && out[i - 1] == '\r');
  }
  return 0;
}
