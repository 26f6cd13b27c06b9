// control_protocol.cc: control socket request parsing and the client.
#include "runtime/control_protocol.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "tables/str_cat.h"

namespace posthaste::runtime {

using tables::Cat;

std::string ControlSocketPath(std::string_view queue_directory) {
  return Cat(queue_directory, "/control/posthasted.sock");
}

absl::StatusOr<ControlRequest> ParseControlRequest(std::string_view line) {
  if (line.size() > kMaxRequestBytes) return absl::InvalidArgumentError("request too long");
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  ControlRequest request;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) {
      std::string word(line.substr(start, i - start));
      if (request.verb.empty())
        request.verb = std::move(word);
      else
        request.args.push_back(std::move(word));
    }
  }
  if (request.verb.empty()) return absl::InvalidArgumentError("empty request");
  return request;
}

absl::StatusOr<std::string> SendControlRequest(const std::string& socket_path,
                                               const std::string& request) {
  sockaddr_un addr{};
  if (socket_path.size() >= sizeof(addr.sun_path))
    return absl::InvalidArgumentError(Cat("socket path too long: ", socket_path));
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::UnavailableError(Cat("socket: ", std::strerror(errno)));
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int e = errno;
    close(fd);
    return absl::UnavailableError(
        Cat("cannot reach posthasted at ", socket_path, ": ", std::strerror(e)));
  }
  std::string line = request + "\n";
  size_t done = 0;
  while (done < line.size()) {
    ssize_t n = write(fd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close(fd);
      return absl::UnavailableError("write to control socket failed");
    }
    done += static_cast<size_t>(n);
  }
  shutdown(fd, SHUT_WR);
  std::string response;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    response.append(buf, static_cast<size_t>(n));
    if (response.size() > kMaxResponseBytes) break;
  }
  close(fd);
  size_t nl = response.find('\n');
  std::string status = response.substr(0, nl);
  std::string body = nl == std::string::npos ? "" : response.substr(nl + 1);
  if (status == "ok") return body;
  if (status.rfind("error: ", 0) == 0) return absl::FailedPreconditionError(status.substr(7));
  return absl::UnavailableError("posthasted closed the control connection without an answer");
}

}  // namespace posthaste::runtime
