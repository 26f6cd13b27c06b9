// data_reader.h: the SMTP DATA phase reader (content up to the "." line).
//
// Sits between the SMTP session and the queue writer. Input: the raw bytes
// the client sends after "354", in chunks of any size and split anywhere.
// Output: the message content as pieces of lines, handed to a sink as soon as
// they are complete, the way Postfix's cleanup sees them: dot-unstuffed, line
// terminators removed, lines longer than line_length_limit cut into pieces of
// at most that many bytes (the last piece of a line has continued = false).
//
// SECURITY: reads untrusted network input. Memory is bounded by
// line_length_limit whatever the client sends; after message_size_limit is
// exceeded the reader keeps looking for the end of the data but discards the
// content, so the session stays in step and can answer 552 5.3.4.
//
// Line ends, as Postfix 3.7 smtpd reads them (smtpd_forbid_bare_newline=no):
// CRLF and bare LF both end a line; carriage returns directly before the LF
// are part of the terminator; any other CR is content. A line that is exactly
// "." (after the terminator is removed) ends the data, also with a bare LF.
// The counted size is Postfix smtpd's: the unstuffed content plus two bytes
// per record (a line, or each line_length_limit piece of a longer line);
// message_size_limit applies to it and "timeout after DATA (N bytes)" shows it.
//
// Not done here: header parsing, header/body checks, 8-bit checks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"

namespace posthaste::runtime {

struct DataReaderOptions {
  // line_length_limit (default 2048): longest piece handed to the sink.
  size_t line_length_limit = 2048;
  // message_size_limit (default 10240000); 0 means no limit.
  uint64_t message_size_limit = 10240000;
};

class DataReader {
 public:
  // Receives one piece; `continued` is true when the same line goes on in
  // the next piece. The view is valid only during the call.
  using Sink = absl::FunctionRef<void(std::string_view piece, bool continued)>;

  explicit DataReader(const DataReaderOptions& options);

  // Consumes bytes up to and including the terminating "." line and returns
  // how many it consumed; anything after that (a pipelined next command)
  // belongs to the session. Returns 0 once done().
  size_t Feed(std::string_view bytes, Sink sink);

  // The terminating "." line has been seen.
  bool done() const { return done_; }
  // The content exceeded message_size_limit; pieces after that point were
  // not passed to the sink. The session answers SizeExceededReply().
  bool size_exceeded() const { return size_exceeded_; }
  static constexpr std::string_view SizeExceededReply() {
    return "552 5.3.4 Error: message file too big";
  }
  // Content bytes counted so far (one LF per line).
  uint64_t message_size() const { return size_; }
  // Lines that ended in a bare LF (for smtpd_forbid_bare_newline and logs).
  uint64_t bare_lf_lines() const { return bare_lf_lines_; }

  // Forgets everything and starts a new message.
  void Reset();

 private:
  void AddContent(std::string_view bytes, Sink sink);
  void AddPendingCrs(Sink sink);
  void EndLine(bool bare_lf, Sink sink);
  void Emit(std::string_view piece, bool continued, Sink sink);

  DataReaderOptions options_;
  std::string piece_;         // current piece, at most line_length_limit bytes
  bool line_start_ = true;    // no byte of the current line seen yet
  bool first_piece_ = true;   // the current piece is the line's first
  bool dot_removed_ = false;  // a leading dot was removed from this line
  uint64_t pending_crs_ = 0;  // CRs not yet known to be content or terminator
  uint64_t size_ = 0;
  uint64_t bare_lf_lines_ = 0;
  bool done_ = false;
  bool size_exceeded_ = false;
};

}  // namespace posthaste::runtime
