// server.h: posthasted's process: bundle generations, listeners, hot swap,
// the queue, the queue manager and the control socket.
//
// Start-up: load the generation CURRENT names (tables/bundle_loader.h),
// build every smtpd service of it, bind the `inet` smtpd listeners master.cf
// defines, prepare the queue directory, drop privileges (when root), open
// the durable queue, start the queue manager and the control socket, then
// run one Asio event loop per core, each on its own thread and its own
// io_context. The first loop also runs the listeners, queue manager, control
// socket and signals; each SMTP session and each delivery is placed on one
// loop (round robin) and stays there, so its completions never hop between
// threads. Shared state (queue, queue manager, connection cache, counters)
// is locked.
//
// Hot swap (SIGHUP or `phctl reload`): the new generation is loaded and
// verified off the event loop; only when everything in it builds is it
// published with one atomic pointer swap. Sessions already running keep the
// generation they started with. Listeners of services that appeared are
// opened, those of services that disappeared are closed. A bad bundle is
// refused with one log line and the old one keeps serving.
//
// No configuration text is read here: only the bundle.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "asio.hpp"
#include "runtime/maillog.h"
#include "runtime/smtpd_session.h"
#include "tables/bundle_loader.h"

namespace posthaste::runtime {

struct ServerOptions {
  std::string bundle_dir;
  // Overrides of the bundle's queue_directory (tests, the README demo).
  std::string queue_directory;
  // SERVICE=HOST:PORT: listen there instead of where master.cf says
  // (SERVICE as in master.cf, e.g. "smtp" or "127.0.0.1:2525"); port 0 picks one.
  std::map<std::string, std::string> listen;
  // Written once serving: one "SERVICE HOST:PORT" line per socket, then
  // "control SOCKET_PATH" last.
  std::string ready_file;
  int threads = 0;               // 0 = one per core
  std::string user;              // drop to this user when root; "" = mail_owner
  bool keep_root = false;        // do not drop privileges
  std::vector<std::string> dns_servers;  // IP or IP:PORT for the smtp client
  bool log_to_stderr = false;    // ignore maillog_file
};

// Everything built from one bundle generation.
struct Generation {
  std::shared_ptr<const tables::Snapshot> snapshot;
  std::map<std::string, std::shared_ptr<const SmtpdService>> smtpd;  // by master.cf name
  static absl::StatusOr<std::shared_ptr<const Generation>> Build(
      std::shared_ptr<const tables::Snapshot> snapshot);
};

// A main.cf-wide parameter as the bundle carries it (MainParamValue in
// service_params.h), else the registry default.
std::string GlobalParam(const tables::Snapshot& snapshot, std::string_view name);

class Server {
 public:
  static absl::StatusOr<std::unique_ptr<Server>> Create(ServerOptions options, Maillog* log);
  ~Server();
  // Runs until SIGTERM/SIGINT (or Stop()); returns the exit status.
  int Run();
  void Stop();

 private:
  struct Listener;
  class Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace posthaste::runtime
