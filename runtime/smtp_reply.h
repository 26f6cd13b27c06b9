// smtp_reply.h: the SMTP client's reader of server replies and of the EHLO
// feature list.
//
// The outbound smtp delivery agent (smtp_client.h) feeds every byte a remote
// server sends through SmtpReplyReader and gets whole replies back: the
// three-digit code, the enhanced status code (RFC 3463) of the last line or
// one derived from the reply code, and the text of all lines joined with
// '\n', the form Postfix 3.7's smtp(8) logs ("host x[ip] said: <text>").
//
// Trust: parses untrusted network input. Memory is bounded: a line longer
// than line_limit is cut there and its remainder dropped, and lines stop
// being added to the text once it holds line_limit bytes (Postfix's
// line_length_limit, 2048), so one reply never holds more than about twice
// that. Bytes outside printable ASCII become '?', so the text is safe to log.
// Lines that do not start with three digits and a space or '-' are treated
// as continuation lines (Postfix ignores such garbage the same way).
//
// Not done here: timeouts and socket reads (the caller's), deciding what a
// reply means for a recipient (smtp_client.cc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace posthaste::runtime {

struct SmtpReply {
  // The reply code of the last line, or 0 when that line did not start with
  // three digits.
  int code = 0;
  // Enhanced status code: the last line's when it is valid and its class
  // matches the reply code's first digit (2, 4 or 5), else "2.0.0", "4.0.0"
  // or "5.0.0" from the reply code; "5.5.0" for other replies (1xx, 3xx,
  // garbage), as Postfix does.
  std::string dsn = "5.5.0";
  // All lines (codes included), joined with '\n'; see the header comment
  // for the limits and the '?' censoring.
  std::string text;
  // True when a line was cut at line_limit.
  bool truncated = false;
  // True when some line of the reply was not a well-formed reply line.
  bool had_garbage = false;

  // The text with '\n' turned into ' ', as Postfix logs it.
  std::string OneLine() const;
};

// Incremental reader: Append() bytes as they arrive, then Next() until it
// returns nullopt. Thread-compatible (one reader per connection).
class SmtpReplyReader {
 public:
  static constexpr size_t kDefaultLineLimit = 2048;
  explicit SmtpReplyReader(size_t line_limit = kDefaultLineLimit);

  void Append(std::string_view bytes);
  // The next complete reply, if the buffered bytes hold one.
  std::optional<SmtpReply> Next();
  // Bytes received but not yet part of a returned reply (never more than
  // about line_limit plus what the last Append() brought).
  size_t buffered() const { return buffer_.size() - pos_; }
  // Drops everything buffered and any partial reply.
  void Reset();

 private:
  // Takes one line (without CR LF) out of the buffer, or returns false.
  bool TakeLine(std::string* line);
  // Adds one line to the reply under construction; true when it ends it.
  bool AddLine(std::string_view line);

  size_t line_limit_;
  std::string buffer_;
  size_t pos_ = 0;
  bool skipping_ = false;  // dropping the remainder of an over-long line
  bool line_was_cut_ = false;
  SmtpReply partial_;
};

// The length of a valid enhanced status code at the start of `text`
// ("5.1.1" followed by white space or the end), or 0. Class 2, 4 or 5,
// subject and detail of one to three digits without leading zeros.
size_t EnhancedStatusLength(std::string_view text);

// What a server announced in its EHLO reply.
struct EhloFeatures {
  std::string server_name;  // the first word after the code on the first line
  bool pipelining = false;
  bool size = false;
  uint64_t size_limit = 0;  // 0 = none announced (or not a number)
  bool bad_size_limit = false;
  bool eight_bit_mime = false;
  bool starttls = false;
  bool dsn = false;
  bool smtputf8 = false;
  bool auth = false;
};

// Parses an EHLO reply's text (SmtpReply::text). `discard` names keywords
// to ignore (smtp_discard_ehlo_keywords: "pipelining", "size", "8bitmime",
// "dsn", "starttls", "smtputf8", "auth"; case-insensitive).
EhloFeatures ParseEhloFeatures(std::string_view reply_text,
                               std::string_view discard = std::string_view());

}  // namespace posthaste::runtime
