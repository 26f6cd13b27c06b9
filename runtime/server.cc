// server.cc: posthasted's process (listeners, hot swap, control socket).
#include "asio/experimental/as_tuple.hpp"
#include "runtime/server.h"

#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <thread>

#include "runtime/cleanup.h"
#include "runtime/control_protocol.h"
#include "runtime/delivery_agents.h"
#include "runtime/qmgr.h"
#include "runtime/mailq_format.h"
#include "runtime/queue_store.h"
#include "runtime/service_params.h"
#include "tables/str_cat.h"

namespace posthaste::runtime {

namespace {
constexpr auto kUseTuple = asio::experimental::as_tuple(asio::use_awaitable);
}  // namespace

using tables::Cat;

namespace {

constexpr std::string_view kProgram = "master";

struct Endpoint {
  std::string host;
  uint16_t port = 0;
};

// "host:port", "[v6]:port", "port", "name" (a services(5) name).
absl::StatusOr<uint16_t> ParsePort(const std::string& text) {
  if (text.empty()) return absl::InvalidArgumentError("empty port");
  bool digits = true;
  for (char c : text) digits &= isdigit(static_cast<unsigned char>(c)) != 0;
  if (digits) {
    long v = std::strtol(text.c_str(), nullptr, 10);
    if (v < 0 || v > 65535) return absl::InvalidArgumentError(Cat("bad port ", text));
    return static_cast<uint16_t>(v);
  }
  servent* se = getservbyname(text.c_str(), "tcp");
  if (se) return static_cast<uint16_t>(ntohs(static_cast<uint16_t>(se->s_port)));
  if (text == "smtp") return 25;
  if (text == "submission") return 587;
  if (text == "smtps" || text == "submissions") return 465;
  return absl::InvalidArgumentError(Cat("unknown service port \"", text, "\""));
}

absl::StatusOr<std::vector<Endpoint>> Endpoints(const std::string& service_name,
                                                const std::vector<std::string>& interfaces) {
  std::string host, port = service_name;
  if (!service_name.empty() && service_name[0] == '[') {
    size_t close = service_name.find("]:");
    if (close == std::string::npos) return absl::InvalidArgumentError(Cat("bad address ", service_name));
    host = service_name.substr(1, close - 1);
    port = service_name.substr(close + 2);
  } else if (size_t colon = service_name.rfind(':'); colon != std::string::npos) {
    host = service_name.substr(0, colon);
    port = service_name.substr(colon + 1);
  }
  auto p = ParsePort(port);
  if (!p.ok()) return p.status();
  std::vector<Endpoint> out;
  if (!host.empty()) {
    out.push_back({host, *p});
    return out;
  }
  for (const std::string& i : interfaces) {
    if (i == "all") {
      out.push_back({"0.0.0.0", *p});
    } else if (i == "loopback-only" || i == "localhost") {
      out.push_back({"127.0.0.1", *p});
    } else {
      out.push_back({i, *p});
    }
  }
  if (out.empty()) out.push_back({"0.0.0.0", *p});
  return out;
}

}  // namespace

std::string GlobalParam(const tables::Snapshot& snapshot, std::string_view name) {
  std::optional<std::string> value = MainParamValue(snapshot, name);
  return value ? *value : ServiceParams(nullptr).Str(name);
}

absl::StatusOr<std::shared_ptr<const Generation>> Generation::Build(
    std::shared_ptr<const tables::Snapshot> snapshot) {
  auto gen = std::make_shared<Generation>();
  gen->snapshot = snapshot;
  for (const auto& [service, params] : snapshot->services()) {
    if (service.size() < 5 || service.compare(service.size() - 5, 5, "/inet") != 0) continue;
    auto it = params.find("process_name");
    if (it == params.end() || it->second != "smtpd") continue;
    auto built = SmtpdService::Build(snapshot, service);
    if (!built.ok())
      return absl::Status(built.status().code(),
                          Cat("service ", service, ": ", std::string(built.status().message())));
    gen->smtpd[service.substr(0, service.size() - 5)] = *built;
  }
  return std::shared_ptr<const Generation>(std::move(gen));
}

struct Server::Listener {
  std::string service;  // master.cf name
  std::vector<std::unique_ptr<asio::ip::tcp::acceptor>> acceptors;
};

class Server::Impl {
 public:
  Impl(ServerOptions options, Maillog* log)
      : options_(std::move(options)), log_(log), loader_(options_.bundle_dir),
        signals_(io_, SIGHUP, SIGTERM, SIGINT) {
    int threads = options_.threads > 0
                      ? options_.threads
                      : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    for (int i = 1; i < threads; ++i) {
      workers_.push_back(std::make_unique<asio::io_context>(1));
      worker_guards_.push_back(asio::make_work_guard(*workers_.back()));
    }
  }

  absl::Status Start();
  int Run();
  void Stop() {
    asio::post(io_, [this] { Shutdown(); });
  }

 private:
  std::shared_ptr<const Generation> Current() const { return current_.load(); }
  // The event-loop contexts in turn (io_ first): where the next session or
  // delivery runs.
  asio::any_io_executor NextLoopExecutor() {
    size_t pick = next_loop_.fetch_add(1, std::memory_order_relaxed) % (workers_.size() + 1);
    return pick == 0 ? asio::any_io_executor(io_.get_executor())
                     : asio::any_io_executor(workers_[pick - 1]->get_executor());
  }
  absl::Status OpenListeners(const Generation& gen, bool at_start);
  absl::Status OpenListener(const std::string& service, const Generation& gen);
  void CloseListener(const std::string& service);
  asio::awaitable<void> AcceptLoop(asio::ip::tcp::acceptor* acceptor, std::string service);
  void WaitSignal();
  // Loads CURRENT off the loop; `done` runs on the loop with the outcome text.
  void Reload(std::function<void(absl::Status, std::string)> done);
  absl::Status PrepareQueueDirectory();
  absl::Status DropPrivileges();
  absl::Status OpenControlSocket();
  asio::awaitable<void> ControlLoop();
  asio::awaitable<void> ServeControl(asio::local::stream_protocol::socket socket);
  std::string Handle(const ControlRequest& request, bool* ok);
  std::string StatusText();
  void WriteReadyFile();
  void Shutdown();

  ServerOptions options_;
  Maillog* log_;
  tables::Loader loader_;
  // Thread 0 runs io_: listeners, queue manager, control socket, signals.
  // Each further thread runs one worker context. A session or a delivery
  // lives on one context from start to end (round robin over io_ and the
  // workers), so its completions do not hop between threads. The workers
  // are declared first so that they outlive io_: operations left in io_ at
  // exit (an accept into a worker's socket, a DNS query a worker's delivery
  // waits for) still find their worker when io_ destroys them.
  std::vector<std::unique_ptr<asio::io_context>> workers_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> worker_guards_;
  asio::io_context io_{1};
  std::atomic<size_t> next_loop_{0};
  asio::signal_set signals_;
  asio::thread_pool lookup_pool_{2};
  std::atomic<std::shared_ptr<const Generation>> current_;
  // Listener state (listeners_, bound_) is only touched on io_'s thread:
  // start-up runs before the loops, and reload completions, control
  // requests and shutdown are all handlers on io_ (which one thread runs).
  std::map<std::string, Listener> listeners_;
  std::string queue_dir_;
  std::unique_ptr<QueueStore> queue_;
  std::unique_ptr<DeliveryAgents> agents_;
  std::unique_ptr<QueueManager> qmgr_;
  SmtpdContext context_;
  std::unique_ptr<asio::local::stream_protocol::acceptor> control_;
  std::atomic<bool> reloading_{false};
  std::atomic<uint64_t> reloads_{0};
  std::atomic<bool> stopping_{false};
  // Open listeners, "SERVICE HOST:PORT" (for status and the ready file).
  std::multimap<std::string, std::string> bound_;
  int ready_fd_ = -1;
};

absl::Status Server::Impl::Start() {
  auto snapshot = loader_.LoadCurrent();
  if (!snapshot.ok()) return snapshot.status();
  auto gen = Generation::Build(*snapshot);
  if (!gen.ok()) return gen.status();
  current_.store(*gen);
  const tables::Snapshot& snap = *(*gen)->snapshot;
  std::string syslog_name = GlobalParam(snap, "syslog_name");
  if (!syslog_name.empty() && syslog_name != "postfix" && syslog_name.find('$') == std::string::npos)
    log_->SetName(syslog_name);
  if (!options_.log_to_stderr) {
    std::string maillog = GlobalParam(snap, "maillog_file");
    if (!maillog.empty())
      if (absl::Status s = log_->OpenFile(maillog); !s.ok()) return s;
  }
  log_->SetHostName(ServiceParams(nullptr).HostName());
  for (const auto& [name, svc] : (*gen)->smtpd) log_->SetHostName(svc->settings.myhostname);
  queue_dir_ = options_.queue_directory.empty() ? GlobalParam(snap, "queue_directory")
                                                : options_.queue_directory;
  if (absl::Status s = OpenListeners(**gen, true); !s.ok()) return s;
  if (absl::Status s = PrepareQueueDirectory(); !s.ok()) return s;
  // The ready file is opened before privileges are dropped (its directory
  // may be root's) and written in one piece once everything runs.
  if (!options_.ready_file.empty()) {
    ready_fd_ = open(options_.ready_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (ready_fd_ < 0)
      return absl::UnavailableError(Cat("open ", options_.ready_file, ": ", std::strerror(errno)));
  }
  if (absl::Status s = DropPrivileges(); !s.ok()) return s;

  QueueStoreOptions qopt;
  qopt.directory = queue_dir_ + "/queue";
  qopt.long_queue_ids = GlobalParam(snap, "enable_long_queue_ids") == "yes";
  int64_t limit = 0;
  std::string size_limit = GlobalParam(snap, "message_size_limit");
  limit = std::strtoll(size_limit.c_str(), nullptr, 10);
  qopt.max_record_bytes = static_cast<size_t>(std::max<int64_t>(limit, 64 << 20)) * 2 + (1 << 20);
  int64_t line_limit = std::strtoll(GlobalParam(snap, "line_length_limit").c_str(), nullptr, 10);
  if (line_limit > 0) qopt.line_length_limit = static_cast<size_t>(line_limit);
  RecoveryReport report;
  auto queue = QueueStore::Open(qopt, &report);
  if (!queue.ok()) return queue.status();
  queue_ = std::move(*queue);
  for (const std::string& p : report.problems) log_->Warning(kProgram, Cat("queue recovery: ", p));
  if (report.segments)
    log_->Info(kProgram, Cat("queue recovered: ", report.messages, " messages in ",
                             report.segments, " segments"));

  context_.log = log_;
  context_.queue = queue_.get();
  context_.lookup_pool = &lookup_pool_;
  DeliveryAgentsOptions agent_options;
  agent_options.dns_servers = options_.dns_servers;
  agent_options.forward = [this](NewMessage message,
                                 const ForwardContent& make_content) -> absl::StatusOr<std::string> {
    message.reserved = queue_->ReserveQueueId();
    std::string content = make_content(message.reserved.id, message.reserved.arrival_micros);
    absl::StatusOr<std::string> id = queue_->EnqueueAndWait(message, content);
    if (!id.ok()) return id;
    // What Postfix's cleanup logs for the copy it is handed.
    std::optional<std::string> message_id = MessageIdOf(content);
    if (message_id) log_->Info("cleanup", Cat(*id, ": message-id=", *message_id));
    if (qmgr_) qmgr_->Notify(*id);
    return id;
  };
  auto agents = DeliveryAgents::Create(io_, log_, std::move(agent_options));
  if (!agents.ok()) return agents.status();
  agents_ = std::move(*agents);
  context_.resolver = agents_->resolver();
  QmgrOptions qmgr_options;
  qmgr_options.delivery_executor = [this] { return NextLoopExecutor(); };
  qmgr_ = std::make_unique<QueueManager>(
      io_, *queue_, *log_, [this] { return Current()->snapshot; },
      [this](std::string_view process) { return agents_->Find(process); }, qmgr_options);
  context_.on_queued = [this](const std::string& id) { qmgr_->Notify(id); };
  context_.on_etrn = [this](const std::string& domain) { qmgr_->FlushSite(domain); };
  qmgr_->Start();
  if (absl::Status s = OpenControlSocket(); !s.ok()) return s;
  log_->Info(kProgram, Cat("daemon started -- version posthaste, bundle ",
                           snap.generation(), " (", snap.manifest_sha256(), ")"));
  WriteReadyFile();
  return absl::OkStatus();
}

absl::Status Server::Impl::OpenListeners(const Generation& gen, bool at_start) {
  for (const auto& [service, svc] : gen.smtpd) {
    if (listeners_.count(service)) continue;
    absl::Status s = OpenListener(service, gen);
    if (!s.ok()) {
      if (at_start) return s;
      log_->Warning(kProgram, std::string(s.message()));
    }
  }
  std::vector<std::string> gone;
  for (const auto& [service, l] : listeners_)
    if (!gen.smtpd.count(service)) gone.push_back(service);
  for (const std::string& service : gone) CloseListener(service);
  return absl::OkStatus();
}

absl::Status Server::Impl::OpenListener(const std::string& service, const Generation& gen) {
  const SmtpdService& svc = *gen.smtpd.at(service);
  std::string where = service;
  auto ov = options_.listen.find(service);
  if (ov != options_.listen.end()) where = ov->second;
  auto endpoints = Endpoints(where, svc.settings.inet_interfaces);
  if (!endpoints.ok()) return absl::InvalidArgumentError(Cat("service ", service, ": ", std::string(endpoints.status().message())));
  Listener listener;
  listener.service = service;
  for (const Endpoint& e : *endpoints) {
    asio::error_code ec;
    asio::ip::address addr = asio::ip::make_address(e.host, ec);
    if (ec) {
      asio::ip::tcp::resolver resolver(io_);
      auto results = resolver.resolve(e.host, std::to_string(e.port), ec);
      if (ec || results.empty())
        return absl::InvalidArgumentError(Cat("service ", service, ": cannot resolve ", e.host));
      addr = results.begin()->endpoint().address();
    }
    asio::ip::tcp::endpoint ep(addr, e.port);
    auto acceptor = std::make_unique<asio::ip::tcp::acceptor>(io_);
    acceptor->open(ep.protocol(), ec);
    if (!ec) acceptor->set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor->bind(ep, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      return absl::UnavailableError(Cat("service ", service, ": bind ", e.host, ":", e.port, ": ",
                                        std::string(ec.message())));
    asio::ip::tcp::endpoint local = acceptor->local_endpoint(ec);
    std::string shown = local.address().is_v6() ? Cat("[", local.address().to_string(), "]")
                                                 : local.address().to_string();
    bound_.emplace(service, Cat(service, " ", shown, ":", local.port()));
    log_->Info(kProgram, Cat("listening on ", shown, ":", local.port(), " for service ", service));
    asio::co_spawn(io_, AcceptLoop(acceptor.get(), service), asio::detached);
    listener.acceptors.push_back(std::move(acceptor));
  }
  listeners_[service] = std::move(listener);
  return absl::OkStatus();
}

void Server::Impl::CloseListener(const std::string& service) {
  auto it = listeners_.find(service);
  if (it == listeners_.end()) return;
  for (auto& a : it->second.acceptors) {
    asio::error_code ec;
    a->close(ec);
  }
  log_->Info(kProgram, Cat("closed listener for service ", service));
  bound_.erase(service);
  // The accept loops hold raw pointers: keep the acceptors alive until the
  // loops have seen the cancellation.
  auto doomed = std::make_shared<Listener>(std::move(it->second));
  listeners_.erase(it);
  auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::seconds(1));
  timer->async_wait([doomed, timer](const asio::error_code&) {});
}

asio::awaitable<void> Server::Impl::AcceptLoop(asio::ip::tcp::acceptor* acceptor,
                                               std::string service) {
  for (;;) {
    asio::any_io_executor target = NextLoopExecutor();
    auto [ec, socket] = co_await acceptor->async_accept(target, kUseTuple);
    if (ec == asio::error::operation_aborted || !acceptor->is_open()) co_return;
    if (ec) {
      if (ec == asio::error::no_descriptors) {
        log_->Warning("smtpd", "accept: too many open files");
        asio::steady_timer t(io_, std::chrono::milliseconds(100));
        co_await t.async_wait(kUseTuple);
      }
      continue;
    }
    std::shared_ptr<const Generation> gen = Current();
    auto it = gen->smtpd.find(service);
    if (it == gen->smtpd.end()) continue;  // removed by a reload in flight
    asio::co_spawn(target, RunSmtpdSession(std::move(socket), it->second, context_),
                   asio::detached);
  }
}

void Server::Impl::WaitSignal() {
  signals_.async_wait([this](const asio::error_code& ec, int signo) {
    if (ec) return;
    if (signo == SIGHUP) {
      Reload([](absl::Status, std::string) {});
      WaitSignal();
      return;
    }
    log_->Info(kProgram, Cat("terminating on signal ", signo));
    Shutdown();
  });
}

void Server::Impl::Reload(std::function<void(absl::Status, std::string)> done) {
  if (reloading_.exchange(true)) {
    done(absl::UnavailableError("a reload is already in progress"), "");
    return;
  }
  std::thread([this, done = std::move(done)]() mutable {
    std::shared_ptr<const Generation> built;
    absl::Status status;
    auto snapshot = loader_.LoadCurrent();
    if (!snapshot.ok()) {
      status = snapshot.status();
    } else {
      auto gen = Generation::Build(*snapshot);
      if (gen.ok())
        built = *gen;
      else
        status = gen.status();
    }
    asio::post(io_, [this, built, status, done = std::move(done)]() mutable {
      reloading_ = false;
      std::shared_ptr<const Generation> old = Current();
      if (!status.ok()) {
        log_->Warning(kProgram, Cat("reload refused: ", std::string(status.message()), "; still serving ",
                                    old->snapshot->generation()));
        done(status, "");
        return;
      }
      if (built->snapshot->manifest_sha256() == old->snapshot->manifest_sha256()) {
        // The same bundle: keep the generation (and its tables) in place.
        std::string text = Cat("bundle ", old->snapshot->generation(), " unchanged\n");
        log_->Info(kProgram, Cat("reload: ", old->snapshot->generation(), " unchanged"));
        done(absl::OkStatus(), text);
        return;
      }
      current_.store(built);
      ++reloads_;
      (void)OpenListeners(*built, false);
      log_->Info(kProgram, Cat("reload: bundle ", built->snapshot->generation(), " (",
                               built->snapshot->manifest_sha256(), ") in force"));
      done(absl::OkStatus(), Cat("bundle ", built->snapshot->generation(), " in force\n"));
    });
  }).detach();
}

absl::Status Server::Impl::PrepareQueueDirectory() {
  std::error_code ec;
  for (const std::string& dir : {queue_dir_, queue_dir_ + "/queue", queue_dir_ + "/control"}) {
    std::filesystem::create_directories(dir, ec);
    if (ec) return absl::UnavailableError(Cat("create ", dir, ": ", std::string(ec.message())));
  }
  chmod((queue_dir_ + "/queue").c_str(), 0700);
  chmod((queue_dir_ + "/control").c_str(), 0700);
  return absl::OkStatus();
}

absl::Status Server::Impl::DropPrivileges() {
  if (geteuid() != 0 || options_.keep_root) return absl::OkStatus();
  std::string user = options_.user.empty() ? GlobalParam(*Current()->snapshot, "mail_owner")
                                           : options_.user;
  if (user == "root") return absl::OkStatus();
  passwd* pw = getpwnam(user.c_str());
  if (!pw)
    return absl::FailedPreconditionError(
        Cat("mail_owner \"", user, "\" is not a user on this host (use --user or --keep-root)"));
  uid_t uid = pw->pw_uid;
  gid_t gid = pw->pw_gid;
  // The queue and control directories, and anything already in them.
  for (const std::string& dir : {queue_dir_ + "/queue", queue_dir_ + "/control"}) {
    if (chown(dir.c_str(), uid, gid) != 0)
      return absl::UnavailableError(Cat("chown ", dir, ": ", std::strerror(errno)));
    std::error_code ec;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir, ec))
      if (chown(entry.path().c_str(), uid, gid) != 0)
        return absl::UnavailableError(Cat("chown ", entry.path().string(), ": ", std::strerror(errno)));
  }
  if (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
    return absl::UnavailableError(Cat("cannot drop privileges to ", user, ": ", std::strerror(errno)));
  log_->Info(kProgram, Cat("running as user ", user));
  return absl::OkStatus();
}

absl::Status Server::Impl::OpenControlSocket() {
  std::string path = ControlSocketPath(queue_dir_);
  unlink(path.c_str());
  asio::error_code ec;
  control_ = std::make_unique<asio::local::stream_protocol::acceptor>(io_);
  asio::local::stream_protocol::endpoint ep(path);
  control_->open(ep.protocol(), ec);
  if (!ec) control_->bind(ep, ec);
  if (!ec) control_->listen(16, ec);
  if (ec) return absl::UnavailableError(Cat("control socket ", path, ": ", std::string(ec.message())));
  chmod(path.c_str(), 0600);
  asio::co_spawn(io_, ControlLoop(), asio::detached);
  return absl::OkStatus();
}

asio::awaitable<void> Server::Impl::ControlLoop() {
  for (;;) {
    asio::local::stream_protocol::socket socket(io_);
    auto [ec] = co_await control_->async_accept(socket, kUseTuple);
    if (ec == asio::error::operation_aborted || !control_->is_open()) co_return;
    if (ec) continue;
    asio::co_spawn(io_, ServeControl(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> Server::Impl::ServeControl(asio::local::stream_protocol::socket socket) {
  std::string line;
  char buf[4096];
  while (line.find('\n') == std::string::npos && line.size() <= kMaxRequestBytes) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(buf), kUseTuple);
    if (ec || n == 0) break;
    line.append(buf, n);
  }
  std::string response;
  auto request = ParseControlRequest(line.substr(0, line.find('\n')));
  if (!request.ok()) {
    response = Cat("error: ", std::string(request.status().message()), "\n");
  } else if (request->verb == "reload") {
    // Answer when the reload has finished.
    auto result = co_await asio::async_initiate<decltype(asio::use_awaitable), void(std::string)>(
        [this](auto handler) {
          auto h = std::make_shared<decltype(handler)>(std::move(handler));
          Reload([h](absl::Status s, std::string text) {
            (*h)(s.ok() ? Cat("ok\n", text) : Cat("error: reload refused: ", std::string(s.message()), "\n"));
          });
        },
        asio::use_awaitable);
    response = std::move(result);
  } else {
    bool ok = true;
    std::string body = Handle(*request, &ok);
    response = ok ? Cat("ok\n", body) : Cat("error: ", body, "\n");
  }
  co_await asio::async_write(socket, asio::buffer(response), kUseTuple);
  asio::error_code ec;
  socket.close(ec);
}

std::string Server::Impl::StatusText() {
  std::shared_ptr<const Generation> gen = Current();
  std::string out = Cat("bundle: ", gen->snapshot->generation(), " ", gen->snapshot->manifest_sha256(), "\n");
  out += Cat("reloads: ", reloads_.load(), "\n");
  for (const auto& [service, b] : bound_) out += Cat("listener: ", b, "\n");
  QueueManager::Status q = qmgr_->GetStatus();
  out += Cat("queue: incoming=", q.incoming, " active=", q.active, " deferred=", q.deferred,
             " hold=", q.hold, "\n");
  out += Cat("deliveries: in_progress=", q.deliveries_in_progress, "\n");
  out += Cat("sessions: started=", context_.sessions_started.load(),
             " finished=", context_.connections->finished(),
             " queued=", context_.messages_queued.load(), "\n");
  return out;
}

std::string Server::Impl::Handle(const ControlRequest& request, bool* ok) {
  if (request.verb == "status") return StatusText();
  if (request.verb == "queue") {
    std::vector<QueuedMessage> list = queue_->List();
    bool json = !request.args.empty() && request.args[0] == "--json";
    const tables::Snapshot& snap = *Current()->snapshot;
    MailqOptions options;
    options.long_queue_ids = GlobalParam(snap, "enable_long_queue_ids") == "yes";
    options.smtputf8 = GlobalParam(snap, "smtputf8_enable") == "yes";
    return json ? FormatMailqJson(list, options) : FormatMailq(list, options);
  }
  if (request.verb == "flush") {
    qmgr_->Flush();
    return "";
  }
  if (request.verb == "hold" || request.verb == "release" || request.verb == "delete" ||
      request.verb == "requeue") {
    if (request.args.empty()) {
      *ok = false;
      return Cat("usage: ", request.verb, " QUEUEID...|ALL");
    }
    std::string out;
    for (const std::string& id : request.args) {
      absl::Status st = request.verb == "hold"      ? qmgr_->Hold(id)
                        : request.verb == "release" ? qmgr_->Release(id)
                        : request.verb == "delete"  ? qmgr_->Delete(id)
                                                    : qmgr_->Requeue(id);
      if (!st.ok()) {
        *ok = false;
        return Cat(id, ": ", std::string(st.message()));
      }
      out += Cat(id, ": ", request.verb == "hold" ? "placed on hold"
                           : request.verb == "release" ? "released from hold"
                           : request.verb == "delete" ? "removed" : "requeued", "\n");
    }
    return out;
  }
  if (request.verb == "show") {  // postcat -q: one message's content
    if (request.args.size() != 1) {
      *ok = false;
      return "usage: show QUEUEID";
    }
    auto content = queue_->ReadContent(request.args[0]);
    if (!content.ok()) {
      *ok = false;
      return std::string(std::string(content.status().message()));
    }
    return *content;
  }
  *ok = false;
  return Cat("unknown verb \"", request.verb, "\"");
}

void Server::Impl::WriteReadyFile() {
  if (ready_fd_ < 0) return;
  std::string text;
  for (const auto& [service, b] : bound_) text += Cat(b, "\n");
  text += Cat("control ", ControlSocketPath(queue_dir_), "\n");
  ssize_t n = write(ready_fd_, text.data(), text.size());
  (void)n;
  close(ready_fd_);
  ready_fd_ = -1;
}

void Server::Impl::Shutdown() {
  if (stopping_.exchange(true)) return;
  std::vector<std::string> names;
  for (const auto& [name, l] : listeners_) names.push_back(name);
  for (const std::string& n : names) CloseListener(n);
  if (qmgr_) qmgr_->Stop();
  if (agents_) agents_->CloseIdle();
  asio::error_code ec;
  if (control_) control_->close(ec);
  signals_.cancel(ec);
  io_.stop();
  for (auto& w : workers_) w->stop();
}

int Server::Impl::Run() {
  WaitSignal();
  std::vector<std::thread> pool;
  for (auto& w : workers_) pool.emplace_back([ctx = w.get()] { ctx->run(); });
  io_.run();
  for (std::thread& t : pool) t.join();
  lookup_pool_.join();
  if (qmgr_) qmgr_->Stop();
  qmgr_.reset();
  agents_.reset();
  queue_.reset();  // commits what is pending
  log_->Info(kProgram, "daemon stopped");
  return 0;
}

absl::StatusOr<std::unique_ptr<Server>> Server::Create(ServerOptions options, Maillog* log) {
  auto impl = std::make_unique<Impl>(std::move(options), log);
  if (absl::Status s = impl->Start(); !s.ok()) return s;
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() = default;
int Server::Run() { return impl_->Run(); }
void Server::Stop() { impl_->Stop(); }

}  // namespace posthaste::runtime
