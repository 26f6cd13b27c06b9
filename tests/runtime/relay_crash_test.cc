// Crash test through delivery: SIGKILL posthasted at random moments while 20
// sessions send mail that it relays to smtp-sink, 20 rounds. In the end
// every acknowledged message reached the sink at least once, and a message
// whose delivery was recorded (logged status=sent) before a kill was never
// sent again after it.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <regex>
#include <set>
#include <thread>

#include "tests/support/posthasted_harness.h"
#include "tests/support/run_command.h"
#include "tests/support/smtp_sink.h"

namespace posthaste::testing {
namespace {

void Client(int port, int n, std::atomic<bool>* stop, std::mutex* mu,
            std::set<std::string>* acked) {
  int seq = 0;
  while (!*stop) {
    SmtpTestClient c(port);
    if (!c.connected() || Code(c.Reply()) != "220") return;
    if (Code(c.Command("EHLO crash.example")) != "250") return;
    for (int m = 0; m < 5 && !*stop; ++m) {
      std::string marker = "m" + std::to_string(n) + "x" + std::to_string(seq++);
      if (Code(c.Command("MAIL FROM:<load@example.com>")) != "250") return;
      if (Code(c.Command("RCPT TO:<sink@relay.example>")) != "250") return;
      if (Code(c.Command("DATA")) != "354") return;
      c.Send("Subject: relay crash\r\nX-Marker: " + marker + "\r\n\r\n" + std::string(1500, 'r') +
             "\r\n");
      if (Code(c.Command(".")) != "250") return;
      std::lock_guard<std::mutex> lock(*mu);
      acked->insert(marker);
    }
    c.Command("QUIT");
  }
}

// Sink copies per posthasted queue ID, and the markers seen.
std::map<std::string, int> CopiesById(const std::vector<std::string>& dumps,
                                      std::set<std::string>* markers) {
  std::map<std::string, int> copies;
  static const std::regex id_re("with ESMTP id ([0-9A-Za-z]+)");
  static const std::regex marker_re("X-Marker: (m[0-9]+x[0-9]+)");
  for (const std::string& d : dumps) {
    std::smatch m;
    if (std::regex_search(d, m, id_re)) ++copies[m[1].str()];
    if (markers && std::regex_search(d, m, marker_re)) markers->insert(m[1].str());
  }
  return copies;
}

std::set<std::string> SentIds(const std::string& log) {
  std::set<std::string> ids;
  static const std::regex sent_re("\\]: ([0-9A-Za-z]+): to=<sink@relay\\.example>, .*status=sent ");
  for (auto it = std::sregex_iterator(log.begin(), log.end(), sent_re); it != std::sregex_iterator(); ++it)
    ids.insert((*it)[1].str());
  return ids;
}

TEST(RelayCrash, AcknowledgedMailArrivesAndRecordedDeliveriesAreNotRepeated) {
  char tmpl[] = "/tmp/relay_crash_XXXXXX";
  std::string dir = mkdtemp(tmpl);
  chmod(dir.c_str(), 0755);
  SmtpSink sink("127.0.0.1", {}, dir + "/sink");
  ASSERT_NE(sink.port(), 0);
  PosthastedHarness server;
  HarnessConfig config;
  config.main_cf =
      "myhostname = mx.example.com\nmydestination = localhost\ninet_interfaces = 127.0.0.1\n"
      "mynetworks = 127.0.0.0/8\nrelay_domains = relay.example\n"
      "relayhost = [127.0.0.1]:" + std::to_string(sink.port()) + "\n"
      // A restart retries what the kill interrupted without waiting long.
      "minimal_backoff_time = 1s\nmaximal_backoff_time = 2s\nqueue_run_delay = 1s\n";
  ASSERT_EQ(server.Build(config), "");
  std::mt19937 rng(7);
  std::set<std::string> acked;
  std::map<std::string, int> frozen;  // recorded as sent before a kill: copies then
  for (int round = 0; round < 20; ++round) {
    ASSERT_TRUE(server.Start()) << "round " << round << "\n" << server.log();
    std::atomic<bool> stop{false};
    std::mutex mu;
    std::vector<std::thread> clients;
    for (int i = 0; i < 20; ++i)
      clients.emplace_back(Client, server.port(), round * 100 + i, &stop, &mu, &acked);
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 400));
    server.Kill();
    stop = true;
    for (std::thread& t : clients) t.join();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the sink finishes its dumps
    std::map<std::string, int> copies = CopiesById(sink.Dumps(0, 0), nullptr);
    for (const std::string& id : SentIds(server.log()))
      if (!frozen.count(id)) frozen[id] = copies[id];
  }
  // A last run delivers what is left.
  ASSERT_TRUE(server.Start()) << server.log();
  for (int i = 0; i < 300; ++i) {
    if (server.Phctl({"queue", "--json"}) == "") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(server.Phctl({"queue", "--json"}), "");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::set<std::string> arrived;
  std::map<std::string, int> copies = CopiesById(sink.Dumps(0, 0), &arrived);
  size_t lost = 0;
  for (const std::string& m : acked) lost += arrived.count(m) ? 0 : 1;
  EXPECT_EQ(lost, 0u) << lost << " of " << acked.size() << " acknowledged messages never arrived";
  size_t repeated = 0;
  for (const auto& [id, then] : frozen)
    if (copies[id] > then) ++repeated;
  EXPECT_EQ(repeated, 0u) << "messages sent again after their delivery was recorded";
  size_t duplicates = 0;
  for (const auto& [id, n] : copies) duplicates += n > 1 ? 1 : 0;
  std::printf("acknowledged %zu, arrived %zu, recorded before a kill %zu, delivered more than once %zu\n",
              acked.size(), arrived.size(), frozen.size(), duplicates);
  EXPECT_GT(acked.size(), 200u);
  server.Stop();
  RunCommand({"/bin/rm", "-rf", dir});
}

}  // namespace
}  // namespace posthaste::testing
