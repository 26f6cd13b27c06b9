// cdb_table_test.cc: CdbBuilder/CdbTable round trips, NUL forms, corruption.
#include "tables/cdb_table.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "gtest/gtest.h"

namespace posthaste::tables {
namespace {

namespace fs = std::filesystem;

class CdbTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/phc-cdb-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Build(const std::vector<std::pair<std::string, std::string>>& records) {
    std::string path = dir_ + "/t.cdb";
    auto b = CdbBuilder::Create(path);
    EXPECT_TRUE(b.ok()) << b.status();
    for (const auto& [k, v] : records) EXPECT_TRUE((*b)->Add(k, v).ok());
    EXPECT_TRUE((*b)->Finish().ok());
    return path;
  }
  std::string dir_;
};

TEST_F(CdbTableTest, FindsWhatWasAddedAndNothingElse) {
  std::string path = Build({{"key1", "v1"}, {"k2", "v2 with  spaces"}, {"", "empty key"}});
  auto t = CdbTable::Open(path);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ((*t)->Lookup("key1").value, "v1");
  EXPECT_EQ((*t)->Lookup("k2").value, "v2 with  spaces");
  EXPECT_EQ((*t)->Lookup("").value, "empty key");
  EXPECT_EQ((*t)->Lookup("nope").status, LookupStatus::kNotFound);
  EXPECT_FALSE(fs::exists(path + ".tmp"));
}

TEST_F(CdbTableTest, KeysWrittenWithNulAreFoundWithout) {
  std::string path = Build({{std::string("key1\0", 5), std::string("v1\0", 3)}});
  auto t = CdbTable::Open(path);
  ASSERT_TRUE(t.ok());
  LookupResult r = (*t)->Lookup("key1");
  ASSERT_TRUE(r.found());
  EXPECT_EQ(r.value, "v1");
}

TEST_F(CdbTableTest, ForEachVisitsInInsertionOrder) {
  std::string path = Build({{"b", "2"}, {"a", "1"}, {"c", "3"}});
  auto t = CdbTable::Open(path);
  ASSERT_TRUE(t.ok());
  std::string seen;
  (*t)->ForEach([&](std::string_view k, std::string_view v) {
    seen += std::string(k) + "=" + std::string(v) + ";";
  });
  EXPECT_EQ(seen, "b=2;a=1;c=3;");
}

TEST_F(CdbTableTest, ManyRecords) {
  std::vector<std::pair<std::string, std::string>> recs;
  for (int i = 0; i < 20000; ++i) recs.emplace_back("k" + std::to_string(i), std::to_string(i * 7));
  auto t = CdbTable::Open(Build(recs));
  ASSERT_TRUE(t.ok());
  for (int i = 0; i < 20000; i += 997) EXPECT_EQ((*t)->Lookup("k" + std::to_string(i)).value, std::to_string(i * 7));
}

TEST_F(CdbTableTest, RefusesTruncatedFile) {
  std::string path = Build({{"a", "1"}});
  fs::resize_file(path, 1000);
  auto t = CdbTable::Open(path);
  EXPECT_FALSE(t.ok());
}

TEST_F(CdbTableTest, RefusesHashTablePointerOutsideFile) {
  std::string path = Build({{"a", "1"}});
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(0);
    const char huge[8] = {'\xff', '\xff', '\xff', '\x7f', '\x10', 0, 0, 0};
    f.write(huge, 8);
  }
  auto t = CdbTable::Open(path);
  EXPECT_FALSE(t.ok());
}

TEST_F(CdbTableTest, CorruptSlotsGiveTryAgainNotACrash) {
  std::vector<std::pair<std::string, std::string>> recs;
  for (int i = 0; i < 50; ++i) recs.emplace_back("k" + std::to_string(i), "v");
  std::string path = Build(recs);
  // The hash slots sit at the end of the file: point every record pointer
  // far outside the file.
  size_t size = fs::file_size(path);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    for (size_t off = size - 8 * 100; off + 8 <= size; off += 8) {
      f.seekg(off);
      char slot[8];
      f.read(slot, 8);
      if (slot[4] == 0 && slot[5] == 0 && slot[6] == 0 && slot[7] == 0) continue;
      const char far[4] = {'\xf0', '\xff', '\xff', '\x7f'};
      f.seekp(off + 4);
      f.write(far, 4);
    }
  }
  auto t = CdbTable::Open(path);
  ASSERT_TRUE(t.ok());
  int try_again = 0;
  for (int i = 0; i < 50; ++i) {
    LookupResult r = (*t)->Lookup("k" + std::to_string(i));
    if (r.status == LookupStatus::kTryAgain) ++try_again;
  }
  EXPECT_GT(try_again, 0);
}

TEST_F(CdbTableTest, MissingFileIsAnError) {
  auto t = CdbTable::Open(dir_ + "/nope.cdb");
  EXPECT_FALSE(t.ok());
}

}  // namespace
}  // namespace posthaste::tables
