// smtp_client.cc: the smtp delivery agent.
//
// The structure follows Postfix 3.7's smtp(8) so that its decisions and texts
// come out the same: a loop over next hops and their server addresses
// (smtp_connect.c), the handshake and the mail transaction
// (smtp_proto.c), and one place that decides whether a failure keeps the
// recipients for the next server, defers or bounces them (smtp_trouble.c).
// Recipients carry a mark during a session: none (still to do), keep (try
// the next server) or drop (outcome recorded); after each session the kept
// ones are unmarked again.
#include "runtime/smtp_client.h"

#include <netdb.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstring>
#include <random>
#include <vector>

#include "absl/status/statusor.h"
#include "asio/connect.hpp"
#include "asio/experimental/as_tuple.hpp"
#include "asio/experimental/awaitable_operators.hpp"
#include "asio/steady_timer.hpp"
#include "asio/this_coro.hpp"
#include "asio/use_awaitable.hpp"
#include "asio/write.hpp"
#include "runtime/dns_resolver.h"
#include "runtime/dsn.h"
#include "runtime/maillog.h"
#include "runtime/queue_record.h"
#include "runtime/service_params.h"
#include "runtime/smtp_connection_cache.h"
#include "runtime/smtp_reply.h"
#include "runtime/smtp_tls.h"
#include "tables/str_cat.h"

namespace posthaste::runtime {

using tables::Cat;

class SmtpDeliveryAgent::Impl {
 public:
  Impl(asio::any_io_executor executor, SmtpClientOptions opts)
      : options(opts), cache(std::move(executor)) {
    // One draw from the system's entropy per agent: std::random_device is
    // slow to construct (a CPUID probe that traps on some virtual machines).
    seed_base = options.random_seed;
    if (seed_base == 0)
      seed_base = std::random_device()() ^ (static_cast<uint64_t>(std::random_device()()) << 32);
  }

  // A different seed for each delivery's address shuffle.
  uint64_t NextSeed() { return seed_base + 0x9e3779b97f4a7c15ULL * deliveries++; }

  void Info(std::string_view text) {
    if (options.maillog) options.maillog->Info("smtp", text);
  }
  void Warning(std::string_view text) {
    if (options.maillog) options.maillog->Warning("smtp", text);
  }

  SmtpClientOptions options;
  SmtpConnectionCache cache;
  TlsContextCache tls_contexts;
  std::atomic<uint64_t> opened{0};
  std::atomic<uint64_t> reused{0};
  uint64_t seed_base = 0;
  std::atomic<uint64_t> deliveries{0};
};

namespace {

using Clock = std::chrono::steady_clock;
using asio::experimental::as_tuple;
using namespace asio::experimental::awaitable_operators;

// Commands pipelined in one write, at most (Postfix's VSTREAM_BUFSIZE).
constexpr size_t kPipelineBytes = 4096;
constexpr size_t kWriteChunk = 64 * 1024;

Clock::duration ToChrono(absl::Duration d) {
  if (d <= absl::ZeroDuration() || d > absl::Hours(24 * 365)) d = absl::Hours(24 * 365);
  return std::chrono::duration_cast<Clock::duration>(absl::ToChronoNanoseconds(d));
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return tolower(static_cast<unsigned char>(x)) == tolower(static_cast<unsigned char>(y));
         });
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  return out;
}

// An IP address literal, optionally "ipv6:"-prefixed.
std::optional<asio::ip::address> ParseIpLiteral(std::string_view text) {
  if (text.size() > 5 && EqualsIgnoreCase(text.substr(0, 5), "ipv6:")) text.remove_prefix(5);
  asio::error_code ec;
  asio::ip::address addr = asio::ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  return addr;
}

struct Settings {
  absl::Duration connect_timeout, helo_timeout, mail_timeout, rcpt_timeout, data_init_timeout,
      data_xfer_timeout, data_done_timeout, rset_timeout, quit_timeout;
  std::string helo_name;
  std::string myhostname;
  std::string bind_address, bind_address6;
  bool bind_enforce = false;
  int64_t mx_address_limit = 5, mx_session_limit = 2;
  bool skip_5xx_greeting = true, always_send_ehlo = true, never_send_ehlo = false;
  bool skip_quit_response = true, randomize_addresses = true;
  bool defer_if_no_mx_address_found = false, ignore_mx_lookup_error = false;
  bool balance_inet_protocols = true, soft_bounce = false;
  bool want_ipv4 = true, want_ipv6 = true;
  int address_preference = 0;  // 0 any, 4 ipv4 first, 6 ipv6 first
  std::string discard_ehlo_keywords;
  std::vector<std::string> fallback_relay;
  std::string relayhost;
  std::string default_service;
  int64_t line_length_limit = 998;  // smtp_line_length_limit (DATA lines)
  int64_t reply_line_limit = 2048;  // line_length_limit (server replies)
  bool cache_on_demand = true;
  std::vector<std::string> cache_destinations;
  absl::Duration cache_time_limit, reuse_time_limit;
  int64_t reuse_count_limit = 0;
  TlsPolicy tls;
  absl::Duration starttls_timeout;
};

// A value from the bundle, or the host-dependent default when the bundle
// kept an unexpanded $name (it expands everything it knows).
std::string Expanded(const ServiceParams& p, std::string_view name, const std::string& fallback) {
  std::string v = p.Str(name);
  if (v.empty() || v.find('$') != std::string::npos) return fallback;
  return v;
}

Settings LoadSettings(const ServiceParams& p) {
  Settings s;
  s.connect_timeout = p.Time("smtp_connect_timeout");
  s.helo_timeout = p.Time("smtp_helo_timeout");
  s.mail_timeout = p.Time("smtp_mail_timeout");
  s.rcpt_timeout = p.Time("smtp_rcpt_timeout");
  s.data_init_timeout = p.Time("smtp_data_init_timeout");
  s.data_xfer_timeout = p.Time("smtp_data_xfer_timeout");
  s.data_done_timeout = p.Time("smtp_data_done_timeout");
  s.rset_timeout = p.Time("smtp_rset_timeout");
  s.quit_timeout = p.Time("smtp_quit_timeout");
  s.myhostname = p.HostName();
  s.helo_name = Expanded(p, "smtp_helo_name", s.myhostname);
  s.bind_address = p.Str("smtp_bind_address");
  s.bind_address6 = p.Str("smtp_bind_address6");
  if (s.bind_address.find('$') != std::string::npos) s.bind_address.clear();
  if (s.bind_address6.find('$') != std::string::npos) s.bind_address6.clear();
  s.bind_enforce = p.Bool("smtp_bind_address_enforce");
  s.mx_address_limit = p.Int("smtp_mx_address_limit");
  s.mx_session_limit = p.Int("smtp_mx_session_limit");
  s.skip_5xx_greeting = p.Bool("smtp_skip_5xx_greeting");
  s.always_send_ehlo = p.Bool("smtp_always_send_ehlo");
  s.never_send_ehlo = p.Bool("smtp_never_send_ehlo");
  s.skip_quit_response = p.Bool("smtp_skip_quit_response");
  s.randomize_addresses = p.Bool("smtp_randomize_addresses");
  s.defer_if_no_mx_address_found = p.Bool("smtp_defer_if_no_mx_address_found");
  s.ignore_mx_lookup_error = p.Bool("ignore_mx_lookup_error");
  s.balance_inet_protocols = p.Bool("smtp_balance_inet_protocols");
  s.soft_bounce = p.Bool("soft_bounce");
  std::vector<std::string> protocols = p.List("inet_protocols");
  if (!protocols.empty()) {
    s.want_ipv4 = s.want_ipv6 = false;
    for (const std::string& proto : protocols) {
      if (EqualsIgnoreCase(proto, "all")) s.want_ipv4 = s.want_ipv6 = true;
      if (EqualsIgnoreCase(proto, "ipv4")) s.want_ipv4 = true;
      if (EqualsIgnoreCase(proto, "ipv6")) s.want_ipv6 = true;
    }
    if (!s.want_ipv4 && !s.want_ipv6) s.want_ipv4 = s.want_ipv6 = true;
  }
  std::string pref = Lower(p.Str("smtp_address_preference"));
  s.address_preference = pref == "ipv4" ? 4 : pref == "ipv6" ? 6 : 0;
  s.discard_ehlo_keywords = p.Str("smtp_discard_ehlo_keywords");
  for (std::string& relay : p.List("smtp_fallback_relay")) {
    if (relay.find('$') == std::string::npos) s.fallback_relay.push_back(std::move(relay));
  }
  s.relayhost = p.Str("relayhost");
  s.default_service = Expanded(p, "smtp_tcp_port", "smtp");
  s.line_length_limit = p.Int("smtp_line_length_limit");
  s.reply_line_limit = p.Int("line_length_limit");
  if (s.reply_line_limit < 512) s.reply_line_limit = 512;
  s.cache_on_demand = p.Bool("smtp_connection_cache_on_demand");
  for (std::string& d : p.List("smtp_connection_cache_destinations")) {
    if (d.find('$') == std::string::npos) s.cache_destinations.push_back(Lower(d));
  }
  s.cache_time_limit = p.Time("smtp_connection_cache_time_limit");
  s.reuse_time_limit = p.Time("smtp_connection_reuse_time_limit");
  s.reuse_count_limit = p.Int("smtp_connection_reuse_count_limit");
  s.tls = LoadTlsPolicy(p);
  s.starttls_timeout = p.Time("smtp_starttls_timeout");
  return s;
}

// Port of a service name or number; 0 when unknown.
uint16_t ServicePort(const std::string& service) {
  if (service.empty()) return 0;
  if (std::all_of(service.begin(), service.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (service.size() > 5) return 0;
    int port = std::stoi(service);
    return port > 0 && port < 65536 ? static_cast<uint16_t>(port) : 0;
  }
  servent entry;
  servent* found = nullptr;
  char buf[1024];
  if (getservbyname_r(service.c_str(), "tcp", &entry, buf, sizeof(buf), &found) == 0 && found) {
    return ntohs(static_cast<uint16_t>(found->s_port));
  }
  if (service == "smtp") return 25;
  if (service == "submission") return 587;
  if (service == "smtps" || service == "submissions") return 465;
  return 0;
}

struct Destination {
  std::string host;
  uint16_t port = 25;
  bool lookup_mx = true;
};

// "[host]", "[host]:port", "host", "host:port" (Postfix's host_port()).
bool ParseDestination(std::string_view site, const std::string& default_service, Destination* out) {
  std::string host, service;
  bool bracketed = false;
  if (!site.empty() && site.front() == '[') {
    size_t close = site.find(']');
    if (close == std::string_view::npos) return false;
    host.assign(site.substr(1, close - 1));
    std::string_view rest = site.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      service.assign(rest.substr(1));
    }
    bracketed = true;
    if (host.size() > 5 && EqualsIgnoreCase(std::string_view(host).substr(0, 5), "ipv6:")) {
      host.erase(0, 5);
    }
  } else if (std::count(site.begin(), site.end(), ':') == 1) {
    size_t colon = site.find(':');
    host.assign(site.substr(0, colon));
    service.assign(site.substr(colon + 1));
  } else {
    host.assign(site);
  }
  if (host.empty()) return false;
  if (service.empty()) service = default_service;
  uint16_t port = ServicePort(service);
  if (port == 0) return false;
  out->host = host;
  out->port = port;
  out->lookup_mx = !bracketed && !ParseIpLiteral(host).has_value();
  return true;
}

std::vector<std::string> SplitSites(std::string_view list) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < list.size()) {
    size_t start = list.find_first_not_of(", \t\r\n", i);
    if (start == std::string_view::npos) break;
    size_t end = list.find_first_of(", \t\r\n", start);
    if (end == std::string_view::npos) end = list.size();
    out.emplace_back(list.substr(start, end - start));
    i = end;
  }
  return out;
}

// One candidate server address.
struct Target {
  std::string host;
  asio::ip::address addr;
  unsigned pref = 0;
};

// The reason for the last failure, as Postfix's DSN_BUF: status, text, the
// remote MTA and its reply when the failure came from one.
struct Why {
  std::string status, reason, mta, reply;
  bool has() const { return !status.empty(); }
  bool soft() const { return !status.empty() && status[0] == '4'; }
  bool hard() const { return !status.empty() && status[0] == '5'; }
  void Reset() { *this = Why(); }
};

// Postfix's DNS lookup status order (dns.h): larger is "better"; the best
// failure of several lookups is the one reported.
enum DnsRank { kDnsOk = 0, kDnsNotFound = -1, kDnsRetry = -5 };

int RankOf(const absl::Status& s) {
  if (s.ok()) return kDnsOk;
  if (s.code() == absl::StatusCode::kNotFound || s.code() == absl::StatusCode::kInvalidArgument) {
    return kDnsNotFound;
  }
  return kDnsRetry;
}

std::string DnsErrorText(std::string_view name, std::string_view type, const absl::Status& s) {
  if (s.code() == absl::StatusCode::kInvalidArgument) {
    return Cat("Name service error for ", name, ": invalid host or domain name");
  }
  std::string message(s.message());
  return Cat("Host or domain name not found. Name service error for name=", name, " type=", type,
             ": ", message.empty() ? std::string("Host not found, try again") : message);
}

enum class Io { kOk, kTimeout, kEof };

// A timeout for one read or write: a timer on the delivery's own executor
// that cancels the connection's socket when it fires first. Cheaper than
// racing the operation against the timer with `||` (which starts two
// coroutines per I/O). The timer's handler runs on the delivery's executor
// (one event-loop thread), the only thread that touches the connection
// while the delivery owns it; `state` tells a late handler that the I/O is
// over.
class IoDeadline {
 public:
  IoDeadline(const asio::any_io_executor& executor, SmtpConnection& c, absl::Duration timeout)
      : timer_(executor), state_(std::make_shared<State>()) {
    timer_.expires_after(ToChrono(timeout));
    timer_.async_wait([state = state_, socket = &c.socket](const asio::error_code& ec) {
      if (ec || state->over) return;
      state->expired = true;
      asio::error_code ignored;
      socket->cancel(ignored);
    });
  }
  ~IoDeadline() { End(); }
  IoDeadline(const IoDeadline&) = delete;
  IoDeadline& operator=(const IoDeadline&) = delete;
  // The operation completed (or failed): true when the timer had fired.
  bool End() {
    if (!state_->over) {
      state_->over = true;
      timer_.cancel();
    }
    return state_->expired;
  }

 private:
  struct State {
    bool over = false;
    bool expired = false;
  };
  asio::steady_timer timer_;
  std::shared_ptr<State> state_;
};

asio::awaitable<Io> ReadReply(SmtpConnection& c, absl::Duration timeout, SmtpReply* out) {
  char buf[4096];
  auto executor = co_await asio::this_coro::executor;
  for (;;) {
    if (std::optional<SmtpReply> reply = c.reader.Next()) {
      *out = std::move(*reply);
      co_return Io::kOk;
    }
    IoDeadline deadline(executor, c, timeout);
    asio::error_code ec;
    size_t n = 0;
    if (c.tls)
      std::tie(ec, n) = co_await c.tls->async_read_some(asio::buffer(buf), as_tuple(asio::use_awaitable));
    else
      std::tie(ec, n) = co_await c.socket.async_read_some(asio::buffer(buf), as_tuple(asio::use_awaitable));
    if (deadline.End()) co_return Io::kTimeout;
    if (ec || n == 0) co_return Io::kEof;
    c.reader.Append(std::string_view(buf, n));
  }
}

asio::awaitable<Io> WriteAll(SmtpConnection& c, std::string_view data, absl::Duration timeout) {
  auto executor = co_await asio::this_coro::executor;
  while (!data.empty()) {
    size_t chunk = std::min(data.size(), kWriteChunk);
    IoDeadline deadline(executor, c, timeout);
    asio::error_code ec;
    size_t n = 0;
    if (c.tls)
      std::tie(ec, n) = co_await asio::async_write(*c.tls, asio::buffer(data.data(), chunk),
                                                   as_tuple(asio::use_awaitable));
    else
      std::tie(ec, n) = co_await asio::async_write(c.socket, asio::buffer(data.data(), chunk),
                                                   as_tuple(asio::use_awaitable));
    if (deadline.End()) co_return Io::kTimeout;
    if (ec) co_return Io::kEof;
    data.remove_prefix(n);
  }
  co_return Io::kOk;
}

// The mail transaction's stages, for timeouts and texts (smtp_proto.c).
enum class Stage { kMail, kRcpt, kData, kDot, kAbort, kRsetProbe, kQuit };

const char* Where(Stage s) {
  switch (s) {
    case Stage::kMail: return "sending MAIL FROM";
    case Stage::kRcpt: return "sending RCPT TO";
    case Stage::kData: return "sending DATA command";
    case Stage::kDot: return "sending end of data -- message may be sent more than once";
    case Stage::kAbort: return "sending final RSET";
    case Stage::kRsetProbe: return "sending RSET probe";
    case Stage::kQuit: return "sending QUIT";
  }
  return "";
}

const char* Request(Stage s) {
  switch (s) {
    case Stage::kMail: return "MAIL FROM command";
    case Stage::kRcpt: return "RCPT TO command";
    case Stage::kData: return "DATA command";
    case Stage::kDot: return "end of DATA command";
    case Stage::kAbort: return "final RSET command";
    case Stage::kRsetProbe: return "RSET probe";
    case Stage::kQuit: return "QUIT command";
  }
  return "";
}

// One Deliver() call.
class Delivery {
 public:
  Delivery(SmtpDeliveryAgent::Impl& agent, const DeliveryRequest& request,
           asio::any_io_executor executor)
      : agent_(agent),
        req_(request),
        executor_(std::move(executor)),
        start_(Clock::now()) {
    ServiceParams params = request.snapshot ? ServiceParams(*request.snapshot, request.service)
                                            : ServiceParams(nullptr);
    s_ = LoadSettings(params);
    rng_.seed(agent.NextSeed());
    for (const DeliveryRecipient& r : request.recipients) rcpts_.push_back(Rcpt{&r, Mark::kNone});
    content_ = request.content ? std::string_view(*request.content) : std::string_view();
  }

  asio::awaitable<void> Run();
  // Any recipient without an outcome (internal error) is deferred.
  DeliveryResult Finish(std::string_view internal_error);

 private:
  enum class Mark { kNone, kKeep, kDrop };
  struct Rcpt {
    const DeliveryRecipient* r;
    Mark mark;
  };

  size_t Left() const {
    return static_cast<size_t>(std::count_if(rcpts_.begin(), rcpts_.end(),
                                             [](const Rcpt& r) { return r.mark != Mark::kDrop; }));
  }

  // Outcomes.
  void Record(Rcpt& rcpt, RecipientOutcome::Status status, std::string dsn, std::string text,
              std::string mta, std::string diagnostic) {
    RecipientOutcome o;
    o.index = rcpt.r->index;
    o.status = status;
    o.dsn = std::move(dsn);
    o.text = std::move(text);
    o.remote_mta = std::move(mta);
    o.diagnostic = std::move(diagnostic);
    result_.outcomes.push_back(std::move(o));
    if (session_) {
      result_.relay = session_->namaddrport;
      result_.conn_use = session_->reuse_count > 0 ? session_->reuse_count + 1 : 0;
    }
    rcpt.mark = Mark::kDrop;
  }
  void RecordWhy(Rcpt& rcpt) {
    RecipientOutcome::Status status = RecipientOutcome::Status::kBounced;
    std::string dsn = why_.status;
    if (why_.soft()) {
      status = RecipientOutcome::Status::kDeferred;
    } else if (s_.soft_bounce) {
      status = RecipientOutcome::Status::kDeferred;
      if (!dsn.empty()) dsn[0] = '4';
    }
    Record(rcpt, status, dsn, why_.reason, why_.mta,
           why_.reply.empty() ? std::string() : Cat("smtp; ", why_.reply));
  }
  void Sent(Rcpt& rcpt, const SmtpReply& reply) {
    std::string text = reply.OneLine();
    Record(rcpt, RecipientOutcome::Status::kSent, reply.dsn, text, session_->host, Cat("smtp; ", text));
    // The next hop got the NOTIFY= request and reports from here on.
    result_.outcomes.back().dsn_passed_on = session_->features.dsn && rcpt.r->notify != 0;
  }

  // Postfix's vsmtp_fill_dsn(): a remote reply outside 4xx/5xx where one was
  // expected is a protocol error.
  void Fill(std::string_view mta, std::string status, std::string reply, std::string reason) {
    if (!mta.empty() && (status.empty() || (status[0] != '4' && status[0] != '5'))) {
      reason = Cat("Protocol error: ", reason);
      status = "5.5.0";
    }
    why_.status = std::move(status);
    why_.reason = std::move(reason);
    why_.mta.assign(mta);
    why_.reply = std::move(reply);
  }
  void Simple(std::string status, std::string reason) { Fill("", std::move(status), "", std::move(reason)); }

  // smtp_bulk_fail(): keep the recipients for the next server, or record
  // the failure for all of them.
  void BulkFail(bool throttle) {
    bool retry_elsewhere = (why_.soft() || (why_.hard() && s_.soft_bounce)) && !final_server_;
    if (retry_elsewhere) {
      agent_.Info(Cat(req_.queue_id, ": ", why_.reason));
      for (Rcpt& r : rcpts_) {
        if (r.mark == Mark::kNone) r.mark = Mark::kKeep;
      }
    } else {
      bool deferred = false;
      for (Rcpt& r : rcpts_) {
        if (r.mark != Mark::kNone) continue;
        RecordWhy(r);
        deferred = deferred || result_.outcomes.back().status == RecipientOutcome::Status::kDeferred;
      }
      // Postfix's hop status: the destination, not the message, is in
      // trouble, unless some session here got through a whole transaction.
      if (throttle && deferred && !complete_session_ && result_.destination_failure.empty()) {
        result_.destination_failure = why_.reason;
        result_.destination_failure_dsn = why_.status;
      }
    }
    if (throttle && session_) {
      dont_cache_ = true;
      throttled_ = true;
    }
  }
  void SiteFail(std::string_view mta, const SmtpReply& reply, std::string reason) {
    Fill(mta, reply.dsn, reply.OneLine(), std::move(reason));
    BulkFail(true);
  }
  void MesgFail(std::string_view mta, const SmtpReply& reply, std::string reason) {
    Fill(mta, reply.dsn, reply.OneLine(), std::move(reason));
    BulkFail(false);
  }
  void RcptFail(Rcpt& rcpt, std::string_view mta, const SmtpReply& reply, std::string reason) {
    Fill(mta, reply.dsn, reply.OneLine(), std::move(reason));
    bool retry_elsewhere = (why_.soft() || (why_.hard() && s_.soft_bounce)) && !final_server_;
    if (retry_elsewhere) {
      agent_.Info(Cat(req_.queue_id, ": ", why_.reason));
      rcpt.mark = Mark::kKeep;
    } else {
      RecordWhy(rcpt);
    }
  }
  // smtp_stream_except(): timeout or lost connection.
  void StreamExcept(Io io, std::string_view where) {
    Simple("4.4.2", io == Io::kTimeout
                        ? Cat("conversation with ", session_->namaddr, " timed out while ", where)
                        : Cat("lost connection with ", session_->namaddr, " while ", where));
    broken_ = true;
    BulkFail(true);
  }
  std::string Said(const SmtpReply& reply, Stage stage) const {
    return Cat("host ", session_->namaddr, " said: ", reply.OneLine(), " (in reply to ",
               Request(stage), ")");
  }

  absl::Duration Timeout(Stage stage) const {
    switch (stage) {
      case Stage::kMail: return s_.mail_timeout;
      case Stage::kRcpt: return s_.rcpt_timeout;
      case Stage::kData: return s_.data_init_timeout;
      case Stage::kDot: return s_.data_done_timeout;
      case Stage::kAbort:
      case Stage::kRsetProbe: return s_.rset_timeout;
      case Stage::kQuit: return s_.quit_timeout;
    }
    return s_.mail_timeout;
  }

  // Lookups (smtp_addr.c).
  asio::awaitable<void> AddrOne(const std::string& host, unsigned pref, std::vector<Target>* list);
  asio::awaitable<std::vector<Target>> DomainAddr(const std::string& domain);
  asio::awaitable<std::vector<Target>> HostAddr(const std::string& host);
  void SortAndBalance(std::vector<Target>* list, bool sort_by_family);

  // Sessions (smtp_connect.c, smtp_proto.c).
  asio::awaitable<std::unique_ptr<SmtpConnection>> Connect(const Target& target, uint16_t port);
  asio::awaitable<int> Helo();
  // EHLO (or HELO when EHLO is refused and `allow_helo`): 0, or -1 after
  // recording the failure.
  asio::awaitable<int> SayHello(bool allow_helo);
  asio::awaitable<int> StartTls();
  void LocalSiteFail(std::string status, std::string reason) {
    Simple(std::move(status), std::move(reason));
    BulkFail(true);
  }
  asio::awaitable<void> Xfer();
  asio::awaitable<void> Abort(bool pipelining);
  asio::awaitable<void> Quit();
  asio::awaitable<bool> ReuseCached(std::vector<Target>* addrs);
  asio::awaitable<void> CleanupSession();
  bool Expired() const {
    if (!session_) return true;
    if (Clock::now() >= session_->created + ToChrono(s_.reuse_time_limit)) return true;
    return s_.reuse_count_limit > 0 && session_->reuse_count >= s_.reuse_count_limit;
  }
  bool WillCache() const { return !cache_key_.empty() && !dont_cache_ && !broken_ && !Expired(); }
  std::string CacheKey(std::string_view site) const {
    return Cat(req_.service.empty() ? std::string_view(req_.transport) : std::string_view(req_.service),
               "\n", Lower(site), "\n", req_.source.empty() ? s_.bind_address : req_.source, "\n",
               req_.source6.empty() ? s_.bind_address6 : req_.source6);
  }

  SmtpDeliveryAgent::Impl& agent_;
  const DeliveryRequest& req_;
  asio::any_io_executor executor_;
  Settings s_;
  std::mt19937_64 rng_;
  std::vector<Rcpt> rcpts_;
  std::string_view content_;
  Why why_;
  DeliveryResult result_;

  bool final_nexthop_ = false;
  bool final_server_ = false;
  bool complete_session_ = false;  // some session got through a transaction
  std::string current_domain_;     // the next hop's host, for TLS name checks
  bool tls_disabled_ = false;      // retrying a server in plaintext
  bool retry_plain_ = false;       // opportunistic TLS failed: try again without
  std::string cache_key_;

  // The current session.
  std::unique_ptr<SmtpConnection> session_;
  bool broken_ = false;      // I/O failed: no more I/O on it
  bool dont_cache_ = false;  // QUIT sent, or the server misbehaved
  bool quit_sent_ = false;
  bool throttled_ = false;
  bool best_mx_ = false;

  Clock::time_point start_;
  std::optional<Clock::time_point> setup_done_;
};

asio::awaitable<void> Delivery::AddrOne(const std::string& host, unsigned pref,
                                        std::vector<Target>* list) {
  if (std::optional<asio::ip::address> literal = ParseIpLiteral(host)) {
    list->push_back(Target{host, *literal, pref});
    co_return;
  }
  struct Lookup {
    const char* type;
    bool v6;
  };
  std::vector<Lookup> lookups;
  if (s_.want_ipv4) lookups.push_back({"A", false});
  if (s_.want_ipv6) lookups.push_back({"AAAA", true});
  bool found = false;
  int best_rank = INT_MIN;
  absl::Status best_status;
  const char* best_type = "A";
  for (const Lookup& lookup : lookups) {
    absl::StatusOr<std::vector<asio::ip::address>> result =
        absl::UnavailableError("Host not found, try again");
    if (agent_.options.resolver != nullptr) {
      if (lookup.v6) {
        result = co_await agent_.options.resolver->LookupAaaa(host);
      } else {
        result = co_await agent_.options.resolver->LookupA(host);
      }
    }
    if (result.ok()) {
      found = true;
      for (const asio::ip::address& addr : *result) list->push_back(Target{host, addr, pref});
      continue;
    }
    int rank = RankOf(result.status());
    if (rank >= best_rank) {
      best_rank = rank;
      best_status = result.status();
      best_type = lookup.type;
    }
  }
  if (found) co_return;
  // "A soft error dominates past and future hard errors."
  bool soft_before = why_.soft();
  std::string text = DnsErrorText(host, best_type, best_status);
  if (best_rank == kDnsRetry) {
    Simple("4.4.3", std::move(text));
  } else {
    Simple(soft_before ? "4.4.4" : "5.4.4", std::move(text));
  }
}

void Delivery::SortAndBalance(std::vector<Target>* list, bool sort_by_family) {
  if (list->size() < 2) return;
  if (s_.randomize_addresses) std::shuffle(list->begin(), list->end(), rng_);
  if (sort_by_family) {
    int prefer = s_.address_preference;
    std::stable_sort(list->begin(), list->end(), [prefer](const Target& a, const Target& b) {
      if (a.pref != b.pref) return a.pref < b.pref;
      if (prefer == 0) return false;
      bool a_first = prefer == 4 ? a.addr.is_v4() : a.addr.is_v6();
      bool b_first = prefer == 4 ? b.addr.is_v4() : b.addr.is_v6();
      return a_first && !b_first;
    });
  }
  // smtp_balance_inet_proto(): keep both families within the address limit.
  int64_t limit = s_.mx_address_limit;
  if (limit <= 0 || !s_.balance_inet_protocols) return;
  int64_t v4 = std::count_if(list->begin(), list->end(), [](const Target& t) { return t.addr.is_v4(); });
  int64_t v6 = static_cast<int64_t>(list->size()) - v4;
  if (v4 == 0 || v6 == 0 || v4 + v6 <= limit) return;
  int64_t v4_target, v6_target;
  if (v6 <= limit / 2) {
    v6_target = v6;
    v4_target = limit - v6_target;
  } else if (v4 <= limit / 2) {
    v4_target = v4;
    v6_target = limit - v4_target;
  } else {
    v4_target = (limit + (list->front().addr.is_v4() ? 1 : 0)) / 2;
    v6_target = limit - v4_target;
  }
  std::vector<Target> kept;
  for (Target& t : *list) {
    int64_t& budget = t.addr.is_v4() ? v4_target : v6_target;
    if (budget > 0) {
      kept.push_back(std::move(t));
      --budget;
    }
  }
  *list = std::move(kept);
}

asio::awaitable<std::vector<Target>> Delivery::HostAddr(const std::string& host) {
  why_.Reset();
  std::vector<Target> list;
  co_await AddrOne(host, 0, &list);
  SortAndBalance(&list, s_.want_ipv4 && s_.want_ipv6);
  co_return list;
}

asio::awaitable<std::vector<Target>> Delivery::DomainAddr(const std::string& domain) {
  why_.Reset();
  absl::StatusOr<std::vector<MxRecord>> mx = absl::UnavailableError("Host not found, try again");
  if (agent_.options.resolver != nullptr) mx = co_await agent_.options.resolver->LookupMx(domain);
  if (!mx.ok()) {
    if (RankOf(mx.status()) == kDnsNotFound) co_return co_await HostAddr(domain);
    Simple("4.4.3", DnsErrorText(domain, "MX", mx.status()));
    if (s_.ignore_mx_lookup_error) co_return co_await HostAddr(domain);
    co_return std::vector<Target>();
  }
  std::vector<MxRecord> records = std::move(*mx);
  if (IsNullMx(records)) {
    Simple("5.1.0", Cat("Domain ", domain, " does not accept mail (nullMX)"));
    co_return std::vector<Target>();
  }
  std::stable_sort(records.begin(), records.end(),
                   [](const MxRecord& a, const MxRecord& b) { return a.preference < b.preference; });
  std::vector<Target> list;
  for (const MxRecord& record : records) co_await AddrOne(record.host, record.preference, &list);
  if (list.empty()) {
    if (s_.defer_if_no_mx_address_found && why_.hard()) why_.status[0] = '4';
    agent_.Warning(Cat("no MX host for ", domain, " has a valid address record"));
    co_return list;
  }
  SortAndBalance(&list, true);
  co_return list;
}

asio::awaitable<std::unique_ptr<SmtpConnection>> Delivery::Connect(const Target& target, uint16_t port) {
  auto conn = std::make_unique<SmtpConnection>(executor_, static_cast<size_t>(s_.reply_line_limit));
  conn->host = target.host;
  conn->addr = target.addr.to_string();
  conn->port = port;
  conn->namaddr = Cat(conn->host, "[", conn->addr, "]");
  conn->namaddrport = Cat(conn->namaddr, ":", static_cast<int>(port));
  asio::ip::tcp::endpoint remote(target.addr, port);
  asio::error_code ec;
  conn->socket.open(remote.protocol(), ec);
  if (ec) {
    Simple("4.4.1", Cat("connect to ", conn->namaddr, ":", static_cast<int>(port), ": ", ec.message()));
    co_return nullptr;
  }
  // The source address (sender reputation): routing's choice first, then the
  // service's smtp_bind_address(6).
  std::string bind = target.addr.is_v6() ? (req_.source6.empty() ? s_.bind_address6 : req_.source6)
                                         : (req_.source.empty() ? s_.bind_address : req_.source);
  if (!bind.empty()) {
    std::string text = bind;
    if (text.size() >= 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
    std::optional<asio::ip::address> local = ParseIpLiteral(text);
    asio::error_code bind_ec;
    if (!local) {
      bind_ec = asio::error::invalid_argument;
    } else {
      conn->socket.bind(asio::ip::tcp::endpoint(*local, 0), bind_ec);
    }
    if (bind_ec) {
      agent_.Warning(Cat("smtp_connect_addr: bind ", text, ": ", bind_ec.message()));
      if (s_.bind_enforce || !local) {
        Simple("4.4.0", "server configuration error");
        co_return nullptr;
      }
    }
  }
  asio::steady_timer timer(executor_);
  timer.expires_after(ToChrono(s_.connect_timeout));
  auto result = co_await (conn->socket.async_connect(remote, as_tuple(asio::use_awaitable)) ||
                          timer.async_wait(as_tuple(asio::use_awaitable)));
  std::string failure;
  if (result.index() == 1) {
    failure = std::strerror(ETIMEDOUT);
  } else if (auto [connect_ec] = std::get<0>(result); connect_ec) {
    failure = connect_ec.message();
  }
  if (!failure.empty()) {
    Simple("4.4.1", Cat("connect to ", conn->namaddr, ":", static_cast<int>(port), ": ", failure));
    co_return nullptr;
  }
  conn->created = Clock::now();
  ++agent_.opened;
  co_return conn;
}

asio::awaitable<int> Delivery::Helo() {
  SmtpConnection& c = *session_;
  SmtpReply reply;
  Io io = co_await ReadReply(c, s_.helo_timeout, &reply);
  if (io != Io::kOk) {
    StreamExcept(io, "receiving the initial server greeting");
    co_return -1;
  }
  if (reply.code / 100 != 2) {
    if (reply.code / 100 == 5 && s_.skip_5xx_greeting) reply.dsn[0] = '4';
    SiteFail(c.host, reply, Cat("host ", c.namaddr, " refused to talk to me: ", reply.OneLine()));
    co_return -1;
  }
  if (s_.tls.level == TlsLevel::kInvalid && !tls_disabled_) {
    agent_.Warning(s_.tls.problem);
    LocalSiteFail("4.7.0", "client TLS configuration problem");
    co_return -1;
  }
  bool loop_detect = c.port == 25;
  {
    std::string_view rest = reply.text;
    size_t first_end = rest.find_first_of(" \t\n");
    rest = first_end == std::string_view::npos ? std::string_view() : rest.substr(first_end);
    int n = 0;
    while (!rest.empty()) {
      size_t start = rest.find_first_not_of(" \t\n");
      if (start == std::string_view::npos) break;
      size_t end = rest.find_first_of(" \t\n", start);
      std::string_view word = rest.substr(start, end == std::string_view::npos ? end : end - start);
      rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
      if (n == 0 && EqualsIgnoreCase(word, s_.myhostname)) {
        if (loop_detect) {
          agent_.Warning(Cat("host ", c.namaddrport, " greeted me with my own hostname ", s_.myhostname));
        }
      } else if (EqualsIgnoreCase(word, "ESMTP")) {
        c.esmtp = true;
      }
      ++n;
    }
  }
  if (s_.always_send_ehlo) c.esmtp = true;
  if (s_.never_send_ehlo) c.esmtp = false;
  if (co_await SayHello(true) != 0) co_return -1;
  if (loop_detect && c.esmtp && EqualsIgnoreCase(c.features.server_name, s_.myhostname)) {
    agent_.Warning(Cat("host ", c.namaddrport, " replied to HELO/EHLO with my own hostname ",
                       s_.myhostname));
    LocalSiteFail(best_mx_ ? "5.4.6" : "4.4.6", Cat("mail for ", req_.nexthop, " loops back to myself"));
    co_return -1;
  }
  co_return co_await StartTls();
}

asio::awaitable<int> Delivery::SayHello(bool allow_helo) {
  SmtpConnection& c = *session_;
  SmtpReply reply;
  Io io;
  if (c.esmtp) {
    io = co_await WriteAll(c, Cat("EHLO ", s_.helo_name, "\r\n"), s_.helo_timeout);
    if (io == Io::kOk) io = co_await ReadReply(c, s_.helo_timeout, &reply);
    if (io != Io::kOk) {
      StreamExcept(io, "performing the EHLO handshake");
      co_return -1;
    }
    if (reply.code / 100 != 2) {
      if (reply.code == 421 || !allow_helo) {
        SiteFail(c.host, reply, Cat("host ", c.namaddr, " refused to talk to me: ", reply.OneLine()));
        co_return -1;
      }
      c.esmtp = false;
    }
  }
  if (!c.esmtp) {
    io = co_await WriteAll(c, Cat("HELO ", s_.helo_name, "\r\n"), s_.helo_timeout);
    if (io == Io::kOk) io = co_await ReadReply(c, s_.helo_timeout, &reply);
    if (io != Io::kOk) {
      StreamExcept(io, "performing the HELO handshake");
      co_return -1;
    }
    if (reply.code / 100 != 2) {
      SiteFail(c.host, reply, Cat("host ", c.namaddr, " refused to talk to me: ", reply.OneLine()));
      co_return -1;
    }
    c.features = EhloFeatures();
    co_return 0;
  }
  c.features = ParseEhloFeatures(reply.text, s_.discard_ehlo_keywords);
  if (c.features.bad_size_limit) {
    agent_.Warning(Cat("bad EHLO SIZE limit from ", c.namaddrport));
  }
  co_return 0;
}

// STARTTLS (smtp_helo()'s TLS part and smtp_start_tls()).
asio::awaitable<int> Delivery::StartTls() {
  SmtpConnection& c = *session_;
  const TlsPolicy& policy = s_.tls;
  TlsLevel level = tls_disabled_ ? TlsLevel::kNone : policy.level;
  if (c.features.starttls && level == TlsLevel::kNone && policy.note_starttls_offer) {
    agent_.Info(Cat("Host offered STARTTLS: [", c.host, "]"));
  }
  std::shared_ptr<asio::ssl::context> context;
  if (c.features.starttls && level >= TlsLevel::kMay) {
    absl::StatusOr<std::shared_ptr<asio::ssl::context>> made = agent_.tls_contexts.Get(policy);
    if (made.ok()) {
      context = *made;
    } else {
      agent_.Warning(Cat("TLS client initialization failed: ", std::string(made.status().message())));
    }
  }
  if (context) {
    SmtpReply reply;
    Io io = co_await WriteAll(c, "STARTTLS\r\n", s_.starttls_timeout);
    if (io == Io::kOk) io = co_await ReadReply(c, s_.starttls_timeout, &reply);
    if (io != Io::kOk) {
      StreamExcept(io, "receiving the STARTTLS response");
      co_return -1;
    }
    if (reply.code / 100 == 2) {
      // Nothing sent before the handshake may count as part of the TLS
      // session (command injection).
      c.reader.Reset();
      c.tls_context = context;
      c.tls = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket&>>(c.socket, *context);
      SSL* ssl = c.tls->native_handle();
      std::string sni;
      if (policy.servername == "hostname") {
        sni = c.host;
      } else if (policy.servername == "nexthop") {
        sni = current_domain_;
      } else {
        sni = policy.servername;
      }
      if (!sni.empty() && !ParseIpLiteral(sni)) SSL_set_tlsext_host_name(ssl, sni.c_str());
      asio::steady_timer timer(executor_);
      timer.expires_after(ToChrono(s_.starttls_timeout));
      auto result = co_await (
          c.tls->async_handshake(asio::ssl::stream_base::client, as_tuple(asio::use_awaitable)) ||
          timer.async_wait(as_tuple(asio::use_awaitable)));
      std::string failure;
      if (result.index() == 1) {
        failure = "timeout";
      } else if (auto [ec] = std::get<0>(result); ec) {
        failure = ec.message();
      }
      if (!failure.empty()) {
        agent_.Info(Cat("SSL_connect error to ", c.namaddrport, ": ", failure));
        broken_ = true;  // the peer is in an unknown state: no more I/O
        Simple("4.7.5", "Cannot start TLS: handshake failure");
        if (level == TlsLevel::kMay) {
          // Opportunistic TLS: try this server again in plaintext.
          retry_plain_ = true;
          final_server_ = false;
          BulkFail(false);
        } else {
          BulkFail(true);
        }
        co_return -1;
      }
      bool match = level >= TlsLevel::kVerify;
      TlsPeerCheck check =
          CheckTlsPeer(ssl, match ? (level == TlsLevel::kSecure ? current_domain_ : c.host) : std::string(),
                       level == TlsLevel::kSecure);
      agent_.Info(Cat(check.Describe(), " TLS connection established to ", c.namaddrport, ": ",
                      TlsSessionSummary(ssl)));
      if (match && !(check.trusted && check.name_matched)) {
        agent_.Info(Cat("server certificate verification failed for ", c.namaddrport, ": ",
                        !check.has_certificate ? "no certificate"
                        : !check.trusted      ? "untrusted issuer"
                                              : "name mismatch"));
        LocalSiteFail("4.7.5", "Server certificate not verified");
        co_return -1;
      }
      // A new EHLO: the features may differ inside TLS.
      c.esmtp = true;
      co_return co_await SayHello(true);
    }
    c.features.starttls = false;
    if (level >= TlsLevel::kEncrypt) {
      SiteFail(c.host, reply,
               Cat("TLS is required, but host ", c.namaddr, " refused to start TLS: ", reply.OneLine()));
      co_return -1;
    }
  }
  if (level >= TlsLevel::kEncrypt && !c.tls) {
    if (!c.features.starttls) {
      LocalSiteFail("4.7.4", Cat("TLS is required, but was not offered by host ", c.namaddr));
    } else {
      LocalSiteFail("4.7.5", "TLS is required, but our TLS engine is unavailable");
    }
    co_return -1;
  }
  co_return 0;
}

asio::awaitable<void> Delivery::Quit() {
  if (!session_ || broken_ || quit_sent_) co_return;
  quit_sent_ = true;
  dont_cache_ = true;
  Io io = co_await WriteAll(*session_, "QUIT\r\n", s_.quit_timeout);
  if (io != Io::kOk) {
    broken_ = true;
    co_return;
  }
  if (!s_.skip_quit_response) {
    SmtpReply ignored;
    if (co_await ReadReply(*session_, s_.quit_timeout, &ignored) != Io::kOk) broken_ = true;
  }
}

asio::awaitable<void> Delivery::Abort(bool pipelining) {
  SmtpConnection& c = *session_;
  bool keep = WillCache();
  std::string commands = "RSET\r\n";
  if (!keep && pipelining) {
    commands += "QUIT\r\n";
    quit_sent_ = true;
    dont_cache_ = true;
  }
  // Failures here touch no recipient: every one has its mark already.
  if (co_await WriteAll(c, commands, s_.rset_timeout) != Io::kOk) {
    broken_ = true;
    co_return;
  }
  SmtpReply reply;
  if (co_await ReadReply(c, s_.rset_timeout, &reply) != Io::kOk) {
    broken_ = true;
    co_return;
  }
  if (reply.code / 100 != 2) keep = false;
  if (!keep) {
    co_await Quit();
    dont_cache_ = true;
  }
}

// NOTIFY= value for a kDsnNotify* mask, in RFC 3461's order.
std::string NotifyText(uint8_t notify) {
  if (notify & kDsnNotifyNever) return "NEVER";
  std::string out;
  for (auto [bit, name] : {std::pair{kDsnNotifySuccess, "SUCCESS"}, std::pair{kDsnNotifyFailure, "FAILURE"},
                           std::pair{kDsnNotifyDelay, "DELAY"}}) {
    if (!(notify & bit)) continue;
    if (!out.empty()) out += ',';
    out += name;
  }
  return out;
}

asio::awaitable<void> Delivery::Xfer() {
  SmtpConnection& c = *session_;
  uint64_t size = req_.message_size != 0 ? req_.message_size : content_.size();
  if (c.features.size && c.features.size_limit > 0 && c.features.size_limit < size) {
    Simple("5.3.4", Cat("message size ", size, " exceeds size limit ", c.features.size_limit,
                        " of server ", c.namaddr));
    BulkFail(false);
    co_return;
  }

  struct Command {
    Stage stage;
    Rcpt* rcpt;
    std::string line;
  };
  std::vector<Command> commands;
  std::string mail = Cat("MAIL FROM:<", QuoteSmtpAddress(req_.sender), ">");
  if (c.features.size) mail += Cat(" SIZE=", size);
  if (c.features.eight_bit_mime && (req_.flags & kMessage8BitMime) != 0) mail += " BODY=8BITMIME";
  if (c.features.smtputf8 && (req_.flags & kMessageSmtputf8) != 0) mail += " SMTPUTF8";
  // The DSN request goes on to a next hop that offers DSN.
  if (c.features.dsn) {
    if (req_.flags & kMessageDsnRetFull) mail += " RET=FULL";
    if (req_.flags & kMessageDsnRetHeaders) mail += " RET=HDRS";
    if (!req_.dsn_envid.empty()) mail += Cat(" ENVID=", XtextEncode(req_.dsn_envid));
  }
  commands.push_back({Stage::kMail, nullptr, std::move(mail)});
  for (Rcpt& r : rcpts_) {
    if (r.mark != Mark::kNone) continue;
    std::string rcpt = Cat("RCPT TO:<", QuoteSmtpAddress(r.r->address), ">");
    if (c.features.dsn && r.r->notify != 0) rcpt += Cat(" NOTIFY=", NotifyText(r.r->notify));
    size_t semi = r.r->orcpt.find(';');
    if (c.features.dsn && semi != std::string::npos) {
      rcpt += Cat(" ORCPT=", std::string_view(r.r->orcpt).substr(0, semi), ";",
                  XtextEncode(std::string_view(r.r->orcpt).substr(semi + 1)));
    } else if (c.features.dsn && !r.r->original.empty()) {
      rcpt += Cat(" ORCPT=rfc822;", XtextEncode(QuoteSmtpAddress(r.r->original)));
    }
    commands.push_back({Stage::kRcpt, &r, std::move(rcpt)});
  }
  commands.push_back({Stage::kData, nullptr, "DATA"});
  setup_done_ = Clock::now();
  bool pipelining = c.esmtp && c.features.pipelining;

  size_t sent = 0, received = 0;
  bool mail_rejected = false;
  int accepted = 0;  // Postfix's nrcpt: -1 once DATA is refused
  bool aborted = false;
  while (received < commands.size()) {
    if (sent == received) {
      // Sender and receiver are in step: the place for course corrections.
      if (sent > 0 && ((commands[sent].stage == Stage::kRcpt && mail_rejected) ||
                       (commands[sent].stage == Stage::kData && accepted == 0))) {
        aborted = true;
        break;
      }
      std::string batch;
      size_t first = sent;
      do {
        batch += commands[sent].line;
        batch += "\r\n";
        ++sent;
      } while (pipelining && sent < commands.size() &&
               batch.size() + commands[sent].line.size() + 2 <= kPipelineBytes);
      Io io = co_await WriteAll(c, batch, Timeout(commands[first].stage));
      if (io != Io::kOk) {
        StreamExcept(io, Where(commands[received].stage));
        co_return;
      }
    }
    Command& command = commands[received];
    SmtpReply reply;
    Io io = co_await ReadReply(c, Timeout(command.stage), &reply);
    if (io != Io::kOk) {
      StreamExcept(io, Where(command.stage));
      co_return;
    }
    if (reply.had_garbage && pipelining) {
      agent_.Warning(Cat(req_.queue_id, ": non-ESMTP response from ", c.namaddrport, ": ",
                         reply.text.substr(0, 100)));
    }
    switch (command.stage) {
      case Stage::kMail:
        if (reply.code / 100 != 2) {
          MesgFail(c.host, reply, Said(reply, Stage::kMail));
          mail_rejected = true;
        }
        break;
      case Stage::kRcpt:
        if (!mail_rejected) {
          if (reply.code / 100 == 2) {
            ++accepted;
          } else {
            RcptFail(*command.rcpt, c.host, reply, Said(reply, Stage::kRcpt));
          }
        }
        break;
      case Stage::kData:
        if (reply.code / 100 != 3) {
          if (accepted > 0) MesgFail(c.host, reply, Said(reply, Stage::kData));
          accepted = -1;
        }
        break;
      default:
        break;
    }
    ++received;
  }
  if (aborted || accepted < 0) {
    co_await Abort(pipelining);
    co_return;
  }

  // The server said 354. Send the message when some recipient was accepted,
  // else just the final dot (RFC 2920).
  bool keep = WillCache();
  std::string data;
  if (accepted > 0) {
    bool folded = false;
    data = EncodeSmtpData(content_, static_cast<size_t>(std::max<int64_t>(0, s_.line_length_limit)), &folded);
    if (folded) {
      agent_.Info(Cat(req_.queue_id, ": breaking line > ", s_.line_length_limit,
                      " bytes with <CR><LF>SPACE"));
    }
  }
  data += ".\r\n";
  bool quit_pipelined = false;
  if (!keep && pipelining) {
    data += "QUIT\r\n";
    quit_pipelined = quit_sent_ = true;
    dont_cache_ = true;
  }
  Io io = co_await WriteAll(c, data, accepted > 0 ? s_.data_xfer_timeout : s_.data_done_timeout);
  bool lost_inside_data = false;
  if (io == Io::kTimeout) {
    StreamExcept(io, accepted > 0 ? "sending message body" : Where(Stage::kDot));
    co_return;
  }
  if (io == Io::kEof) {
    if (accepted == 0) {
      StreamExcept(io, Where(Stage::kDot));
      co_return;
    }
    // Maybe the server said why before it hung up (a premature 5xx).
    lost_inside_data = true;
    broken_ = true;
  }
  SmtpReply reply;
  io = co_await ReadReply(c, s_.data_done_timeout, &reply);
  if (io != Io::kOk) {
    if (lost_inside_data) {
      StreamExcept(Io::kEof, "sending message body");
    } else {
      StreamExcept(io, Where(Stage::kDot));
    }
    co_return;
  }
  if (accepted > 0) {
    if (reply.code / 100 != 2) {
      MesgFail(c.host, reply, Said(reply, Stage::kDot));
    } else {
      for (Rcpt& r : rcpts_) {
        if (r.mark == Mark::kNone) Sent(r, reply);
      }
    }
  }
  if (lost_inside_data) co_return;
  if (!keep) {
    co_await Quit();
    dont_cache_ = true;
  }
  if (!s_.skip_quit_response && quit_pipelined) {
    SmtpReply ignored;
    (void)co_await ReadReply(c, s_.quit_timeout, &ignored);
  }
}

asio::awaitable<bool> Delivery::ReuseCached(std::vector<Target>* addrs) {
  while (std::unique_ptr<SmtpConnection> conn = agent_.cache.Take(cache_key_, executor_)) {
    ++conn->reuse_count;
    // The RSET probe: the server may have closed the connection meanwhile.
    Io io = co_await WriteAll(*conn, "RSET\r\n", s_.rset_timeout);
    SmtpReply reply;
    if (io == Io::kOk) io = co_await ReadReply(*conn, s_.rset_timeout, &reply);
    if (io != Io::kOk || reply.code / 100 != 2) {
      asio::error_code ignored;
      conn->socket.close(ignored);
      continue;
    }
    ++agent_.reused;
    session_ = std::move(conn);
    break;
  }
  if (!session_) co_return false;
  // The reused server counts as tried (smtp_update_addr_list()).
  if (s_.mx_session_limit == 1 || s_.mx_address_limit == 1) {
    addrs->clear();
  } else {
    for (auto it = addrs->begin(); it != addrs->end(); ++it) {
      if (it->addr.to_string() == session_->addr) {
        addrs->erase(it);
        break;
      }
    }
  }
  if (final_nexthop_ && addrs->empty()) final_server_ = true;
  co_await Xfer();
  if (!broken_) complete_session_ = true;
  co_await CleanupSession();
  co_return true;
}

asio::awaitable<void> Delivery::CleanupSession() {
  if (session_) {
    bool cached = WillCache();
    if (!cached) co_await Quit();
    if (cached && session_->socket.is_open()) {
      auto expiry = session_->created + ToChrono(s_.reuse_time_limit);
      agent_.cache.Put(cache_key_, std::move(session_), s_.cache_time_limit, expiry);
    } else {
      asio::error_code ignored;
      session_->socket.close(ignored);
    }
    session_.reset();
    // Only the first good session is kept under the next-hop name.
    if (!throttled_) cache_key_.clear();
  }
  broken_ = dont_cache_ = throttled_ = quit_sent_ = false;
  for (auto it = rcpts_.begin(); it != rcpts_.end(); ++it) {
    if (it->mark == Mark::kKeep) it->mark = Mark::kNone;
  }
}

asio::awaitable<void> Delivery::Run() {
  if (rcpts_.empty()) co_return;
  std::string nexthop = req_.nexthop;
  if (SplitSites(nexthop).empty()) {
    const std::string& address = rcpts_.front().r->address;
    size_t at = address.rfind('@');
    nexthop = at == std::string::npos ? s_.myhostname : address.substr(at + 1);
  }
  std::vector<std::string> sites = SplitSites(nexthop);
  size_t non_fallback = sites.size();
  for (const std::string& relay : s_.fallback_relay) sites.push_back(relay);

  size_t stopped_at = sites.size();
  for (size_t i = 0; i < sites.size() && Left() > 0; ++i) {
    bool first_nexthop = i == 0;
    final_nexthop_ = i + 1 == sites.size();
    Destination dest;
    std::vector<Target> addrs;
    if (!ParseDestination(sites[i], s_.default_service, &dest)) {
      agent_.Warning(Cat("bad next-hop destination: \"", sites[i], "\""));
      Simple("4.3.5", "server configuration error");
    } else if (dest.lookup_mx) {
      current_domain_ = dest.host;
      addrs = co_await DomainAddr(dest.host);
    } else {
      current_domain_ = dest.host;
      addrs = co_await HostAddr(dest.host);
    }
    unsigned best_pref = addrs.empty() ? 0 : addrs.front().pref;
    if (!addrs.empty() && first_nexthop) {
      std::string domain = Lower(dest.host);
      bool cache = s_.cache_on_demand || std::find(s_.cache_destinations.begin(),
                                                   s_.cache_destinations.end(),
                                                   domain) != s_.cache_destinations.end();
      if (cache) cache_key_ = CacheKey(sites[i]);
    }
    int64_t addr_count = 0, sess_count = 0;
    if (!addrs.empty() && !cache_key_.empty() && Left() > 0) {
      if (co_await ReuseCached(&addrs)) addr_count = sess_count = 1;
    }
    bool plaintext_retry = false;
    for (size_t k = 0; Left() > 0 && k < addrs.size(); ++k) {
      tls_disabled_ = plaintext_retry;
      plaintext_retry = false;
      bool last = k + 1 == addrs.size();
      if (++addr_count == s_.mx_address_limit) last = true;
      session_ = co_await Connect(addrs[k], dest.port);
      if (session_) {
        best_mx_ = addrs[k].pref == best_pref;
        // Handshake errors do not count towards the session limit.
        if (final_nexthop_ && last) final_server_ = true;
        if (co_await Helo() != 0) {
          co_await Quit();
        } else {
          if (++sess_count == s_.mx_session_limit) last = true;
          if (final_nexthop_ && last) final_server_ = true;
          co_await Xfer();
          if (!broken_) complete_session_ = true;
        }
        co_await CleanupSession();
        if (retry_plain_) {
          // The same server once more, without STARTTLS.
          retry_plain_ = false;
          plaintext_retry = true;
          --addr_count;
          --k;
          continue;
        }
      } else {
        agent_.Info(why_.reason);
      }
      if (last) break;
    }
    if (final_nexthop_) {
      stopped_at = i;
      break;
    }
  }

  if (Left() > 0) {
    if (!why_.has()) {
      Simple("4.3.0", "server unavailable or unable to receive mail");
    } else if (!why_.soft()) {
      // Probably a configuration problem: defer rather than bounce.
      if (stopped_at < sites.size() && stopped_at >= non_fallback) {
        agent_.Warning("smtp_fallback_relay configuration problem");
        why_.status = "4.3.5";
      } else if (!sites.empty() && !s_.relayhost.empty() && sites.front() == s_.relayhost) {
        agent_.Warning("relayhost configuration problem");
        why_.status = "4.3.5";
      }
    }
    final_server_ = true;
    BulkFail(true);
  }
}

DeliveryResult Delivery::Finish(std::string_view internal_error) {
  if (session_) {
    asio::error_code ignored;
    session_->socket.close(ignored);
    session_.reset();
  }
  for (Rcpt& r : rcpts_) {
    if (r.mark == Mark::kDrop) continue;
    RecipientOutcome o;
    o.index = r.r->index;
    o.status = RecipientOutcome::Status::kDeferred;
    o.dsn = "4.3.0";
    o.text = internal_error.empty() ? std::string("mail system error") : Cat("mail system error: ", internal_error);
    result_.outcomes.push_back(std::move(o));
    r.mark = Mark::kDrop;
  }
  Clock::time_point end = Clock::now();
  Clock::time_point setup = setup_done_.value_or(end);
  result_.connect_seconds = std::chrono::duration<double>(setup - start_).count();
  result_.transmit_seconds = std::chrono::duration<double>(end - setup).count();
  return std::move(result_);
}

}  // namespace

std::string EncodeSmtpData(std::string_view content, size_t line_limit, bool* folded) {
  std::string out;
  out.reserve(content.size() + content.size() / 32 + 8);
  bool did_fold = false;
  size_t pos = 0;
  while (pos < content.size()) {
    size_t nl = content.find('\n', pos);
    size_t end = nl == std::string_view::npos ? content.size() : nl;
    std::string_view data = content.substr(pos, end - pos);
    if (nl != std::string_view::npos && !data.empty() && data.back() == '\r') data.remove_suffix(1);
    pos = nl == std::string_view::npos ? content.size() : nl + 1;
    // smtp_text_out(): dot-stuff at the start of an output line, break lines
    // longer than the limit with CR LF SPACE.
    size_t space_left = line_limit;
    do {
      if (space_left == line_limit && !data.empty() && data.front() == '.') out.push_back('.');
      if (line_limit > 0 && data.size() >= space_left) {
        out.append(data.substr(0, space_left));
        out.append("\r\n");
        data.remove_prefix(space_left);
        space_left = line_limit;
        if (!data.empty()) {
          out.push_back(' ');
          space_left -= 1;
          did_fold = true;
        }
      } else {
        out.append(data);
        out.append("\r\n");
        break;
      }
    } while (!data.empty());
  }
  if (folded) *folded = did_fold;
  return out;
}

std::string QuoteSmtpAddress(std::string_view address) {
  if (address.empty()) return std::string();
  size_t at = address.rfind('@');
  std::string_view local = at == std::string_view::npos ? address : address.substr(0, at);
  std::string_view domain = at == std::string_view::npos ? std::string_view() : address.substr(at);
  bool needs = local.empty() || local.front() == '.' || local.back() == '.';
  for (size_t i = 0; i < local.size() && !needs; ++i) {
    unsigned char c = static_cast<unsigned char>(local[i]);
    if (c <= ' ' || c == 0x7f || strchr("<>()[]\\,;:@\"", c) != nullptr) needs = true;
    if (c == '.' && i > 0 && local[i - 1] == '.') needs = true;
  }
  if (!needs || at == std::string_view::npos) return std::string(address);
  std::string out = "\"";
  for (char c : local) {
    if (c == '"' || c == '\\' || c == '\r' || c == '\n') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  out.append(domain);
  return out;
}

std::string XtextEncode(std::string_view text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : text) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c < '!' || c > '~' || c == '+' || c == '=') {
      out.push_back('+');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    } else {
      out.push_back(ch);
    }
  }
  return out;
}

SmtpDeliveryAgent::SmtpDeliveryAgent(asio::any_io_executor executor, SmtpClientOptions options)
    : impl_(std::make_shared<Impl>(std::move(executor), options)) {}

SmtpDeliveryAgent::~SmtpDeliveryAgent() { impl_->cache.Clear(); }

asio::awaitable<DeliveryResult> SmtpDeliveryAgent::Deliver(const DeliveryRequest& request) {
  std::shared_ptr<Impl> impl = impl_;
  Delivery delivery(*impl, request, co_await asio::this_coro::executor);
  std::string error;
  try {
    co_await delivery.Run();
  } catch (const std::exception& e) {
    error = e.what();
  }
  if (!error.empty()) impl->Warning(Cat(request.queue_id, ": delivery failed: ", error));
  co_return delivery.Finish(error);
}

size_t SmtpDeliveryAgent::idle_connections() const { return impl_->cache.size(); }
void SmtpDeliveryAgent::CloseIdleConnections() { impl_->cache.Clear(); }
uint64_t SmtpDeliveryAgent::connections_opened() const { return impl_->opened.load(); }
uint64_t SmtpDeliveryAgent::connections_reused() const { return impl_->reused.load(); }

}  // namespace posthaste::runtime
