// queue_store.h: the durable mail queue (append-only segments, group commit).
//
// Where it sits: the SMTP session (and later pickup) hands each accepted
// message here; the "250 ... queued as ID" reply is sent only when Enqueue
// reports the message durable. The queue manager (qmgr.h) moves
// messages between states and records per-recipient outcomes; mailq lists
// what is here. The on-disk layout is in queue_format.md (read it first).
//
// Design, for throughput: no file per message. Every change is a record
// appended to the current segment file. Callers only copy their record into
// a shared in-memory batch; one commit thread writes the whole batch with
// one write() per segment and makes it durable with one fdatasync(), then
// wakes every caller in the batch. While it syncs, the next batch fills up,
// so the number of syncs per second stays roughly constant while the
// messages per sync grow with the load (group commit). A new segment file is
// also made durable in its directory before any record in it is reported.
//
// Recovery (Open): the segments are replayed in order; a torn or corrupt
// record ends the replay of its segment (nothing after it is interpreted:
// message content may contain bytes that look like records) and is reported,
// never fatal. Writing always continues in a new segment.
//
// Reclaim: a segment whose messages are all finished is deleted, oldest
// first; live messages in the oldest segment can be copied forward so that
// one long-deferred message does not pin a whole segment.
//
// The queue manager's changes (recipient outcomes, state, schedule) join the
// same group commit through Update(): one delivery does not cost one sync.
//
// Threads: every public method is thread-safe. Enqueue and Update callbacks
// run on the commit thread: they must be quick and must not wait for the
// store (calling a blocking method from a callback deadlocks).
//
// Trust: the store is the only writer of its directory. Everything read back
// from disk is checked (queue_record.h) before use.
//
// Not here: scheduling, retries, bounces, the queue manager's in-memory
// structures; cleanup's header processing.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <optional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "runtime/queue_id.h"
#include "runtime/queue_record.h"

namespace posthaste::runtime {

struct QueueStoreOptions {
  // The queue directory; created (mode 0700) when missing.
  std::string directory;
  // enable_long_queue_ids.
  bool long_queue_ids = false;
  // A segment is closed and a new one started once it holds this many bytes.
  uint64_t segment_bytes = uint64_t{64} << 20;
  // The largest record the reader accepts (content plus envelope). Set it
  // above message_size_limit plus the envelope.
  size_t max_record_bytes = size_t{512} << 20;
  // Source of arrival times (tests inject one).
  MicrosClock clock = RealMicros;
  // Group commit: before writing a batch the commit thread waits until
  // gather_target_waiters callers (enqueues and updates) are in it, or up to
  // three times the recent fdatasync time (at most max_gather_micros), so
  // that more concurrent writers share the sync. 0: no wait.
  int64_t max_gather_micros = 1000;
  size_t gather_target_waiters = 8;
  // line_length_limit: how Postfix would cut long lines into records, which
  // counts in the message size reported (QueuedMessage::message_size).
  size_t line_length_limit = 2048;
};

// What a message looks like to List() and Info().
struct QueuedMessage {
  MessageMeta meta;
  // The size Postfix gives the message (queue_file_size.h:
  // PostfixContentSize), which mailq and the queue manager's log report.
  uint64_t message_size = 0;
};

// A queue ID handed out before the message is queued (Postfix's smtpd logs
// "ID: client=..." at MAIL FROM, long before the queue file is complete).
struct QueueIdReservation {
  std::string id;
  uint64_t sequence = 0;
  int64_t arrival_micros = 0;  // becomes the message's arrival time
};

// The envelope of a message to enqueue.
struct NewMessage {
  std::string sender;                   // internal form, empty for <>
  std::vector<std::string> recipients;  // at least one
  uint32_t flags = 0;                   // kMessage8BitMime ...
  // Parallel to `recipients`: each one as the client gave it (before
  // canonical rewriting and alias expansion). Empty: the same as recipients.
  std::vector<std::string> original_recipients;
  // Parallel to `recipients` (or empty: none given): RCPT NOTIFY= bits and
  // ORCPT= values (RFC 3461), see QueueRecipient.
  std::vector<uint8_t> recipient_notify;
  std::vector<std::string> recipient_orcpt;
  // MAIL ENVID= (decoded); RET= and SMTPUTF8 travel in `flags`.
  std::string dsn_envid;
  // The content filter request ("transport:nexthop") from content_filter or
  // a FILTER action; "" for none.
  std::string filter;
  // kHold when cleanup's HOLD action fired; kIncoming otherwise.
  MessageState initial_state = MessageState::kIncoming;
  std::string hold_reason;
  // From ReserveQueueId(); an empty id lets Enqueue assign one.
  QueueIdReservation reserved;
};

// One recipient's outcome (see MessageUpdate).
struct RecipientUpdate {
  uint32_t index = 0;
  RecipientStatus status = RecipientStatus::kPending;
  std::string reason;      // the text the log line shows
  std::string dsn;         // "5.1.1"
  std::string diagnostic;  // "smtp; 550 5.1.1 ..."
  std::string remote_mta;  // "mx.example.com"
};

// When a message is due next (queue_format.md, schedule record).
struct ScheduleUpdate {
  int64_t next_attempt_micros = 0;
  uint32_t attempts = 0;
  bool delay_warned = false;
};

// Changes to one message, written as consecutive records in one batch:
// recipients first, then the state, then the schedule. When the recipient
// changes finish the message, the rest is moot and not written. `remove`
// deletes the message whatever its recipients' status (postsuper -d); the
// other fields are then ignored.
struct MessageUpdate {
  std::vector<RecipientUpdate> recipients;
  std::optional<MessageState> state;
  std::optional<ScheduleUpdate> schedule;
  bool remove = false;
};

struct QueueStoreStats {
  uint64_t syncs = 0;            // fdatasync calls on segment files
  uint64_t directory_syncs = 0;  // fsync calls on the directory
  uint64_t batches = 0;          // write batches committed
  uint64_t records = 0;          // records committed
  uint64_t segments_created = 0;
  uint64_t segments_removed = 0;
  uint64_t messages_copied = 0;  // moved forward by Reclaim
};

// What Open found on disk.
struct RecoveryReport {
  size_t segments = 0;
  size_t records = 0;
  size_t messages = 0;  // live messages after replay
  // One line per problem: torn tails, corrupt records, unreadable segments.
  std::vector<std::string> problems;
  uint64_t ignored_bytes = 0;  // bytes after a bad record, not interpreted
};

class QueueStore {
 public:
  using EnqueueCallback = absl::AnyInvocable<void(absl::StatusOr<std::string> id)>;
  using DoneCallback = absl::AnyInvocable<void(absl::Status)>;

  // Opens (or creates) the queue in options.directory, replays it, starts a
  // new segment and the commit thread. `report` is optional.
  static absl::StatusOr<std::unique_ptr<QueueStore>> Open(QueueStoreOptions options,
                                                          RecoveryReport* report = nullptr);

  // Commits what is pending, then stops the commit thread.
  ~QueueStore();

  QueueStore(const QueueStore&) = delete;
  QueueStore& operator=(const QueueStore&) = delete;

  // Assigns a queue ID and appends the message (state incoming). `done` runs
  // on the commit thread with the ID once the message is on stable storage,
  // or with an error (then the message must be treated as not accepted:
  // 451 4.3.0). `content` is copied before Enqueue returns.
  void Enqueue(const NewMessage& message, std::string_view content, EnqueueCallback done);
  // The same, waiting for the outcome.
  absl::StatusOr<std::string> EnqueueAndWait(const NewMessage& message, std::string_view content);
  // A queue ID (and arrival time) for a message that will be enqueued with
  // NewMessage::reserved. IDs never repeat, reserved or not; a reservation
  // that is never used costs nothing.
  QueueIdReservation ReserveQueueId();

  // Applies `update` to the message now (List/Info show it at once) and
  // appends its records to the current batch: it joins the group commit
  // like Enqueue, so many deliveries share one fdatasync. `done` runs on the
  // commit thread once the records are durable (or with the write error),
  // or at once on the caller's thread for an unknown ID (NotFound) or a bad
  // recipient index (InvalidArgument; nothing is applied then). Same
  // callback rules as Enqueue. `done` may be empty.
  void Update(std::string_view id, MessageUpdate update, DoneCallback done);
  // The same, waiting for durability.
  absl::Status UpdateAndWait(std::string_view id, MessageUpdate update);
  // Update with recipient outcomes only.
  void MarkRecipients(std::string_view id, std::vector<RecipientUpdate> changes,
                      DoneCallback done);

  // Durable on return. NotFound for unknown (or finished) IDs.
  absl::Status SetState(std::string_view id, MessageState state);
  // Records one recipient's outcome; when every recipient is done or
  // bounced the message is finished and leaves the queue.
  absl::Status MarkRecipient(std::string_view id, size_t index, RecipientStatus status,
                             std::string_view reason);
  // Deletes a message whatever its recipients' status (postsuper -d).
  absl::Status Remove(std::string_view id);

  // Live messages, oldest arrival first.
  std::vector<QueuedMessage> List() const;
  absl::StatusOr<QueuedMessage> Info(std::string_view id) const;
  // The content, read back from disk and checked.
  absl::StatusOr<std::string> ReadContent(std::string_view id) const;

  // Deletes finished segments, oldest first. With copy_forward, live
  // messages of the oldest closed segment are first rewritten into the
  // current one. Durable on return.
  absl::Status Reclaim(bool copy_forward);

  QueueStoreStats stats() const;
  // Segment files currently in use (for tests and phctl).
  std::vector<uint64_t> Segments() const;

 private:
  struct File;
  struct Segment {
    std::shared_ptr<File> file;
    uint64_t appended = 0;  // bytes appended, durable or not
    size_t live = 0;        // live messages whose record is here
  };
  struct Entry {
    MessageMeta meta;
    uint64_t segment = 0;
    uint64_t offset = 0;
    uint64_t length = 0;  // whole framed record
    uint64_t message_size = 0;
    bool durable = false;  // the enqueue has been reported
  };
  struct Chunk {
    std::shared_ptr<File> file;
    std::string bytes;
  };
  struct Pending {
    std::string id;
    EnqueueCallback done;      // an enqueue: reports the ID
    DoneCallback update_done;  // an update: reports the status
  };

  explicit QueueStore(QueueStoreOptions options);
  absl::Status Recover(RecoveryReport* report);
  absl::Status StartSegment(uint64_t number) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string SegmentPath(uint64_t number) const;

  // Appends one framed record to the current segment (rolling over when
  // full); sets the append's sequence number and where the record went.
  absl::Status AppendLocked(std::string_view record, uint64_t* seq, uint64_t* segment,
                            uint64_t* offset) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Blocks until the append with sequence `seq` is durable.
  absl::Status WaitDurableLocked(uint64_t seq) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FinishMessageLocked(absl::flat_hash_map<std::string, Entry>::iterator it)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Checks and applies an update in memory and appends its records.
  absl::Status UpdateLocked(std::string_view id, const MessageUpdate& update, uint64_t* seq)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status ReadRecord(const Entry& entry, std::shared_ptr<File> file,
                          std::string* record) const;

  void CommitLoop();
  // The gather's end condition: the batch has its target of callers.
  bool BatchFullLocked() const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  absl::Status WriteBatch(std::vector<Chunk>& chunks);

  const QueueStoreOptions options_;
  std::unique_ptr<QueueIdGenerator> ids_;  // created once recovery knows the sequence
  int dir_fd_ = -1;
  int lock_fd_ = -1;
  uint64_t recovered_next_sequence_ = 1;

  mutable absl::Mutex mu_;
  absl::CondVar work_cv_;  // the commit thread waits here for appends
  absl::CondVar done_cv_;  // callers wait here for durability
  std::map<uint64_t, Segment> segments_ ABSL_GUARDED_BY(mu_);
  uint64_t current_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, Entry> index_ ABSL_GUARDED_BY(mu_);
  std::vector<Chunk> chunks_ ABSL_GUARDED_BY(mu_);
  std::vector<Pending> pending_ ABSL_GUARDED_BY(mu_);
  uint64_t append_seq_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t durable_seq_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t failed_from_seq_ ABSL_GUARDED_BY(mu_) = UINT64_MAX;
  absl::Status failed_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  QueueStoreStats stats_ ABSL_GUARDED_BY(mu_);
  std::thread commit_thread_;
  // Commit thread only: moving average of one batch's sync time.
  int64_t sync_micros_avg_ = 0;
};

}  // namespace posthaste::runtime
