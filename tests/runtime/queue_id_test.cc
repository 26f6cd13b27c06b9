// queue_id_test.cc: queue ID layout and uniqueness.
#include "runtime/queue_id.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace posthaste::runtime {
namespace {

TEST(QueueId, ShortIdIsMicrosecondsThenSequenceInHex) {
  EXPECT_EQ(FormatShortQueueId(1700000000123456, 0x2A5F), "1E2402A5F");
  EXPECT_EQ(FormatShortQueueId(1700000000000001, 0), "000010");
}

TEST(QueueId, LongIdIsBase52TimeThenZThenBase51Sequence) {
  EXPECT_EQ(FormatLongQueueId(1700000000123456, 123456789), "4SVLCh0sf8zLDg6L");
  EXPECT_EQ(FormatLongQueueId(0, 0), "0000000000z0");
  // 51 in base 51 is "10": the sequence never uses the separator 'z'.
  EXPECT_EQ(FormatLongQueueId(0, 51), "0000000000z10");
  EXPECT_EQ(FormatLongQueueId(0, 50), "0000000000zy");
}

TEST(QueueId, IdsNeverContainVowels) {
  for (uint64_t seq = 0; seq < 5000; seq += 7) {
    std::string id = FormatLongQueueId(1700000000000000 + static_cast<int64_t>(seq) * 977, seq);
    EXPECT_EQ(id.find_first_of("AEIOUaeiou"), std::string::npos) << id;
    EXPECT_TRUE(IsValidQueueId(id));
  }
}

TEST(QueueId, ValidIds) {
  EXPECT_TRUE(IsValidQueueId("3F1A22C0A1B"));
  EXPECT_FALSE(IsValidQueueId(""));
  EXPECT_FALSE(IsValidQueueId("../etc"));
  EXPECT_FALSE(IsValidQueueId("ABC DEF"));
  EXPECT_FALSE(IsValidQueueId(std::string(65, 'A')));
}

TEST(QueueId, UniqueAcrossThreadsWithAFrozenClock) {
  for (bool long_ids : {false, true}) {
    QueueIdGenerator gen(long_ids, 1, [] { return int64_t{1700000000000000}; });
    absl::Mutex mu;
    std::set<std::string> seen;
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&] {
        std::vector<std::string> mine;
        for (int i = 0; i < 5000; ++i) mine.push_back(gen.Next());
        absl::MutexLock lock(&mu);
        seen.insert(mine.begin(), mine.end());
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(seen.size(), 40000u);
    EXPECT_EQ(gen.next_sequence(), 40001u);
  }
}

TEST(QueueId, ContinuesFromTheGivenSequence) {
  QueueIdGenerator gen(false, 0x100, [] { return int64_t{5}; });
  uint64_t seq = 0;
  EXPECT_EQ(gen.NextAt(5, &seq), "00005100");
  EXPECT_EQ(seq, 0x100u);
  EXPECT_EQ(gen.Next(), "00005101");
}

}  // namespace
}  // namespace posthaste::runtime
