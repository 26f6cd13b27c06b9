// qmgr_bench.cc: queue manager throughput, enqueue to removal, with an agent
// that accepts every recipient at once.
//
// Usage: qmgr_bench PHC [DIR] [MESSAGES] [RECIPIENTS] [DOMAINS] [IO_THREADS]
// (defaults: a new directory under /var/tmp, 20000, 1, 50, 1). PHC is the
// phc binary (build/tools/phc): the bench writes a small configuration and
// builds the bundle with it. DIR must be on the file system to measure.
//
// What runs: one thread enqueues MESSAGES messages (RECIPIENTS each, spread
// over DOMAINS domains) without waiting, as SMTP sessions do, and notifies
// the queue manager as each becomes durable; the queue manager resolves,
// schedules, hands each request to the fake agent, records every outcome
// in the store (group commit), logs Postfix's lines into a sink, and removes
// the message. The clock stops when the last message is removed.
// Prints messages/s, recipients/s, store syncs per message and CPU per
// message. Postfix's own figure for comparison: about 530 msg/s relayed.
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "asio/executor_work_guard.hpp"
#include "asio/io_context.hpp"
#include "runtime/maillog.h"
#include "runtime/qmgr.h"
#include "runtime/queue_store.h"
#include "tables/bundle_loader.h"

namespace {

using namespace posthaste::runtime;
namespace fs = std::filesystem;

double CpuSeconds() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

class AcceptAll : public DeliveryAgent {
 public:
  asio::awaitable<DeliveryResult> Deliver(const DeliveryRequest& r) override {
    DeliveryResult out;
    out.relay = "sink[127.0.0.1]:25";
    for (const DeliveryRecipient& d : r.recipients) {
      RecipientOutcome o;
      o.index = d.index;
      o.status = RecipientOutcome::Status::kSent;
      o.dsn = "2.0.0";
      o.text = "250 2.0.0 Ok: queued";
      out.outcomes.push_back(std::move(o));
    }
    requests.fetch_add(1, std::memory_order_relaxed);
    co_return out;
  }
  std::atomic<uint64_t> requests{0};
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s PHC [DIR] [MESSAGES] [RECIPIENTS] [DOMAINS] [IO_THREADS]\n",
                 argv[0]);
    return 2;
  }
  std::string phc = argv[1];
  std::string dir = argc > 2 ? argv[2] : "/var/tmp/qmgr_bench." + std::to_string(getpid());
  int messages = argc > 3 ? std::atoi(argv[3]) : 20000;
  int rcpts = argc > 4 ? std::atoi(argv[4]) : 1;
  int domains = argc > 5 ? std::atoi(argv[5]) : 50;
  int io_threads = argc > 6 ? std::atoi(argv[6]) : 1;
  fs::remove_all(dir);
  fs::create_directories(dir + "/conf");
  std::ofstream(dir + "/conf/main.cf") << "myhostname = bench.example\nmydestination =\n"
                                          "relay_domains =\n";
  std::ofstream(dir + "/conf/master.cf")
      << "qmgr unix n - n 300 1 qmgr\nsmtp unix - - n - - smtp\nbounce unix - - n - 0 bounce\n";
  std::string cmd = phc + " build -c " + dir + "/conf -o " + dir + "/bundle > /dev/null";
  if (std::system(cmd.c_str()) != 0) {
    std::fprintf(stderr, "phc build failed\n");
    return 1;
  }
  auto snapshot = posthaste::tables::Loader(dir + "/bundle").LoadCurrent();
  if (!snapshot.ok()) {
    std::fprintf(stderr, "%s\n", std::string(snapshot.status().message()).c_str());
    return 1;
  }
  QueueStoreOptions so;
  so.directory = dir + "/queue";
  auto store = QueueStore::Open(so);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", std::string(store.status().message()).c_str());
    return 1;
  }
  Maillog log;
  std::atomic<uint64_t> lines{0};
  std::atomic<int> removed{0};
  log.SetSink(
      [&](std::string_view line) {
        lines.fetch_add(1, std::memory_order_relaxed);
        if (line.size() > 9 && line.substr(line.size() - 9) == ": removed") {
          removed.fetch_add(1, std::memory_order_relaxed);
        }
      },
      /*only=*/true);
  asio::io_context io;
  auto work = asio::make_work_guard(io);
  AcceptAll agent;
  std::shared_ptr<const posthaste::tables::Snapshot> snap = *snapshot;
  QueueManager qmgr(
      io, **store, log, [&] { return snap; },
      [&](std::string_view name) -> DeliveryAgent* { return name == "smtp" ? &agent : nullptr; });
  qmgr.Start();
  std::vector<std::thread> threads;
  for (int i = 0; i < io_threads; ++i) threads.emplace_back([&] { io.run(); });

  std::string content = "From: a@example.org\nTo: b@example.net\nSubject: bench\n\n";
  while (content.size() < 4096) content += "The quick brown fox jumps over the lazy dog.\n";
  uint64_t syncs_before = (*store)->stats().syncs;
  double cpu_before = CpuSeconds();
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < messages; ++i) {
    NewMessage m;
    m.sender = "sender@example.org";
    for (int r = 0; r < rcpts; ++r) {
      m.recipients.push_back("user" + std::to_string(r) + "@d" +
                             std::to_string((i + r) % domains) + ".example");
    }
    (*store)->Enqueue(m, content, [&qmgr](absl::StatusOr<std::string> id) {
      if (id.ok()) qmgr.Notify(std::move(*id));
    });
  }
  while (removed.load() < messages) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double cpu = CpuSeconds() - cpu_before;
  uint64_t syncs = (*store)->stats().syncs - syncs_before;
  qmgr.Stop();
  work.reset();
  io.stop();
  for (std::thread& t : threads) t.join();
  std::printf("%d messages x %d recipients over %d domains, %d io thread(s): %.2f s\n", messages,
              rcpts, domains, io_threads, secs);
  std::printf("  %.0f msg/s, %.0f recipients/s, %llu delivery requests, %llu log lines\n",
              messages / secs, static_cast<double>(messages) * rcpts / secs,
              static_cast<unsigned long long>(agent.requests.load()),
              static_cast<unsigned long long>(lines.load()));
  std::printf("  %.3f syncs/msg, %.1f us CPU/msg (enqueue + queue manager + store)\n",
              static_cast<double>(syncs) / messages, cpu * 1e6 / messages);
  store->reset();
  fs::remove_all(dir);
  return 0;
}
