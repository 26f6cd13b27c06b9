// phctl_main.cc: talks to the posthasted that serves a bundle.
//
//   phctl --bundle DIR [--queue-directory DIR | --socket PATH] VERB [ARGS...]
//
// The control socket is found under the queue_directory the bundle names
// (runtime/control_protocol.h), or where --queue-directory / --socket say.
#include <cstdio>
#include <string>
#include <vector>

#include "runtime/control_protocol.h"
#include "runtime/server.h"
#include "tables/bundle_loader.h"

namespace {

constexpr char kUsage[] =
    "usage: phctl --bundle DIR [--queue-directory DIR | --socket PATH] VERB [ARGS...]\n"
    "verbs:\n"
    "  reload                     load and verify the bundle CURRENT names, then swap it in\n"
    "  status                     bundle in force, listeners, queue counts, deliveries\n"
    "  queue [--json]             the queue in mailq's format (postqueue -j's JSON)\n"
    "  show ID                    one queued message's content (postcat -q)\n"
    "  flush                      retry every deferred message now\n"
    "  hold ID...|ALL             put messages on hold\n"
    "  release ID...|ALL          release held messages\n"
    "  delete ID...|ALL           delete messages\n"
    "  requeue ID...|ALL          requeue messages (routing runs again)\n";

}  // namespace

int main(int argc, char** argv) {
  std::string bundle, queue_dir, socket_path;
  std::vector<std::string> words;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "--bundle" || a == "--queue-directory" || a == "--socket") && i + 1 < argc) {
      std::string v = argv[++i];
      if (a == "--bundle") bundle = v;
      if (a == "--queue-directory") queue_dir = v;
      if (a == "--socket") socket_path = v;
    } else if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else {
      words.push_back(a);
    }
  }
  if (words.empty() || (bundle.empty() && queue_dir.empty() && socket_path.empty())) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  if (socket_path.empty()) {
    if (queue_dir.empty()) {
      posthaste::tables::Loader loader(bundle);
      auto snapshot = loader.LoadCurrent();
      if (!snapshot.ok()) {
        std::fprintf(stderr, "phctl: %s\n", std::string(snapshot.status().message()).c_str());
        return 2;
      }
      queue_dir = posthaste::runtime::GlobalParam(**snapshot, "queue_directory");
    }
    socket_path = posthaste::runtime::ControlSocketPath(queue_dir);
  }
  std::string request;
  for (const std::string& w : words) request += (request.empty() ? "" : " ") + w;
  auto result = posthaste::runtime::SendControlRequest(socket_path, request);
  if (!result.ok()) {
    std::fprintf(stderr, "phctl: %s\n", std::string(result.status().message()).c_str());
    return result.status().code() == absl::StatusCode::kUnavailable ? 2 : 1;
  }
  std::fwrite(result->data(), 1, result->size(), stdout);
  return 0;
}
