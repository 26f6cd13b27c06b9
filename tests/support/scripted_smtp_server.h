// scripted_smtp_server.h: an SMTP server for client tests, with replies
// chosen by the test.
//
// Test support only. Listens on a loopback address (port 0 unless given),
// one thread per connection. Every connection gets the greeting, then each
// command line goes to the handler, whose answer is sent back ('\n' between
// lines of a multi-line reply, CR LF added). Without a handler, or when it
// returns nullopt, a well-behaved ESMTP server answers (PIPELINING, SIZE,
// 8BITMIME, DSN; 250 to MAIL, RCPT and RSET; 354 to DATA; 221 and close to
// QUIT). After a 354 reply the server collects the message up to the final
// "." line and then asks the handler about ".". The handler can also hang
// up (kHangUp), stay silent (kNoReply) or answer and then hang up
// (kReplyThenHangUp + reply). With EnableStartTls() the server offers
// STARTTLS and, after its 220 reply, does the TLS handshake (OpenSSL) and
// goes on inside TLS. Everything is recorded: the peer address, the command
// lines, the raw DATA bytes, whether and how TLS was used.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace posthaste::testing {

class ScriptedSmtpServer {
 public:
  static constexpr const char* kHangUp = "\x01hangup";
  static constexpr const char* kNoReply = "\x01silent";
  static constexpr const char* kReplyThenHangUp = "\x01close:";

  // `command` is the line without CR LF ("." after a message);
  // `session` counts connections from 0.
  using Handler = std::function<std::optional<std::string>(const std::string& command, int session)>;

  explicit ScriptedSmtpServer(const std::string& ip = "127.0.0.1", uint16_t port = 0);
  ~ScriptedSmtpServer();
  ScriptedSmtpServer(const ScriptedSmtpServer&) = delete;
  ScriptedSmtpServer& operator=(const ScriptedSmtpServer&) = delete;

  bool ok() const { return listen_fd_ >= 0; }
  uint16_t port() const { return port_; }
  const std::string& ip() const { return ip_; }

  // Set before the client connects.
  void SetGreeting(std::string greeting) { greeting_ = std::move(greeting); }
  void SetEhloReply(std::string reply) {
    ehlo_reply_ = std::move(reply);
    custom_ehlo_ = true;
  }
  void SetHandler(Handler handler) { handler_ = std::move(handler); }
  // Offers STARTTLS with this certificate and key (PEM). Returns false when
  // OpenSSL does not accept them.
  bool EnableStartTls(const std::string& cert_pem, const std::string& key_pem);
  // A fresh self-signed certificate (CA:TRUE, so it can be its own trust
  // anchor) for `name` (subject CN and DNS subjectAltName), PEM.
  static bool MakeSelfSignedCertificate(const std::string& name, std::string* cert_pem,
                                        std::string* key_pem);

  struct Session {
    std::string peer_ip;
    std::vector<std::string> commands;
    std::vector<std::string> messages;  // raw DATA bytes, CR LF and dot-stuffing as received
    bool closed = false;
    std::string tls_version;  // "TLSv1.3" after STARTTLS, else ""
    std::string sni;          // the server name the client asked for
  };
  std::vector<Session> sessions() const;
  int connections() const;
  // Waits (at most `seconds`) until `n` connections were closed by either side.
  bool WaitClosed(int n, int seconds = 10) const;

 private:
  void Accept();
  void Run(int fd, int index);
  std::string ReplyTo(const std::string& command, int index);

  std::string ip_;
  int listen_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  uint16_t port_ = 0;
  std::string greeting_ = "220 scripted.example ESMTP";
  std::string ehlo_reply_ =
      "250-scripted.example\n250-PIPELINING\n250-SIZE 10240000\n250-8BITMIME\n250-ENHANCEDSTATUSCODES\n250 DSN";
  bool custom_ehlo_ = false;
  Handler handler_;
  void* tls_context_ = nullptr;  // SSL_CTX*

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<Session> sessions_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace posthaste::testing
