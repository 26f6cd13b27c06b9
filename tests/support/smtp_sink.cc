// smtp_sink.cc: Postfix's smtp-sink as a test peer.
#include "tests/support/smtp_sink.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

namespace posthaste::testing {

namespace fs = std::filesystem;

SmtpSink::SmtpSink(const std::string& ip, const std::vector<std::string>& options,
                   const std::string& dump_dir, uint16_t port)
    : dump_dir_(dump_dir) {
  fs::create_directories(dump_dir_);
  chmod(dump_dir_.c_str(), 0777);
  std::vector<std::string> args = {"/usr/sbin/smtp-sink"};
  if (geteuid() == 0) {
    args.push_back("-u");
    args.push_back("nobody");
  }
  args.push_back("-d");
  args.push_back(dump_dir_ + "/%M.");
  for (const std::string& o : options) args.push_back(o);
  args.push_back(ip + ":" + std::to_string(port));
  args.push_back("64");
  pid_ = fork();
  if (pid_ == 0) {
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (port_ == 0 && std::chrono::steady_clock::now() < deadline) {
    port_ = FindListeningPort();
    if (port_ == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

SmtpSink::~SmtpSink() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
  }
}

std::vector<std::string> SmtpSink::Dumps(size_t n, int timeout_seconds) const {
  std::vector<std::string> out;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  for (;;) {
    out.clear();
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dump_dir_, ec)) {
      std::ifstream in(entry.path(), std::ios::binary);
      std::ostringstream s;
      s << in.rdbuf();
      // A dump is complete once smtp-sink wrote the message after its headers.
      if (s.str().find("\nReceived: ") != std::string::npos) out.push_back(s.str());
    }
    if (out.size() >= n || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return out;
}

uint16_t SmtpSink::FindListeningPort() const {
  std::set<std::string> inodes;
  std::string fd_dir = "/proc/" + std::to_string(pid_) + "/fd";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fd_dir, ec)) {
    std::error_code lec;
    std::string target = fs::read_symlink(entry.path(), lec).string();
    if (target.rfind("socket:[", 0) == 0) inodes.insert(target.substr(8, target.size() - 9));
  }
  std::ifstream tcp("/proc/net/tcp");
  std::string line;
  std::getline(tcp, line);
  while (std::getline(tcp, line)) {
    std::istringstream fields(line);
    std::string sl, local, remote, state, queues, timer, retr, uid, timeout, inode;
    fields >> sl >> local >> remote >> state >> queues >> timer >> retr >> uid >> timeout >> inode;
    if (state == "0A" && inodes.count(inode))
      return static_cast<uint16_t>(std::stoul(local.substr(local.find(':') + 1), nullptr, 16));
  }
  return 0;
}

}  // namespace posthaste::testing
