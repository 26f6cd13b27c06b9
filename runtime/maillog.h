// maillog.h: Postfix-shaped log lines.
//
// Every component logs through one Maillog so that the lines look like a
// Postfix syslog and tools written for Postfix logs (pflogsumm, grep habits)
// work unchanged:
//
//   Nov 24 10:15:02 mx posthaste/smtpd[4242]: connect from host[1.2.3.4]
//
// The prefix is "<syslog_name>/<program>[pid]: "; the destination is stderr
// (foreground) or the file maillog_file names, opened in append mode. Lines
// are written with one write() each, so concurrent threads never interleave
// inside a line. Tests can capture lines with a sink.
//
// Thread safety: all methods are thread-safe.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace posthaste::runtime {

// A log line's time stamp in the local time zone, as Postfix 3.7 writes
// maillog_file lines: "Nov 05 09:03:07" (the day zero-padded).
std::string MaillogTimestamp(int64_t unix_seconds);

class Maillog {
 public:
  using Sink = std::function<void(std::string_view line)>;

  // Logs to stderr as "posthaste".
  Maillog();
  ~Maillog();

  // syslog_name (the part before "/program").
  void SetName(std::string name);
  // maillog_file; "" or "-" is stderr. Reopening is how log rotation works.
  absl::Status OpenFile(const std::string& path);
  // Every line also (or only, with `only`) goes to `sink` (tests).
  void SetSink(Sink sink, bool only = false);
  // The host name written after the timestamp.
  void SetHostName(std::string host);
  // Reads the process ID again (after daemon() forked).
  void RefreshPid();

  // One line from `program` ("smtpd", "cleanup", "qmgr", "smtp", ...).
  void Info(std::string_view program, std::string_view text);
  // "warning: text"
  void Warning(std::string_view program, std::string_view text);
  // "fatal: text" (logging only; the caller decides what to do)
  void Fatal(std::string_view program, std::string_view text);

  // Lines collected by a caller and written later in one write(): an SMTP
  // session gathers the lines of one exchange and writes them before its
  // reply goes out, so a client that has the reply can already read them.
  class Batch {
   public:
    explicit Batch(Maillog& log) : log_(log) {}
    ~Batch() { Flush(); }
    Batch(const Batch&) = delete;
    Batch& operator=(const Batch&) = delete;
    void Info(std::string_view program, std::string_view text) { log_.Format(program, text, &text_); }
    void Warning(std::string_view program, std::string_view text);
    // Writes what was collected (nothing when empty).
    void Flush();

   private:
    Maillog& log_;
    std::string text_;
  };

 private:
  void Write(std::string_view program, std::string_view text);
  // Appends the whole line, with its newline, to `out`.
  void Format(std::string_view program, std::string_view text, std::string* out);
  // Complete lines, each ending in a newline.
  void WriteLines(std::string_view lines);

  std::mutex mu_;
  std::string name_ = "posthaste";
  std::string host_;
  long pid_ = 0;
  int fd_ = 2;
  bool own_fd_ = false;
  Sink sink_;
  bool sink_only_ = false;
};

// Postfix's log form of an address: "<>" for the null sender is the
// caller's job; this only strips control characters (log injection).
std::string LogSafe(std::string_view text);
// The same, appended to `out`.
void AppendLogSafe(std::string_view text, std::string* out);

}  // namespace posthaste::runtime
