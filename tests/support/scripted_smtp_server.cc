// scripted_smtp_server.cc: threaded loopback SMTP server (test support).
#include "tests/support/scripted_smtp_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstring>

namespace posthaste::testing {

namespace {

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
  return s;
}

bool SendAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

std::string Crlf(const std::string& reply) {
  std::string out;
  for (char c : reply) {
    if (c == '\n') {
      out += "\r\n";
    } else {
      out.push_back(c);
    }
  }
  return out + "\r\n";
}

}  // namespace

ScriptedSmtpServer::ScriptedSmtpServer(const std::string& ip, uint16_t port) : ip_(ip) {
  if (pipe(stop_pipe_) != 0) return;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
  addr.sin_port = htons(port);
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 16) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return;
  }
  port_ = ntohs(addr.sin_port);
  listen_fd_ = fd;
  acceptor_ = std::thread([this] { Accept(); });
}

ScriptedSmtpServer::~ScriptedSmtpServer() {
  if (stop_pipe_[1] >= 0) {
    char c = 'x';
    (void)!write(stop_pipe_[1], &c, 1);
  }
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    threads.swap(threads_);
  }
  for (std::thread& t : threads) t.join();
  if (listen_fd_ >= 0) close(listen_fd_);
  if (stop_pipe_[0] >= 0) close(stop_pipe_[0]);
  if (stop_pipe_[1] >= 0) close(stop_pipe_[1]);
}

std::vector<ScriptedSmtpServer::Session> ScriptedSmtpServer::sessions() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sessions_;
}

int ScriptedSmtpServer::connections() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(sessions_.size());
}

bool ScriptedSmtpServer::WaitClosed(int n, int seconds) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, std::chrono::seconds(seconds), [&] {
    int closed = 0;
    for (const Session& s : sessions_) closed += s.closed ? 1 : 0;
    return closed >= n;
  });
}

void ScriptedSmtpServer::Accept() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) continue;
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    sockaddr_in peer{};
    socklen_t len = sizeof(peer);
    int fd = accept(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &len);
    if (fd < 0) continue;
    char text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &peer.sin_addr, text, sizeof(text));
    std::lock_guard<std::mutex> lock(mu_);
    int index = static_cast<int>(sessions_.size());
    sessions_.push_back(Session{text, {}, {}, false});
    threads_.emplace_back([this, fd, index] { Run(fd, index); });
  }
}

std::string ScriptedSmtpServer::ReplyTo(const std::string& command, int index) {
  if (handler_) {
    if (std::optional<std::string> reply = handler_(command, index)) return *reply;
  }
  std::string verb = Upper(command.substr(0, command.find(' ')));
  if (command == ".") return "250 2.0.0 Ok: queued as 4FAKE1";
  if (verb == "EHLO") return ehlo_reply_;
  if (verb == "HELO") return "250 scripted.example";
  if (verb == "MAIL") return "250 2.1.0 Ok";
  if (verb == "RCPT") return "250 2.1.5 Ok";
  if (verb == "DATA") return "354 End data with <CR><LF>.<CR><LF>";
  if (verb == "RSET" || verb == "NOOP") return "250 2.0.0 Ok";
  if (verb == "QUIT") return "221 2.0.0 Bye";
  return "502 5.5.2 Error: command not recognized";
}

void ScriptedSmtpServer::Run(int fd, int index) {
  auto finish = [&] {
    close(fd);
    std::lock_guard<std::mutex> lock(mu_);
    sessions_[static_cast<size_t>(index)].closed = true;
    cv_.notify_all();
  };
  if (!greeting_.empty() && greeting_ != kNoReply && !SendAll(fd, Crlf(greeting_))) return finish();
  std::string buffer;
  bool in_data = false;
  std::string message;
  for (;;) {
    size_t nl;
    while ((nl = buffer.find('\n')) != std::string::npos) {
      std::string line = buffer.substr(0, nl + 1);
      buffer.erase(0, nl + 1);
      if (in_data) {
        if (line == ".\r\n" || line == ".\n") {
          in_data = false;
          {
            std::lock_guard<std::mutex> lock(mu_);
            sessions_[static_cast<size_t>(index)].messages.push_back(message);
          }
          message.clear();
          line.assign(1, '.');
        } else {
          message += line;
          continue;
        }
      } else {
        while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
        std::lock_guard<std::mutex> lock(mu_);
        sessions_[static_cast<size_t>(index)].commands.push_back(line);
      }
      std::string reply = ReplyTo(line, index);
      if (reply == kHangUp) return finish();
      if (reply == kNoReply) continue;
      if (!SendAll(fd, Crlf(reply))) return finish();
      if (line != "." && Upper(line.substr(0, 4)) == "DATA" && reply.rfind("354", 0) == 0) in_data = true;
      if (Upper(line) == "QUIT" && reply.rfind("221", 0) == 0) return finish();
    }
    pollfd fds[2] = {{fd, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) continue;
    if (fds[1].revents != 0) return finish();
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return finish();
    buffer.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace posthaste::testing
