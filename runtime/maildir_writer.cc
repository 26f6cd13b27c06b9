// maildir_writer.cc: Maildir delivery (tmp/, fsync, rename into new/, fsync).
#include "runtime/maildir_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/ascii.h"
#include "runtime/agent_support.h"
#include "runtime/queue_id.h"
#include "tables/str_cat.h"

namespace posthaste::runtime {

namespace {

using tables::Cat;

std::atomic<uint64_t> g_maildir_counter{0};

// Envelope addresses go into header lines: no line breaks may pass.
std::string HeaderSafe(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c == '\r' || c == '\n') c = '?';
  return out;
}

absl::Status ErrnoStatus(int err, std::string message) {
  message += Cat(": ", strerror(err));
  if (err == EDQUOT || err == EFBIG) return absl::ResourceExhaustedError(message);
  return absl::UnavailableError(message);
}

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

absl::Status SyncDirectory(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, Cat("open directory ", path));
  int rc = fsync(fd);
  int err = errno;
  close(fd);
  if (rc != 0) return ErrnoStatus(err, Cat("fsync directory ", path));
  return absl::OkStatus();
}

std::string Parent(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// mkdir that treats an existing directory as success; fsyncs the parent
// when it created something.
absl::Status MakeOne(const std::string& path, unsigned mode) {
  if (mkdir(path.c_str(), mode) == 0) return SyncDirectory(Parent(path));
  int err = errno;
  if (err == EEXIST && IsDirectory(path)) return absl::OkStatus();
  return ErrnoStatus(err, Cat("create directory ", path));
}

// True when a line opens a header field ("Name:" with printable name bytes).
bool IsHeaderStart(std::string_view line) {
  size_t i = 0;
  while (i < line.size() && line[i] != ':') {
    unsigned char c = static_cast<unsigned char>(line[i]);
    if (c <= ' ' || c >= 0x7f) return false;
    ++i;
  }
  return i > 0 && i < line.size();
}

std::string_view TrimBlanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

std::string FormatDeliveryHeaders(const DeliveryHeaders& h) {
  std::string out = Cat("Return-Path: <", HeaderSafe(QuoteAddress(h.sender)), ">\n");
  if (!h.original.empty())
    out += Cat("X-Original-To: ", HeaderSafe(QuoteAddress(h.original)), "\n");
  // As written, not lowercased (a live Postfix 3.7.11 wrote
  // "Delivered-To: PhTest@Bench.LocalDomain"); only forwarded copies lowercase it.
  out += Cat("Delivered-To: ", HeaderSafe(QuoteAddress(h.delivered_to)), "\n");
  return out;
}

bool HasDeliveredTo(std::string_view content, std::string_view address) {
  std::string want = absl::AsciiStrToLower(std::string(TrimBlanks(address)));
  std::string field;  // the current header field, unfolded
  bool in_delivered = false;
  auto check = [&]() {
    if (!in_delivered) return false;
    std::string value = absl::AsciiStrToLower(std::string(TrimBlanks(field)));
    if (value.size() >= 2 && value.front() == '<' && value.back() == '>')
      value = value.substr(1, value.size() - 2);
    return value == want;
  };
  while (!content.empty()) {
    size_t nl = content.find('\n');
    std::string_view line = content.substr(0, nl);
    content = nl == std::string_view::npos ? std::string_view() : content.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
      if (in_delivered) field += Cat(" ", line);
      continue;
    }
    if (check()) return true;
    if (!IsHeaderStart(line)) return false;  // empty line or body: end of headers
    size_t colon = line.find(':');
    in_delivered = absl::AsciiStrToLower(std::string(line.substr(0, colon))) == "delivered-to";
    field = std::string(line.substr(colon + 1));
  }
  return check();
}

std::string MaildirUniqueName(int64_t micros, std::string_view hostname) {
  std::string host;
  for (char c : hostname) {
    if (c == '/')
      host += "\\057";
    else if (c == ':')
      host += "\\072";
    else
      host.push_back(c);
  }
  uint64_t n = g_maildir_counter.fetch_add(1, std::memory_order_relaxed);
  return Cat(micros / 1000000, ".M", micros % 1000000, "P", static_cast<int64_t>(getpid()), "Q", n,
             ".", host);
}

absl::Status MakeDirectories(const std::string& path, unsigned mode) {
  if (path.empty()) return absl::InvalidArgumentError("empty directory name");
  if (IsDirectory(path)) return absl::OkStatus();
  // Walk down from the root, creating what is missing.
  size_t pos = path.front() == '/' ? 1 : 0;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string::npos) slash = path.size();
    if (slash > pos) {
      std::string prefix = path.substr(0, slash);
      if (!IsDirectory(prefix))
        if (absl::Status s = MakeOne(prefix, mode); !s.ok()) return s;
    }
    pos = slash + 1;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> DeliverToMaildir(const MaildirTarget& target, std::string_view headers,
                                             std::string_view content) {
  std::string dir = target.directory;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  if (absl::Status s = MakeDirectories(dir, 0700); !s.ok()) return s;
  for (const char* sub : {"/tmp", "/new", "/cur"})
    if (absl::Status s = MakeOne(dir + sub, 0700); !s.ok()) return s;

  bool add_newline = !content.empty() && content.back() != '\n';
  uint64_t size = headers.size() + content.size() + (add_newline ? 1 : 0);

  int64_t micros = target.now_micros ? target.now_micros : RealMicros();
  std::string name, tmp_path;
  int fd = -1;
  for (int attempt = 0; attempt < 5 && fd < 0; ++attempt) {
    name = MaildirUniqueName(micros, target.hostname);
    tmp_path = Cat(dir, "/tmp/", name);
    fd = open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) return ErrnoStatus(errno, Cat("create maildir file ", tmp_path));

  auto fail = [&](int err, std::string what) -> absl::Status {
    if (fd >= 0) close(fd);
    unlink(tmp_path.c_str());
    return ErrnoStatus(err, std::move(what));
  };
  if (target.size_limit > 0 && size > target.size_limit)
    return fail(EFBIG, Cat("write maildir file ", tmp_path));
  if (!WriteAll(fd, headers) || !WriteAll(fd, content) || (add_newline && !WriteAll(fd, "\n")))
    return fail(errno, Cat("write maildir file ", tmp_path));
  if (fsync(fd) != 0) return fail(errno, Cat("fsync maildir file ", tmp_path));
  int rc = close(fd);
  fd = -1;
  if (rc != 0) return fail(errno, Cat("close maildir file ", tmp_path));

  std::string new_path = Cat(dir, "/new/", name);
  if (renameat2(AT_FDCWD, tmp_path.c_str(), AT_FDCWD, new_path.c_str(), RENAME_NOREPLACE) != 0) {
    int err = errno;
    // File systems without RENAME_NOREPLACE: link(2) never replaces either.
    if (err != EINVAL && err != ENOSYS)
      return fail(err, Cat("rename maildir file ", tmp_path, " to ", new_path));
    if (link(tmp_path.c_str(), new_path.c_str()) != 0)
      return fail(errno, Cat("link maildir file ", tmp_path, " to ", new_path));
    unlink(tmp_path.c_str());
  }
  if (absl::Status s = SyncDirectory(Cat(dir, "/new")); !s.ok()) {
    // The file is in new/ but not yet durable there: report a temporary
    // failure; a retry may deliver a duplicate, never lose the message.
    return s;
  }
  return new_path;
}

}  // namespace posthaste::runtime
