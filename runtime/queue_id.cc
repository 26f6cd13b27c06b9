// queue_id.cc: Postfix-style queue ID generation (see queue_id.h).
#include "runtime/queue_id.h"

#include <time.h>

#include "absl/strings/ascii.h"

namespace posthaste::runtime {
namespace {

// Base-52 digits without vowels, so IDs never spell words; base 51 omits the
// last one, 'z', which separates the time from the sequence number.
constexpr std::string_view kSafeDigits = "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz";
static_assert(kSafeDigits.size() == 52);

void AppendBase(uint64_t value, unsigned base, size_t pad, std::string* out) {
  char buf[64];
  size_t n = 0;
  do {
    buf[n++] = kSafeDigits[value % base];
    value /= base;
  } while (value != 0);
  while (n < pad) buf[n++] = '0';
  while (n > 0) out->push_back(buf[--n]);
}

void AppendHex(uint64_t value, size_t pad, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  char buf[32];
  size_t n = 0;
  do {
    buf[n++] = kHex[value & 0xf];
    value >>= 4;
  } while (value != 0);
  while (n < pad) buf[n++] = '0';
  while (n > 0) out->push_back(buf[--n]);
}

}  // namespace

int64_t RealMicros() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

QueueIdGenerator::QueueIdGenerator(bool long_ids, uint64_t first_sequence, MicrosClock clock)
    : long_ids_(long_ids), sequence_(first_sequence), clock_(std::move(clock)) {}

std::string QueueIdGenerator::NextAt(int64_t micros, uint64_t* sequence) {
  uint64_t seq = sequence_.fetch_add(1, std::memory_order_relaxed);
  if (sequence != nullptr) *sequence = seq;
  return long_ids_ ? FormatLongQueueId(micros, seq) : FormatShortQueueId(micros, seq);
}

std::string FormatShortQueueId(int64_t micros, uint64_t sequence) {
  if (micros < 0) micros = 0;
  std::string out;
  out.reserve(21);
  AppendHex(static_cast<uint64_t>(micros % 1000000), 5, &out);
  AppendHex(sequence, 1, &out);
  return out;
}

std::string FormatLongQueueId(int64_t micros, uint64_t sequence) {
  if (micros < 0) micros = 0;
  std::string out;
  out.reserve(24);
  AppendBase(static_cast<uint64_t>(micros / 1000000), 52, 6, &out);
  AppendBase(static_cast<uint64_t>(micros % 1000000), 52, 4, &out);
  out.push_back('z');
  AppendBase(sequence, 51, 1, &out);
  return out;
}

bool IsValidQueueId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace posthaste::runtime
