// posthasted_harness.h: a real posthasted for tests.
//
// Test support only. Writes a configuration directory (main.cf, master.cf
// and any table files), compiles it with the real `phc build`, starts the
// real `posthasted` binary as a child process listening on 127.0.0.1 with a
// kernel-chosen port, and waits until it is ready. Also a small blocking
// SMTP client for exact dialogue checks, and phctl calls.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace posthaste::testing {

struct HarnessConfig {
  std::string main_cf;
  // Without a master.cf line for it, the harness adds "smtp inet ... smtpd".
  std::string master_cf;
  std::map<std::string, std::string> files;  // extra files, relative to the config dir
  std::vector<std::string> extra_args;       // more posthasted arguments
};

class PosthastedHarness {
 public:
  PosthastedHarness();
  ~PosthastedHarness();  // stops the server, removes the temp dir

  // The config dir; table paths in main.cf can use it ("{DIR}" in main_cf,
  // master_cf and file contents is replaced by it).
  const std::string& dir() const { return dir_; }
  // Writes the config and builds the bundle into dir()/bundle; "" or phc's output on failure.
  std::string Build(const HarnessConfig& config);
  // Starts posthasted; false (with the log in log()) if it is not ready within 20 s.
  bool Start();
  // SIGTERM and wait; returns the exit status.
  int Stop();
  // SIGKILL and wait.
  void Kill();
  bool running() const { return pid_ > 0; }

  // Port of the listener for `service` (master.cf name), 0 if none.
  int port(const std::string& service = "smtp") const;
  std::string log() const;
  std::string queue_dir() const { return dir_ + "/queue"; }
  std::string bundle_dir() const { return dir_ + "/bundle"; }
  // Runs phctl with `args`; returns stdout, or "ERROR: ..." with stderr.
  std::string Phctl(const std::vector<std::string>& args) const;

 private:
  std::string dir_;
  pid_t pid_ = -1;
  std::map<std::string, int> ports_;
  std::vector<std::string> extra_args_;
};

// A blocking SMTP client over one TCP connection to 127.0.0.1.
class SmtpTestClient {
 public:
  explicit SmtpTestClient(int port, const std::string& source_address = "");
  ~SmtpTestClient();
  bool connected() const { return fd_ >= 0; }
  // Reads one complete (possibly multi-line) reply; "" on EOF/timeout.
  std::string Reply();
  // Sends `line` + CRLF and returns the reply.
  std::string Command(const std::string& line);
  // Sends raw bytes.
  void Send(const std::string& bytes);
  // True once the server closed the connection.
  bool Closed();

 private:
  int fd_ = -1;
  std::string buf_;
};

// The reply code (first three characters) of a reply.
std::string Code(const std::string& reply);

}  // namespace posthaste::testing
