// lookup.h: the lookup contract every table back end implements.
//
// The shared vocabulary of tables/: a lookup answers found (with a value),
// not found, or try again (a temporary failure such as an I/O error; the
// caller turns it into a 4xx, never into "not found"). Back ends: CDB files
// (cdb_table.h), in-memory maps, and the pattern and cidr tables of later
// issues. Tables are immutable after construction and safe to query from
// many threads at once.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace posthaste::tables {

enum class LookupStatus { kFound, kNotFound, kTryAgain };

struct LookupResult {
  LookupStatus status = LookupStatus::kNotFound;
  std::string value;  // kFound: the value; kTryAgain: why
  bool found() const { return status == LookupStatus::kFound; }
  static LookupResult Found(std::string v) { return {LookupStatus::kFound, std::move(v)}; }
  static LookupResult NotFound() { return {LookupStatus::kNotFound, {}}; }
  static LookupResult TryAgain(std::string why) { return {LookupStatus::kTryAgain, std::move(why)}; }
};

class Table {
 public:
  virtual ~Table() = default;
  // Exact lookup of `key` as given (callers fold case when the table's
  // flags say so; see FoldsCase()).
  virtual LookupResult Lookup(std::string_view key) const = 0;
  // The same lookup into a caller-owned buffer (no allocation once the
  // buffer is large enough): the hot path for the runtime.
  virtual LookupStatus LookupInto(std::string_view key, std::string* value) const {
    LookupResult r = Lookup(key);
    *value = std::move(r.value);
    return r.status;
  }
  // Visits every entry in storage order; false when the back end cannot
  // list its entries (as Postfix's cdb cannot).
  virtual bool ForEach(const std::function<void(std::string_view key, std::string_view value)>&
                           visit) const {
    (void)visit;
    return false;
  }
  // Keys were folded to lower case when the table was built.
  virtual bool FoldsCase() const { return true; }
  // Pattern tables (regexp, pcre, cidr) match the whole input string and
  // are never asked derived keys such as parent domains.
  virtual bool IsPatternTable() const { return false; }
};

}  // namespace posthaste::tables
