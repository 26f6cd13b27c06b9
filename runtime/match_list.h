// match_list.h: Postfix match lists (mynetworks, mydestination, relay_domains ...).
//
// A match list is a parameter value of patterns separated by commas and
// white space, searched left to right; the first pattern that matches
// decides, and a pattern written !pattern turns that decision into "no"
// (spec §1.5). Three kinds, as in Postfix:
//   kHost    namadr lists (mynetworks, permit_mx_backup_networks): a client
//            matches by verified host name (domain patterns) or by address
//            (1.2.3.4, 10.0.0.0/8, [2001:db8::]/32, [::1]).
//   kDomain  domain lists (mydestination, relay_domains,
//            virtual_*_domains): a domain matches itself, a ".parent"
//            pattern, or with parent_domain_matches_subdomains a bare
//            "parent" pattern.
//   kString  string lists (smtpd_log_access_permit_actions): exact,
//            case-insensitive.
// A type:name item asks the table from the bundle (Snapshot::FindTable): a
// host name or domain and its parent domains (indexed tables only), an
// address as is. A table the bundle lacks, and a lookup that answers try
// again, make the whole match kTryAgain: the caller answers 4xx, never "no
// match". /file/name items are refused when the list is built: the bundle
// carries no such files and the runtime reads no configuration text.
//
// The interface helpers compute what Postfix derives from the host: the
// addresses of $inet_interfaces and the default $mynetworks for
// mynetworks_style host or subnet (getifaddrs).
//
// Patterns are parsed once (Parse); matching allocates only for table
// lookups. Immutable after Parse: safe to share between threads. Tables are
// borrowed from the Snapshot, which must outlive the list. Inputs (client
// names, addresses, domains) are untrusted and only compared.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "tables/lookup.h"

namespace posthaste::runtime {

// An IPv4 or IPv6 address in binary (IPv4-mapped IPv6 is IPv4).
struct IpAddress {
  int family = 0;  // AF_INET or AF_INET6; 0 = not an address
  uint8_t bytes[16] = {};
  size_t size() const;  // 4, 16, or 0
};
// Parses a textual address ("192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1");
// false when it is none.
bool ParseIpAddress(std::string_view text, IpAddress* out);
// The textual form Postfix prints (inet_ntop; IPv6 compressed, lower case).
std::string FormatIpAddress(const IpAddress& addr);

// An address with a prefix length: 10.0.0.0/8, [2001:db8::]/32.
struct IpNetwork {
  IpAddress base;
  int prefix = 0;
  bool Contains(const IpAddress& addr) const;
};
// "a.b.c.d/n", "[v6]/n", "v6/n"; host bits must be zero (Postfix refuses
// "10.0.0.1/8"): `error` says why not.
bool ParseIpNetwork(std::string_view text, IpNetwork* out, std::string* error);

enum class MatchListKind { kHost, kDomain, kString };
enum class MatchStatus { kNoMatch, kMatch, kTryAgain };

class MatchList {
 public:
  using FindTable = std::function<const tables::Table*(std::string_view name)>;

  MatchList() = default;

  // `name` is the parameter (for messages); `find_table` resolves type:name
  // items (nullptr or a null result: the table is missing and every match
  // that reaches the item answers kTryAgain). Errors: /file/name items and
  // malformed networks (InvalidArgument).
  static absl::StatusOr<MatchList> Parse(std::string_view name, std::string_view value,
                                         MatchListKind kind, bool parent_matches_subdomains,
                                         const FindTable& find_table);

  // kHost lists: the verified client name ("unknown" when none) or the
  // client address. `why` (optional) says which table failed on kTryAgain.
  MatchStatus MatchHost(std::string_view name, std::string_view addr,
                        std::string* why = nullptr) const;
  // kDomain lists (case-insensitive; a trailing dot is ignored).
  MatchStatus MatchDomain(std::string_view domain, std::string* why = nullptr) const;
  // kString lists.
  MatchStatus MatchString(std::string_view text, std::string* why = nullptr) const;

  bool empty() const { return items_.empty(); }
  const std::string& name() const { return name_; }

 private:
  struct Item {
    bool negate = false;
    enum Type { kPattern, kNetwork, kTable } type = kPattern;
    std::string text;                  // lower-cased pattern, or the table name
    IpNetwork network;                 // kNetwork (also plain addresses)
    const tables::Table* table = nullptr;  // kTable; nullptr: missing from the bundle
  };

  MatchStatus TableHostname(const Item& item, std::string_view name, std::string* why) const;
  MatchStatus TableKey(const Item& item, std::string_view key, std::string* why) const;

  std::string name_;
  MatchListKind kind_ = MatchListKind::kDomain;
  bool parent_ = false;
  std::vector<Item> items_;
};

// One address of this host with its interface prefix length.
struct InterfaceAddress {
  IpAddress addr;
  int prefix = 0;
};
// The addresses Postfix listens on: $inet_interfaces ("all",
// "loopback-only", or addresses and host names) limited to the families of
// $inet_protocols ("all", "ipv4", "ipv6"). Interface prefixes come from
// getifaddrs; a listed address on no interface gets a host prefix.
absl::StatusOr<std::vector<InterfaceAddress>> OwnInterfaceAddresses(
    std::string_view inet_interfaces, std::string_view inet_protocols);
// Postfix's default $mynetworks for those addresses and a mynetworks_style
// of "host" (each address), "subnet" (each interface's network) or "class"
// (IPv4 class A/B/C network; IPv6 as subnet): "127.0.0.0/8 [::1]/128 ...".
absl::StatusOr<std::string> MynetworksFor(const std::vector<InterfaceAddress>& addresses,
                                          std::string_view style);

}  // namespace posthaste::runtime
