// memory_table.cc: in-memory and composite tables.
#include "tables/memory_table.h"

#include "tables/casefold.h"

namespace posthaste::tables {

bool MemoryTable::Add(std::string key, std::string value) {
  if (index_.count(key)) return false;
  index_.emplace(key, entries_.size());
  entries_.emplace_back(std::move(key), std::move(value));
  return true;
}

LookupResult MemoryTable::Lookup(std::string_view key) const {
  auto it = index_.find(std::string(key));
  if (it == index_.end()) return LookupResult::NotFound();
  return LookupResult::Found(entries_[it->second].second);
}

bool MemoryTable::ForEach(
    const std::function<void(std::string_view, std::string_view)>& visit) const {
  for (const auto& [k, v] : entries_) visit(k, v);
  return true;
}

LookupResult LookupFolded(const Table& table, std::string_view key, bool utf8) {
  if (!table.FoldsCase()) return table.Lookup(key);
  if (utf8) {
    // A key that is not valid UTF-8 cannot be in a UTF-8 table.
    std::optional<std::string> folded = FoldUtf8(key);
    if (!folded) return LookupResult::NotFound();
    return table.Lookup(*folded);
  }
  return table.Lookup(FoldAscii(key));
}

CompositeTable::CompositeTable(std::vector<std::unique_ptr<Table>> members, bool utf8)
    : owned_(std::move(members)), utf8_(utf8) {
  for (const auto& m : owned_) members_.push_back(m.get());
}

LookupResult UnionTable::Lookup(std::string_view key) const {
  std::string joined;
  bool any = false;
  for (const auto& m : members_) {
    LookupResult r = LookupFolded(*m, key, utf8_);
    if (r.status == LookupStatus::kTryAgain) return r;
    if (!r.found() || r.value.empty()) continue;
    if (any) joined += ",";
    joined += r.value;
    any = true;
  }
  return any ? LookupResult::Found(std::move(joined)) : LookupResult::NotFound();
}

LookupResult PipeTable::Lookup(std::string_view key) const {
  std::string current(key);
  for (const auto& m : members_) {
    LookupResult r = LookupFolded(*m, current, utf8_);
    if (!r.found()) return r;
    current = std::move(r.value);
  }
  return LookupResult::Found(std::move(current));
}

}  // namespace posthaste::tables
