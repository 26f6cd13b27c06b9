// posthasted_main.cc: the posthasted command line.
//
//   posthasted --bundle DIR [--daemon] [--queue-directory DIR]
//              [--listen SERVICE=HOST:PORT]... [--ready-file FILE]
//              [--threads N] [--user NAME | --keep-root] [--dns-server IP[:PORT]]...
//              [--log-stderr]
#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>

#include "runtime/maillog.h"
#include "runtime/server.h"

namespace {

constexpr char kUsage[] =
    "usage: posthasted --bundle DIR [--daemon] [--queue-directory DIR]\n"
    "                  [--listen SERVICE=HOST:PORT]... [--ready-file FILE] [--threads N]\n"
    "                  [--user NAME | --keep-root] [--dns-server IP[:PORT]]... [--log-stderr]\n";

int Usage(const char* problem) {
  if (problem) std::fprintf(stderr, "posthasted: %s\n", problem);
  std::fputs(kUsage, stderr);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  posthaste::runtime::ServerOptions options;
  bool daemon_mode = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* name) -> const char* {
      if (i + 1 >= argc) return nullptr;
      (void)name;
      return argv[++i];
    };
    if (a == "--bundle") {
      const char* v = value("--bundle");
      if (!v) return Usage("--bundle needs a directory");
      options.bundle_dir = v;
    } else if (a == "--queue-directory") {
      const char* v = value(a.c_str());
      if (!v) return Usage("--queue-directory needs a directory");
      options.queue_directory = v;
    } else if (a == "--listen") {
      const char* v = value(a.c_str());
      std::string s = v ? v : "";
      size_t eq = s.find('=');
      if (eq == std::string::npos || eq == 0) return Usage("--listen needs SERVICE=HOST:PORT");
      options.listen[s.substr(0, eq)] = s.substr(eq + 1);
    } else if (a == "--ready-file") {
      const char* v = value(a.c_str());
      if (!v) return Usage("--ready-file needs a path");
      options.ready_file = v;
    } else if (a == "--threads") {
      const char* v = value(a.c_str());
      if (!v) return Usage("--threads needs a number");
      options.threads = std::atoi(v);
    } else if (a == "--user") {
      const char* v = value(a.c_str());
      if (!v) return Usage("--user needs a name");
      options.user = v;
    } else if (a == "--keep-root") {
      options.keep_root = true;
    } else if (a == "--dns-server") {
      const char* v = value(a.c_str());
      if (!v) return Usage("--dns-server needs an address");
      options.dns_servers.push_back(v);
    } else if (a == "--daemon") {
      daemon_mode = true;
    } else if (a == "--log-stderr") {
      options.log_to_stderr = true;
    } else if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else {
      std::string msg = "unknown argument \"" + a + "\"";
      return Usage(msg.c_str());
    }
  }
  if (options.bundle_dir.empty()) return Usage("--bundle is required");
  std::signal(SIGPIPE, SIG_IGN);
  posthaste::runtime::Maillog log;
  // Detach before any thread starts (threads do not survive fork); the
  // working directory and stderr stay, so relative paths and a log on
  // stderr keep working.
  if (daemon_mode) {
    if (daemon(1, 1) != 0) {
      log.Fatal("master", std::string("daemon: ") + std::strerror(errno));
      return 1;
    }
    log.RefreshPid();
  }
  auto server = posthaste::runtime::Server::Create(options, &log);
  if (!server.ok()) {
    log.Fatal("master", std::string(server.status().message()));
    return 1;
  }
  return (*server)->Run();
}
