// address_lookup.h: the address search order every consumer of tables uses.
//
// Postfix components do not look an address up once: they derive a series of
// keys (full address, address without extension, domain, parent domains,
// local part, @domain, ...) and try each key against the whole table list
// before the next key (spec §3.6). This file is the one place that order
// is written down; access maps, transport_maps, virtual/canonical/relocated
// and the sender_dependent_* maps all call it. Pattern tables (regexp, pcre,
// cidr) only ever see the full string. Every lookup keeps the three-way
// contract: found, not found, or try again (a temporary failure stops the
// search and is reported, never turned into "not found").
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tables/lookup.h"

namespace posthaste::tables {

enum class AddressClass {
  kAccess,     // smtpd check_{sender,recipient}_access
  kTransport,  // transport_maps
  kVirtual,    // virtual_alias/mailbox, canonical, relocated, sender_dependent_*
};

struct AddressLookupOptions {
  std::string recipient_delimiter;  // e.g. "+", "+-"; empty = no extensions
  // The component is in parent_domain_matches_subdomains: a bare
  // "example.com" key also matches subdomains (parents tried as
  // "example.com"); otherwise parents are tried as ".example.com".
  bool parent_matches_subdomains = false;
  // kVirtual: the domain is local ($myorigin, $mydestination, ...): local
  // part keys are tried too.
  bool domain_is_local = false;
  std::string null_key = "<>";  // lookup key for the null address
};

// The keys to try for `address`, in order. The address is lowercased.
std::vector<std::string> AddressKeys(std::string_view address, AddressClass cls,
                                     const AddressLookupOptions& options);
// A host or domain name and its parents.
std::vector<std::string> DomainKeys(std::string_view domain, bool parent_matches_subdomains);
// Postfix's match_hostname() for one pattern (no tables), case-insensitive:
// the name itself; with `parent_style` (the list is in
// parent_domain_matches_subdomains) "example.com" also matches its
// subdomains and ".example.com" matches nothing below it; without it only
// ".example.com" matches subdomains. Shared by routing's domain lists and
// smtpd's match lists.
bool HostnameMatchesPattern(std::string_view name, std::string_view pattern, bool parent_style);
// A client IP address and its shortened forms (1.2.3.4, 1.2.3, 1.2, 1).
std::vector<std::string> ClientAddressKeys(std::string_view address);

struct AddressLookupResult {
  LookupStatus status = LookupStatus::kNotFound;
  std::string value;
  std::string key;  // the key that matched (or "" for a pattern table hit)
  size_t table = 0;  // index of the table that answered
};

// Tries `keys` in order against all `tables` (first table first for each
// key). Pattern tables see only `full`, once, in their place in the table
// order at the first key. The first hit wins; a try-again stops the search.
AddressLookupResult SearchTables(const std::vector<const Table*>& tables,
                                 const std::vector<std::string>& keys, std::string_view full);

}  // namespace posthaste::tables
