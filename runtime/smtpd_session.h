// smtpd_session.h: one SMTP server session (Postfix smtpd(8) for one
// client connection), as a C++20 coroutine on the server's io_context.
//
// The session reads commands with runtime/smtp_command.h, applies the
// service's access restrictions (runtime/smtpd_access.h), receives DATA with
// runtime/data_reader.h, runs cleanup (runtime/cleanup.h) and hands the
// message to the durable queue; "250 2.0.0 Ok: queued as ID" is sent only
// after the queue reports the message on stable storage.
//
// A session holds one SmtpdService (built from one bundle generation) from
// its first byte to its last: a reload in between changes nothing for it.
//
// SECURITY: everything read from the socket is hostile. Command lines are
// cut at line_length_limit, DATA is bounded by message_size_limit, every
// read has the smtpd_timeout deadline, and the error limits end abusive
// sessions.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "asio.hpp"
#include "runtime/cleanup.h"
#include "runtime/dns_resolver.h"
#include "runtime/maillog.h"
#include "runtime/match_list.h"
#include "runtime/queue_store.h"
#include "runtime/smtpd_access.h"
#include "tables/bundle_loader.h"

namespace posthaste::runtime {

// One smtpd service's settings, read once per bundle generation.
struct SmtpdSettings {
  std::string service;  // "smtp/inet"
  std::string myhostname = "localhost";
  std::string banner;   // smtpd_banner, expanded
  uint64_t message_size_limit = 10240000;
  size_t recipient_limit = 1000;
  // smtpd_recipient_overshoot_limit: "too many recipients" replies in one
  // transaction that do not count as client errors.
  int recipient_overshoot_limit = 1000;
  size_t line_length_limit = 2048;
  absl::Duration timeout = absl::Seconds(300);
  int soft_error_limit = 10;
  int hard_error_limit = 20;
  absl::Duration error_sleep_time = absl::Seconds(1);
  int client_connection_count_limit = 50;
  // smtpd_junk_command_limit: NOOP, RSET, VRFY, ETRN, HELO and EHLO (and
  // smtpd_noop_commands) past this many since the last delivered message
  // each count as an error.
  int junk_command_limit = 100;
  // smtpd_noop_commands: answered "250 2.0.0 Ok" and otherwise ignored.
  MatchList noop_commands;
  // smtpd_forbidden_commands: an unrecognized command that matches ends the
  // session. At its default (CONNECT GET POST and any command that does
  // not start with a letter) the command parser applies it itself.
  bool builtin_forbidden_commands = true;
  MatchList forbidden_commands;
  bool disable_vrfy_command = false;
  bool strict_rfc821_envelopes = false;
  bool smtputf8_enable = true;
  // smtpd_discard_ehlo_keywords, lower-cased ("dsn", "pipelining", ...).
  std::vector<std::string> discard_ehlo_keywords;
  bool helo_required = false;
  // smtpd_tls_security_level = encrypt (or the older smtpd_enforce_tls):
  // posthasted offers no STARTTLS yet, so MAIL is refused as Postfix
  // refuses it before STARTTLS, rather than taking mail in plain text.
  bool tls_required = false;
  bool peername_lookup = true;
  // local_header_rewrite_clients, reduced to what we evaluate.
  bool rewrite_inet_interfaces = true;
  bool rewrite_mynetworks = false;
  bool rewrite_all = false;
  std::vector<std::string> inet_interfaces;  // addresses, "all" or "loopback-only"
};

// Everything a session of one service needs, built from one Snapshot.
struct SmtpdService {
  std::shared_ptr<const tables::Snapshot> snapshot;
  SmtpdSettings settings;
  std::shared_ptr<const SmtpdAccess> access;
  std::shared_ptr<const CleanupConfig> cleanup;

  static absl::StatusOr<std::shared_ptr<const SmtpdService>> Build(
      std::shared_ptr<const tables::Snapshot> snapshot, std::string_view service);
};

// Connections per client address (smtpd_client_connection_count_limit).
// Sessions hold it by shared_ptr: a session torn down with the event loop
// at shutdown still has it.
class ConnectionCounts {
 public:
  // Adds `delta` for `addr` and returns the new count.
  int Add(const std::string& addr, int delta) {
    std::lock_guard<std::mutex> lock(mu_);
    int& n = counts_[addr];
    n += delta;
    int value = n;
    if (n <= 0) counts_.erase(addr);
    if (delta < 0) ++finished_;
    return value;
  }
  uint64_t finished() const { return finished_.load(); }

 private:
  std::mutex mu_;
  std::map<std::string, int> counts_;
  std::atomic<uint64_t> finished_{0};
};

// Verified client names by address, kept for a minute: a client that
// opens many connections is looked up once, not once per connection.
class ClientNameCache {
 public:
  bool Find(const std::string& addr, std::string* name) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = names_.find(addr);
    if (it == names_.end() || std::chrono::steady_clock::now() > it->second.expires) return false;
    *name = it->second.name;
    return true;
  }
  void Add(const std::string& addr, const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    if (names_.size() >= kMaxEntries) names_.clear();
    names_[addr] = {name, std::chrono::steady_clock::now() + std::chrono::seconds(60)};
  }

 private:
  static constexpr size_t kMaxEntries = 4096;
  struct Entry {
    std::string name;
    std::chrono::steady_clock::time_point expires;
  };
  std::mutex mu_;
  std::map<std::string, Entry> names_;
};

// Shared by all sessions of a server.
struct SmtpdContext {
  Maillog* log = nullptr;
  QueueStore* queue = nullptr;
  // Called with the queue ID after a message is durable (wakes the queue manager).
  std::function<void(const std::string& id)> on_queued;
  // ETRN for a fast_flush_domains domain: deliver its deferred mail now.
  std::function<void(const std::string& domain)> on_etrn;
  std::shared_ptr<ConnectionCounts> connections = std::make_shared<ConnectionCounts>();
  ClientNameCache client_names;
  // Blocking name lookups run here, off the event loop.
  asio::thread_pool* lookup_pool = nullptr;
  // DNS for restrictions (reject_unknown_*_domain ...); nullptr: every such
  // answer is a temporary failure.
  DnsResolver* resolver = nullptr;
  std::atomic<uint64_t> sessions_started{0};
  std::atomic<uint64_t> messages_queued{0};
};

// Runs one session to its end; the socket is closed when it returns.
asio::awaitable<void> RunSmtpdSession(asio::ip::tcp::socket socket,
                                      std::shared_ptr<const SmtpdService> service,
                                      SmtpdContext& context);

}  // namespace posthaste::runtime
