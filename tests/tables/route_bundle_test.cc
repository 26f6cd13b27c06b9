// route_bundle_test.cc: the `route` artifact through the publisher and the verified loader.
//
// A generation whose routing program is well formed loads and runs over the
// bundle's tables; one whose program the verifier refuses (a jump past the
// end, a table the bundle lacks) or that does not decode is refused as a
// whole, even though its hashes are right (STYLE.md: the loader trusts
// nothing it maps).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "compiler/bundle_writer.h"
#include "tables/bundle_loader.h"
#include "tables/cdb_table.h"
#include "tables/route_vm.h"

namespace posthaste::tables {
namespace {

namespace fs = std::filesystem;

RouteInsn I(RouteOp op, uint8_t r1 = 0, uint8_t r2 = 0, uint16_t x = 0, uint16_t z = 0) {
  RouteInsn i;
  i.op = op;
  i.r1 = r1;
  i.r2 = r2;
  i.x = x;
  i.z = z;
  return i;
}

// resolve: transport_maps "hash:/t" else smtp.
RouteProgram Program(const std::string& table) {
  RouteProgram p;
  p.strings = {"", "mx.example.com", "smtp"};
  p.table_names = {table};
  p.table_lists = {{0}};
  p.domain_lists = {DomainList{}};
  p.code = {I(RouteOp::kHalt),
            I(RouteOp::kDomain, kRegDomain, kRegAddress, 1),
            I(RouteOp::kSet, kRegTransport, 0, 2),
            I(RouteOp::kCopy, kRegNexthop, kRegDomain),
            I(RouteOp::kFindTransport, kRegTemp, kRegAddress, 0, 1),
            I(RouteOp::kTransportTable, kRegTemp),
            I(RouteOp::kHalt)};
  p.entries = {0, 0, 1};
  return p;
}

class RouteBundleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("route-bundle-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Publishes one table "hash:/t" and `route_bytes` as the route artifact.
  void Publish(const std::string& route_bytes) {
    compiler::GenerationWriter w;
    ASSERT_TRUE(w.Begin(dir_.string()).ok());
    auto b = CdbBuilder::Create(w.TempDir() + "/t.cdb");
    ASSERT_TRUE(b.ok());
    ASSERT_TRUE((*b)->Add("example.org", "relay:[hub.example]").ok());
    ASSERT_TRUE((*b)->Finish().ok());
    ASSERT_TRUE(w.AddArtifactFile(ArtifactKind::kTable, "hash:/t", "t.cdb").ok());
    std::ofstream(w.TempDir() + "/route.bin", std::ios::binary) << route_bytes;
    ASSERT_TRUE(w.AddArtifactFile(ArtifactKind::kRoute, "route", "route.bin").ok());
    ASSERT_TRUE(w.Commit().ok());
  }
  fs::path dir_;
};

TEST_F(RouteBundleTest, LoadsAndRunsAVerifiedProgram) {
  Publish(Program("hash:/t").Encode());
  auto snap = Loader(dir_.string()).LoadCurrent();
  ASSERT_TRUE(snap.ok()) << snap.status();
  const RouteProgram* p = (*snap)->route_program();
  ASSERT_NE(p, nullptr);
  RouteVm vm(*p, {(*snap)->FindTable(p->table_names[0])});
  RouteRunResult r = vm.Resolve("", "a@example.org", "");
  EXPECT_EQ(r.transport, "relay");
  EXPECT_EQ(r.nexthop, "[hub.example]");
  r = vm.Resolve("", "a@example.net", "");
  EXPECT_EQ(r.transport, "smtp");
  EXPECT_EQ(r.nexthop, "example.net");
}

TEST_F(RouteBundleTest, RefusesAProgramTheVerifierRejects) {
  RouteProgram p = Program("hash:/t");
  p.code[4].z = 9;  // jump past the end
  Publish(p.Encode());
  auto snap = Loader(dir_.string()).LoadCurrent();
  ASSERT_FALSE(snap.ok());
  EXPECT_EQ(snap.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(std::string(snap.status().message()).find("route program rejected"), std::string::npos);
}

TEST_F(RouteBundleTest, RefusesAProgramNamingATableTheBundleLacks) {
  Publish(Program("hash:/elsewhere").Encode());
  auto snap = Loader(dir_.string()).LoadCurrent();
  ASSERT_FALSE(snap.ok());
  EXPECT_NE(std::string(snap.status().message()).find("not in the bundle"), std::string::npos);
}

TEST_F(RouteBundleTest, RefusesBytesThatDoNotDecode) {
  std::string bytes = Program("hash:/t").Encode();
  Publish(bytes.substr(0, bytes.size() - 5));
  EXPECT_FALSE(Loader(dir_.string()).LoadCurrent().ok());
}

}  // namespace
}  // namespace posthaste::tables
