// queue_id.h: Postfix-style queue IDs for messages in the queue.
//
// Used by the queue store when a message is enqueued; the ID is what logs,
// replies ("250 2.0.0 Ok: queued as ...") and mailq show. Two forms, as in
// Postfix (enable_long_queue_ids):
//
//   short: the microseconds of the arrival time as five upper-case hex digits,
//          then a sequence number in upper-case hex (Postfix puts the queue
//          file's inode number there; we have no file per message). Only
//          [0-9A-F], e.g. "3A0F21C4".
//   long:  the arrival seconds in base 52 (six digits), the microseconds in
//          base 52 (four digits), the separator 'z', then the sequence number
//          in base 51 (the base-52 digits without 'z'). Digits are
//          0-9, consonants B..Z and b..z, no vowels, e.g. "4Xh2kN0B1Czb3".
//
// Uniqueness: the sequence number never repeats within one store: the store
// persists the next value (queue_format.md) and hands it to the generator on
// open, and the generator increments it atomically. So IDs are unique across
// threads and restarts, whatever the clock does.
//
// Not done here: choosing which form (the caller reads enable_long_queue_ids).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace posthaste::runtime {

// Microseconds since the Unix epoch.
using MicrosClock = std::function<int64_t()>;
int64_t RealMicros();

class QueueIdGenerator {
 public:
  QueueIdGenerator(bool long_ids, uint64_t first_sequence, MicrosClock clock = RealMicros);

  // A new ID for a message arriving now. Thread-safe.
  std::string Next() { return NextAt(clock_()); }
  // The same for a given arrival time (microseconds since the epoch).
  std::string NextAt(int64_t micros) { return NextAt(micros, nullptr); }
  // Also returns the sequence number the ID encodes.
  std::string NextAt(int64_t micros, uint64_t* sequence);

  // The sequence number the next ID will use (to persist).
  uint64_t next_sequence() const { return sequence_.load(std::memory_order_relaxed); }
  bool long_ids() const { return long_ids_; }

 private:
  bool long_ids_;
  std::atomic<uint64_t> sequence_;
  MicrosClock clock_;
};

// Formats one ID (exposed for tests).
std::string FormatShortQueueId(int64_t micros, uint64_t sequence);
std::string FormatLongQueueId(int64_t micros, uint64_t sequence);

// True for a string that may be a queue ID of either form: 1..64 bytes of
// ASCII letters and digits (Postfix accepts only such names in the queue).
bool IsValidQueueId(std::string_view id);

}  // namespace posthaste::runtime
