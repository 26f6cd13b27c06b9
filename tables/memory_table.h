// memory_table.h: an in-memory lookup table, plus the composite table types.
//
// MemoryTable holds key/value pairs in insertion order with a hash index
// (first key wins); it serves texthash:, inline: and tables read from source
// for a one-off query. StaticTable answers every key with one value
// (static:). UnionTable asks every member and joins the hits with commas
// (unionmap:); PipeTable feeds each member's result to the next (pipemap:).
// All are immutable after construction and safe for concurrent lookups.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "tables/lookup.h"

namespace posthaste::tables {

class MemoryTable : public Table {
 public:
  explicit MemoryTable(bool fold_case = true) : fold_case_(fold_case) {}
  // Returns false (and keeps the old value) when `key` is already present.
  bool Add(std::string key, std::string value);
  LookupResult Lookup(std::string_view key) const override;
  bool ForEach(const std::function<void(std::string_view, std::string_view)>& visit)
      const override;
  bool FoldsCase() const override { return fold_case_; }
  size_t size() const { return entries_.size(); }

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
  std::unordered_map<std::string, size_t> index_;
  bool fold_case_;
};

class StaticTable : public Table {
 public:
  explicit StaticTable(std::string value) : value_(std::move(value)) {}
  LookupResult Lookup(std::string_view) const override { return LookupResult::Found(value_); }
  bool FoldsCase() const override { return false; }

 private:
  std::string value_;
};

// nis:NAME on a host without a NIS domain: Postfix disables NIS lookups and
// every lookup finds nothing (not an error). The default alias_maps names
// nis:mail.aliases; posthaste never speaks NIS.
class DisabledNisTable : public Table {
 public:
  LookupResult Lookup(std::string_view) const override { return LookupResult::NotFound(); }
  bool FoldsCase() const override { return false; }
};

// Member lookups see the key folded per each member's FoldsCase(). The
// members are either owned (built for one query) or borrowed from a bundle
// Snapshot that outlives the composite.
class CompositeTable : public Table {
 public:
  CompositeTable(std::vector<std::unique_ptr<Table>> members, bool utf8);
  CompositeTable(std::vector<const Table*> members, bool utf8)
      : members_(std::move(members)), utf8_(utf8) {}
  bool FoldsCase() const override { return false; }

 protected:
  std::vector<std::unique_ptr<Table>> owned_;
  std::vector<const Table*> members_;
  bool utf8_;
};

class UnionTable : public CompositeTable {
 public:
  using CompositeTable::CompositeTable;
  explicit UnionTable(std::vector<std::unique_ptr<Table>> members, bool utf8 = false)
      : CompositeTable(std::move(members), utf8) {}
  LookupResult Lookup(std::string_view key) const override;
};

class PipeTable : public CompositeTable {
 public:
  using CompositeTable::CompositeTable;
  explicit PipeTable(std::vector<std::unique_ptr<Table>> members, bool utf8 = false)
      : CompositeTable(std::move(members), utf8) {}
  LookupResult Lookup(std::string_view key) const override;
};

// A table that always fails temporarily (fail:name).
class FailTable : public Table {
 public:
  explicit FailTable(std::string name) : name_(std::move(name)) {}
  LookupResult Lookup(std::string_view) const override {
    return LookupResult::TryAgain("table fail:" + name_ + " always fails");
  }

 private:
  std::string name_;
};

// Looks `key` up in `table`, folding its case first when the table folds
// (Unicode folding with `utf8`, else ASCII; see casefold.h).
LookupResult LookupFolded(const Table& table, std::string_view key, bool utf8 = false);

}  // namespace posthaste::tables
