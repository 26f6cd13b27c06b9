// scripted_smtp_server.cc: threaded loopback SMTP server (test support).
#include "tests/support/scripted_smtp_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
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

bool SendAll(int fd, SSL* ssl, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ssl ? SSL_write(ssl, data.data() + off, static_cast<int>(data.size() - off))
                    : send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

std::string ToPem(int (*write)(BIO*, void*), void* object) {
  BIO* bio = BIO_new(BIO_s_mem());
  std::string out;
  if (write(bio, object) == 1) {
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    out.assign(data, static_cast<size_t>(len));
  }
  BIO_free(bio);
  return out;
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

bool ScriptedSmtpServer::MakeSelfSignedCertificate(const std::string& name, std::string* cert_pem,
                                                   std::string* key_pem) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (key == nullptr) return false;
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
  X509_set_pubkey(cert, key);
  X509_NAME* subject = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert, subject);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  std::string san = "DNS:" + name;
  for (auto [nid, value] : {std::pair<int, const char*>{NID_subject_alt_name, san.c_str()},
                            std::pair<int, const char*>{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (ext) {
      X509_add_ext(cert, ext, -1);
      X509_EXTENSION_free(ext);
    }
  }
  bool ok = X509_sign(cert, key, EVP_sha256()) > 0;
  *cert_pem = ToPem([](BIO* b, void* x) { return PEM_write_bio_X509(b, static_cast<X509*>(x)); }, cert);
  *key_pem = ToPem(
      [](BIO* b, void* k) {
        return PEM_write_bio_PrivateKey(b, static_cast<EVP_PKEY*>(k), nullptr, nullptr, 0, nullptr, nullptr);
      },
      key);
  X509_free(cert);
  EVP_PKEY_free(key);
  return ok && !cert_pem->empty() && !key_pem->empty();
}

bool ScriptedSmtpServer::EnableStartTls(const std::string& cert_pem, const std::string& key_pem) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  BIO* cert_bio = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  BIO* key_bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  X509* cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
  bool ok = cert && key && SSL_CTX_use_certificate(ctx, cert) == 1 && SSL_CTX_use_PrivateKey(ctx, key) == 1;
  SSL_CTX_set_tlsext_servername_callback(ctx, nullptr);
  X509_free(cert);
  EVP_PKEY_free(key);
  BIO_free(cert_bio);
  BIO_free(key_bio);
  if (!ok) {
    SSL_CTX_free(ctx);
    return false;
  }
  if (tls_context_) SSL_CTX_free(static_cast<SSL_CTX*>(tls_context_));
  tls_context_ = ctx;
  return true;
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
  if (tls_context_) SSL_CTX_free(static_cast<SSL_CTX*>(tls_context_));
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
    sessions_.push_back(Session{text, {}, {}, false, {}, {}});
    threads_.emplace_back([this, fd, index] { Run(fd, index); });
  }
}

std::string ScriptedSmtpServer::ReplyTo(const std::string& command, int index) {
  if (handler_) {
    if (std::optional<std::string> reply = handler_(command, index)) return *reply;
  }
  std::string verb = Upper(command.substr(0, command.find(' ')));
  if (command == ".") return "250 2.0.0 Ok: queued as 4FAKE1";
  if (verb == "EHLO") {
    bool in_tls;
    {
      std::lock_guard<std::mutex> lock(mu_);
      in_tls = !sessions_[static_cast<size_t>(index)].tls_version.empty();
    }
    if (tls_context_ && !custom_ehlo_ && !in_tls) {
      std::string reply = ehlo_reply_;
      reply.insert(reply.rfind('\n') + 1, "250-STARTTLS\n");
      return reply;
    }
    return ehlo_reply_;
  }
  if (verb == "STARTTLS") return tls_context_ ? "220 2.0.0 Ready to start TLS" : "502 5.5.1 Error: command not implemented";
  if (verb == "HELO") return "250 scripted.example";
  if (verb == "MAIL") return "250 2.1.0 Ok";
  if (verb == "RCPT") return "250 2.1.5 Ok";
  if (verb == "DATA") return "354 End data with <CR><LF>.<CR><LF>";
  if (verb == "RSET" || verb == "NOOP") return "250 2.0.0 Ok";
  if (verb == "QUIT") return "221 2.0.0 Bye";
  return "502 5.5.2 Error: command not recognized";
}

void ScriptedSmtpServer::Run(int fd, int index) {
  SSL* ssl = nullptr;
  auto finish = [&] {
    if (ssl) SSL_free(ssl);
    close(fd);
    std::lock_guard<std::mutex> lock(mu_);
    sessions_[static_cast<size_t>(index)].closed = true;
    cv_.notify_all();
  };
  if (!greeting_.empty() && greeting_ != kNoReply && !SendAll(fd, ssl, Crlf(greeting_))) return finish();
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
      if (reply.rfind(kReplyThenHangUp, 0) == 0) {
        SendAll(fd, ssl, Crlf(reply.substr(strlen(kReplyThenHangUp))));
        return finish();
      }
      if (!SendAll(fd, ssl, Crlf(reply))) return finish();
      if (line != "." && Upper(line.substr(0, 4)) == "DATA" && reply.rfind("354", 0) == 0) in_data = true;
      if (Upper(line) == "QUIT" && reply.rfind("221", 0) == 0) return finish();
      if (Upper(line) == "STARTTLS" && reply.rfind("220", 0) == 0 && tls_context_ && !ssl) {
        buffer.clear();  // nothing sent before the handshake counts
        ssl = SSL_new(static_cast<SSL_CTX*>(tls_context_));
        SSL_set_fd(ssl, fd);
        if (SSL_accept(ssl) != 1) return finish();
        const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
        std::lock_guard<std::mutex> lock(mu_);
        sessions_[static_cast<size_t>(index)].tls_version = SSL_get_version(ssl);
        sessions_[static_cast<size_t>(index)].sni = sni ? sni : "";
      }
    }
    if (!ssl || SSL_pending(ssl) == 0) {
      pollfd fds[2] = {{fd, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
      if (poll(fds, 2, -1) < 0) continue;
      if (fds[1].revents != 0) return finish();
    }
    char buf[4096];
    ssize_t n = ssl ? SSL_read(ssl, buf, sizeof(buf)) : recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return finish();
    buffer.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace posthaste::testing
