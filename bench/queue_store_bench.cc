// queue_store_bench.cc: durable enqueue throughput, the segment store with
// group commit against one file per message, in the same run.
//
// Usage: queue_store_bench [DIR] [THREADS] [MESSAGES_PER_THREAD] [ROUNDS] [SIZE]
// (defaults: a new directory under /var/tmp, 20, 500, 5, 4096). DIR must be on
// the file system to measure (not tmpfs, where syncs cost nothing).
//
// Each round runs both sides, alternating which goes first:
//   store:  QueueStore::EnqueueAndWait from THREADS threads (each message
//           acknowledged only once durable: write + fdatasync by the commit
//           thread, shared by every message in the batch);
//   files:  the per-message pattern of a classic queue, from THREADS threads:
//           create a temporary file, write envelope + content, fsync it,
//           rename it to its queue name, fsync the directory.
// Prints per-round rates, the medians, their ratio and the store's syncs per
// message.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "runtime/queue_store.h"

namespace {

using posthaste::runtime::NewMessage;
using posthaste::runtime::QueueStore;
using posthaste::runtime::QueueStoreOptions;
namespace fs = std::filesystem;

// CPU seconds (user + system) used by this process so far.
double CpuSeconds() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}
thread_local double cpu_us_per_msg = 0;

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

struct StoreResult {
  double rate;
  double syncs_per_message;
};

StoreResult RunStore(const std::string& dir, int threads, int each, const std::string& content) {
  fs::remove_all(dir);
  QueueStoreOptions options;
  options.directory = dir;
  auto store = QueueStore::Open(options);
  if (!store.ok()) {
    std::fprintf(stderr, "open: %s\n", std::string(store.status().message()).c_str());
    std::exit(2);
  }
  uint64_t syncs_before = (*store)->stats().syncs;
  double cpu = CpuSeconds();
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      NewMessage m;
      m.sender = "sender" + std::to_string(t) + "@example.com";
      m.recipients = {"rcpt@example.net"};
      for (int i = 0; i < each; ++i) {
        if (!(*store)->EnqueueAndWait(m, content).ok()) std::abort();
      }
    });
  }
  for (auto& th : pool) th.join();
  double elapsed = Seconds(start);
  cpu_us_per_msg = (CpuSeconds() - cpu) * 1e6 / (static_cast<double>(threads) * each);
  double syncs = static_cast<double>((*store)->stats().syncs - syncs_before);
  store->reset();
  fs::remove_all(dir);
  double n = static_cast<double>(threads) * each;
  return {n / elapsed, syncs / n};
}

void Check(bool ok, const char* what) {
  if (!ok) {
    std::perror(what);
    std::exit(2);
  }
}

double RunFiles(const std::string& dir, int threads, int each, const std::string& content) {
  fs::remove_all(dir);
  fs::create_directories(dir);
  int dir_fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  Check(dir_fd >= 0, "open dir");
  std::string record = "Tsender@example.com\nRrcpt@example.net\nM\n" + content;
  double cpu = CpuSeconds();
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < each; ++i) {
        std::string tmp = dir + "/tmp." + std::to_string(t) + "." + std::to_string(i);
        std::string final_name = dir + "/Q" + std::to_string(t) + "x" + std::to_string(i);
        int fd = open(tmp.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0600);
        Check(fd >= 0, "create");
        Check(write(fd, record.data(), record.size()) == static_cast<ssize_t>(record.size()),
              "write");
        Check(fsync(fd) == 0, "fsync");
        Check(close(fd) == 0, "close");
        Check(rename(tmp.c_str(), final_name.c_str()) == 0, "rename");
        Check(fsync(dir_fd) == 0, "fsync dir");
      }
    });
  }
  for (auto& th : pool) th.join();
  double elapsed = Seconds(start);
  cpu_us_per_msg = (CpuSeconds() - cpu) * 1e6 / (static_cast<double>(threads) * each);
  close(dir_fd);
  fs::remove_all(dir);
  return static_cast<double>(threads) * each / elapsed;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::string base = argc > 1 ? argv[1] : "";
  int threads = argc > 2 ? std::atoi(argv[2]) : 20;
  int each = argc > 3 ? std::atoi(argv[3]) : 500;
  int rounds = argc > 4 ? std::atoi(argv[4]) : 5;
  size_t size = argc > 5 ? static_cast<size_t>(std::atol(argv[5])) : 4096;
  bool own_base = base.empty();
  if (own_base) {
    char tmpl[] = "/var/tmp/queue_store_bench.XXXXXX";
    Check(mkdtemp(tmpl) != nullptr, "mkdtemp");
    base = tmpl;
  }
  std::string content;
  for (size_t i = 0; content.size() < size; ++i) {
    content += "line " + std::to_string(i) + " of the bench message body, 8bit-free text\n";
  }
  content.resize(size);
  std::vector<double> store_rates, file_rates, syncs, store_cpu, file_cpu;
  for (int r = 0; r < rounds; ++r) {
    StoreResult s{};
    double f = 0;
    double sc = 0, fc = 0;
    if (r % 2 == 0) {
      s = RunStore(base + "/store", threads, each, content);
      sc = cpu_us_per_msg;
      f = RunFiles(base + "/files", threads, each, content);
      fc = cpu_us_per_msg;
    } else {
      f = RunFiles(base + "/files", threads, each, content);
      fc = cpu_us_per_msg;
      s = RunStore(base + "/store", threads, each, content);
      sc = cpu_us_per_msg;
    }
    store_cpu.push_back(sc);
    file_cpu.push_back(fc);
    store_rates.push_back(s.rate);
    file_rates.push_back(f);
    syncs.push_back(s.syncs_per_message);
    std::printf(
        "round %d: store %.0f msg/s (%.3f syncs/msg, %.0f us CPU/msg), file per message %.0f msg/s "
        "(%.0f us CPU/msg)\n",
        r + 1, s.rate, s.syncs_per_message, sc, f, fc);
    std::fflush(stdout);
  }
  double ms = Median(store_rates), mf = Median(file_rates);
  std::printf(
      "median: store %.0f msg/s, file per message %.0f msg/s, ratio %.2fx, %.3f syncs/msg; "
      "CPU/msg store %.0f us, files %.0f us\n",
      ms, mf, ms / mf, Median(syncs), Median(store_cpu), Median(file_cpu));
  if (own_base) fs::remove_all(base);
  return 0;
}
