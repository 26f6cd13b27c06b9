// dnsxl_pattern.h: the reply filter of a DNS list restriction.
//
// A DNS block or allow list names its domain, optionally followed by the
// replies that count as "listed": reject_rbl_client
// zen.spamhaus.org=127.0.0.[2..11]. Without a filter any A record lists the
// query. The filter is an IPv4 address whose octets are each a number
// (0-255) or a bracketed list of numbers and low..high ranges separated by
// ';' ("127.0.[1;3;5..7].2"), as Postfix 3.7 accepts them. Shared by the
// compiler (phc check refuses a malformed filter) and the runtime's
// restriction evaluator.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace posthaste::tables {

class DnsxlPattern {
 public:
  // InvalidArgument with the reason for a malformed filter.
  static absl::StatusOr<DnsxlPattern> Parse(std::string_view text);
  bool Matches(const std::array<uint8_t, 4>& address) const;
  // The same for a dotted IPv4 text; false for anything else.
  bool Matches(std::string_view ipv4) const;

 private:
  // Per octet, the accepted inclusive ranges.
  std::array<std::vector<std::pair<int, int>>, 4> octets_;
};

// "domain=filter" split at the first '='; the filter is nullopt without one.
struct DnsxlSpec {
  std::string domain;
  std::optional<std::string> filter;
};
DnsxlSpec SplitDnsxlSpec(std::string_view spec);

}  // namespace posthaste::tables
