// dnsxl_filter_fuzz.cc: fuzz target for the DNS list reply filter parser
// (tables/dnsxl_pattern.h), which reads "domain=filter" words from
// smtpd restriction lists in phc and in posthasted.
//
// Input: a restriction word ("bl.example=127.0.0.[2..11]"), optionally
// followed by a newline and an address to match. Checked: parsing never
// crashes; a filter that parses accepts or refuses every address without
// crashing; a filter made only of four plain numbers matches exactly that
// address.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tables/dnsxl_pattern.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t nl = input.find('\n');
  std::string_view word = input.substr(0, nl);
  std::string_view address = nl == std::string_view::npos ? "127.0.0.2" : input.substr(nl + 1);
  posthaste::tables::DnsxlSpec spec = posthaste::tables::SplitDnsxlSpec(word);
  if (spec.domain.size() + (spec.filter ? spec.filter->size() + 1 : 0) != word.size()) abort();
  if (!spec.filter) return 0;
  auto pattern = posthaste::tables::DnsxlPattern::Parse(*spec.filter);
  if (!pattern.ok()) return 0;
  bool matches = pattern->Matches(address);
  bool plain = spec.filter->find('[') == std::string::npos;
  if (plain && matches && address != *spec.filter) {
    // Only leading zeros may differ ("127.0.0.02" is 127.0.0.2).
    std::string a(address), f(*spec.filter);
    auto strip = [](std::string s) {
      std::string out;
      size_t pos = 0;
      while (pos <= s.size()) {
        size_t dot = s.find('.', pos);
        std::string part = s.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
        while (part.size() > 1 && part[0] == '0') part.erase(0, 1);
        out += part;
        if (dot == std::string::npos) break;
        out += '.';
        pos = dot + 1;
      }
      return out;
    };
    if (strip(a) != strip(f)) abort();
  }
  if (plain && !matches && address == *spec.filter) abort();
  return 0;
}
