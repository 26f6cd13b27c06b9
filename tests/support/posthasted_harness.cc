// posthasted_harness.cc: a real posthasted for tests.
#include "tests/support/posthasted_harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/run_command.h"

namespace posthaste::testing {

namespace {

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

void WriteFile(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

PosthastedHarness::PosthastedHarness() {
  char tmpl[] = "/tmp/posthasted_test_XXXXXX";
  dir_ = mkdtemp(tmpl);
}

PosthastedHarness::~PosthastedHarness() {
  if (pid_ > 0) Stop();
  std::error_code ec;
  if (!std::getenv("POSTHASTE_KEEP_TEST_DIRS")) std::filesystem::remove_all(dir_, ec);
}

std::string PosthastedHarness::Build(const HarnessConfig& config) {
  std::string conf = dir_ + "/etc";
  std::filesystem::create_directories(conf);
  // Tests describe today's configurations: no backward-compatibility mode.
  std::string main_cf = config.main_cf;
  if (main_cf.find("compatibility_level") == std::string::npos)
    main_cf = "compatibility_level = 3.6\n" + main_cf;
  WriteFile(conf + "/main.cf", Replace(main_cf, "{DIR}", dir_));
  std::string master = Replace(config.master_cf, "{DIR}", dir_);
  if (master.find(" inet ") == std::string::npos)
    master = "smtp inet n - n - - smtpd\n" + master;
  // The usual unix services, unless the test defines them itself.
  const char* defaults[] = {
      "cleanup unix n - n - 0 cleanup", "qmgr unix n - n 300 1 qmgr",
      "rewrite unix - - n - - trivial-rewrite", "bounce unix - - n - 0 bounce",
      "defer unix - - n - 0 bounce", "smtp unix - - n - - smtp", "relay unix - - n - - smtp",
      "local unix - n n - - local", "virtual unix - n n - - virtual",
      "error unix - - n - - error", "retry unix - - n - - error",
      "discard unix - - n - - discard"};
  for (const char* line : defaults) {
    std::string name = std::string(line).substr(0, std::string(line).find(' '));
    if (master.find("\n" + name + " unix") == std::string::npos && master.rfind(name + " unix", 0) != 0)
      master += std::string(line) + "\n";
  }
  WriteFile(conf + "/master.cf", master);
  for (const auto& [name, text] : config.files)
    WriteFile(dir_ + "/" + name, Replace(text, "{DIR}", dir_));
  extra_args_ = config.extra_args;
  CommandResult r = RunCommand({POSTHASTE_PHC_PATH, "build", "-c", conf, "-o", bundle_dir()});
  if (r.exit_code != 0) return r.out + r.err;
  return "";
}

bool PosthastedHarness::Start() {
  std::string ready = dir_ + "/ready";
  unlink(ready.c_str());
  std::vector<std::string> args = {POSTHASTE_POSTHASTED_PATH, "--bundle", bundle_dir(),
                                   "--queue-directory", queue_dir(), "--ready-file", ready,
                                   "--keep-root", "--log-stderr"};
  // Every smtpd listener on a kernel-chosen port of 127.0.0.1.
  std::ifstream master(dir_ + "/etc/master.cf");
  std::string line;
  while (std::getline(master, line)) {
    std::istringstream words(line);
    std::string name, type;
    if (!(words >> name >> type) || name[0] == '#' || type != "inet") continue;
    args.push_back("--listen");
    args.push_back(name + "=127.0.0.1:0");
  }
  for (const std::string& a : extra_args_) args.push_back(a);
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open((dir_ + "/maillog").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 2);
    dup2(fd, 1);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  pid_ = pid;
  ports_.clear();
  for (int i = 0; i < 400; ++i) {
    std::ifstream in(ready);
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    in.clear();
    in.seekg(0);
    if (all.find("control ") != std::string::npos) {
      std::string l;
      while (std::getline(in, l)) {
        std::istringstream w(l);
        std::string service, where;
        w >> service >> where;
        size_t colon = where.rfind(':');
        if (service != "control" && colon != std::string::npos)
          ports_[service] = std::atoi(where.c_str() + colon + 1);
      }
      return true;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

int PosthastedHarness::Stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  for (int i = 0; i < 200; ++i) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return 128 + SIGKILL;
}

void PosthastedHarness::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

int PosthastedHarness::port(const std::string& service) const {
  auto it = ports_.find(service);
  return it == ports_.end() ? 0 : it->second;
}

std::string PosthastedHarness::log() const { return ReadFile(dir_ + "/maillog"); }

std::string PosthastedHarness::Phctl(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {POSTHASTE_PHCTL_PATH, "--bundle", bundle_dir(),
                                   "--queue-directory", queue_dir()};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandResult r = RunCommand(argv);
  if (r.exit_code != 0) return "ERROR: " + r.err;
  return r.out;
}

SmtpTestClient::SmtpTestClient(int port, const std::string& source_address) {
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) return;
  timeval tv{30, 0};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (!source_address.empty()) {
    sockaddr_in src{};
    src.sin_family = AF_INET;
    inet_pton(AF_INET, source_address.c_str(), &src.sin_addr);
    bind(fd_, reinterpret_cast<sockaddr*>(&src), sizeof(src));
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd_);
    fd_ = -1;
  }
}

SmtpTestClient::~SmtpTestClient() {
  if (fd_ >= 0) close(fd_);
}

std::string SmtpTestClient::Reply() {
  std::string reply;
  for (;;) {
    size_t nl = buf_.find('\n');
    if (nl == std::string::npos) {
      char chunk[4096];
      ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
      if (n <= 0) return reply;
      buf_.append(chunk, static_cast<size_t>(n));
      continue;
    }
    std::string line = buf_.substr(0, nl + 1);
    buf_.erase(0, nl + 1);
    reply += line;
    if (line.size() < 4 || line[3] != '-') return reply;
  }
}

void SmtpTestClient::Send(const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

std::string SmtpTestClient::Command(const std::string& line) {
  Send(line + "\r\n");
  return Reply();
}

bool SmtpTestClient::Closed() {
  char c;
  ssize_t n = recv(fd_, &c, 1, 0);
  if (n > 0) buf_.push_back(c);
  return n == 0;
}

std::string Code(const std::string& reply) { return reply.substr(0, 3); }

}  // namespace posthaste::testing
