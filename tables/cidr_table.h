// cidr_table.h: cidr: lookup tables, compiled to a prefix index.
//
// Rules are kept in file order (Postfix's cidr tables take the FIRST
// matching rule, not the longest prefix). Each rule has a network, an
// optional negation, the `if` blocks that enclose it, and a result. Lookups
// do not scan the rules: an index maps every (prefix length, masked network)
// to the rules with that network, so a query probes at most 33 (IPv4) or
// 129 (IPv6) hash buckets, collects the candidate rules (plus the negated
// ones, which match almost everything), and checks them in file order. The
// query must be a numeric address; anything else is simply not found.
// Immutable after Build(); safe for concurrent lookups.
#pragma once

#include <array>
#include <memory>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "tables/lookup.h"

namespace posthaste::tables {

struct CidrNet {
  int family = 4;  // 4 or 6
  std::array<uint8_t, 16> addr{};
  int prefix = 0;
  bool negate = false;
  bool Contains(int family, const std::array<uint8_t, 16>& a) const;
};

struct CidrRule {
  CidrNet net;
  std::vector<CidrNet> conditions;  // enclosing if blocks, outermost first
  std::string result;
  int line = 0;
};

class CidrTable : public Table {
 public:
  explicit CidrTable(std::vector<CidrRule> rules);
  LookupResult Lookup(std::string_view key) const override;
  bool FoldsCase() const override { return false; }
  bool IsPatternTable() const override { return true; }
  const std::vector<CidrRule>& rules() const { return rules_; }

 private:
  static uint64_t BucketKey(int family, int prefix, const std::array<uint8_t, 16>& addr);
  std::vector<CidrRule> rules_;
  std::unordered_map<uint64_t, std::vector<uint32_t>> index_;  // hashed; verified on hit
  std::vector<uint32_t> negated_;
};

// The bundle form of a cidr table: one CDB record per rule, key = rule
// number ("0", "1", ...), value = "<family> <prefix> <negate> <addr hex>"
// for the rule's network, then " if <family> <prefix> <negate> <addr hex>"
// for each enclosing if, then a TAB and the result. Rules keep file order;
// the prefix index is rebuilt at load. Described in bundle_format.md.
absl::Status WriteCidrTable(const std::vector<CidrRule>& rules, const std::string& path);
absl::StatusOr<std::unique_ptr<CidrTable>> ReadCidrTable(const std::string& path);

// Parses a numeric IPv4 (strict dotted quad, no leading zeros) or IPv6
// address. Returns false for anything else.
bool ParseNumericAddress(std::string_view text, int* family, std::array<uint8_t, 16>* addr);

}  // namespace posthaste::tables
