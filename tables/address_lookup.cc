// address_lookup.cc: derived lookup keys and the table-list search.
#include "tables/address_lookup.h"

#include <strings.h>

#include "tables/memory_table.h"

namespace posthaste::tables {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

void Push(std::vector<std::string>* keys, std::string key) {
  for (const std::string& k : *keys)
    if (k == key) return;
  keys->push_back(std::move(key));
}

// Splits local part at the first delimiter character: "user+ext" -> "user".
std::string StripExtension(const std::string& local, const std::string& delimiters) {
  if (delimiters.empty()) return local;
  size_t pos = local.find_first_of(delimiters);
  // Postfix leaves owner-/-request style names alone: a delimiter at the
  // very start is not an extension.
  if (pos == std::string::npos || pos == 0) return local;
  return local.substr(0, pos);
}

}  // namespace

std::vector<std::string> DomainKeys(std::string_view domain, bool parent_matches_subdomains) {
  std::vector<std::string> keys;
  std::string d = Lower(domain);
  if (d.empty()) return keys;
  Push(&keys, d);
  for (size_t dot = d.find('.'); dot != std::string::npos; dot = d.find('.', dot + 1)) {
    if (dot + 1 >= d.size()) break;
    Push(&keys, parent_matches_subdomains ? d.substr(dot + 1) : d.substr(dot));
  }
  return keys;
}

bool HostnameMatchesPattern(std::string_view name, std::string_view pattern, bool parent_style) {
  auto iequals = [](std::string_view a, std::string_view b) {
    return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
  };
  if (iequals(name, pattern)) return true;
  if (pattern.empty() || pattern.size() >= name.size()) return false;
  std::string_view tail = name.substr(name.size() - pattern.size());
  if (parent_style) return name[name.size() - pattern.size() - 1] == '.' && iequals(tail, pattern);
  return pattern.front() == '.' && iequals(tail, pattern);
}

std::vector<std::string> ClientAddressKeys(std::string_view address) {
  std::vector<std::string> keys;
  std::string a = Lower(address);
  char delim = a.find(':') != std::string::npos ? ':' : '.';
  Push(&keys, a);
  for (size_t cut = a.rfind(delim); cut != std::string::npos && cut > 0; cut = a.rfind(delim)) {
    a.resize(cut);
    Push(&keys, a);
  }
  return keys;
}

std::vector<std::string> AddressKeys(std::string_view address, AddressClass cls,
                                     const AddressLookupOptions& options) {
  std::vector<std::string> keys;
  std::string addr = Lower(address);
  if (addr.empty()) {
    keys.push_back(options.null_key);
    return keys;
  }
  size_t at = addr.rfind('@');
  std::string local = at == std::string::npos ? addr : addr.substr(0, at);
  std::string domain = at == std::string::npos ? "" : addr.substr(at + 1);
  std::string bare = StripExtension(local, options.recipient_delimiter);
  bool has_ext = bare != local;
  std::string full = addr;
  std::string full_bare = at == std::string::npos ? bare : bare + "@" + domain;
  switch (cls) {
    case AddressClass::kAccess:
      Push(&keys, full);
      if (has_ext) Push(&keys, full_bare);
      for (std::string& d : DomainKeys(domain, options.parent_matches_subdomains))
        Push(&keys, std::move(d));
      if (at != std::string::npos) {
        Push(&keys, local + "@");
        if (has_ext) Push(&keys, bare + "@");
      }
      break;
    case AddressClass::kTransport:
      Push(&keys, full);
      if (has_ext) Push(&keys, full_bare);
      for (std::string& d : DomainKeys(domain, options.parent_matches_subdomains))
        Push(&keys, std::move(d));
      Push(&keys, "*");
      break;
    case AddressClass::kVirtual:
      Push(&keys, full);
      if (has_ext) Push(&keys, full_bare);
      if (options.domain_is_local || at == std::string::npos) {
        Push(&keys, local);
        if (has_ext) Push(&keys, bare);
      }
      if (at != std::string::npos) Push(&keys, "@" + domain);
      break;
  }
  return keys;
}

AddressLookupResult SearchTables(const std::vector<const Table*>& tables,
                                 const std::vector<std::string>& keys, std::string_view full) {
  AddressLookupResult result;
  for (size_t k = 0; k < keys.size(); ++k) {
    for (size_t t = 0; t < tables.size(); ++t) {
      const Table& table = *tables[t];
      if (table.IsPatternTable() && k > 0) continue;  // asked once, with the full string
      LookupResult r = table.IsPatternTable() ? table.Lookup(full) : LookupFolded(table, keys[k]);
      if (r.status == LookupStatus::kNotFound) continue;
      result.status = r.status;
      result.value = std::move(r.value);
      result.key = table.IsPatternTable() ? std::string(full) : keys[k];
      result.table = t;
      return result;
    }
  }
  return result;
}

}  // namespace posthaste::tables
