// dnsxl_pattern.cc: see dnsxl_pattern.h.
#include "tables/dnsxl_pattern.h"

#include <cctype>

namespace posthaste::tables {
namespace {

// A decimal octet value; -1 when `text` is not one.
int Octet(std::string_view text) {
  if (text.empty() || text.size() > 3) return -1;
  int v = 0;
  for (char c : text) {
    if (!isdigit(static_cast<unsigned char>(c))) return -1;
    v = v * 10 + (c - '0');
  }
  return v <= 255 ? v : -1;
}

}  // namespace

absl::StatusOr<DnsxlPattern> DnsxlPattern::Parse(std::string_view text) {
  DnsxlPattern p;
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError("bad DNS list reply filter \"" + std::string(text) +
                                      "\": " + std::string(why));
  };
  size_t pos = 0;
  for (int i = 0; i < 4; ++i) {
    if (i > 0) {
      if (pos >= text.size() || text[pos] != '.') return bad("need four octets separated by '.'");
      ++pos;
    }
    if (pos < text.size() && text[pos] == '[') {
      size_t close = text.find(']', pos);
      if (close == std::string_view::npos) return bad("missing ']'");
      std::string_view list = text.substr(pos + 1, close - pos - 1);
      if (list.empty()) return bad("empty '[]'");
      size_t start = 0;
      while (start <= list.size()) {
        size_t semi = list.find(';', start);
        std::string_view item =
            list.substr(start, semi == std::string_view::npos ? std::string_view::npos : semi - start);
        size_t dots = item.find("..");
        int lo, hi;
        if (dots == std::string_view::npos) {
          lo = hi = Octet(item);
        } else {
          lo = Octet(item.substr(0, dots));
          hi = Octet(item.substr(dots + 2));
        }
        if (lo < 0 || hi < 0) return bad("octet values are numbers from 0 to 255");
        if (lo > hi) return bad("a range must not run backwards");
        p.octets_[i].emplace_back(lo, hi);
        if (semi == std::string_view::npos) break;
        start = semi + 1;
      }
      pos = close + 1;
    } else {
      size_t end = pos;
      while (end < text.size() && isdigit(static_cast<unsigned char>(text[end]))) ++end;
      int v = Octet(text.substr(pos, end - pos));
      if (v < 0) return bad("octet values are numbers from 0 to 255");
      p.octets_[i].emplace_back(v, v);
      pos = end;
    }
  }
  if (pos != text.size()) return bad("unexpected text after the fourth octet");
  return p;
}

bool DnsxlPattern::Matches(const std::array<uint8_t, 4>& address) const {
  for (int i = 0; i < 4; ++i) {
    bool any = false;
    for (const auto& [lo, hi] : octets_[i])
      if (address[i] >= lo && address[i] <= hi) any = true;
    if (!any) return false;
  }
  return true;
}

bool DnsxlPattern::Matches(std::string_view ipv4) const {
  std::array<uint8_t, 4> a{};
  size_t pos = 0;
  for (int i = 0; i < 4; ++i) {
    size_t end = ipv4.find('.', pos);
    if (i < 3 && end == std::string_view::npos) return false;
    if (i == 3) end = ipv4.size();
    int v = Octet(ipv4.substr(pos, end - pos));
    if (v < 0) return false;
    a[i] = static_cast<uint8_t>(v);
    pos = end + 1;
  }
  return Matches(a);
}

DnsxlSpec SplitDnsxlSpec(std::string_view spec) {
  DnsxlSpec out;
  size_t eq = spec.find('=');
  out.domain = std::string(spec.substr(0, eq));
  if (eq != std::string_view::npos) out.filter = std::string(spec.substr(eq + 1));
  return out;
}

}  // namespace posthaste::tables
