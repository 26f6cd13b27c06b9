// route_rules.cc: leaf routing rules shared by the VM and the reference evaluator.
#include "tables/route_rules.h"

#include "tables/address_lookup.h"
#include "tables/memory_table.h"

namespace posthaste::tables {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// Splits a table value into addresses: comma or white space separated,
// <angle brackets> removed.
std::vector<std::string> SplitAddresses(std::string_view value) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    if (cur.size() >= 2 && cur.front() == '<' && cur.back() == '>') cur = cur.substr(1, cur.size() - 2);
    if (!cur.empty()) out.push_back(cur);
    cur.clear();
  };
  for (char c : value) {
    if (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r')
      flush();
    else
      cur += c;
  }
  flush();
  return out;
}

// Local part of `address` split at the first delimiter character (Postfix
// leaves a delimiter in the first position alone): {bare, extension}.
std::pair<std::string, std::string> SplitExtension(std::string_view local,
                                                   std::string_view delimiters) {
  if (delimiters.empty()) return {std::string(local), ""};
  size_t pos = local.find_first_of(delimiters);
  if (pos == std::string_view::npos || pos == 0) return {std::string(local), ""};
  return {std::string(local.substr(0, pos)), std::string(local.substr(pos))};
}

// Inserts `extension` before the '@' of `address` (or at its end).
std::string WithExtension(const std::string& address, const std::string& extension) {
  size_t at = address.rfind('@');
  if (at == std::string::npos) return address + extension;
  return address.substr(0, at) + extension + address.substr(at);
}

std::vector<const Table*> Resolve(const std::vector<uint16_t>& ids, const TableById& tables) {
  std::vector<const Table*> out;
  for (uint16_t id : ids)
    if (const Table* t = tables(id)) out.push_back(t);
  return out;
}

AddrMapResult Search(const std::vector<uint16_t>& ids, const TableById& tables,
                     const std::vector<std::string>& keys, std::string_view full) {
  AddrMapResult out;
  std::vector<const Table*> ts = Resolve(ids, tables);
  AddressLookupResult r = SearchTables(ts, keys, full);
  out.status = r.status;
  if (r.status == LookupStatus::kTryAgain) {
    out.why = r.value;
    return out;
  }
  if (r.status != LookupStatus::kFound) return out;
  out.raw = r.value;
  out.key = r.key;
  out.table_id = r.table < ids.size() ? ids[r.table] : 0;
  return out;
}

}  // namespace

std::string RouteDomainOf(std::string_view address) {
  size_t at = address.rfind('@');
  if (at == std::string_view::npos) return "";
  std::string d(address.substr(at + 1));
  while (!d.empty() && d.back() == '.') d.pop_back();
  return d;
}

std::string CanonicalForm(std::string_view address, const CanonicalFormOptions& options) {
  std::string a(address);
  if (a.size() >= 2 && a.front() == '<' && a.back() == '>') a = a.substr(1, a.size() - 2);
  if (a.empty()) return a;
  size_t at = a.rfind('@');
  if (at == std::string::npos) {
    if (options.append_at_myorigin && !options.myorigin.empty()) a += "@" + options.myorigin;
    return a;
  }
  while (!a.empty() && a.back() == '.' && a.size() > at + 1) a.pop_back();
  std::string_view domain = std::string_view(a).substr(at + 1);
  if (options.append_dot_mydomain && !domain.empty() && domain.find('.') == std::string::npos &&
      domain.front() != '[' && !options.mydomain.empty())
    a += "." + options.mydomain;
  return a;
}

MatchStatus MatchDomainList(const DomainList& list, std::string_view domain,
                            const TableById& tables, std::string* why) {
  std::string d = Lower(domain);
  for (const DomainListItem& item : list.items) {
    bool hit = false;
    if (item.table) {
      const Table* t = tables(item.table_id);
      if (!t) continue;
      std::vector<std::string> keys;
      if (t->IsPatternTable())
        keys.push_back(d);
      else if (!d.empty() && d.front() == '[')
        keys.push_back(d);
      else
        keys = DomainKeys(d, list.parent_matches_subdomains);
      for (const std::string& k : keys) {
        LookupResult r = t->IsPatternTable() ? t->Lookup(k) : LookupFolded(*t, k);
        if (r.status == LookupStatus::kTryAgain) {
          if (why) *why = r.value;
          return MatchStatus::kTryAgain;
        }
        if (r.found()) {
          hit = true;
          break;
        }
      }
    } else {
      hit = HostnameMatchesPattern(d, item.pattern, list.parent_matches_subdomains);
    }
    if (hit) return item.negate ? MatchStatus::kNoMatch : MatchStatus::kMatch;
  }
  return MatchStatus::kNoMatch;
}

AddrMapResult MailAddrMap(const std::vector<uint16_t>& ids, const TableById& tables,
                          std::string_view address, std::string_view recipient_delimiter,
                          bool domain_is_local, bool propagate) {
  AddressLookupOptions options;
  options.recipient_delimiter = std::string(recipient_delimiter);
  options.domain_is_local = domain_is_local;
  std::string full = Lower(address);
  std::vector<std::string> keys = AddressKeys(address, AddressClass::kVirtual, options);
  AddrMapResult out = Search(ids, tables, keys, address);
  if (out.status != LookupStatus::kFound) return out;
  size_t at = full.rfind('@');
  std::string local = at == std::string::npos ? full : full.substr(0, at);
  auto [bare, extension] = SplitExtension(local, recipient_delimiter);
  // Keys that carry the extension themselves leave nothing to propagate.
  bool matched_with_extension = out.key == full || out.key == local;
  std::string unmatched = matched_with_extension ? "" : extension;
  std::string value = out.raw;
  if (!value.empty() && value.front() == '@') {
    // "@other": the original local part (extension dropped) at the new domain.
    std::string orig(address);
    size_t oat = orig.rfind('@');
    std::string orig_local = oat == std::string::npos ? orig : orig.substr(0, oat);
    if (!unmatched.empty() && orig_local.size() >= unmatched.size())
      orig_local.resize(orig_local.size() - unmatched.size());
    value = orig_local + value;
  }
  for (std::string& a : SplitAddresses(value))
    out.addresses.push_back(propagate && !unmatched.empty() ? WithExtension(a, unmatched) : a);
  return out;
}

AddrMapResult SenderLookup(const std::vector<uint16_t>& ids, const TableById& tables,
                           std::string_view sender, std::string_view recipient_delimiter,
                           bool domain_is_local, std::string_view null_key) {
  AddressLookupOptions options;
  options.recipient_delimiter = std::string(recipient_delimiter);
  options.domain_is_local = domain_is_local;
  options.null_key = std::string(null_key);
  std::vector<std::string> keys = AddressKeys(sender, AddressClass::kVirtual, options);
  return Search(ids, tables, keys, sender.empty() ? null_key : sender);
}

AddrMapResult TransportLookup(const std::vector<uint16_t>& ids, const TableById& tables,
                              std::string_view address, std::string_view recipient_delimiter,
                              bool parent_matches_subdomains) {
  AddressLookupOptions options;
  options.recipient_delimiter = std::string(recipient_delimiter);
  options.parent_matches_subdomains = parent_matches_subdomains;
  std::vector<std::string> keys = AddressKeys(address, AddressClass::kTransport, options);
  return Search(ids, tables, keys, address);
}

void ApplyTransportParam(std::string_view value, RouteTarget* target) {
  size_t colon = value.find(':');
  if (colon == std::string_view::npos) {
    target->transport = std::string(value);
    return;
  }
  target->transport = std::string(value.substr(0, colon));
  if (colon + 1 < value.size()) target->nexthop = std::string(value.substr(colon + 1));
}

void ApplyTransportTableValue(std::string_view value, std::string_view rcpt_domain,
                              RouteTarget* target) {
  size_t colon = value.find(':');
  std::string_view channel = value.substr(0, colon);
  std::string_view host =
      colon == std::string_view::npos ? std::string_view() : value.substr(colon + 1);
  if (channel.empty()) {
    if (!host.empty()) target->nexthop = std::string(host);
    return;
  }
  target->transport = std::string(channel);
  if (!host.empty())
    target->nexthop = std::string(host);
  else if (channel != "error" && channel != "retry")
    target->nexthop = std::string(rcpt_domain);
  else
    target->nexthop = "Address is undeliverable";
}

RouteTarget FilterTarget(std::string_view filter, std::string_view default_filter_nexthop,
                         std::string_view recipient, std::string_view myhostname) {
  RouteTarget t;
  size_t colon = filter.find(':');
  t.transport = std::string(filter.substr(0, colon));
  if (colon != std::string_view::npos) t.nexthop = std::string(filter.substr(colon + 1));
  if (t.nexthop.empty()) t.nexthop = std::string(default_filter_nexthop);
  if (t.nexthop.empty()) {
    size_t at = recipient.rfind('@');
    t.nexthop = at == std::string_view::npos ? std::string(myhostname)
                                             : std::string(recipient.substr(at + 1));
  }
  return t;
}

}  // namespace posthaste::tables
