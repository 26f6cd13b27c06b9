// cidr_table.cc: first-match cidr lookups through a prefix index.
#include "tables/cidr_table.h"

#include "tables/cdb_table.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace posthaste::tables {
namespace {

std::array<uint8_t, 16> Masked(const std::array<uint8_t, 16>& a, int bytes, int prefix) {
  std::array<uint8_t, 16> out{};
  for (int i = 0; i < bytes; ++i) {
    int keep = std::clamp(prefix - 8 * i, 0, 8);
    out[i] = static_cast<uint8_t>(a[i] & (0xff << (8 - keep)));
  }
  return out;
}

}  // namespace

bool CidrNet::Contains(int fam, const std::array<uint8_t, 16>& a) const {
  // A rule only ever applies to addresses of its own family, negated or not.
  if (fam != family) return false;
  int bytes = family == 4 ? 4 : 16;
  bool in = Masked(a, bytes, prefix) == Masked(addr, bytes, prefix);
  return negate ? !in : in;
}

uint64_t CidrTable::BucketKey(int family, int prefix, const std::array<uint8_t, 16>& addr) {
  // FNV-1a over family, prefix and the masked bytes.
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](uint8_t b) {
    h ^= b;
    h *= 1099511628211ull;
  };
  mix(static_cast<uint8_t>(family));
  mix(static_cast<uint8_t>(prefix));
  for (int i = 0; i < (family == 4 ? 4 : 16); ++i) mix(addr[i]);
  return h;
}

CidrTable::CidrTable(std::vector<CidrRule> rules) : rules_(std::move(rules)) {
  for (uint32_t i = 0; i < rules_.size(); ++i) {
    const CidrNet& n = rules_[i].net;
    if (n.negate) {
      negated_.push_back(i);
      continue;
    }
    int bytes = n.family == 4 ? 4 : 16;
    index_[BucketKey(n.family, n.prefix, Masked(n.addr, bytes, n.prefix))].push_back(i);
  }
}

LookupResult CidrTable::Lookup(std::string_view key) const {
  int family;
  std::array<uint8_t, 16> addr;
  if (!ParseNumericAddress(key, &family, &addr)) return LookupResult::NotFound();
  int bytes = family == 4 ? 4 : 16;
  std::vector<uint32_t> candidates = negated_;
  for (int prefix = 0; prefix <= bytes * 8; ++prefix) {
    auto it = index_.find(BucketKey(family, prefix, Masked(addr, bytes, prefix)));
    if (it != index_.end()) candidates.insert(candidates.end(), it->second.begin(), it->second.end());
  }
  std::sort(candidates.begin(), candidates.end());
  for (uint32_t i : candidates) {
    const CidrRule& r = rules_[i];
    if (!r.net.Contains(family, addr)) continue;  // also filters hash collisions
    bool ok = true;
    for (const CidrNet& c : r.conditions) ok = ok && c.Contains(family, addr);
    if (ok) return LookupResult::Found(r.result);
  }
  return LookupResult::NotFound();
}

namespace {

std::string NetText(const CidrNet& n) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = std::to_string(n.family) + " " + std::to_string(n.prefix) + " " +
                    (n.negate ? "1" : "0") + " ";
  for (int i = 0; i < (n.family == 4 ? 4 : 16); ++i) {
    out.push_back(kHex[n.addr[i] >> 4]);
    out.push_back(kHex[n.addr[i] & 15]);
  }
  return out;
}

// Parses one "<family> <prefix> <negate> <hex>" group at *pos.
bool ParseNet(std::string_view text, size_t* pos, CidrNet* n) {
  auto field = [&](std::string_view* out) {
    size_t end = text.find(' ', *pos);
    if (end == std::string_view::npos) end = text.size();
    *out = text.substr(*pos, end - *pos);
    *pos = end < text.size() ? end + 1 : end;
    return !out->empty();
  };
  std::string_view family, prefix, negate, hex;
  if (!field(&family) || !field(&prefix) || !field(&negate) || !field(&hex)) return false;
  if (family != "4" && family != "6") return false;
  n->family = family == "4" ? 4 : 6;
  int bytes = n->family == 4 ? 4 : 16;
  if (prefix.empty() || prefix.size() > 3 || prefix.find_first_not_of("0123456789") != std::string_view::npos)
    return false;
  n->prefix = std::stoi(std::string(prefix));
  if (n->prefix > bytes * 8 || (negate != "0" && negate != "1")) return false;
  n->negate = negate == "1";
  if (hex.size() != static_cast<size_t>(bytes * 2)) return false;
  n->addr.fill(0);
  for (int i = 0; i < bytes; ++i) {
    auto nibble = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    n->addr[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

}  // namespace

absl::Status WriteCidrTable(const std::vector<CidrRule>& rules, const std::string& path) {
  auto builder = CdbBuilder::Create(path);
  if (!builder.ok()) return builder.status();
  for (size_t i = 0; i < rules.size(); ++i) {
    std::string value = NetText(rules[i].net);
    for (const CidrNet& c : rules[i].conditions) value += " if " + NetText(c);
    value += "\t" + rules[i].result;
    if (absl::Status s = (*builder)->Add(std::to_string(i), value); !s.ok()) return s;
  }
  return (*builder)->Finish();
}

absl::StatusOr<std::unique_ptr<CidrTable>> ReadCidrTable(const std::string& path) {
  auto cdb = CdbTable::Open(path, false, NulMode::kWithoutNul);
  if (!cdb.ok()) return cdb.status();
  std::vector<CidrRule> rules;
  for (size_t i = 0;; ++i) {
    LookupResult r = (*cdb)->Lookup(std::to_string(i));
    if (r.status == LookupStatus::kTryAgain) return absl::DataLossError(path + ": " + r.value);
    if (!r.found()) break;
    size_t tab = r.value.find('\t');
    if (tab == std::string::npos)
      return absl::DataLossError(path + ": cidr rule " + std::to_string(i) + " has no result");
    std::string_view head = std::string_view(r.value).substr(0, tab);
    CidrRule rule;
    size_t pos = 0;
    if (!ParseNet(head, &pos, &rule.net))
      return absl::DataLossError(path + ": cidr rule " + std::to_string(i) + " is malformed");
    while (pos < head.size()) {
      if (head.substr(pos, 3) != "if ")
        return absl::DataLossError(path + ": cidr rule " + std::to_string(i) + " is malformed");
      pos += 3;
      CidrNet c;
      if (!ParseNet(head, &pos, &c))
        return absl::DataLossError(path + ": cidr rule " + std::to_string(i) + " is malformed");
      rule.conditions.push_back(c);
    }
    rule.result = r.value.substr(tab + 1);
    rules.push_back(std::move(rule));
  }
  return std::make_unique<CidrTable>(std::move(rules));
}

bool ParseNumericAddress(std::string_view text, int* family, std::array<uint8_t, 16>* addr) {
  addr->fill(0);
  if (text.empty() || text.size() > 64) return false;
  std::string s(text);
  if (s.find(':') != std::string::npos) {
    in6_addr a6;
    if (inet_pton(AF_INET6, s.c_str(), &a6) != 1) return false;
    *family = 6;
    std::memcpy(addr->data(), &a6, 16);
    return true;
  }
  // Strict dotted quad: four decimal parts 0-255 without leading zeros.
  int part = 0;
  size_t i = 0;
  while (true) {
    size_t j = i;
    while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
    if (j == i || j - i > 3 || (j - i > 1 && s[i] == '0')) return false;
    int v = std::stoi(s.substr(i, j - i));
    if (v > 255) return false;
    (*addr)[part++] = static_cast<uint8_t>(v);
    if (j == s.size()) break;
    if (s[j] != '.' || part == 4) return false;
    i = j + 1;
  }
  if (part != 4) return false;
  *family = 4;
  return true;
}

}  // namespace posthaste::tables
