// Swap test: 100 reloads alternating two bundles whose access maps differ,
// under a 20-session load. No session may fail or be dropped, every session
// must see exactly one bundle from start to end, and a corrupt bundle in
// between must be refused without changing anything.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "tests/support/posthasted_harness.h"
#include "tests/support/run_command.h"

namespace posthaste::testing {
namespace {

std::string MainCf(const std::string& tag) {
  return "myhostname = mx.example.com\nmydestination = localhost\ninet_interfaces = 127.0.0.1\n"
         "mynetworks = 127.0.0.0/8\nrelay_domains = relay.example\n"
         "header_checks = regexp:{DIR}/hold\n"
         "smtpd_sender_restrictions = check_sender_access inline:{ {probe@example.com=REJECT "
         "bundle-" +
         tag + "} }\n";
}

std::string ReadCurrent(const std::string& bundle) {
  std::ifstream in(bundle + "/CURRENT");
  std::string gen;
  in >> gen;
  return gen;
}

void SetCurrent(const std::string& bundle, const std::string& text) {
  std::string tmp = bundle + "/CURRENT.tmp";
  std::ofstream(tmp) << text << "\n";
  std::filesystem::rename(tmp, bundle + "/CURRENT");
}

struct Counters {
  std::atomic<int> sessions{0}, failed{0}, mixed{0}, seen_a{0}, seen_b{0};
};

// Which bundle answered: "A", "B" or "" (unexpected reply).
std::string Probe(SmtpTestClient& c) {
  if (Code(c.Command("MAIL FROM:<probe@example.com>")) != "250") return "";
  std::string r = c.Command("RCPT TO:<x@relay.example>");
  c.Command("RSET");
  if (r.find("bundle-A") != std::string::npos) return "A";
  if (r.find("bundle-B") != std::string::npos) return "B";
  return "";
}

void Client(int port, std::atomic<bool>* stop, Counters* n) {
  while (!*stop) {
    SmtpTestClient c(port);
    ++n->sessions;
    if (!c.connected() || Code(c.Reply()) != "220" ||
        Code(c.Command("EHLO swap.example")) != "250") {
      ++n->failed;
      continue;
    }
    std::string first = Probe(c);
    bool ok = !first.empty();
    // A message in the middle of the session, then the probe again.
    ok = ok && Code(c.Command("MAIL FROM:<load@example.com>")) == "250" &&
         Code(c.Command("RCPT TO:<sink@relay.example>")) == "250" &&
         Code(c.Command("DATA")) == "354";
    if (ok) {
      c.Send("Subject: swap test\r\n\r\nbody\r\n");
      ok = Code(c.Command(".")) == "250";
    }
    std::string second = ok ? Probe(c) : "";
    ok = ok && !second.empty() && c.Command("QUIT").rfind("221", 0) == 0;
    if (!ok) {
      ++n->failed;
      continue;
    }
    if (first != second) ++n->mixed;
    (first == "A" ? n->seen_a : n->seen_b)++;
  }
}

TEST(ServerSwap, HundredReloadsUnderLoadDropNothing) {
  PosthastedHarness server;
  HarnessConfig b;
  b.main_cf = MainCf("B");
  b.files["hold"] = "/^Subject: swap test/ HOLD\n";
  ASSERT_EQ(server.Build(b), "");
  std::string gen_b = ReadCurrent(server.bundle_dir());
  HarnessConfig a = b;
  a.main_cf = MainCf("A");
  ASSERT_EQ(server.Build(a), "");
  std::string gen_a = ReadCurrent(server.bundle_dir());
  ASSERT_NE(gen_a, gen_b);
  ASSERT_TRUE(server.Start()) << server.log();

  std::atomic<bool> stop{false};
  Counters n;
  std::vector<std::thread> clients;
  for (int i = 0; i < 20; ++i) clients.emplace_back(Client, server.port(), &stop, &n);
  int refused = 0;
  for (int i = 0; i < 100; ++i) {
    if (i == 50) {
      // A corrupt generation: a copy of A with one table byte changed.
      std::string bad = "gen-00000000deadbeef";
      std::filesystem::copy(server.bundle_dir() + "/" + gen_a, server.bundle_dir() + "/" + bad,
                            std::filesystem::copy_options::recursive);
      for (const auto& e : std::filesystem::directory_iterator(server.bundle_dir() + "/" + bad)) {
        if (e.path().filename() == "MANIFEST") continue;
        std::fstream f(e.path(), std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(0);
        f.put('\x7f');
      }
      SetCurrent(server.bundle_dir(), bad);
      std::string out = server.Phctl({"reload"});
      EXPECT_NE(out.find("ERROR"), std::string::npos) << out;
      ++refused;
    }
    // The server starts on A: even reloads switch to B, odd ones back to A.
    const std::string& next = i % 2 ? gen_a : gen_b;
    SetCurrent(server.bundle_dir(), next);
    std::string out = server.Phctl({"reload"});
    EXPECT_NE(out.find(next + " in force"), std::string::npos) << out;
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }
  stop = true;
  for (std::thread& t : clients) t.join();
  std::printf("sessions %d, failed %d, mixed %d, bundle A %d, bundle B %d\n", n.sessions.load(),
              n.failed.load(), n.mixed.load(), n.seen_a.load(), n.seen_b.load());
  EXPECT_EQ(n.failed.load(), 0);
  EXPECT_EQ(n.mixed.load(), 0);
  EXPECT_GT(n.seen_a.load(), 0);
  EXPECT_GT(n.seen_b.load(), 0);
  EXPECT_GT(n.sessions.load(), 100);
  EXPECT_EQ(refused, 1);
  std::string log = server.log();
  size_t in_force = 0;
  for (size_t at = log.find(") in force"); at != std::string::npos;
       at = log.find(") in force", at + 1))
    ++in_force;
  EXPECT_EQ(in_force, 100u);
  EXPECT_NE(log.find("warning: reload refused: "), std::string::npos);
}

}  // namespace
}  // namespace posthaste::testing
