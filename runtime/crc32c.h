// crc32c.h: CRC-32C (Castagnoli), the checksum of queue records.
//
// Used by queue_record.cc to detect torn and corrupted records on disk. Uses
// the SSE4.2 crc32 instruction when the CPU has it, a table otherwise; both
// give the same values (tests check the standard test vector and agreement).
#pragma once

#include <cstdint>
#include <string_view>

namespace posthaste::runtime {

// Extends `crc` (the value of a previous call, or 0 to start) over `data`.
uint32_t Crc32cExtend(uint32_t crc, std::string_view data);
inline uint32_t Crc32c(std::string_view data) { return Crc32cExtend(0, data); }

// The table-driven path alone (for tests).
uint32_t Crc32cExtendPortable(uint32_t crc, std::string_view data);

// A stored checksum is masked so that a record holding checksums of its own
// (a queued message that contains queue records) does not produce values
// that look like valid record checksums at a shifted offset.
inline uint32_t MaskCrc(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }
inline uint32_t UnmaskCrc(uint32_t masked) {
  uint32_t rot = masked - 0xa282ead8u;
  return (rot >> 17) | (rot << 15);
}

}  // namespace posthaste::runtime
