// cdb_table.cc: tinycdb wrappers.
#include "tables/cdb_table.h"

#include <cdb.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"

namespace posthaste::tables {
namespace {

absl::Status Errno(const std::string& what) {
  return absl::UnavailableError(what + ": " + std::strerror(errno));
}

// CDB offsets are 32-bit: the whole file must stay under 4 GiB.
constexpr uint64_t kMaxCdbSize = 0xffffffffull;

}  // namespace

struct CdbBuilder::Impl {
  cdb_make make;
  int fd = -1;
};

absl::StatusOr<std::unique_ptr<CdbBuilder>> CdbBuilder::Create(const std::string& path) {
  std::unique_ptr<CdbBuilder> b(new CdbBuilder());
  b->impl_ = std::make_unique<Impl>();
  b->path_ = path;
  b->tmp_path_ = path + ".tmp";
  b->impl_->fd = open(b->tmp_path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (b->impl_->fd < 0) return Errno("create " + b->tmp_path_);
  if (cdb_make_start(&b->impl_->make, b->impl_->fd) != 0) return Errno("cdb_make_start");
  return b;
}

CdbBuilder::~CdbBuilder() {
  if (!impl_) return;
  if (impl_->fd >= 0) {
    if (!finished_) cdb_make_finish(&impl_->make);  // frees the record lists
    close(impl_->fd);
  }
  if (!finished_) unlink(tmp_path_.c_str());
}

absl::Status CdbBuilder::Add(std::string_view key, std::string_view value) {
  if (key.size() > kMaxCdbSize || value.size() > kMaxCdbSize)
    return absl::InvalidArgumentError("record too large for cdb");
  if (cdb_make_add(&impl_->make, key.data(), static_cast<unsigned>(key.size()), value.data(),
                   static_cast<unsigned>(value.size())) != 0)
    return Errno("cdb_make_add " + tmp_path_);
  ++records_;
  return absl::OkStatus();
}

absl::StatusOr<bool> CdbBuilder::Contains(std::string_view key) {
  int r = cdb_make_exists(&impl_->make, key.data(), static_cast<unsigned>(key.size()));
  if (r < 0) return Errno("cdb_make_exists " + tmp_path_);
  return r > 0;
}

absl::Status CdbBuilder::Replace(std::string_view key, std::string_view value) {
  int r = cdb_make_put(&impl_->make, key.data(), static_cast<unsigned>(key.size()), value.data(),
                       static_cast<unsigned>(value.size()), CDB_PUT_REPLACE);
  if (r < 0) return Errno("cdb_make_put " + tmp_path_);
  ++records_;
  return absl::OkStatus();
}

absl::Status CdbBuilder::Finish() {
  if (cdb_make_finish(&impl_->make) != 0) return Errno("cdb_make_finish " + tmp_path_);
  if (fsync(impl_->fd) != 0) return Errno("fsync " + tmp_path_);
  if (close(impl_->fd) != 0) {
    impl_->fd = -1;
    return Errno("close " + tmp_path_);
  }
  impl_->fd = -1;
  if (rename(tmp_path_.c_str(), path_.c_str()) != 0) return Errno("rename " + tmp_path_);
  finished_ = true;
  return absl::OkStatus();
}

struct CdbTable::Impl {
  cdb db;
  int fd = -1;
};

absl::StatusOr<std::unique_ptr<CdbTable>> CdbTable::Open(const std::string& path,
                                                         bool fold_case, NulMode nul) {
  std::unique_ptr<CdbTable> t(new CdbTable());
  t->impl_ = std::make_unique<Impl>();
  t->fold_case_ = fold_case;
  t->nul_ = nul;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("open " + path);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    close(fd);
    return Errno("fstat " + path);
  }
  // A CDB starts with a 2048-byte table of 256 (position, slots) pairs.
  if (st.st_size < 2048 || static_cast<uint64_t>(st.st_size) > kMaxCdbSize) {
    close(fd);
    return absl::DataLossError(path + ": not a cdb file (size " + std::to_string(st.st_size) +
                               ")");
  }
  if (cdb_init(&t->impl_->db, fd) != 0) {
    close(fd);
    return absl::DataLossError(path + ": not a cdb file");
  }
  t->impl_->fd = fd;
  t->size_ = static_cast<size_t>(st.st_size);
  // Every hash table pointer must lie inside the file.
  const unsigned char* mem = static_cast<const unsigned char*>(cdb_get(&t->impl_->db, 2048, 0));
  if (!mem) return absl::DataLossError(path + ": truncated cdb header");
  for (int i = 0; i < 256; ++i) {
    unsigned pos = cdb_unpack(mem + 8 * i);
    unsigned slots = cdb_unpack(mem + 8 * i + 4);
    if (slots && (pos < 2048 || pos > t->size_ || (t->size_ - pos) / 8 < slots))
      return absl::DataLossError(path + ": corrupt cdb hash table " + std::to_string(i));
  }
  return t;
}

CdbTable::~CdbTable() {
  if (impl_ && impl_->fd >= 0) {
    cdb_free(&impl_->db);
    close(impl_->fd);
  }
}

namespace {

// Looks `key` up directly in the mapped file (the CDB layout: 256 table
// pointers, open-addressed hash slots, records of key length, data length,
// key, data). Read-only, so concurrent lookups need no copies; every offset
// read from the file is bounds-checked before use. Returns false with
// *corrupt set when the file lies.
bool FindRecord(const unsigned char* mem, size_t size, std::string_view key,
                std::string_view* data, bool* corrupt) {
  *corrupt = false;
  unsigned h = cdb_hash(key.data(), static_cast<unsigned>(key.size()));
  const unsigned char* head = mem + (h & 255) * 8;
  uint64_t pos = cdb_unpack(head), slots = cdb_unpack(head + 4);
  if (slots == 0) return false;
  if (pos > size || (size - pos) / 8 < slots) {
    *corrupt = true;
    return false;
  }
  uint64_t slot = (h >> 8) % slots;
  for (uint64_t n = 0; n < slots; ++n) {
    const unsigned char* sp = mem + pos + slot * 8;
    unsigned hv = cdb_unpack(sp);
    uint64_t rp = cdb_unpack(sp + 4);
    if (rp == 0) return false;
    if (hv == h) {
      if (rp > size || size - rp < 8) {
        *corrupt = true;
        return false;
      }
      uint64_t klen = cdb_unpack(mem + rp), dlen = cdb_unpack(mem + rp + 4);
      if (size - rp - 8 < klen || size - rp - 8 - klen < dlen) {
        *corrupt = true;
        return false;
      }
      if (klen == key.size() && std::memcmp(mem + rp + 8, key.data(), klen) == 0) {
        *data = std::string_view(reinterpret_cast<const char*>(mem + rp + 8 + klen), dlen);
        return true;
      }
    }
    if (++slot == slots) slot = 0;
  }
  return false;
}

}  // namespace

LookupStatus CdbTable::LookupInto(std::string_view key, std::string* value) const {
  const unsigned char* mem = impl_->db.cdb_mem;
  std::string_view data;
  bool corrupt = false;
  bool found = false;
  if (nul_ != NulMode::kWithNul) found = FindRecord(mem, size_, key, &data, &corrupt);
  if (!found && !corrupt && nul_ != NulMode::kWithoutNul) {
    // postmap -N (and Postfix's hash/btree/lmdb) store keys with a trailing NUL.
    char stack[256];
    std::string heap;
    char* with_nul = stack;
    if (key.size() + 1 > sizeof stack) {
      heap.resize(key.size() + 1);
      with_nul = heap.data();
    }
    std::memcpy(with_nul, key.data(), key.size());
    with_nul[key.size()] = '\0';
    found = FindRecord(mem, size_, std::string_view(with_nul, key.size() + 1), &data, &corrupt);
  }
  if (corrupt) {
    *value = "cdb lookup error: corrupt file";
    return LookupStatus::kTryAgain;
  }
  if (!found) return LookupStatus::kNotFound;
  if (!data.empty() && data.back() == '\0') data.remove_suffix(1);
  value->assign(data.data(), data.size());
  return LookupStatus::kFound;
}

LookupResult CdbTable::Lookup(std::string_view key) const {
  LookupResult result;
  result.status = LookupInto(key, &result.value);
  return result;
}

bool CdbTable::ForEach(
    const std::function<void(std::string_view, std::string_view)>& visit) const {
  cdb db = impl_->db;  // the sequence cursor moves found-record fields
  unsigned pos;
  cdb_seqinit(&pos, &db);
  while (cdb_seqnext(&pos, &db) > 0) {
    const char* k = static_cast<const char*>(cdb_getkey(&db));
    const char* v = static_cast<const char*>(cdb_getdata(&db));
    if (!k || !v) break;
    std::string_view key(k, cdb_keylen(&db)), value(v, cdb_datalen(&db));
    if (!key.empty() && key.back() == '\0') key.remove_suffix(1);
    if (!value.empty() && value.back() == '\0') value.remove_suffix(1);
    visit(key, value);
  }
  return true;
}

}  // namespace posthaste::tables
