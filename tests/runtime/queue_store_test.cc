// queue_store_test.cc: the durable queue: enqueue and recovery, state and
// recipient records, torn tails and bit flips, group commit under many
// threads, reclaim, and crash safety against SIGKILL at random moments.
#include "runtime/queue_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

namespace posthaste::runtime {
namespace {

namespace fs = std::filesystem;

class QueueStoreTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "queue_store_test.XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/queue";
  }
  void TearDown() override { fs::remove_all(root_); }

  QueueStoreOptions Options() {
    QueueStoreOptions o;
    o.directory = dir_;
    return o;
  }

  std::unique_ptr<QueueStore> OpenStore(QueueStoreOptions o, RecoveryReport* report = nullptr) {
    auto store = QueueStore::Open(std::move(o), report);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }
  std::unique_ptr<QueueStore> OpenStore(RecoveryReport* report = nullptr) {
    return OpenStore(Options(), report);
  }

  std::vector<std::string> SegmentFiles() {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) {
      if (e.path().extension() == ".seg") out.push_back(e.path().string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  // Segments are zero-filled ahead of their records: the end of the data.
  static size_t DataEnd(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    size_t end = bytes.size();
    while (end > 0 && bytes[end - 1] == '\0') --end;
    return end;
  }

  std::string root_;
  std::string dir_;
};

NewMessage Msg(std::string sender, std::vector<std::string> rcpts) {
  NewMessage m;
  m.sender = std::move(sender);
  m.recipients = std::move(rcpts);
  return m;
}

std::string Content(int n) {
  std::string s = "Subject: message " + std::to_string(n) + "\n\n";
  for (int i = 0; i < n % 17; ++i) s += "line " + std::to_string(i * n) + "\n";
  return s;
}

TEST_F(QueueStoreTest, EnqueuedMessagesSurviveReopen) {
  std::vector<std::string> ids;
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 5; ++i) {
      auto id = store->EnqueueAndWait(
          Msg("s" + std::to_string(i) + "@example.com", {"r@example.net", "q@example.net"}),
          Content(i));
      ASSERT_TRUE(id.ok()) << id.status();
      EXPECT_TRUE(IsValidQueueId(*id));
      ids.push_back(*id);
    }
    EXPECT_EQ(store->List().size(), 5u);
  }
  RecoveryReport report;
  auto store = OpenStore(&report);
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(report.problems.empty()) << report.problems[0];
  EXPECT_EQ(report.messages, 5u);
  auto list = store->List();
  ASSERT_EQ(list.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    auto info = store->Info(ids[i]);
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->meta.sender, "s" + std::to_string(i) + "@example.com");
    EXPECT_EQ(info->meta.state, MessageState::kIncoming);
    ASSERT_EQ(info->meta.recipients.size(), 2u);
    EXPECT_EQ(info->meta.recipients[1].address, "q@example.net");
    // Postfix's size: the text plus one byte of record framing per line.
    EXPECT_EQ(info->message_size, Content(i).size() + (i + 2));
    auto content = store->ReadContent(ids[i]);
    ASSERT_TRUE(content.ok()) << content.status();
    EXPECT_EQ(*content, Content(i));
  }
}

TEST_F(QueueStoreTest, IdsStayUniqueAcrossRestartsWithAFrozenClock) {
  auto options = Options();
  options.clock = [] { return int64_t{1700000000000000}; };
  std::set<std::string> ids;
  for (int round = 0; round < 3; ++round) {
    auto store = OpenStore(options);
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 4; ++i) {
      auto id = store->EnqueueAndWait(Msg("", {"r@example.net"}), "x");
      ASSERT_TRUE(id.ok());
      EXPECT_TRUE(ids.insert(*id).second) << *id;
    }
    // Even when every message is gone, the next start does not reuse IDs.
    for (const auto& m : store->List()) ASSERT_TRUE(store->Remove(m.meta.id).ok());
    ASSERT_TRUE(store->Reclaim(false).ok());
  }
}

TEST_F(QueueStoreTest, StatesAndRecipientsAreDurable) {
  std::string a, b, c;
  {
    auto store = OpenStore();
    a = *store->EnqueueAndWait(Msg("a@example.com", {"1@x.example", "2@x.example"}), "A");
    b = *store->EnqueueAndWait(Msg("b@example.com", {"1@y.example"}), "B");
    c = *store->EnqueueAndWait(Msg("c@example.com", {"1@z.example"}), "C");
    ASSERT_TRUE(store->SetState(a, MessageState::kActive).ok());
    ASSERT_TRUE(store->MarkRecipient(a, 0, RecipientStatus::kDone, "").ok());
    ASSERT_TRUE(store->MarkRecipient(a, 1, RecipientStatus::kDeferred, "450 try later").ok());
    ASSERT_TRUE(store->SetState(a, MessageState::kDeferred).ok());
    ASSERT_TRUE(store->SetState(b, MessageState::kHold).ok());
    ASSERT_TRUE(store->MarkRecipient(c, 0, RecipientStatus::kDone, "").ok());
    EXPECT_EQ(store->Info(c).status().code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(store->MarkRecipient(a, 7, RecipientStatus::kDone, "").code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(store->SetState("NOSUCHID", MessageState::kHold).code(), absl::StatusCode::kNotFound);
  }
  auto store = OpenStore();
  auto ia = store->Info(a);
  ASSERT_TRUE(ia.ok());
  EXPECT_EQ(ia->meta.state, MessageState::kDeferred);
  EXPECT_EQ(ia->meta.recipients[0].status, RecipientStatus::kDone);
  EXPECT_EQ(ia->meta.recipients[1].status, RecipientStatus::kDeferred);
  EXPECT_EQ(ia->meta.recipients[1].reason, "450 try later");
  EXPECT_EQ(store->Info(b)->meta.state, MessageState::kHold);
  EXPECT_EQ(store->Info(c).status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(store->Remove(b).ok());
  store.reset();
  store = OpenStore();
  EXPECT_EQ(store->Info(b).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->List().size(), 1u);
}

TEST_F(QueueStoreTest, EnvelopeExtrasAndScheduleAreDurable) {
  std::string id;
  QueueIdReservation reserved;
  {
    auto store = OpenStore();
    NewMessage m = Msg("s@example.com", {"a@example.net", "b@example.net"});
    m.original_recipients = {"A@Example.NET", "b@example.net"};
    m.filter = "bulk:[10.0.0.1]:10025";
    m.initial_state = MessageState::kHold;
    m.hold_reason = "header Subject: x";
    id = *store->EnqueueAndWait(m, "X");
    reserved = store->ReserveQueueId();
    NewMessage r = Msg("", {"c@example.net"});
    r.reserved = reserved;
    ASSERT_EQ(*store->EnqueueAndWait(r, "R"), reserved.id);
    // A reservation is used once.
    EXPECT_EQ(store->EnqueueAndWait(r, "R").status().code(), absl::StatusCode::kAlreadyExists);
    NewMessage bad = Msg("", {"a", "b"});
    bad.original_recipients = {"a"};
    EXPECT_FALSE(store->EnqueueAndWait(bad, "x").ok());

    MessageUpdate u;
    u.recipients.push_back({1, RecipientStatus::kBouncing, "550 5.1.1 unknown", "5.1.1",
                            "smtp; 550 5.1.1 unknown", "mx.example.net"});
    u.recipients.push_back({0, RecipientStatus::kDeferred, "450 later", "4.0.0", "", ""});
    u.state = MessageState::kDeferred;
    u.schedule = ScheduleUpdate{1700000300000000, 2, true};
    ASSERT_TRUE(store->UpdateAndWait(id, u).ok());
  }
  auto store = OpenStore();
  auto info = store->Info(id);
  ASSERT_TRUE(info.ok()) << info.status();
  const MessageMeta& m = info->meta;
  EXPECT_EQ(m.state, MessageState::kDeferred);
  EXPECT_EQ(m.filter, "bulk:[10.0.0.1]:10025");
  EXPECT_EQ(m.hold_reason, "header Subject: x");
  EXPECT_EQ(m.recipients[0].original, "A@Example.NET");
  EXPECT_EQ(m.recipients[1].original, "") << "stored only when it differs";
  EXPECT_EQ(m.recipients[1].status, RecipientStatus::kBouncing);
  EXPECT_EQ(m.recipients[1].remote_mta, "mx.example.net");
  EXPECT_EQ(m.recipients[0].status, RecipientStatus::kDeferred);
  EXPECT_EQ(m.next_attempt_micros, 1700000300000000);
  EXPECT_EQ(m.attempts, 2u);
  EXPECT_TRUE(m.delay_warned);
  auto r = store->Info(reserved.id);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->meta.arrival_micros, reserved.arrival_micros);
  // A bouncing recipient keeps the message until it is marked bounced.
  ASSERT_TRUE(store->MarkRecipient(id, 0, RecipientStatus::kDone, "").ok());
  EXPECT_TRUE(store->Info(id).ok());
  ASSERT_TRUE(store->MarkRecipient(id, 1, RecipientStatus::kBounced, "").ok());
  EXPECT_EQ(store->Info(id).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(QueueStoreTest, AsyncUpdatesShareSyncsAndCallBackWhenDurable) {
  constexpr int kMessages = 200;
  std::vector<std::string> ids;
  {
    auto store = OpenStore();
    for (int i = 0; i < kMessages; ++i) {
      store->Enqueue(Msg("", {"a@x.example", "b@x.example"}), Content(i),
                     [](absl::StatusOr<std::string>) {});
    }
    for (const auto& m : store->List()) ids.push_back(m.meta.id);
    // Wait until all are durable (an update on a not yet durable message is NotFound).
    ASSERT_TRUE(store->EnqueueAndWait(Msg("", {"a@x.example", "b@x.example"}), "z").ok());
    ids.clear();
    for (const auto& m : store->List()) ids.push_back(m.meta.id);
    ASSERT_EQ(ids.size(), static_cast<size_t>(kMessages + 1));
    uint64_t syncs_before = store->stats().syncs;
    absl::Mutex mu;
    int done = 0, failed = 0;
    for (size_t i = 0; i < ids.size(); ++i) {
      std::vector<RecipientUpdate> changes;
      changes.push_back({0, RecipientStatus::kDone, "250 ok", "2.0.0", "", ""});
      if (i % 2 == 0) changes.push_back({1, RecipientStatus::kDone, "250 ok", "2.0.0", "", ""});
      store->MarkRecipients(ids[i], std::move(changes), [&](absl::Status st) {
        absl::MutexLock lock(&mu);
        if (!st.ok()) ++failed;
        ++done;
      });
    }
    {
      absl::MutexLock lock(&mu);
      mu.Await(absl::Condition(
          +[](int* d) { return *d == kMessages + 1; }, &done));
      EXPECT_EQ(failed, 0);
    }
    EXPECT_LT(store->stats().syncs - syncs_before, ids.size() / 2) << "updates should share syncs";
    // Unknown IDs and bad indexes answer at once, nothing applied.
    absl::Status unknown, bad_index;
    store->MarkRecipients("NOSUCHID", {{0, RecipientStatus::kDone, "", "", "", ""}},
                          [&](absl::Status st) { unknown = st; });
    store->MarkRecipients(ids[1],
                          {{0, RecipientStatus::kDeferred, "", "", "", ""},
                           {9, RecipientStatus::kDone, "", "", "", ""}},
                          [&](absl::Status st) { bad_index = st; });
    EXPECT_EQ(unknown.code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(bad_index.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(store->Info(ids[1])->meta.recipients[0].status, RecipientStatus::kDone);
  }
  auto store = OpenStore();
  // Every message with an even position finished; the odd ones keep b.
  auto list = store->List();
  EXPECT_EQ(list.size(), ids.size() / 2);
  for (const auto& m : list) {
    EXPECT_EQ(m.meta.recipients[0].status, RecipientStatus::kDone);
    EXPECT_EQ(m.meta.recipients[1].status, RecipientStatus::kPending);
  }
}

TEST_F(QueueStoreTest, AsyncRemoveJoinsTheBatchAndIsDurable) {
  std::string keep, gone;
  {
    auto store = OpenStore();
    keep = *store->EnqueueAndWait(Msg("", {"a@x.example"}), "k");
    gone = *store->EnqueueAndWait(Msg("", {"b@x.example"}), "g");
    absl::Notification done;
    absl::Status result;
    MessageUpdate update;
    update.remove = true;
    update.state = MessageState::kHold;  // ignored with remove
    store->Update(gone, update, [&](absl::Status st) {
      result = st;
      done.Notify();
    });
    EXPECT_EQ(store->Info(gone).status().code(), absl::StatusCode::kNotFound);
    done.WaitForNotification();
    EXPECT_TRUE(result.ok()) << result;
    EXPECT_EQ(store->UpdateAndWait(gone, update).code(), absl::StatusCode::kNotFound);
  }
  auto store = OpenStore();
  EXPECT_TRUE(store->Info(keep).ok());
  EXPECT_FALSE(store->Info(gone).ok());
}

TEST_F(QueueStoreTest, SecondOpenOfTheSameQueueIsRefused) {
  auto store = OpenStore();
  auto second = QueueStore::Open(Options());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(QueueStoreTest, TornTailIsIgnoredAndReported) {
  std::vector<std::string> ids;
  {
    auto store = OpenStore();
    for (int i = 0; i < 3; ++i)
      ids.push_back(*store->EnqueueAndWait(Msg("", {"r@x.example"}), Content(i)));
  }
  auto segs = SegmentFiles();
  ASSERT_EQ(segs.size(), 1u);
  // Cut the last record in half, then add junk as a crash might leave.
  auto size = DataEnd(segs[0]);
  fs::resize_file(segs[0], size - 10);
  {
    std::ofstream f(segs[0], std::ios::app | std::ios::binary);
    f << std::string(100, '\0');
  }
  RecoveryReport report;
  auto store = OpenStore(&report);
  ASSERT_NE(store, nullptr);
  ASSERT_EQ(report.problems.size(), 1u);
  EXPECT_GT(report.ignored_bytes, 100u);
  EXPECT_TRUE(store->Info(ids[0]).ok());
  EXPECT_TRUE(store->Info(ids[1]).ok());
  EXPECT_FALSE(store->Info(ids[2]).ok());
  EXPECT_EQ(*store->ReadContent(ids[1]), Content(1));
  // Writing goes on in a new segment, and the next start sees everything.
  std::string next = *store->EnqueueAndWait(Msg("", {"r@x.example"}), "after");
  store.reset();
  store = OpenStore();
  EXPECT_EQ(*store->ReadContent(next), "after");
}

TEST_F(QueueStoreTest, EmptyAndHeaderlessSegmentsDoNotStopTheStart) {
  { auto store = OpenStore(); }
  fs::create_directories(dir_);
  std::ofstream(dir_ + "/00000000000000ff.seg").close();
  std::ofstream(dir_ + "/0000000000000100.seg") << "garbage that is not a header";
  RecoveryReport report;
  auto store = OpenStore(&report);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(report.problems.size(), 2u);
  auto id = store->EnqueueAndWait(Msg("", {"r@x.example"}), "x");
  ASSERT_TRUE(id.ok());
  // The new segment is numbered after the damaged ones.
  EXPECT_EQ(store->Segments().back(), 0x101u);
}

// Flip one bit anywhere in a segment: recovery never crashes and never
// returns wrong content; messages before the damage are intact.
TEST_F(QueueStoreTest, BitFlipsAreDetected) {
  std::vector<std::string> ids;
  {
    auto store = OpenStore();
    for (int i = 0; i < 6; ++i)
      ids.push_back(*store->EnqueueAndWait(Msg("s@x.example", {"r@x.example"}), Content(i + 20)));
  }
  auto segs = SegmentFiles();
  ASSERT_EQ(segs.size(), 1u);
  std::string original;
  {
    std::ifstream f(segs[0], std::ios::binary);
    original.assign(std::istreambuf_iterator<char>(f), {});
  }
  size_t data_end = original.size();
  while (data_end > 0 && original[data_end - 1] == '\0') --data_end;
  std::mt19937 rng(99);
  for (int trial = 0; trial < 60; ++trial) {
    std::string damaged = original;
    size_t bit = rng() % (data_end * 8);
    damaged[bit / 8] = static_cast<char>(damaged[bit / 8] ^ (1 << (bit % 8)));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    {
      std::ofstream f(segs[0], std::ios::binary);
      f << damaged;
    }
    RecoveryReport report;
    auto store = OpenStore(&report);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(report.problems.size(), 1u) << "bit " << bit;
    size_t present = 0;
    for (size_t i = 0; i < ids.size(); ++i) {
      auto content = store->ReadContent(ids[i]);
      if (content.ok()) {
        EXPECT_EQ(*content, Content(static_cast<int>(i) + 20));
        EXPECT_EQ(present, i) << "a message after the damage survived";
        ++present;
      }
    }
    EXPECT_LT(present, ids.size());
  }
}

TEST_F(QueueStoreTest, DamageAfterOpenIsReportedOnRead) {
  auto store = OpenStore();
  std::string id = *store->EnqueueAndWait(Msg("", {"r@x.example"}), std::string(500, 'c'));
  auto segs = SegmentFiles();
  ASSERT_EQ(segs.size(), 1u);
  int fd = open(segs[0].c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  auto size = DataEnd(segs[0]);
  ASSERT_EQ(pwrite(fd, "X", 1, static_cast<off_t>(size - 100)), 1);
  close(fd);
  EXPECT_EQ(store->ReadContent(id).status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(QueueStoreTest, ConcurrentEnqueuesShareSyncs) {
  constexpr int kThreads = 16, kEach = 40;
  std::vector<std::string> ids;
  absl::Mutex mu;
  {
    auto store = OpenStore();
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kEach; ++i) {
          int n = t * 1000 + i;
          auto id = store->EnqueueAndWait(
              Msg("s@x.example", {"r" + std::to_string(n) + "@x.example"}), Content(n));
          ASSERT_TRUE(id.ok());
          absl::MutexLock lock(&mu);
          ids.push_back(*id);
        }
      });
    }
    for (auto& t : threads) t.join();
    QueueStoreStats stats = store->stats();
    EXPECT_GT(stats.syncs, 0u);
    EXPECT_LT(stats.syncs, static_cast<uint64_t>(kThreads * kEach))
        << "group commit should need fewer syncs than messages";
    EXPECT_EQ(stats.records, static_cast<uint64_t>(kThreads * kEach));
  }
  std::set<std::string> unique(ids.begin(), ids.end());
  EXPECT_EQ(unique.size(), ids.size());
  auto store = OpenStore();
  EXPECT_EQ(store->List().size(), ids.size());
  for (const auto& m : store->List()) {
    int n = std::stoi(m.meta.recipients[0].address.substr(1));
    EXPECT_EQ(*store->ReadContent(m.meta.id), Content(n));
  }
}

TEST_F(QueueStoreTest, AsyncEnqueueCallsBackOncePerMessage) {
  auto store = OpenStore();
  absl::Mutex mu;
  int done = 0;
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    store->Enqueue(Msg("", {"r@x.example"}), Content(i), [&](absl::StatusOr<std::string> id) {
      absl::MutexLock lock(&mu);
      ASSERT_TRUE(id.ok());
      ids.insert(*id);
      ++done;
    });
  }
  absl::MutexLock lock(&mu);
  mu.Await(absl::Condition(
      +[](int* d) { return *d == 100; }, &done));
  EXPECT_EQ(ids.size(), 100u);
  // A message without recipients is refused at once.
  bool refused = false;
  mu.Unlock();
  store->Enqueue(Msg("", {}), "x", [&](absl::StatusOr<std::string> id) { refused = !id.ok(); });
  mu.Lock();
  EXPECT_TRUE(refused);
}

TEST_F(QueueStoreTest, ReclaimDeletesFinishedSegmentsAndCopiesLiveOnes) {
  auto options = Options();
  options.segment_bytes = 2048;
  std::vector<std::string> ids;
  std::string keeper;
  {
    auto store = OpenStore(options);
    for (int i = 0; i < 40; ++i) {
      ids.push_back(
          *store->EnqueueAndWait(Msg("", {"r@x.example"}), std::string(300, 'a' + i % 26)));
    }
    keeper = ids[0];  // lives in the oldest segment
    ASSERT_TRUE(store->SetState(keeper, MessageState::kDeferred).ok());
    for (size_t i = 1; i < ids.size(); ++i) {
      ASSERT_TRUE(store->MarkRecipient(ids[i], 0, RecipientStatus::kDone, "").ok());
    }
    size_t before = store->Segments().size();
    ASSERT_GT(before, 5u);
    ASSERT_TRUE(store->Reclaim(false).ok());
    // The oldest segment still holds a live message: nothing can go.
    EXPECT_EQ(store->Segments().size(), before);
    ASSERT_TRUE(store->Reclaim(true).ok());
    EXPECT_EQ(store->stats().messages_copied, 1u);
    ASSERT_TRUE(store->Reclaim(false).ok());
    EXPECT_LT(store->Segments().size(), before);
    EXPECT_EQ(*store->ReadContent(keeper), std::string(300, 'a'));
  }
  RecoveryReport report;
  auto store = OpenStore(options, &report);
  EXPECT_TRUE(report.problems.empty());
  auto list = store->List();
  ASSERT_EQ(list.size(), 1u) << "finished messages came back";
  EXPECT_EQ(list[0].meta.id, keeper);
  EXPECT_EQ(list[0].meta.state, MessageState::kDeferred);
  EXPECT_EQ(*store->ReadContent(keeper), std::string(300, 'a'));
  ASSERT_TRUE(store->MarkRecipient(keeper, 0, RecipientStatus::kBounced, "5.1.1").ok());
  ASSERT_TRUE(store->Reclaim(false).ok());
  EXPECT_EQ(store->Segments().size(), 1u);
  store.reset();
  store = OpenStore(options);
  EXPECT_TRUE(store->List().empty());
}

// The child enqueues from several threads and reports every ID the store
// called durable on a pipe; the parent kills it with SIGKILL at a random
// moment. After reopening, every reported message is there and intact.
TEST_F(QueueStoreTest, SurvivesSigkillAtRandomMoments) {
  std::mt19937 rng(2024);
  std::map<std::string, int> durable;  // id -> content number
  for (int round = 0; round < 6; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    int base = round * 1000000;
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      auto store = QueueStore::Open(Options());
      if (!store.ok()) _exit(3);
      std::vector<std::thread> threads;
      std::atomic<int> counter{base};
      absl::Mutex out_mu;
      for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
          while (true) {
            int n = counter.fetch_add(1);
            auto id = (*store)->EnqueueAndWait(Msg("s@x.example", {"r@x.example"}), Content(n));
            if (!id.ok()) _exit(4);
            std::string line = *id + " " + std::to_string(n) + "\n";
            absl::MutexLock lock(&out_mu);
            if (write(fds[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
              _exit(5);
            }
          }
        });
      }
      for (auto& t : threads) t.join();
      _exit(0);
    }
    close(fds[1]);
    // Read a random number of reports, then kill mid-flight.
    size_t want = 20 + rng() % 400;
    std::string buf;
    size_t lines = 0;
    char chunk[4096];
    while (lines < want) {
      ssize_t n = read(fds[0], chunk, sizeof(chunk));
      if (n <= 0) break;
      buf.append(chunk, static_cast<size_t>(n));
      lines = static_cast<size_t>(std::count(buf.begin(), buf.end(), '\n'));
    }
    kill(pid, SIGKILL);
    // Whatever it reported before dying counts too.
    while (true) {
      ssize_t n = read(fds[0], chunk, sizeof(chunk));
      if (n <= 0) break;
      buf.append(chunk, static_cast<size_t>(n));
    }
    close(fds[0]);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
    size_t pos = 0;
    while (true) {
      size_t nl = buf.find('\n', pos);
      if (nl == std::string::npos) break;
      std::string line = buf.substr(pos, nl - pos);
      pos = nl + 1;
      size_t sp = line.find(' ');
      ASSERT_NE(sp, std::string::npos);
      durable[line.substr(0, sp)] = std::stoi(line.substr(sp + 1));
    }
    RecoveryReport report;
    auto store = OpenStore(&report);
    ASSERT_NE(store, nullptr);
    for (const auto& [id, n] : durable) {
      auto content = store->ReadContent(id);
      ASSERT_TRUE(content.ok()) << "round " << round << ": lost durable message " << id << ": "
                                << content.status();
      ASSERT_EQ(*content, Content(n));
    }
    // Every message recovered is complete, reported or not.
    for (const auto& m : store->List()) ASSERT_TRUE(store->ReadContent(m.meta.id).ok());
  }
  EXPECT_GT(durable.size(), 100u);
}

}  // namespace
}  // namespace posthaste::runtime
