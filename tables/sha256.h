// sha256.h: SHA-256 digests as lowercase hex, of a byte string or a file.
//
// Part of tables/, the layer both the compiler and the runtime link. The
// bundle publisher hashes every artifact and the MANIFEST with these; the
// loader recomputes the same digests before it trusts a generation (see
// tables/bundle_format.md). Files are hashed streamed through a fixed buffer,
// so a large table never has to fit in memory. Uses OpenSSL's EVP interface;
// this file does not decide what a mismatch means, callers do.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace posthaste::tables {

// Length of a SHA-256 digest in hex characters.
inline constexpr size_t kSha256HexSize = 64;

// The SHA-256 of `bytes`, as 64 lowercase hex characters.
std::string Sha256Hex(std::string_view bytes);

struct FileDigest {
  std::string sha256;  // 64 lowercase hex characters
  uint64_t size = 0;   // bytes hashed
};

// Hashes everything readable from the open descriptor `fd` from its current
// offset to end of file. `what` names the file in error messages. The
// descriptor stays open and owned by the caller.
absl::StatusOr<FileDigest> Sha256Fd(int fd, const std::string& what);

// Opens `path` read-only (refusing symlinks and non-regular files), hashes it
// and closes it. Errors name the path.
absl::StatusOr<FileDigest> Sha256File(const std::string& path);

// True when `s` is exactly 64 lowercase hex characters.
bool IsSha256Hex(std::string_view s);

}  // namespace posthaste::tables
