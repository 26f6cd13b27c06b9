// bundle_build_test.cc: phc build publishes deterministic, verifiable
// generations and writes nothing for a broken configuration; CDB files
// interoperate with real Postfix in both directions.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"
#include "tables/bundle_loader.h"
#include "tests/support/run_command.h"

namespace posthaste {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using testing::RunCommand;

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class BuildTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/phc-build-XXXXXX";
    dir_ = mkdtemp(tmpl);
    fs::create_directory(dir_ + "/conf");
    Write("conf/main.cf",
          "myhostname = mx.example.com\n"
          "smtpd_recipient_restrictions = check_recipient_access hash:" + dir_ + "/conf/access,\n"
          "  reject_unauth_destination\n"
          "transport_maps = cdb:" + dir_ + "/conf/transport\n"
          "sender_dependent_default_transport_maps = inline:{ bulk@example.com=bulk }\n"
          "smtpd_client_restrictions = check_client_access cidr:" + dir_ + "/conf/clients.cidr\n"
          "virtual_alias_maps = unionmap:{cdb:" + dir_ + "/conf/virtual, inline:{a@example.com=x}},\n"
          "  pipemap:{inline:{p@example.com=mid}, inline:{mid=end}}, static:{last resort}\n");
    Write("conf/master.cf",
          "smtp inet n - n - - smtpd\n"
          "smtp unix - - n - - smtp\n"
          "relay unix - - n - - smtp\n"
          "bulk unix - - n - - smtp\n  -o smtp_bind_address=127.0.0.3\n");
    Write("conf/access", "Alice@Example.com OK\nbob@example.com REJECT no\nalice@example.com dup\n");
    Write("conf/transport", "example.net relay:[mx.example.net]\n");
    Write("conf/clients.cidr", "192.168.0.0/16 OK\n10.0.0.1/8 skipped\n");
    Write("conf/virtual", "a@example.com y\n");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name) << text;
  }
  CommandResult Phc(std::vector<std::string> args) {
    args.insert(args.begin(), POSTHASTE_PHC_PATH);
    return RunCommand(args);
  }
  std::string dir_;
};

TEST_F(BuildTest, PublishesAVerifiableGeneration) {
  CommandResult r = Phc({"build", "-c", dir_ + "/conf", "-o", dir_ + "/bundle"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("table hash:" + dir_ + "/conf/access: 2 keys"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("duplicate entry: \"alice@example.com\""), std::string::npos) << r.err;
  std::string current = Slurp(dir_ + "/bundle/CURRENT");
  ASSERT_EQ(current.rfind("gen-", 0), 0u);
  EXPECT_EQ(Phc({"verify", dir_ + "/bundle"}).exit_code, 0);
  std::string manifest = Slurp(dir_ + "/bundle/" + current.substr(0, current.size() - 1) + "/MANIFEST");
  EXPECT_NE(manifest.find("service bulk/unix smtp_bind_address 127.0.0.3"), std::string::npos);
  EXPECT_NE(manifest.find("service smtp/unix smtp_bind_address -"), std::string::npos);
  EXPECT_NE(manifest.find("artifact cidr cidr:"), std::string::npos);
  EXPECT_NE(r.out.find("clients.cidr: 1 rules"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("non-null host address bits"), std::string::npos) << r.err;
}

TEST_F(BuildTest, CompositeAndCidrTablesAnswerFromTheLoadedBundle) {
  ASSERT_EQ(Phc({"build", "-c", dir_ + "/conf", "-o", dir_ + "/bundle"}).exit_code, 0);
  tables::Loader loader(dir_ + "/bundle");
  auto snap = loader.LoadCurrent();
  ASSERT_TRUE(snap.ok()) << snap.status();
  const tables::Table* u = (*snap)->FindTable("unionmap:{cdb:" + dir_ + "/conf/virtual, inline:{a@example.com=x}}");
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(u->Lookup("a@example.com").value, "y,x");
  const tables::Table* p = (*snap)->FindTable("pipemap:{inline:{p@example.com=mid}, inline:{mid=end}}");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->Lookup("p@example.com").value, "end");
  const tables::Table* st = (*snap)->FindTable("static:{last resort}");
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->Lookup("anything").value, "last resort");
  const tables::Table* c = (*snap)->FindTable("cidr:" + dir_ + "/conf/clients.cidr");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->Lookup("192.168.4.4").value, "OK");
  EXPECT_FALSE(c->Lookup("10.0.0.1").found());
}

TEST_F(BuildTest, SameInputsGiveAByteIdenticalGeneration) {
  ASSERT_EQ(Phc({"build", "-c", dir_ + "/conf", "-o", dir_ + "/b1"}).exit_code, 0);
  ASSERT_EQ(Phc({"build", "-c", dir_ + "/conf", "-o", dir_ + "/b2"}).exit_code, 0);
  std::string g1 = Slurp(dir_ + "/b1/CURRENT"), g2 = Slurp(dir_ + "/b2/CURRENT");
  ASSERT_EQ(g1, g2);
  std::string gen = g1.substr(0, g1.size() - 1);
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir_ + "/b1/" + gen)) {
    ++files;
    EXPECT_EQ(Slurp(e.path()), Slurp(dir_ + "/b2/" + gen + "/" + e.path().filename().string()))
        << e.path();
  }
  EXPECT_GE(files, 10u);  // MANIFEST + tables + cidr + composites
}

TEST_F(BuildTest, ChangedInputGivesANewGeneration) {
  ASSERT_EQ(Phc({"build", "-c", dir_ + "/conf", "-o", dir_ + "/b"}).exit_code, 0);
  std::string first = Slurp(dir_ + "/b/CURRENT");
  Write("conf/transport", "example.net relay:[other.example.net]\n");
  ASSERT_EQ(Phc({"build", "-c", dir_ + "/conf", "-o", dir_ + "/b"}).exit_code, 0);
  EXPECT_NE(Slurp(dir_ + "/b/CURRENT"), first);
}

TEST_F(BuildTest, BrokenConfigurationWritesNothing) {
  Write("conf/main.cf", "maximal_queue_lifetime = forever\n");
  CommandResult r = Phc({"build", "-c", dir_ + "/conf", "-o", dir_ + "/bundle"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("[bad-time]"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ + "/bundle"));
}

TEST(CdbInterop, PhcReadsACdbBuiltByPostfix) {
  const std::string table = std::string(POSTHASTE_TEST_DATA) + "/postfix_access";
  ASSERT_TRUE(fs::exists(table + ".cdb"));
  char tmpl[] = "/tmp/phc-interop-XXXXXX";
  std::string conf = mkdtemp(tmpl);
  std::ofstream(conf + "/main.cf") << "";
  struct Case { const char* key; const char* value; };
  for (Case c : {Case{"alice@example.com", "OK"}, Case{"BOB@example.com", "REJECT User unknown"},
                 Case{".example.org", "DUNNO"}, Case{"spammer@", "550 5.7.1 Go away"}}) {
    CommandResult r = RunCommand({POSTHASTE_PHC_PATH, "map", "-c", conf, "-q", c.key, "cdb:" + table});
    EXPECT_EQ(r.exit_code, 0) << c.key << r.err;
    EXPECT_EQ(r.out, std::string(c.value) + "\n");
  }
  EXPECT_EQ(RunCommand({POSTHASTE_PHC_PATH, "map", "-c", conf, "-q", "nobody", "cdb:" + table}).exit_code, 1);
  fs::remove_all(conf);
}

TEST(CdbInterop, PostfixReadsACdbBuiltByPhc) {
  // Debian's postmap with postfix-cdb (installed by tools/setup.sh) is the peer.
  ASSERT_TRUE(fs::exists("/usr/sbin/postmap")) << "install Debian's postfix and postfix-cdb";
  char tmpl[] = "/tmp/phc-interop-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::ofstream(dir + "/main.cf") << "";
  std::ofstream(dir + "/t") << "Key1 value one\nk2 v2  spaced\n";
  ASSERT_EQ(RunCommand({POSTHASTE_PHC_PATH, "map", "-c", dir, "cdb:" + dir + "/t"}).exit_code, 0);
  CommandResult r = RunCommand({"/usr/sbin/postmap", "-c", dir, "-q", "KEY1", "cdb:" + dir + "/t"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "value one\n");
  r = RunCommand({"/usr/sbin/postmap", "-c", dir, "-q", "k2", "cdb:" + dir + "/t"});
  EXPECT_EQ(r.out, "v2  spaced\n");
  EXPECT_EQ(RunCommand({"/usr/sbin/postmap", "-c", dir, "-q", "zz", "cdb:" + dir + "/t"}).exit_code, 1);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace posthaste
