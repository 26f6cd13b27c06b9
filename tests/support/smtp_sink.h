// smtp_sink.h: Postfix's smtp-sink as a test peer.
//
// Test support only. Starts /usr/sbin/smtp-sink on IP:0 (the kernel picks
// the port; it is read back from /proc) with -d so every received message is
// dumped into a directory, headed by smtp-sink's X-Client-Addr:,
// X-Mail-Args: ... lines. Extra options select its failure modes
// (-f COMMANDS hard rejects, -r COMMANDS soft rejects, -q disconnects).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace posthaste::testing {

class SmtpSink {
 public:
  // `port` 0: the kernel picks one.
  SmtpSink(const std::string& ip, const std::vector<std::string>& options,
           const std::string& dump_dir, uint16_t port = 0);
  ~SmtpSink();
  uint16_t port() const { return port_; }
  // The complete dumped messages, waiting up to `timeout_seconds` for `n` of them.
  std::vector<std::string> Dumps(size_t n, int timeout_seconds = 10) const;

 private:
  uint16_t FindListeningPort() const;
  std::string dump_dir_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

}  // namespace posthaste::testing
