// maillog.cc: Postfix-shaped log lines.
#include "runtime/maillog.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "tables/str_cat.h"

namespace posthaste::runtime {

Maillog::Maillog() {
  pid_ = static_cast<long>(getpid());
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) == 0 && name[0]) {
    host_ = name;
    size_t dot = host_.find('.');
    if (dot != std::string::npos) host_.resize(dot);
  } else {
    host_ = "localhost";
  }
}

Maillog::~Maillog() {
  if (own_fd_) close(fd_);
}

void Maillog::SetName(std::string name) {
  std::lock_guard<std::mutex> lock(mu_);
  name_ = std::move(name);
}

void Maillog::RefreshPid() {
  std::lock_guard<std::mutex> lock(mu_);
  pid_ = static_cast<long>(getpid());
}

void Maillog::SetHostName(std::string host) {
  std::lock_guard<std::mutex> lock(mu_);
  size_t dot = host.find('.');
  if (dot != std::string::npos) host.resize(dot);
  host_ = std::move(host);
}

absl::Status Maillog::OpenFile(const std::string& path) {
  int fd = 2;
  bool own = false;
  if (!path.empty() && path != "-") {
    fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
      return absl::UnavailableError(tables::Cat("open ", path, ": ", std::strerror(errno)));
    own = true;
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (own_fd_) close(fd_);
  fd_ = fd;
  own_fd_ = own;
  return absl::OkStatus();
}

void Maillog::SetSink(Sink sink, bool only) {
  std::lock_guard<std::mutex> lock(mu_);
  sink_ = std::move(sink);
  sink_only_ = only;
}

void Maillog::Info(std::string_view program, std::string_view text) { Write(program, text); }

void Maillog::Warning(std::string_view program, std::string_view text) {
  Write(program, tables::Cat("warning: ", text));
}

void Maillog::Fatal(std::string_view program, std::string_view text) {
  Write(program, tables::Cat("fatal: ", text));
}

void Maillog::Write(std::string_view program, std::string_view text) {
  std::string line;
  Format(program, text, &line);
  WriteLines(line);
}

std::string MaillogTimestamp(int64_t unix_seconds) {
  time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm;
  localtime_r(&t, &tm);
  char stamp[32];
  // The day zero-padded, as Postfix's own log writer (maillog_file) does.
  strftime(stamp, sizeof(stamp), "%b %d %H:%M:%S", &tm);
  return stamp;
}

void Maillog::Format(std::string_view program, std::string_view text, std::string* out) {
  std::string stamp = MaillogTimestamp(time(nullptr));
  std::lock_guard<std::mutex> lock(mu_);
  out->reserve(out->size() + stamp.size() + host_.size() + name_.size() + program.size() +
               text.size() + 32);
  out->append(stamp).append(" ").append(host_).append(" ").append(name_).append("/");
  out->append(program).append("[").append(std::to_string(pid_)).append("]: ");
  AppendLogSafe(text, out);
  out->push_back('\n');
}

void Maillog::WriteLines(std::string_view lines) {
  if (lines.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (sink_) {
    std::string_view rest = lines;
    while (!rest.empty()) {
      size_t nl = rest.find('\n');
      sink_(rest.substr(0, nl));
      rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    }
    if (sink_only_) return;
  }
  std::string_view rest = lines;
  while (!rest.empty()) {
    ssize_t n = ::write(fd_, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    rest.remove_prefix(static_cast<size_t>(n));
  }
}

void Maillog::Batch::Warning(std::string_view program, std::string_view text) {
  log_.Format(program, tables::Cat("warning: ", text), &text_);
}

void Maillog::Batch::Flush() {
  log_.WriteLines(text_);
  text_.clear();
}

void AppendLogSafe(std::string_view text, std::string* out) {
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    out->push_back(u < 0x20 || u == 0x7f ? '?' : c);
  }
}

std::string LogSafe(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  AppendLogSafe(text, &out);
  return out;
}

}  // namespace posthaste::runtime
