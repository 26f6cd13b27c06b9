// cdb_table.h: constant databases via tinycdb: CdbBuilder writes, CdbTable reads.
//
// Every indexed table (hash:, btree:, lmdb:, cdb:, dbm:) compiles to one CDB
// file in Postfix's cdb layout: key and value bytes without a terminating
// NUL (what `postmap cdb:` writes; `postmap -N` adds the NUL and lookups try
// both). The builder writes a temporary file in the target directory,
// fsyncs it and renames it into place, so readers never see a partial file.
// The reader maps the file read-only (tinycdb mmaps it) and trusts nothing:
// a truncated or corrupt file is refused at open time by size checks and
// lookups stay bounds-checked by tinycdb.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "tables/lookup.h"

namespace posthaste::tables {

class CdbBuilder {
 public:
  // Starts `path` (written as path + ".tmp" until Finish()).
  static absl::StatusOr<std::unique_ptr<CdbBuilder>> Create(const std::string& path);
  ~CdbBuilder();

  // Adds a record. Duplicate keys are the caller's business (Postfix keeps
  // the first; callers skip later ones before adding).
  absl::Status Add(std::string_view key, std::string_view value);
  // True when a record with `key` was added before (tinycdb looks in what it
  // has written so far).
  absl::StatusOr<bool> Contains(std::string_view key);
  // Adds `key`, replacing an earlier record with the same key (that one is
  // left out of the index).
  absl::Status Replace(std::string_view key, std::string_view value);
  // Writes the index, fsyncs, renames into place.
  absl::Status Finish();
  size_t records() const { return records_; }

 private:
  CdbBuilder() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string path_, tmp_path_;
  size_t records_ = 0;
  bool finished_ = false;
};

// Which key forms a lookup tries: Postfix tries both unless postmap -N
// (only with a terminating NUL) or -n (only without) says otherwise.
enum class NulMode { kTryBoth, kWithNul, kWithoutNul };

class CdbTable : public Table {
 public:
  // Opens and maps `path`.
  static absl::StatusOr<std::unique_ptr<CdbTable>> Open(const std::string& path,
                                                        bool fold_case = true,
                                                        NulMode nul = NulMode::kTryBoth);
  ~CdbTable() override;

  LookupResult Lookup(std::string_view key) const override;
  LookupStatus LookupInto(std::string_view key, std::string* value) const override;
  bool ForEach(const std::function<void(std::string_view, std::string_view)>& visit)
      const override;
  bool FoldsCase() const override { return fold_case_; }
  size_t file_size() const { return size_; }

 private:
  CdbTable() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  size_t size_ = 0;
  bool fold_case_ = true;
  NulMode nul_ = NulMode::kTryBoth;
};

}  // namespace posthaste::tables
