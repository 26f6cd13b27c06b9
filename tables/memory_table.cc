// memory_table.cc: in-memory and composite tables.
#include "tables/memory_table.h"

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

LookupResult LookupFolded(const Table& table, std::string_view key) {
  if (!table.FoldsCase()) return table.Lookup(key);
  std::string folded(key);
  for (char& c : folded)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return table.Lookup(folded);
}

LookupResult UnionTable::Lookup(std::string_view key) const {
  std::string joined;
  bool any = false;
  for (const auto& m : members_) {
    LookupResult r = LookupFolded(*m, key);
    if (r.status == LookupStatus::kTryAgain) return r;
    if (!r.found()) continue;
    if (any) joined += ",";
    joined += r.value;
    any = true;
  }
  return any ? LookupResult::Found(std::move(joined)) : LookupResult::NotFound();
}

LookupResult PipeTable::Lookup(std::string_view key) const {
  std::string current(key);
  for (const auto& m : members_) {
    LookupResult r = LookupFolded(*m, current);
    if (!r.found()) return r;
    current = std::move(r.value);
  }
  return LookupResult::Found(std::move(current));
}

}  // namespace posthaste::tables
