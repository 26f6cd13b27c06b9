// sha256.cc: SHA-256 through OpenSSL's EVP digest interface.
//
// Trusts nothing about the files it reads beyond what read(2) returns; the
// caller compares the digest and size with what a manifest promised.
#include "tables/sha256.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "absl/status/status.h"

namespace posthaste::tables {
namespace {

struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

std::string ToHex(const unsigned char* digest, unsigned len) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * len);
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

absl::StatusOr<MdCtx> NewContext() {
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
    return absl::InternalError("sha256: cannot initialise OpenSSL digest");
  return ctx;
}

absl::StatusOr<std::string> Finish(EVP_MD_CTX* ctx) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (EVP_DigestFinal_ex(ctx, digest, &len) != 1)
    return absl::InternalError("sha256: OpenSSL digest failed");
  return ToHex(digest, len);
}

}  // namespace

std::string Sha256Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  // EVP_Digest fails only on allocation failure inside OpenSSL: a broken
  // invariant, not an input problem (STYLE.md §4, case 3).
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr) != 1) abort();
  return ToHex(digest, len);
}

absl::StatusOr<FileDigest> Sha256Fd(int fd, const std::string& what) {
  absl::StatusOr<MdCtx> ctx = NewContext();
  if (!ctx.ok()) return ctx.status();
  FileDigest out;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::UnavailableError("read " + what + ": " + std::strerror(errno));
    }
    if (n == 0) break;
    if (EVP_DigestUpdate(ctx->get(), buf, static_cast<size_t>(n)) != 1)
      return absl::InternalError("sha256: OpenSSL digest failed");
    out.size += static_cast<uint64_t>(n);
  }
  absl::StatusOr<std::string> hex = Finish(ctx->get());
  if (!hex.ok()) return hex.status();
  out.sha256 = *std::move(hex);
  return out;
}

absl::StatusOr<FileDigest> Sha256File(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return absl::UnavailableError("open " + path + ": " + std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int saved = errno;
    close(fd);
    return absl::UnavailableError("fstat " + path + ": " + std::strerror(saved));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return absl::FailedPreconditionError(path + ": not a regular file");
  }
  absl::StatusOr<FileDigest> d = Sha256Fd(fd, path);
  close(fd);
  return d;
}

bool IsSha256Hex(std::string_view s) {
  if (s.size() != kSha256HexSize) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace posthaste::tables
