// Crash test: SIGKILL posthasted at random moments while 20 sessions send
// mail, 20 rounds. After each restart every message a client got "250 ...
// queued as ID" for must be in the queue, intact, and the server must start
// cleanly on whatever the kill left on disk.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <random>
#include <regex>
#include <set>
#include <thread>

#include "tests/support/posthasted_harness.h"

namespace posthaste::testing {
namespace {

struct Acked {
  std::string id;
  std::string marker;
};

// One client: sends messages until `stop`, records every acknowledged one.
void Client(int port, int n, std::atomic<bool>* stop, std::mutex* mu, std::vector<Acked>* acked) {
  int seq = 0;
  while (!*stop) {
    SmtpTestClient c(port);
    if (!c.connected() || Code(c.Reply()) != "220") return;
    if (Code(c.Command("EHLO crash.example")) != "250") return;
    for (int m = 0; m < 5 && !*stop; ++m) {
      std::string marker = "client-" + std::to_string(n) + "-msg-" + std::to_string(seq++);
      if (Code(c.Command("MAIL FROM:<load@example.com>")) != "250") return;
      if (Code(c.Command("RCPT TO:<sink@relay.example>")) != "250") return;
      if (Code(c.Command("DATA")) != "354") return;
      c.Send("Subject: crash test\r\nX-Marker: " + marker + "\r\n\r\n" + std::string(2000, 'b') +
             "\r\n" + marker + "\r\n");
      std::string reply = c.Command(".");
      std::smatch match;
      static const std::regex re("^250 2\\.0\\.0 Ok: queued as ([0-9A-Za-z]+)");
      if (!std::regex_search(reply, match, re)) return;
      std::lock_guard<std::mutex> lock(*mu);
      acked->push_back({match[1].str(), marker});
    }
    c.Command("QUIT");
  }
}

TEST(ServerCrash, EveryAcknowledgedMessageSurvivesSigkill) {
  PosthastedHarness server;
  HarnessConfig config;
  config.main_cf =
      "myhostname = mx.example.com\nmydestination = localhost\ninet_interfaces = 127.0.0.1\n"
      "mynetworks = 127.0.0.0/8\nrelay_domains = relay.example\n"
      // Every message stays in the hold queue: only the receive path is under test.
      "header_checks = regexp:{DIR}/hold\n";
  config.files["hold"] = "/^Subject: crash test/ HOLD crash test\n";
  ASSERT_EQ(server.Build(config), "");
  std::mt19937 rng(20261124);
  std::vector<Acked> all;
  for (int round = 0; round < 20; ++round) {
    ASSERT_TRUE(server.Start()) << "round " << round << "\n" << server.log();
    std::atomic<bool> stop{false};
    std::mutex mu;
    std::vector<Acked> acked;
    std::vector<std::thread> clients;
    for (int i = 0; i < 20; ++i)
      clients.emplace_back(Client, server.port(), round * 100 + i, &stop, &mu, &acked);
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 400));
    server.Kill();
    stop = true;
    for (std::thread& t : clients) t.join();
    all.insert(all.end(), acked.begin(), acked.end());
    ASSERT_TRUE(server.Start()) << "restart after round " << round << "\n" << server.log();
    std::string queue = server.Phctl({"queue", "--json"});
    size_t missing = 0;
    for (const Acked& a : all)
      if (queue.find("\"queue_id\": \"" + a.id + "\"") == std::string::npos) ++missing;
    EXPECT_EQ(missing, 0u) << "round " << round << ": " << missing << " of " << all.size()
                           << " acknowledged messages missing";
    // Content intact (checksummed on read): this round's messages and a sample of older ones.
    std::vector<Acked> check(acked.begin(), acked.begin() + std::min<size_t>(acked.size(), 15));
    for (int k = 0; k < 5 && !all.empty(); ++k) check.push_back(all[rng() % all.size()]);
    for (const Acked& a : check) {
      std::string content = server.Phctl({"show", a.id});
      EXPECT_NE(content.find("X-Marker: " + a.marker + "\n"), std::string::npos) << a.id << content;
      EXPECT_NE(content.find("\n" + a.marker + "\n"), std::string::npos) << a.id;
    }
    server.Kill();
  }
  EXPECT_GT(all.size(), 200u) << "the load was too light to mean anything";
  std::printf("acknowledged messages over 20 rounds: %zu\n", all.size());
}

}  // namespace
}  // namespace posthaste::testing
