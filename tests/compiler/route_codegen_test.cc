// route_codegen_test.cc: routing model from a configuration, code generation, routing checks.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "compiler/config_set.h"
#include "compiler/diagnostics.h"
#include "compiler/route_check.h"
#include "compiler/route_codegen.h"
#include "compiler/route_eval.h"
#include "compiler/route_model.h"
#include "compiler/table_open.h"
#include "tables/route_verifier.h"
#include "tables/route_vm.h"

namespace posthaste::compiler {
namespace {

namespace fs = std::filesystem;

const char kMaster[] =
    "smtp unix - - y - - smtp\n"
    "relay unix - - y - - smtp\n"
    "bulk unix - - y - - smtp -o smtp_bind_address=192.0.2.11 -o smtp_bind_address6=2001:db8::11\n"
    "local unix - n n - - local\n"
    "virtual unix - n n - - virtual\n"
    "error unix - - y - - error\n"
    "lmtp unix - - y - - lmtp\n";

class RouteConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("route-codegen-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  std::unique_ptr<ConfigSet> Load(const std::string& main_cf) {
    Write("main.cf", main_cf);
    Write("master.cf", kMaster);
    return LoadConfig(dir_.string(), {}, true);
  }
  std::vector<std::string> Codes(const ConfigSet& config) {
    DiagnosticSink sink(&config.sources);
    CheckRouting(config, &sink);
    std::vector<std::string> codes;
    for (const Diagnostic& d : sink.Sorted())
      codes.push_back(std::string(InfoFor(d.code).code) + "@" + std::to_string(d.span.line));
    return codes;
  }
  fs::path dir_;
};

const char kBase[] =
    "compatibility_level = 3.6\nmyhostname = mx.example.com\nmydomain = example.com\n"
    "myorigin = $mydomain\ninet_interfaces = 127.0.0.1\n";

TEST_F(RouteConfigTest, ModelReadsSettingsWithOrigins) {
  auto config = Load(std::string(kBase) +
                     "relayhost = [gw.example.com]\n"
                     "transport_maps = texthash:$config_directory/transport\n");
  Write("transport", "example.org bulk:\n");
  RouteModel m = BuildRouteModel(*config, nullptr);
  EXPECT_EQ(m.relayhost, "[gw.example.com]");
  EXPECT_EQ(m.origins["relayhost"], dir_.string() + "/main.cf:6");
  EXPECT_EQ(m.origins["default_transport"], "default");
  ASSERT_EQ(m.transport_maps.size(), 1u);
  EXPECT_EQ(m.table_names[0], "texthash:" + dir_.string() + "/transport");
  EXPECT_EQ(m.service_sources["bulk"], "192.0.2.11");
  EXPECT_EQ(m.service_sources["smtp"], "");
  EXPECT_EQ(m.service_sources6["bulk"], "2001:db8::11");
  EXPECT_EQ(m.local_transport, "local:mx.example.com");
  // mydestination default plus the inet_interfaces literal.
  EXPECT_EQ(m.mydestination.items.back().pattern, "[127.0.0.1]");
}

TEST_F(RouteConfigTest, GeneratedProgramVerifiesIsDeterministicAndAgrees) {
  Write("transport", "example.org bulk:\n.sub.example.net :[hub]\n");
  auto config = Load(std::string(kBase) +
                     "relayhost = [gw.example.com]\n"
                     "transport_maps = texthash:$config_directory/transport\n");
  RouteModel m = BuildRouteModel(*config, nullptr);
  tables::RouteProgram p = GenerateRouteProgram(m);
  ASSERT_TRUE(tables::VerifyRouteProgram(p).ok()) << tables::VerifyRouteProgram(p);
  EXPECT_EQ(p.Encode(), GenerateRouteProgram(BuildRouteModel(*config, nullptr)).Encode());
  OpenedTable t = OpenTable(m.table_names[0], {});
  ASSERT_TRUE(t.table);
  tables::RouteVm vm(p, {t.table.get()});
  RouteEvaluator ref(m, {t.table.get()});
  for (const char* rcpt : {"a@example.org", "b@x.sub.example.net", "c@example.net",
                           "d@mx.example.com", "e@[127.0.0.1]"}) {
    tables::RouteRunResult v = vm.Resolve("s@example.com", rcpt, "");
    tables::RouteRunResult r = ref.Resolve("s@example.com", rcpt, "");
    EXPECT_EQ(v.transport + " " + v.nexthop + " " + v.source,
              r.transport + " " + r.nexthop + " " + r.source)
        << rcpt;
  }
  tables::RouteRunResult bulk = vm.Resolve("s@example.com", "a@example.org", "");
  EXPECT_EQ(bulk.transport, "bulk");
  EXPECT_EQ(bulk.nexthop, "example.org");
  EXPECT_EQ(bulk.source, "192.0.2.11");
  EXPECT_EQ(bulk.source6, "2001:db8::11");
  tables::RouteRunResult hub = vm.Resolve("s@example.com", "b@x.sub.example.net", "");
  EXPECT_EQ(hub.transport, "smtp");
  EXPECT_EQ(hub.nexthop, "[hub]");
}

TEST_F(RouteConfigTest, CheckReportsUnknownTransportsBadNexthopsAndLocalRelayDomains) {
  Write("transport", "a.example nosuch:\nb.example smtp:[broken\nc.example relay:[ok.example]:25\n");
  Write("sender_transport", "@x.example missing:\n@y.example DUNNO\n");
  Write("sender_relay", "@z.example [gw]:port!\n");
  auto config = Load(std::string(kBase) +
                     "relayhost = [gw.example.com]:99999\n"
                     "transport_maps = texthash:$config_directory/transport\n"
                     "sender_dependent_default_transport_maps = "
                     "texthash:$config_directory/sender_transport\n"
                     "sender_dependent_relayhost_maps = texthash:$config_directory/sender_relay\n"
                     "relay_domains = relay.example, mx.example.com\n");
  std::vector<std::string> codes = Codes(*config);
  std::vector<std::string> want = {"bad-nexthop@6",
                                   "relay-domain-local@10",
                                   "undefined-route-transport@1",
                                   "bad-nexthop@2",
                                   "undefined-sender-transport@1",
                                   "bad-nexthop@1"};
  std::sort(codes.begin(), codes.end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(codes, want);
}

TEST_F(RouteConfigTest, CleanConfigurationHasNoRoutingDiagnostics) {
  Write("transport", "example.org relay:[inbound.example]\n* smtp:[outbound.example]:2525\n");
  auto config = Load(std::string(kBase) + "transport_maps = texthash:$config_directory/transport\n");
  EXPECT_TRUE(Codes(*config).empty()) << ::testing::PrintToString(Codes(*config));
}

// Mail routed to an agent posthasted does not run (lmtp here) stays
// deferred: a warning where the route is written, in main.cf or a table.
TEST_F(RouteConfigTest, WarnsAboutTransportsPosthastedCannotDeliverTo) {
  Write("transport", "example.org lmtp:unix:private/dovecot\n* smtp:[outbound.example]:2525\n");
  auto config = Load(std::string(kBase) + "transport_maps = texthash:$config_directory/transport\n"
                     "virtual_transport = lmtp:unix:private/dovecot\n");
  std::vector<std::string> codes = Codes(*config);
  std::sort(codes.begin(), codes.end());
  EXPECT_EQ(codes.size(), 2u) << ::testing::PrintToString(codes);
  for (const std::string& c : codes) EXPECT_EQ(c.substr(0, 22), "unsupported-transport@") << c;
}

TEST(NexthopProblem, AcceptsPostfixFormsAndRefusesBrokenOnes) {
  for (const char* ok : {"mx.example.com", "[mx.example.com]", "[mx.example.com]:587",
                         "mx.example.com:2525", "[ipv6:2001:db8::25]:2525", "[10.0.0.5]", "host:smtp"})
    EXPECT_EQ(NexthopProblem(ok, false), "") << ok;
  EXPECT_EQ(NexthopProblem("unix:private/lmtp", true), "");
  for (const char* bad : {"[mx.example.com", "mx]", "[]", "[h]x", "[h]:", "[h]:0", "[h]:70000",
                          "h:p!", "", "a b"})
    EXPECT_NE(NexthopProblem(bad, false), "") << bad;
}

}  // namespace
}  // namespace posthaste::compiler
