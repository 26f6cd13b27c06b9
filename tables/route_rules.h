// route_rules.h: the small Postfix routing rules both routing engines apply.
//
// The routing VM (route_vm.h) and the compiler's reference evaluator
// (compiler/route_eval.h) sequence the decision of spec §5 differently (one
// runs compiled bytecode, the other walks the model), but the leaf rules are
// Postfix's and are written once, here: the canonical address form
// (append_at_myorigin / append_dot_mydomain), domain match lists
// (mydestination, relay_domains, virtual_*_domains), the mail_addr_map
// lookup of virtual/canonical/relocated tables (search order of spec §3.6,
// "@domain" results, propagated extensions, several result addresses), and
// the transport value rules of spec §5.1 (transport_maps results versus
// transport parameters). Inputs are envelope addresses (untrusted) and
// lookup results; nothing here allocates without bound beyond its inputs.
// Every lookup keeps the three-way contract: a try-again is returned, never
// turned into "not found".
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "tables/lookup.h"

namespace posthaste::tables {

// Domain part of `address` (after the last '@') as written, trailing dots
// removed; empty when there is no '@'. Matching folds case itself; next hops
// keep the recipient's spelling, as Postfix's do.
std::string RouteDomainOf(std::string_view address);

// The form cleanup gives an envelope address before any table is asked
// (trivial-rewrite's "local" rewrite context): a bare `user` gets
// "@myorigin" (append_at_myorigin), `user@host` without a dot gets
// ".mydomain" (append_dot_mydomain), trailing dots of the domain go. The
// null address stays empty.
struct CanonicalFormOptions {
  std::string myorigin;
  std::string mydomain;
  bool append_at_myorigin = true;
  bool append_dot_mydomain = false;
};
std::string CanonicalForm(std::string_view address, const CanonicalFormOptions& options);

// One item of a domain match list.
struct DomainListItem {
  bool table = false;    // a type:name table (looked up), else a pattern
  bool negate = false;   // written as !item
  std::string pattern;   // lower-cased domain or ".domain" (not for tables)
  uint16_t table_id = 0;  // tables: index into the caller's table vector
};
struct DomainList {
  bool parent_matches_subdomains = false;  // the parameter is in that list
  std::vector<DomainListItem> items;
};

enum class MatchStatus { kMatch, kNoMatch, kTryAgain };

// Looks a table up by id; the caller owns the tables.
using TableById = std::function<const Table*(uint16_t id)>;

// Postfix's domain_list_match: items in order, the first that matches
// decides (a negated item makes the answer "no"). A pattern `x` matches the
// domain itself, and its subdomains when parent_matches_subdomains; `.x`
// matches subdomains of x only when the list is not parent-style (as
// Postfix's match_hostname). A table is asked the domain and then its parents
// (as ".parent" or "parent" per the flag; pattern tables see the domain
// only). `[1.2.3.4]` address literals are compared as written.
MatchStatus MatchDomainList(const DomainList& list, std::string_view domain,
                            const TableById& tables, std::string* why);

// mail_addr_map(): the address search of spec §3.6 for virtual_alias_maps,
// canonical maps and relocated_maps over the tables `ids`. `domain_is_local`
// enables the local-part keys. On a hit, `addresses` holds the result split
// into addresses; a result "@other" keeps the local part (without
// extension), and an unmatched extension is propagated into every result
// when `propagate`. `raw` is the unsplit table value, `key` the key that hit.
struct AddrMapResult {
  LookupStatus status = LookupStatus::kNotFound;
  std::vector<std::string> addresses;
  std::string raw;
  std::string key;
  uint16_t table_id = 0;
  std::string why;  // try-again reason
};
AddrMapResult MailAddrMap(const std::vector<uint16_t>& ids, const TableById& tables,
                          std::string_view address, std::string_view recipient_delimiter,
                          bool domain_is_local, bool propagate);

// The sender_dependent_* lookup: keys of spec §3.6 for `sender`, the null
// sender as `null_key`. One value, unsplit.
AddrMapResult SenderLookup(const std::vector<uint16_t>& ids, const TableById& tables,
                           std::string_view sender, std::string_view recipient_delimiter,
                           bool domain_is_local, std::string_view null_key);

// transport_maps search (spec §5.1): full address, address without
// extension, domain, parent domains, then "*".
AddrMapResult TransportLookup(const std::vector<uint16_t>& ids, const TableById& tables,
                              std::string_view address, std::string_view recipient_delimiter,
                              bool parent_matches_subdomains);

// Transport and next hop while a decision is being made.
struct RouteTarget {
  std::string transport;
  std::string nexthop;
};

// A transport parameter value (local_transport, default_transport, a
// sender_dependent_default_transport_maps result, ...): the transport is the
// text before the first ':'; a non-empty text after it replaces the next hop.
void ApplyTransportParam(std::string_view value, RouteTarget* target);

// A transport_maps result (transport(5)): "t:h" sets both; "t:" or "t" sets
// t and resets the next hop to `rcpt_domain` ("Address is undeliverable" for
// error and retry); ":h" keeps the transport and sets h; ":" changes nothing.
void ApplyTransportTableValue(std::string_view value, std::string_view rcpt_domain,
                              RouteTarget* target);

// content_filter / FILTER: transport before ':', next hop after it, else
// `default_filter_nexthop`, else the recipient's domain (`myhostname` when
// it has none).
RouteTarget FilterTarget(std::string_view filter, std::string_view default_filter_nexthop,
                         std::string_view recipient, std::string_view myhostname);

}  // namespace posthaste::tables
