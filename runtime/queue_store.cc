// queue_store.cc: durable queue with group commit (see queue_store.h and
// queue_format.md).
//
// Lock order: mu_ only. No system call that waits for the disk runs under
// mu_ except creating a new segment file (once per segment_bytes); the
// commit thread writes and syncs with mu_ released.
#include "runtime/queue_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <thread>

#include "runtime/queue_file_size.h"
#include "tables/str_cat.h"

namespace posthaste::runtime {

using tables::Cat;
namespace fs = std::filesystem;

struct QueueStore::File {
  File(int fd, std::string path) : fd(fd), path(std::move(path)) {}
  ~File() {
    if (fd >= 0) close(fd);
  }
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  const int fd;
  const std::string path;
  // Set for a newly created file: the directory must be synced before any
  // record in it is reported durable.
  std::atomic<bool> needs_dir_sync{false};
  // Commit thread only: where the next record goes, and how far the file
  // has been filled with zeros ahead of it.
  uint64_t write_pos = 0;
  uint64_t zeroed_end = 0;
};

namespace {

absl::Status ErrnoStatus(std::string_view what, const std::string& path, int err) {
  std::string msg = Cat(what, " ", path, ": ", std::strerror(err));
  if (err == ENOSPC || err == EDQUOT || err == EINTR || err == EAGAIN) {
    return absl::UnavailableError(msg);
  }
  return absl::InternalError(msg);
}

// Segment files are named by their number: 16 lower-case hex digits + ".seg".
bool ParseSegmentName(std::string_view name, uint64_t* number) {
  if (name.size() != 20 || name.substr(16) != ".seg") return false;
  uint64_t n = 0;
  for (char c : name.substr(0, 16)) {
    int v;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else {
      return false;
    }
    n = (n << 4) | static_cast<uint64_t>(v);
  }
  *number = n;
  return true;
}

// Debian's Abseil has its own string_view type: map lookups go through it.
absl::string_view Key(std::string_view s) { return absl::string_view(s.data(), s.size()); }

bool AllFinished(const MessageMeta& meta) {
  return std::all_of(meta.recipients.begin(), meta.recipients.end(),
                     [](const QueueRecipient& r) { return RecipientFinished(r.status); });
}

absl::Status WriteAll(int fd, std::string_view bytes, uint64_t offset, const std::string& path) {
  while (!bytes.empty()) {
    ssize_t n = pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write", path, errno);
    }
    bytes.remove_prefix(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return absl::OkStatus();
}

// Segments are filled with zeros ahead of the records, this much at a time.
// Overwriting blocks that are already allocated and written lets fdatasync
// flush just the data: no size or extent change, so no file system journal
// commit per batch (the costly part of a sync on ext4). An all-zero tail
// reads as the clean end of a segment (queue_format.md).
constexpr uint64_t kZeroFillStep = uint64_t{1} << 20;

bool AllZero(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == 0; });
}

}  // namespace

QueueStore::QueueStore(QueueStoreOptions options) : options_(std::move(options)) {}

std::string QueueStore::SegmentPath(uint64_t number) const {
  char name[32];
  std::snprintf(name, sizeof(name), "%016" PRIx64 ".seg", number);
  return options_.directory + "/" + name;
}

absl::StatusOr<std::unique_ptr<QueueStore>> QueueStore::Open(QueueStoreOptions options,
                                                             RecoveryReport* report) {
  if (options.directory.empty()) return absl::InvalidArgumentError("queue directory not set");
  if (mkdir(options.directory.c_str(), 0700) == 0) {
    // A new queue directory must itself survive a crash.
    std::string parent = fs::path(options.directory).parent_path().string();
    int pfd = open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pfd < 0) return ErrnoStatus("open", parent, errno);
    int rc = fsync(pfd);
    int err = errno;
    close(pfd);
    if (rc != 0) return ErrnoStatus("fsync", parent, err);
  } else if (errno != EEXIST) {
    return ErrnoStatus("mkdir", options.directory, errno);
  }
  std::unique_ptr<QueueStore> store(new QueueStore(std::move(options)));
  const std::string& dir = store->options_.directory;
  store->dir_fd_ = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (store->dir_fd_ < 0) return ErrnoStatus("open", dir, errno);
  // One writer per queue: a second process would interleave segments.
  std::string lock_path = dir + "/lock";
  store->lock_fd_ = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (store->lock_fd_ < 0) return ErrnoStatus("open", lock_path, errno);
  if (flock(store->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return absl::FailedPreconditionError(Cat("queue ", dir, " is in use by another process"));
  }
  RecoveryReport local;
  absl::Status st = store->Recover(report != nullptr ? report : &local);
  if (!st.ok()) return st;
  store->ids_ = std::make_unique<QueueIdGenerator>(
      store->options_.long_queue_ids, store->recovered_next_sequence_, store->options_.clock);
  {
    absl::MutexLock lock(&store->mu_);
    st = store->StartSegment(store->current_);
  }
  if (!st.ok()) return st;
  store->commit_thread_ = std::thread([s = store.get()] { s->CommitLoop(); });
  return store;
}

QueueStore::~QueueStore() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    work_cv_.Signal();
  }
  if (commit_thread_.joinable()) commit_thread_.join();
  if (lock_fd_ >= 0) close(lock_fd_);
  if (dir_fd_ >= 0) close(dir_fd_);
}

absl::Status QueueStore::Recover(RecoveryReport* report) {
  const std::string& dir = options_.directory;
  std::vector<uint64_t> numbers;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return ErrnoStatus("opendir", dir, errno);
  while (dirent* e = readdir(d)) {
    uint64_t n;
    if (ParseSegmentName(e->d_name, &n)) numbers.push_back(n);
  }
  closedir(d);
  std::sort(numbers.begin(), numbers.end());

  uint64_t next_sequence = 1;
  absl::MutexLock lock(&mu_);
  for (uint64_t number : numbers) {
    std::string path = SegmentPath(number);
    current_ = std::max(current_, number);
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("open", path, errno);
    auto file = std::make_shared<File>(fd, path);
    struct stat sb;
    if (fstat(fd, &sb) != 0) return ErrnoStatus("stat", path, errno);
    auto size = static_cast<uint64_t>(sb.st_size);
    ++report->segments;
    const size_t problems_before = report->problems.size();
    if (size == 0) {
      report->problems.push_back(Cat(path, ": empty segment, ignored"));
      continue;
    }
    void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) return ErrnoStatus("mmap", path, errno);
    std::string_view bytes(static_cast<const char*>(map), size);
    RecordReader reader(bytes, options_.max_record_bytes);
    RecordType type;
    std::string_view payload;
    bool have_header = false;
    Segment& seg = segments_[number];
    seg.file = file;
    seg.appended = size;
    auto problem = [&](std::string_view why) {
      report->problems.push_back(Cat(path, ": offset ", reader.offset(), ": ", why, "; ",
                                     size - reader.offset(), " bytes ignored"));
      report->ignored_bytes += size - reader.offset();
    };
    while (true) {
      RecordReader::Result r = reader.Next(&type, &payload);
      if (r == RecordReader::Result::kEnd) break;
      if (r == RecordReader::Result::kBad) {
        // Zeros to the end: the unused, zero-filled part of the segment.
        if (!AllZero(bytes.substr(reader.offset()))) problem(reader.error());
        break;
      }
      absl::Status bad;
      if (!have_header) {
        absl::StatusOr<SegmentHeader> h = DecodeSegmentHeader(payload);
        if (type != RecordType::kSegmentHeader || !h.ok() || h->segment != number) {
          bad = h.ok() ? absl::DataLossError("no valid segment header") : h.status();
        } else {
          have_header = true;
          next_sequence = std::max(next_sequence, h->next_sequence);
        }
      } else if (type == RecordType::kMessage) {
        std::string_view content;
        absl::StatusOr<MessageMeta> m = DecodeMessage(payload, &content);
        if (!m.ok()) {
          bad = m.status();
        } else {
          next_sequence = std::max(next_sequence, m->sequence + 1);
          auto it = index_.find(m->id);
          if (it != index_.end()) {
            // A newer copy (Reclaim) replaces the older record.
            auto old = segments_.find(it->second.segment);
            if (old != segments_.end() && old->second.live > 0) --old->second.live;
            index_.erase(it);
          }
          if (!AllFinished(*m)) {
            Entry e;
            e.segment = number;
            e.offset = reader.record_offset();
            e.length = reader.offset() - reader.record_offset();
            e.message_size = PostfixContentSize(content, options_.line_length_limit);
            e.durable = true;
            e.meta = std::move(*m);
            std::string id = e.meta.id;
            index_.emplace(std::move(id), std::move(e));
            ++seg.live;
          }
        }
      } else if (type == RecordType::kState) {
        absl::StatusOr<StateChange> c = DecodeStateChange(payload);
        if (!c.ok()) {
          bad = c.status();
        } else if (auto it = index_.find(c->id); it != index_.end()) {
          it->second.meta.state = c->state;
        }
      } else if (type == RecordType::kRecipient) {
        absl::StatusOr<RecipientChange> c = DecodeRecipientChange(payload);
        if (!c.ok()) {
          bad = c.status();
        } else if (auto it = index_.find(c->id); it != index_.end()) {
          auto& rcpts = it->second.meta.recipients;
          if (c->index < rcpts.size()) {
            QueueRecipient& r = rcpts[c->index];
            r.status = c->status;
            r.reason = std::move(c->reason);
            r.dsn = std::move(c->dsn);
            r.diagnostic = std::move(c->diagnostic);
            r.remote_mta = std::move(c->remote_mta);
            if (AllFinished(it->second.meta)) FinishMessageLocked(it);
          }
        }
      } else if (type == RecordType::kSchedule) {
        absl::StatusOr<ScheduleChange> c = DecodeScheduleChange(payload);
        if (!c.ok()) {
          bad = c.status();
        } else if (auto it = index_.find(c->id); it != index_.end()) {
          MessageMeta& m = it->second.meta;
          m.next_attempt_micros = c->next_attempt_micros;
          m.attempts = c->attempts;
          m.delay_warned = c->delay_warned;
        }
      } else if (type == RecordType::kRemove) {
        absl::StatusOr<std::string> id = DecodeRemove(payload);
        if (!id.ok()) {
          bad = id.status();
        } else if (auto it = index_.find(Key(*id)); it != index_.end()) {
          FinishMessageLocked(it);
        }
      } else {
        bad = absl::DataLossError("segment header in the middle of a segment");
      }
      if (!bad.ok()) {
        // A record with a good checksum that does not decode: stop here too.
        uint64_t at = reader.record_offset();
        report->problems.push_back(Cat(path, ": offset ", at, ": ", std::string(bad.message()),
                                       "; ", size - at, " bytes ignored"));
        report->ignored_bytes += size - at;
        break;
      }
      ++report->records;
    }
    munmap(map, size);
    if (!have_header) {
      // Nothing in it was ever reported durable without its header.
      if (report->problems.size() == problems_before) {
        report->problems.push_back(Cat(path, ": no segment header, ignored"));
      }
      segments_.erase(number);
    }
  }
  report->messages = index_.size();
  recovered_next_sequence_ = next_sequence;
  current_ = numbers.empty() ? 1 : current_ + 1;
  return absl::OkStatus();
}

absl::Status QueueStore::StartSegment(uint64_t number) {
  std::string path = SegmentPath(number);
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("create", path, errno);
  auto file = std::make_shared<File>(fd, path);
  file->needs_dir_sync = true;
  Segment& seg = segments_[number];
  seg.file = file;
  current_ = number;
  SegmentHeader header;
  header.segment = number;
  header.next_sequence = ids_->next_sequence();
  std::string bytes;
  AppendSegmentHeaderRecord(header, &bytes);
  seg.appended = bytes.size();
  chunks_.push_back(Chunk{file, std::move(bytes)});
  ++append_seq_;
  ++stats_.segments_created;
  work_cv_.Signal();
  return absl::OkStatus();
}

absl::Status QueueStore::AppendLocked(std::string_view record, uint64_t* seq, uint64_t* segment,
                                      uint64_t* offset) {
  if (!failed_.ok()) return failed_;
  Segment* seg = &segments_[current_];
  if (seg->appended + record.size() > options_.segment_bytes && seg->appended > 64) {
    absl::Status st = StartSegment(current_ + 1);
    if (!st.ok()) {
      failed_ = st;
      failed_from_seq_ = std::min(failed_from_seq_, append_seq_ + 1);
      return st;
    }
    seg = &segments_[current_];
  }
  *segment = current_;
  *offset = seg->appended;
  seg->appended += record.size();
  if (chunks_.empty() || chunks_.back().file != seg->file) {
    chunks_.push_back(Chunk{seg->file, std::string()});
    // Most batches hold many records: start with room for some.
    chunks_.back().bytes.reserve(std::max<size_t>(record.size(), 64 * 1024));
  }
  chunks_.back().bytes.append(record);
  *seq = ++append_seq_;
  ++stats_.records;
  work_cv_.Signal();
  return absl::OkStatus();
}

absl::Status QueueStore::WaitDurableLocked(uint64_t seq) {
  while (durable_seq_ < seq) done_cv_.Wait(&mu_);
  if (seq >= failed_from_seq_) return failed_;
  return absl::OkStatus();
}

void QueueStore::FinishMessageLocked(absl::flat_hash_map<std::string, Entry>::iterator it) {
  auto seg = segments_.find(it->second.segment);
  if (seg != segments_.end() && seg->second.live > 0) --seg->second.live;
  index_.erase(it);
}

void QueueStore::Enqueue(const NewMessage& message, std::string_view content,
                         EnqueueCallback done) {
  if (message.recipients.empty()) {
    done(absl::InvalidArgumentError("a message needs at least one recipient"));
    return;
  }
  if (!message.original_recipients.empty() &&
      message.original_recipients.size() != message.recipients.size()) {
    done(absl::InvalidArgumentError("original recipients do not match the recipients"));
    return;
  }
  if ((!message.recipient_notify.empty() &&
       message.recipient_notify.size() != message.recipients.size()) ||
      (!message.recipient_orcpt.empty() &&
       message.recipient_orcpt.size() != message.recipients.size())) {
    done(absl::InvalidArgumentError("DSN requests do not match the recipients"));
    return;
  }
  if (message.flags & ~(kMessageKnownFlags & ~kMessageDsnFields)) {
    done(absl::InvalidArgumentError("unknown message flags"));
    return;
  }
  MessageMeta meta;
  if (message.reserved.id.empty()) {
    meta.arrival_micros = options_.clock();
    meta.id = ids_->NextAt(meta.arrival_micros, &meta.sequence);
  } else {
    if (!IsValidQueueId(message.reserved.id)) {
      done(absl::InvalidArgumentError("not a queue ID"));
      return;
    }
    meta.id = message.reserved.id;
    meta.sequence = message.reserved.sequence;
    meta.arrival_micros = message.reserved.arrival_micros;
  }
  meta.state = message.initial_state;
  meta.flags = message.flags;
  meta.sender = message.sender;
  meta.filter = message.filter;
  meta.hold_reason = message.hold_reason;
  meta.dsn_envid = message.dsn_envid;
  meta.recipients.reserve(message.recipients.size());
  for (size_t i = 0; i < message.recipients.size(); ++i) {
    QueueRecipient r;
    r.address = message.recipients[i];
    // Stored only when it differs: most mail is not rewritten.
    if (!message.original_recipients.empty() && message.original_recipients[i] != r.address) {
      r.original = message.original_recipients[i];
    }
    if (!message.recipient_notify.empty()) r.notify = message.recipient_notify[i];
    if (!message.recipient_orcpt.empty()) r.orcpt = message.recipient_orcpt[i];
    meta.recipients.push_back(std::move(r));
  }
  std::string record;
  record.reserve(content.size() + 256);
  AppendMessageRecord(meta, content, &record);

  absl::Status st;
  {
    absl::MutexLock lock(&mu_);
    if (index_.contains(meta.id)) {
      st = absl::AlreadyExistsError(Cat("queue ID ", meta.id, " is in use"));
    } else {
      Entry e;
      uint64_t seq;
      st = AppendLocked(record, &seq, &e.segment, &e.offset);
      if (st.ok()) {
        e.length = record.size();
        e.message_size = PostfixContentSize(content, options_.line_length_limit);
        std::string id = meta.id;
        e.meta = std::move(meta);
        ++segments_[e.segment].live;
        index_.emplace(id, std::move(e));
        pending_.push_back(Pending{std::move(id), std::move(done), nullptr});
        return;
      }
    }
  }
  done(st);
}

QueueIdReservation QueueStore::ReserveQueueId() {
  QueueIdReservation r;
  r.arrival_micros = options_.clock();
  r.id = ids_->NextAt(r.arrival_micros, &r.sequence);
  return r;
}

absl::Status QueueStore::UpdateLocked(std::string_view id, const MessageUpdate& update,
                                      uint64_t* seq) {
  if (!failed_.ok()) return failed_;
  auto it = index_.find(Key(id));
  if (it == index_.end() || !it->second.durable) {
    return absl::NotFoundError(Cat("no message ", id, " in the queue"));
  }
  if (update.remove) {
    std::string record;
    AppendRemoveRecord(id, &record);
    uint64_t segment, offset;
    absl::Status st = AppendLocked(record, seq, &segment, &offset);
    if (st.ok()) FinishMessageLocked(it);
    return st;
  }
  MessageMeta& meta = it->second.meta;
  for (const RecipientUpdate& u : update.recipients) {
    if (u.index >= meta.recipients.size()) {
      return absl::InvalidArgumentError(Cat("message ", id, " has no recipient ", u.index));
    }
  }
  std::string records;
  for (const RecipientUpdate& u : update.recipients) {
    AppendRecipientRecord(RecipientChange{std::string(id), u.index, u.status, u.reason, u.dsn,
                                          u.diagnostic, u.remote_mta},
                          &records);
    QueueRecipient& r = meta.recipients[u.index];
    r.status = u.status;
    r.reason = u.reason;
    r.dsn = u.dsn;
    r.diagnostic = u.diagnostic;
    r.remote_mta = u.remote_mta;
  }
  bool finished = !update.recipients.empty() && AllFinished(meta);
  if (!finished) {
    if (update.state) {
      AppendStateRecord(StateChange{std::string(id), *update.state}, &records);
      meta.state = *update.state;
    }
    if (update.schedule) {
      const ScheduleUpdate& su = *update.schedule;
      AppendScheduleRecord(
          ScheduleChange{std::string(id), su.next_attempt_micros, su.attempts, su.delay_warned},
          &records);
      meta.next_attempt_micros = su.next_attempt_micros;
      meta.attempts = su.attempts;
      meta.delay_warned = su.delay_warned;
    }
  }
  if (finished) FinishMessageLocked(it);
  if (records.empty()) {
    *seq = append_seq_;
    return absl::OkStatus();
  }
  uint64_t segment, offset;
  return AppendLocked(records, seq, &segment, &offset);
}

void QueueStore::Update(std::string_view id, MessageUpdate update, DoneCallback done) {
  absl::Status st;
  {
    absl::MutexLock lock(&mu_);
    uint64_t seq;
    st = UpdateLocked(id, update, &seq);
    if (st.ok()) {
      if (done) pending_.push_back(Pending{std::string(id), nullptr, std::move(done)});
      return;
    }
  }
  if (done) done(st);
}

absl::Status QueueStore::UpdateAndWait(std::string_view id, MessageUpdate update) {
  absl::MutexLock lock(&mu_);
  uint64_t seq;
  absl::Status st = UpdateLocked(id, update, &seq);
  if (!st.ok()) return st;
  return WaitDurableLocked(seq);
}

void QueueStore::MarkRecipients(std::string_view id, std::vector<RecipientUpdate> changes,
                                DoneCallback done) {
  MessageUpdate update;
  update.recipients = std::move(changes);
  Update(id, std::move(update), std::move(done));
}

absl::StatusOr<std::string> QueueStore::EnqueueAndWait(const NewMessage& message,
                                                       std::string_view content) {
  absl::Mutex m;
  bool finished = false;
  absl::StatusOr<std::string> result;
  Enqueue(message, content, [&](absl::StatusOr<std::string> id) {
    absl::MutexLock lock(&m);
    result = std::move(id);
    finished = true;
  });
  absl::MutexLock lock(&m);
  m.Await(absl::Condition(&finished));
  return result;
}

absl::Status QueueStore::SetState(std::string_view id, MessageState state) {
  MessageUpdate update;
  update.state = state;
  return UpdateAndWait(id, std::move(update));
}

absl::Status QueueStore::MarkRecipient(std::string_view id, size_t index, RecipientStatus status,
                                       std::string_view reason) {
  if (index > UINT32_MAX) {
    return absl::InvalidArgumentError(Cat("message ", id, " has no recipient ", index));
  }
  MessageUpdate update;
  RecipientUpdate u;
  u.index = static_cast<uint32_t>(index);
  u.status = status;
  u.reason = std::string(reason);
  update.recipients.push_back(std::move(u));
  return UpdateAndWait(id, std::move(update));
}

absl::Status QueueStore::Remove(std::string_view id) {
  MessageUpdate update;
  update.remove = true;
  return UpdateAndWait(id, std::move(update));
}

std::vector<QueuedMessage> QueueStore::List() const {
  std::vector<QueuedMessage> out;
  {
    absl::MutexLock lock(&mu_);
    out.reserve(index_.size());
    for (const auto& [id, e] : index_) {
      if (e.durable) out.push_back(QueuedMessage{e.meta, e.message_size});
    }
  }
  std::sort(out.begin(), out.end(), [](const QueuedMessage& a, const QueuedMessage& b) {
    if (a.meta.arrival_micros != b.meta.arrival_micros) {
      return a.meta.arrival_micros < b.meta.arrival_micros;
    }
    return a.meta.sequence < b.meta.sequence;
  });
  return out;
}

absl::StatusOr<QueuedMessage> QueueStore::Info(std::string_view id) const {
  absl::MutexLock lock(&mu_);
  auto it = index_.find(Key(id));
  if (it == index_.end() || !it->second.durable) {
    return absl::NotFoundError(Cat("no message ", id, " in the queue"));
  }
  return QueuedMessage{it->second.meta, it->second.message_size};
}

absl::Status QueueStore::ReadRecord(const Entry& entry, std::shared_ptr<File> file,
                                    std::string* record) const {
  if (entry.length > options_.max_record_bytes + kRecordHeaderSize) {
    return absl::DataLossError("record too large");
  }
  record->resize(entry.length);
  size_t done = 0;
  while (done < entry.length) {
    ssize_t n = pread(file->fd, record->data() + done, entry.length - done,
                      static_cast<off_t>(entry.offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("read", file->path, errno);
    if (n == 0) return absl::DataLossError(Cat(file->path, ": record cut short"));
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> QueueStore::ReadContent(std::string_view id) const {
  Entry entry;
  std::shared_ptr<File> file;
  {
    absl::MutexLock lock(&mu_);
    auto it = index_.find(Key(id));
    if (it == index_.end() || !it->second.durable) {
      return absl::NotFoundError(Cat("no message ", id, " in the queue"));
    }
    entry.segment = it->second.segment;
    entry.offset = it->second.offset;
    entry.length = it->second.length;
    auto seg = segments_.find(entry.segment);
    if (seg == segments_.end()) return absl::InternalError("segment of a live message is gone");
    file = seg->second.file;
  }
  std::string record;
  absl::Status st = ReadRecord(entry, file, &record);
  if (!st.ok()) return st;
  RecordReader reader(record, options_.max_record_bytes);
  RecordType type;
  std::string_view payload;
  if (reader.Next(&type, &payload) != RecordReader::Result::kRecord ||
      type != RecordType::kMessage || reader.offset() != record.size()) {
    return absl::DataLossError(Cat(file->path, ": offset ", entry.offset,
                                   ": damaged message record for ", id, " (", reader.error(), ")"));
  }
  std::string_view content;
  absl::StatusOr<MessageMeta> meta = DecodeMessage(payload, &content);
  if (!meta.ok()) return meta.status();
  if (meta->id != id) return absl::DataLossError("message record holds another queue id");
  return std::string(content);
}

absl::Status QueueStore::Reclaim(bool copy_forward) {
  absl::MutexLock lock(&mu_);
  bool copied = false;
  absl::Status result;
  while (failed_.ok() && !segments_.empty() && segments_.begin()->first != current_) {
    auto oldest = segments_.begin();
    uint64_t number = oldest->first;
    if (oldest->second.live == 0) {
      std::string path = oldest->second.file->path;
      segments_.erase(oldest);
      mu_.Unlock();
      // Oldest first, and each removal durable before the next: a segment
      // that came back after a crash could otherwise bring back messages
      // whose removal was recorded in a newer, already deleted segment.
      int rc = unlink(path.c_str());
      int err = errno;
      int sync_rc = rc == 0 ? fsync(dir_fd_) : 0;
      int sync_err = errno;
      mu_.Lock();
      if (rc != 0 && err != ENOENT) return ErrnoStatus("unlink", path, err);
      if (sync_rc != 0) return ErrnoStatus("fsync", options_.directory, sync_err);
      ++stats_.segments_removed;
      ++stats_.directory_syncs;
      continue;
    }
    if (!copy_forward || copied) break;
    copied = true;
    // Copy the live messages of the oldest segment into the current one.
    struct Victim {
      std::string id;
      Entry where;
      std::string content;
    };
    std::vector<Victim> victims;
    for (const auto& [id, e] : index_) {
      if (e.segment == number && e.durable) {
        Victim v;
        v.id = id;
        v.where.offset = e.offset;
        v.where.length = e.length;
        victims.push_back(std::move(v));
      }
    }
    std::shared_ptr<File> file = oldest->second.file;
    mu_.Unlock();
    for (Victim& v : victims) {
      std::string record;
      absl::Status st = ReadRecord(v.where, file, &record);
      RecordReader reader(record, options_.max_record_bytes);
      RecordType type;
      std::string_view payload, content;
      if (st.ok() && (reader.Next(&type, &payload) != RecordReader::Result::kRecord ||
                      type != RecordType::kMessage)) {
        st = absl::DataLossError(Cat(file->path, ": damaged record for ", v.id));
      }
      if (st.ok()) st = DecodeMessage(payload, &content).status();
      if (!st.ok()) {
        result = st;
        v.id.clear();
        continue;
      }
      v.content = std::string(content);
    }
    mu_.Lock();
    struct Moved {
      std::string id;
      uint64_t segment, offset, length;
    };
    std::vector<Moved> moved;
    uint64_t last_seq = 0;
    for (Victim& v : victims) {
      if (v.id.empty()) continue;
      auto it = index_.find(v.id);
      if (it == index_.end() || it->second.segment != number) continue;
      std::string record;
      AppendMessageRecord(it->second.meta, v.content, &record);
      Moved m{v.id, 0, 0, record.size()};
      absl::Status st = AppendLocked(record, &last_seq, &m.segment, &m.offset);
      if (!st.ok()) return st;
      moved.push_back(std::move(m));
    }
    absl::Status st = WaitDurableLocked(last_seq);
    if (!st.ok()) return st;
    for (const Moved& m : moved) {
      auto it = index_.find(m.id);
      // Finished or removed meanwhile: the copy is dead and the old home's
      // count was already dropped.
      if (it == index_.end() || it->second.segment != number) continue;
      auto old_home = segments_.find(number);
      if (old_home != segments_.end() && old_home->second.live > 0) --old_home->second.live;
      ++segments_[m.segment].live;
      it->second.segment = m.segment;
      it->second.offset = m.offset;
      it->second.length = m.length;
      ++stats_.messages_copied;
    }
    // Loop again: the oldest segment is now empty unless a copy failed.
  }
  if (!failed_.ok()) return failed_;
  return result;
}

QueueStoreStats QueueStore::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

std::vector<uint64_t> QueueStore::Segments() const {
  absl::MutexLock lock(&mu_);
  std::vector<uint64_t> out;
  for (const auto& [n, s] : segments_) out.push_back(n);
  return out;
}

bool QueueStore::BatchFullLocked() const {
  return stop_ || pending_.size() >= options_.gather_target_waiters;
}

void QueueStore::CommitLoop() {
  mu_.Lock();
  while (true) {
    while (chunks_.empty() && !stop_) work_cv_.Wait(&mu_);
    if (chunks_.empty()) break;
    // Gather: let concurrent sessions join this batch before paying for the
    // sync, until it holds gather_target_waiters callers or for a few times
    // the recent sync time (capped), whichever comes first. Each sync costs
    // about 55 us of CPU on the virtio disk measured, so small batches cost
    // throughput when every session opens a connection per message; a
    // fixed wait cost latency when sessions reuse their connection and
    // arrive fast. Measured (20 sessions, smtp-source, 4 KiB; one message
    // per connection / connection reused): fixed wait ~450 us 7 485 /
    // 9 713 msg/s, no wait 5 885 / 15 617, target 8 with the same cap
    // 7 616 / 16 936; at 32 KiB 5 404 / 6 455, 4 910 / 9 133, 5 426 / 9 193.
    int64_t gather = std::min(options_.max_gather_micros, 3 * sync_micros_avg_);
    if (gather > 0 && !stop_ && pending_.size() < options_.gather_target_waiters) {
      mu_.AwaitWithTimeout(absl::Condition(this, &QueueStore::BatchFullLocked),
                           absl::Microseconds(gather));
    }
    std::vector<Chunk> chunks;
    chunks.swap(chunks_);
    std::vector<Pending> pending;
    pending.swap(pending_);
    uint64_t seq = append_seq_;
    bool already_failed = !failed_.ok();
    mu_.Unlock();

    absl::Status st = already_failed ? absl::OkStatus() : WriteBatch(chunks);

    mu_.Lock();
    if (!st.ok() && failed_.ok()) {
      failed_ = st;
      failed_from_seq_ = durable_seq_ + 1;
    }
    absl::Status outcome = failed_;
    ++stats_.batches;
    durable_seq_ = seq;
    for (Pending& p : pending) {
      if (!p.done) continue;  // an update: nothing to mark
      auto it = index_.find(p.id);
      if (it == index_.end()) continue;
      if (outcome.ok()) {
        it->second.durable = true;
      } else {
        FinishMessageLocked(it);
      }
    }
    done_cv_.SignalAll();
    mu_.Unlock();
    for (Pending& p : pending) {
      if (p.update_done) {
        p.update_done(outcome);
      } else if (outcome.ok()) {
        p.done(std::move(p.id));
      } else {
        p.done(outcome);
      }
    }
    mu_.Lock();
  }
  mu_.Unlock();
}

absl::Status QueueStore::WriteBatch(std::vector<Chunk>& chunks) {
  std::vector<File*> touched;
  for (Chunk& c : chunks) {
    File* f = c.file.get();
    if (f->write_pos + c.bytes.size() > f->zeroed_end) {
      uint64_t end = f->write_pos + c.bytes.size() + kZeroFillStep;
      end -= end % kZeroFillStep;
      static const std::string kZeros(kZeroFillStep, '\0');
      for (uint64_t at = f->zeroed_end; at < end; at += kZeroFillStep) {
        absl::Status st = WriteAll(f->fd, std::string_view(kZeros).substr(0, end - at), at, f->path);
        if (!st.ok()) return st;
      }
      f->zeroed_end = end;
    }
    absl::Status st = WriteAll(f->fd, c.bytes, f->write_pos, f->path);
    if (!st.ok()) return st;
    f->write_pos += c.bytes.size();
    if (std::find(touched.begin(), touched.end(), c.file.get()) == touched.end()) {
      touched.push_back(c.file.get());
    }
  }
  uint64_t syncs = 0, dir_syncs = 0;
  auto sync_start = std::chrono::steady_clock::now();
  for (File* f : touched) {
    if (fdatasync(f->fd) != 0) return ErrnoStatus("fdatasync", f->path, errno);
    ++syncs;
    if (f->needs_dir_sync.exchange(false)) {
      if (fsync(dir_fd_) != 0) return ErrnoStatus("fsync", options_.directory, errno);
      ++dir_syncs;
    }
  }
  int64_t took = std::chrono::duration_cast<std::chrono::microseconds>(
                     std::chrono::steady_clock::now() - sync_start).count();
  sync_micros_avg_ = sync_micros_avg_ == 0 ? took : (7 * sync_micros_avg_ + took) / 8;
  absl::MutexLock lock(&mu_);
  stats_.syncs += syncs;
  stats_.directory_syncs += dir_syncs;
  return absl::OkStatus();
}

}  // namespace posthaste::runtime
