// dns_resolver.cc: c-ares on the Asio io_context.
//
// c-ares tells us through its socket-state callback which descriptors it
// wants watched for reading or writing; each gets a stream_descriptor whose
// async_wait() calls ares_process_fd() when the descriptor is ready. One
// steady_timer follows ares_timeout() so retransmissions and timeouts
// happen without traffic. A query's coroutine waits on its own timer, which
// the c-ares answer callback cancels; all of this runs on one strand.
#include "runtime/dns_resolver.h"

#include <ares.h>
#include <arpa/inet.h>
#include <poll.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>

#include "absl/status/status.h"
#include "asio/co_spawn.hpp"
#include "asio/experimental/as_tuple.hpp"
#include "asio/posix/stream_descriptor.hpp"
#include "asio/steady_timer.hpp"
#include "asio/strand.hpp"
#include "asio/use_awaitable.hpp"

namespace posthaste::runtime {

namespace {

constexpr int kClassIn = 1;
constexpr int kTypeA = 1;
constexpr int kTypeMx = 15;
constexpr int kTypeTxt = 16;
constexpr int kTypeNs = 2;
constexpr int kTypeAaaa = 28;

constexpr char kNotFound[] = "Host not found";
constexpr char kNoData[] = "Host found but no data record of requested type";
constexpr char kTryAgain[] = "Host not found, try again";
constexpr char kInvalidName[] = "invalid host or domain name";

// The answer to one query, as c-ares delivered it.
struct RawAnswer {
  int status = ARES_ECANCELLED;
  bool too_large = false;
  std::string bytes;
};

struct PendingQuery {
  explicit PendingQuery(const asio::strand<asio::any_io_executor>& strand, size_t max_reply)
      : timer(strand), max_reply_bytes(max_reply) {}
  asio::steady_timer timer;
  size_t max_reply_bytes;
  bool done = false;
  RawAnswer answer;
};

absl::Status StatusFromAres(int status) {
  switch (status) {
    case ARES_SUCCESS:
      return absl::OkStatus();
    case ARES_ENOTFOUND:
      return absl::NotFoundError(kNotFound);
    case ARES_ENODATA:
      return absl::NotFoundError(kNoData);
    case ARES_EBADNAME:
      return absl::InvalidArgumentError(kInvalidName);
    default:
      return absl::UnavailableError(kTryAgain);
  }
}

}  // namespace

bool IsValidDnsName(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > 253) return false;
  size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok || ++label > 63) return false;
  }
  if (label == 0) return false;
  std::string text(name);
  unsigned char buf[16];
  if (inet_pton(AF_INET, text.c_str(), buf) == 1) return false;
  if (inet_pton(AF_INET6, text.c_str(), buf) == 1) return false;
  return true;
}

class DnsResolver::Impl : public std::enable_shared_from_this<DnsResolver::Impl> {
 public:
  Impl(asio::any_io_executor executor, DnsResolverOptions options)
      : strand_(asio::make_strand(executor)), timer_(strand_), options_(std::move(options)) {}

  absl::Status Init() {
    static std::once_flag once;
    static int library_status = ARES_SUCCESS;
    std::call_once(once, [] { library_status = ares_library_init(ARES_LIB_INIT_ALL); });
    if (library_status != ARES_SUCCESS) {
      return absl::UnavailableError(std::string("c-ares: ") + ares_strerror(library_status));
    }
    ares_options opts{};
    int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
    opts.sock_state_cb = &Impl::OnSocketState;
    opts.sock_state_cb_data = this;
    opts.timeout = static_cast<int>(std::max<int64_t>(1, absl::ToInt64Milliseconds(options_.timeout)));
    opts.tries = std::max(1, options_.tries);
    int rc = ares_init_options(&channel_, &opts, mask);
    if (rc != ARES_SUCCESS) {
      return absl::UnavailableError(std::string("c-ares init: ") + ares_strerror(rc));
    }
    initialized_ = true;
    if (!options_.servers.empty()) {
      std::string csv;
      for (const std::string& server : options_.servers) {
        if (!csv.empty()) csv += ",";
        csv += server;
      }
      rc = ares_set_servers_ports_csv(channel_, csv.c_str());
      if (rc != ARES_SUCCESS) {
        return absl::InvalidArgumentError("bad DNS server list \"" + csv + "\": " + ares_strerror(rc));
      }
    }
    return absl::OkStatus();
  }

  // Ends every query (their callbacks run with ARES_EDESTRUCTION) and stops
  // watching descriptors. Idempotent.
  void Shutdown() {
    if (destroyed_) return;
    destroyed_ = true;
    if (initialized_) ares_destroy(channel_);
    for (auto& [fd, watcher] : watchers_) ReleaseWatcher(*watcher);
    watchers_.clear();
    timer_.cancel();
  }

  // Runs on the strand (co_spawn'ed there by the public lookups).
  static asio::awaitable<RawAnswer> Query(std::shared_ptr<Impl> self, std::string name, int type) {
    if (self->destroyed_) co_return RawAnswer{ARES_EDESTRUCTION, false, {}};
    auto op = std::make_shared<PendingQuery>(self->strand_, self->options_.max_reply_bytes);
    op->timer.expires_at(std::chrono::steady_clock::time_point::max());
    ++self->queries_;
    ares_query(self->channel_, name.c_str(), kClassIn, type, &Impl::OnAnswer,
               new std::shared_ptr<PendingQuery>(op));
    self->RefreshTimeout();
    while (!op->done) {
      auto [ec] = co_await op->timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
      (void)ec;
      if (!op->done && self->destroyed_) co_return RawAnswer{ARES_EDESTRUCTION, false, {}};
    }
    co_return std::move(op->answer);
  }

  asio::strand<asio::any_io_executor> strand_;
  asio::steady_timer timer_;
  DnsResolverOptions options_;
  ares_channel channel_ = nullptr;
  bool initialized_ = false;
  bool destroyed_ = false;
  std::atomic<uint64_t> queries_{0};

 private:
  struct Watcher {
    Watcher(const asio::strand<asio::any_io_executor>& strand, int descriptor)
        : stream(strand), fd(descriptor) {}
    asio::posix::stream_descriptor stream;
    int fd;
    bool registered = false;
    bool want_read = false;
    bool want_write = false;
    bool read_pending = false;
    bool write_pending = false;
    bool closed = false;
  };

  static void OnAnswer(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
    std::unique_ptr<std::shared_ptr<PendingQuery>> holder(
        static_cast<std::shared_ptr<PendingQuery>*>(arg));
    PendingQuery& op = **holder;
    op.answer.status = status;
    if (status == ARES_SUCCESS && abuf != nullptr && alen > 0) {
      if (static_cast<size_t>(alen) > op.max_reply_bytes) {
        op.answer.too_large = true;
      } else {
        op.answer.bytes.assign(reinterpret_cast<const char*>(abuf), static_cast<size_t>(alen));
      }
    }
    op.done = true;
    op.timer.cancel();
  }

  static void OnSocketState(void* data, ares_socket_t fd, int readable, int writable) {
    static_cast<Impl*>(data)->SocketState(fd, readable != 0, writable != 0);
  }

  void SocketState(int fd, bool readable, bool writable) {
    auto it = watchers_.find(fd);
    if (!readable && !writable) {
      if (it != watchers_.end()) {
        ReleaseWatcher(*it->second);
        watchers_.erase(it);
      }
      return;
    }
    if (it == watchers_.end()) {
      auto watcher = std::make_shared<Watcher>(strand_, fd);
      asio::error_code ec;
      watcher->stream.assign(fd, ec);
      // Without a registration the query still ends, by c-ares' timeout.
      watcher->registered = !ec;
      it = watchers_.emplace(fd, std::move(watcher)).first;
    }
    it->second->want_read = readable;
    it->second->want_write = writable;
    Arm(it->second);
  }

  void ReleaseWatcher(Watcher& watcher) {
    watcher.closed = true;
    if (watcher.registered) {
      // release() cancels the waits and gives the descriptor back without
      // closing it: c-ares closes its own sockets.
      (void)watcher.stream.release();
      watcher.registered = false;
    }
  }

  void Arm(const std::shared_ptr<Watcher>& watcher) {
    if (watcher->closed || !watcher->registered || destroyed_) return;
    if (watcher->want_read && !watcher->read_pending) {
      watcher->read_pending = true;
      watcher->stream.async_wait(asio::posix::stream_descriptor::wait_read,
                                 [self = shared_from_this(), watcher](const asio::error_code& ec) {
                                   self->Ready(watcher, true, ec);
                                 });
    }
    if (watcher->want_write && !watcher->write_pending) {
      watcher->write_pending = true;
      watcher->stream.async_wait(asio::posix::stream_descriptor::wait_write,
                                 [self = shared_from_this(), watcher](const asio::error_code& ec) {
                                   self->Ready(watcher, false, ec);
                                 });
    }
  }

  static bool Readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return poll(&p, 1, 0) == 1 && (p.revents & (POLLIN | POLLERR | POLLHUP)) != 0;
  }

  void Ready(const std::shared_ptr<Watcher>& watcher, bool read, const asio::error_code& ec) {
    (read ? watcher->read_pending : watcher->write_pending) = false;
    if (ec || watcher->closed || destroyed_) return;
    int fd = watcher->fd;
    if (read) {
      ares_process_fd(channel_, fd, ARES_SOCKET_BAD);
      // The reactor reports readiness edges; whatever c-ares left unread
      // would wait for the next packet, so drain here.
      for (int i = 0; i < 64 && !watcher->closed && !destroyed_ && Readable(fd); ++i) {
        ares_process_fd(channel_, fd, ARES_SOCKET_BAD);
      }
    } else {
      ares_process_fd(channel_, ARES_SOCKET_BAD, fd);
    }
    Arm(watcher);
    RefreshTimeout();
  }

  void RefreshTimeout() {
    if (destroyed_) return;
    timeval tv{};
    timeval* next = ares_timeout(channel_, nullptr, &tv);
    if (next == nullptr) {
      timer_.cancel();
      return;
    }
    timer_.expires_after(std::chrono::seconds(next->tv_sec) + std::chrono::microseconds(next->tv_usec));
    timer_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
      if (ec || self->destroyed_) return;
      ares_process_fd(self->channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
      self->RefreshTimeout();
    });
  }

  std::map<int, std::shared_ptr<Watcher>> watchers_;
};

DnsResolver::DnsResolver(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

DnsResolver::~DnsResolver() { impl_->Shutdown(); }

absl::StatusOr<std::unique_ptr<DnsResolver>> DnsResolver::Create(asio::any_io_executor executor,
                                                                 DnsResolverOptions options) {
  auto impl = std::make_shared<Impl>(std::move(executor), std::move(options));
  absl::Status status = impl->Init();
  if (!status.ok()) {
    impl->Shutdown();
    return status;
  }
  return std::unique_ptr<DnsResolver>(new DnsResolver(std::move(impl)));
}

bool IsNullMx(const std::vector<MxRecord>& records) {
  for (const MxRecord& r : records)
    if (r.host.empty()) return true;
  return false;
}

uint64_t DnsResolver::queries_sent() const { return impl_->queries_.load(); }

namespace {

asio::awaitable<RawAnswer> RunQuery(std::shared_ptr<DnsResolver::Impl> impl, std::string name,
                                    int type) {
  auto strand = impl->strand_;
  co_return co_await asio::co_spawn(strand, DnsResolver::Impl::Query(std::move(impl), std::move(name), type),
                                    asio::use_awaitable);
}

// The common failures of a raw answer, before type-specific parsing.
absl::Status AnswerStatus(const RawAnswer& answer) {
  if (answer.status != ARES_SUCCESS) return StatusFromAres(answer.status);
  if (answer.too_large || answer.bytes.empty()) return absl::UnavailableError(kTryAgain);
  return absl::OkStatus();
}

const unsigned char* Bytes(const RawAnswer& answer) {
  return reinterpret_cast<const unsigned char*>(answer.bytes.data());
}

}  // namespace

asio::awaitable<absl::StatusOr<std::vector<MxRecord>>> DnsResolver::LookupMx(std::string name) {
  if (!IsValidDnsName(name)) co_return absl::InvalidArgumentError(kInvalidName);
  RawAnswer answer = co_await RunQuery(impl_, std::move(name), kTypeMx);
  if (absl::Status s = AnswerStatus(answer); !s.ok()) co_return s;
  ares_mx_reply* reply = nullptr;
  int rc = ares_parse_mx_reply(Bytes(answer), static_cast<int>(answer.bytes.size()), &reply);
  if (rc != ARES_SUCCESS) co_return StatusFromAres(rc == ARES_EBADRESP ? ARES_ESERVFAIL : rc);
  std::vector<MxRecord> records;
  for (ares_mx_reply* r = reply; r != nullptr && records.size() < impl_->options_.max_records;
       r = r->next) {
    MxRecord record;
    record.preference = r->priority;
    record.host = r->host ? r->host : "";
    if (!record.host.empty() && record.host.back() == '.') record.host.pop_back();
    records.push_back(std::move(record));
  }
  ares_free_data(reply);
  if (records.empty()) co_return absl::NotFoundError(kNoData);
  co_return records;
}

asio::awaitable<absl::StatusOr<std::vector<asio::ip::address>>> DnsResolver::LookupA(std::string name) {
  if (!IsValidDnsName(name)) co_return absl::InvalidArgumentError(kInvalidName);
  RawAnswer answer = co_await RunQuery(impl_, std::move(name), kTypeA);
  if (absl::Status s = AnswerStatus(answer); !s.ok()) co_return s;
  std::vector<ares_addrttl> addrs(std::max<size_t>(1, impl_->options_.max_records));
  int count = static_cast<int>(addrs.size());
  int rc = ares_parse_a_reply(Bytes(answer), static_cast<int>(answer.bytes.size()), nullptr,
                              addrs.data(), &count);
  if (rc != ARES_SUCCESS) co_return StatusFromAres(rc == ARES_EBADRESP ? ARES_ESERVFAIL : rc);
  std::vector<asio::ip::address> out;
  for (int i = 0; i < count; ++i) {
    asio::ip::address_v4::bytes_type bytes;
    static_assert(sizeof(bytes) == sizeof(addrs[i].ipaddr));
    memcpy(bytes.data(), &addrs[i].ipaddr, bytes.size());
    out.push_back(asio::ip::address_v4(bytes));
  }
  if (out.empty()) co_return absl::NotFoundError(kNoData);
  co_return out;
}

asio::awaitable<absl::StatusOr<std::vector<std::string>>> DnsResolver::LookupNs(std::string name) {
  if (!IsValidDnsName(name)) co_return absl::InvalidArgumentError(kInvalidName);
  RawAnswer answer = co_await RunQuery(impl_, std::move(name), kTypeNs);
  if (absl::Status s = AnswerStatus(answer); !s.ok()) co_return s;
  hostent* host = nullptr;
  int rc = ares_parse_ns_reply(Bytes(answer), static_cast<int>(answer.bytes.size()), &host);
  if (rc != ARES_SUCCESS) co_return StatusFromAres(rc == ARES_EBADRESP ? ARES_ESERVFAIL : rc);
  std::vector<std::string> servers;
  for (char** a = host->h_aliases; a && *a && servers.size() < impl_->options_.max_records; ++a) {
    std::string server = *a;
    if (!server.empty() && server.back() == '.') server.pop_back();
    servers.push_back(std::move(server));
  }
  ares_free_hostent(host);
  if (servers.empty()) co_return absl::NotFoundError(kNoData);
  co_return servers;
}

asio::awaitable<absl::StatusOr<std::vector<std::string>>> DnsResolver::LookupTxt(std::string name) {
  if (!IsValidDnsName(name)) co_return absl::InvalidArgumentError(kInvalidName);
  RawAnswer answer = co_await RunQuery(impl_, std::move(name), kTypeTxt);
  if (absl::Status s = AnswerStatus(answer); !s.ok()) co_return s;
  ares_txt_ext* reply = nullptr;
  int rc = ares_parse_txt_reply_ext(Bytes(answer), static_cast<int>(answer.bytes.size()), &reply);
  if (rc != ARES_SUCCESS) co_return StatusFromAres(rc == ARES_EBADRESP ? ARES_ESERVFAIL : rc);
  // c-ares lists each character-string; record_start marks where a record begins.
  std::vector<std::string> records;
  for (ares_txt_ext* r = reply; r != nullptr; r = r->next) {
    if (r->record_start || records.empty()) {
      if (records.size() >= impl_->options_.max_records) break;
      records.emplace_back();
    }
    records.back().append(reinterpret_cast<const char*>(r->txt), r->length);
  }
  ares_free_data(reply);
  if (records.empty()) co_return absl::NotFoundError(kNoData);
  co_return records;
}

asio::awaitable<absl::StatusOr<std::vector<asio::ip::address>>> DnsResolver::LookupAaaa(
    std::string name) {
  if (!IsValidDnsName(name)) co_return absl::InvalidArgumentError(kInvalidName);
  RawAnswer answer = co_await RunQuery(impl_, std::move(name), kTypeAaaa);
  if (absl::Status s = AnswerStatus(answer); !s.ok()) co_return s;
  std::vector<ares_addr6ttl> addrs(std::max<size_t>(1, impl_->options_.max_records));
  int count = static_cast<int>(addrs.size());
  int rc = ares_parse_aaaa_reply(Bytes(answer), static_cast<int>(answer.bytes.size()), nullptr,
                                 addrs.data(), &count);
  if (rc != ARES_SUCCESS) co_return StatusFromAres(rc == ARES_EBADRESP ? ARES_ESERVFAIL : rc);
  std::vector<asio::ip::address> out;
  for (int i = 0; i < count; ++i) {
    asio::ip::address_v6::bytes_type bytes;
    static_assert(sizeof(bytes) == sizeof(addrs[i].ip6addr));
    memcpy(bytes.data(), &addrs[i].ip6addr, bytes.size());
    out.push_back(asio::ip::address_v6(bytes));
  }
  if (out.empty()) co_return absl::NotFoundError(kNoData);
  co_return out;
}

}  // namespace posthaste::runtime
