// mbox_writer.cc: locked, checked, fsynced appends to mbox files.
#include "runtime/mbox_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "absl/time/clock.h"
#include "runtime/agent_support.h"
#include "runtime/queue_id.h"
#include "tables/str_cat.h"

namespace posthaste::runtime {

namespace {

using tables::Cat;

absl::Status ErrnoStatus(int err, std::string_view message) {
  std::string text = Cat(message, ": ", strerror(err));
  if (err == EDQUOT || err == EFBIG) return absl::ResourceExhaustedError(text);
  return absl::UnavailableError(text);
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

// Opens for appending without following a symlink; creates the file (and
// gives it to `owner`) when it does not exist.
absl::StatusOr<int> OpenMailbox(const MboxTarget& t) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    int fd = open(t.path.c_str(), O_WRONLY | O_APPEND | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
    if (fd >= 0) return fd;
    if (errno != ENOENT) return ErrnoStatus(errno, "cannot open file");
    fd = open(t.path.c_str(),
              O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
    if (fd >= 0) {
      if (t.owner && fchown(fd, t.owner->uid, t.owner->gid) != 0) {
        int err = errno;
        close(fd);
        unlink(t.path.c_str());
        return ErrnoStatus(err, "cannot set file owner");
      }
      return fd;
    }
    if (errno != EEXIST) return ErrnoStatus(errno, "cannot create file");
    // Created by someone else in between: open it as an existing file.
  }
  return absl::UnavailableError("cannot open file: the file keeps changing");
}

}  // namespace

std::string FormatMboxEntry(std::string_view sender, int64_t now_micros, std::string_view headers,
                            std::string_view content) {
  time_t now = static_cast<time_t>(now_micros / 1000000);
  struct tm tm;
  localtime_r(&now, &tm);
  char date[64];
  strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm);
  std::string out =
      Cat("From ", sender.empty() ? std::string("MAILER-DAEMON") : QuoteAddress(sender), "  ", date,
          "\n");
  out.reserve(out.size() + headers.size() + content.size() + content.size() / 64 + 2);
  out.append(headers);
  while (!content.empty()) {
    size_t nl = content.find('\n');
    std::string_view line = nl == std::string_view::npos ? content : content.substr(0, nl + 1);
    if (line.substr(0, 5) == "From ") out.push_back('>');
    out.append(line);
    content.remove_prefix(line.size());
  }
  if (!out.empty() && out.back() != '\n') out.push_back('\n');
  out.push_back('\n');
  return out;
}

absl::Status AppendToMbox(const MboxTarget& t, std::string_view sender, std::string_view headers,
                          std::string_view content) {
  absl::StatusOr<int> opened = OpenMailbox(t);
  if (!opened.ok()) return opened.status();
  int fd = *opened;
  auto done = [&](absl::Status s) {
    close(fd);  // also releases the fcntl lock
    return s;
  };

  struct stat st;
  if (fstat(fd, &st) != 0) return done(ErrnoStatus(errno, "cannot examine file"));
  if (!S_ISREG(st.st_mode)) return done(absl::UnavailableError("file is not a regular file"));
  if (st.st_nlink != 1) return done(absl::UnavailableError("file has more than one link"));
  if (t.owner && st.st_uid != t.owner->uid)
    return done(absl::UnavailableError("file is not owned by the recipient"));

  struct flock lock;
  memset(&lock, 0, sizeof(lock));
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  int attempts = t.lock_attempts > 0 ? t.lock_attempts : 1;
  for (int i = 0;; ++i) {
    if (fcntl(fd, F_SETLK, &lock) == 0) break;
    int err = errno;
    if ((err != EAGAIN && err != EACCES && err != EINTR) || i + 1 >= attempts)
      return done(ErrnoStatus(err, "unable to lock for exclusive access"));
    absl::SleepFor(t.lock_delay);
  }

  // The size as it is now that we hold the lock.
  if (fstat(fd, &st) != 0) return done(ErrnoStatus(errno, "cannot examine file"));
  off_t old_size = st.st_size;
  std::string entry =
      FormatMboxEntry(sender, t.now_micros ? t.now_micros : RealMicros(), headers, content);
  if (t.size_limit > 0 && static_cast<uint64_t>(old_size) + entry.size() > t.size_limit)
    return done(ErrnoStatus(EFBIG, "error writing message"));
  if (!WriteAll(fd, entry) || fsync(fd) != 0) {
    int err = errno;
    if (ftruncate(fd, old_size) == 0) fsync(fd);
    return done(ErrnoStatus(err, "error writing message"));
  }
  return done(absl::OkStatus());
}

}  // namespace posthaste::runtime
