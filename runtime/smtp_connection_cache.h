// smtp_connection_cache.h: an open outbound SMTP connection, and the cache
// that keeps idle ones for the next message to the same destination.
//
// The smtp delivery agent (smtp_client.h) opens a connection, says EHLO and
// delivers one message; when the destination may see more mail soon it
// parks the connection here instead of sending QUIT, under a key made of
// the transport service, the next-hop destination and the source addresses
// (so mail that must leave from 127.0.0.2 never rides a connection bound to
// 127.0.0.3). The next delivery to the same key takes it back, probes it
// with RSET and sends its own MAIL FROM. Parked connections are closed when
// they have been idle for the caller's idle limit (smtp_connection_cache_
// time_limit) or reach their hard expiry (smtp_connection_reuse_time_limit
// from their creation), whichever comes first, and when the cache goes away.
//
// The cache never talks SMTP and never reads from a parked socket; a server
// that closed a parked connection is noticed by the RSET probe.
//
// Thread safety: all methods are thread-safe. The idle timers run on the
// executor given at construction.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "asio/any_io_executor.hpp"
#include "asio/ip/tcp.hpp"
#include "asio/ssl/context.hpp"
#include "asio/ssl/stream.hpp"
#include "runtime/smtp_reply.h"

namespace posthaste::runtime {

// One SMTP session's connection and what the server told us about itself.
struct SmtpConnection {
  explicit SmtpConnection(const asio::any_io_executor& executor, size_t reply_line_limit)
      : socket(executor), reader(reply_line_limit) {}

  asio::ip::tcp::socket socket;
  SmtpReplyReader reader;
  // After STARTTLS: all I/O goes through `tls` (declared after the socket it
  // wraps and the context it uses, so it goes away first).
  std::shared_ptr<asio::ssl::context> tls_context;
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket&>> tls;

  std::string host;         // the server's name as found (MX host, or the address)
  std::string addr;         // printable address
  uint16_t port = 25;
  std::string namaddr;      // "host[addr]"
  std::string namaddrport;  // "host[addr]:port"

  bool esmtp = false;
  EhloFeatures features;
  std::chrono::steady_clock::time_point created;
  int reuse_count = 0;      // transactions completed before the current one
};

class SmtpConnectionCache {
 public:
  explicit SmtpConnectionCache(asio::any_io_executor executor);
  // Closes every parked connection.
  ~SmtpConnectionCache();
  SmtpConnectionCache(const SmtpConnectionCache&) = delete;
  SmtpConnectionCache& operator=(const SmtpConnectionCache&) = delete;

  // Parks `connection` under `key` until it has been idle for `idle_limit`
  // or `expiry` passes. A connection already past `expiry` is closed.
  void Put(const std::string& key, std::unique_ptr<SmtpConnection> connection,
           absl::Duration idle_limit, std::chrono::steady_clock::time_point expiry);
  // The most recently parked connection under `key`; with `prefer`, only
  // among those whose socket runs on that executor (the caller's event loop:
  // a connection never changes threads, and what a delivery holds belongs
  // to its own loop). nullptr when none.
  std::unique_ptr<SmtpConnection> Take(const std::string& key,
                                       const asio::any_io_executor& prefer = {});
  // Parked connections (all keys).
  size_t size() const;
  // Closes every parked connection.
  void Clear();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace posthaste::runtime
