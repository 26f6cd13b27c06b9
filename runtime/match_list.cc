// match_list.cc: match list parsing and matching, interface addresses.
#include "runtime/match_list.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>

#include <cstring>

#include "runtime/service_params.h"
#include "tables/address_lookup.h"
#include "tables/memory_table.h"
#include "tables/str_cat.h"

namespace posthaste::runtime {
namespace {

using tables::Cat;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// The characters of a textual address (match_hostaddr refuses anything else).
bool AddressChars(std::string_view s) {
  for (char c : s)
    if (!(isxdigit(static_cast<unsigned char>(c)) || c == '.' || c == ':')) return false;
  return !s.empty();
}

// Written as a network ("[...]" or "address/len"): a parse failure is a
// configuration error, as Postfix's cidr_match_parse() makes it fatal.
bool WrittenAsNetwork(std::string_view s) {
  if (s.empty()) return false;
  if (s.front() == '[') return true;
  size_t slash = s.find('/');
  return slash != std::string_view::npos && AddressChars(s.substr(0, slash));
}

}  // namespace

size_t IpAddress::size() const { return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0; }

bool ParseIpAddress(std::string_view text, IpAddress* out) {
  if (text.empty() || text.size() > 63) return false;
  std::string s(text);
  IpAddress a;
  if (s.find(':') == std::string::npos) {
    if (inet_pton(AF_INET, s.c_str(), a.bytes) != 1) return false;
    a.family = AF_INET;
  } else {
    if (inet_pton(AF_INET6, s.c_str(), a.bytes) != 1) return false;
    a.family = AF_INET6;
  }
  *out = a;
  return true;
}

std::string FormatIpAddress(const IpAddress& addr) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (addr.family == 0 || !inet_ntop(addr.family, addr.bytes, buf, sizeof(buf))) return "";
  return buf;
}

bool IpNetwork::Contains(const IpAddress& addr) const {
  if (addr.family != base.family || base.family == 0) return false;
  int full = prefix / 8, rest = prefix % 8;
  if (std::memcmp(addr.bytes, base.bytes, full) != 0) return false;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (addr.bytes[full] & mask) == (base.bytes[full] & mask);
}

bool ParseIpNetwork(std::string_view text, IpNetwork* out, std::string* error) {
  std::string_view addr = text, len;
  size_t slash = text.find('/');
  if (slash != std::string_view::npos) {
    addr = text.substr(0, slash);
    len = text.substr(slash + 1);
  }
  if (addr.size() >= 2 && addr.front() == '[' && addr.back() == ']')
    addr = addr.substr(1, addr.size() - 2);
  IpNetwork n;
  if (!ParseIpAddress(addr, &n.base)) {
    if (error) *error = Cat("bad address in \"", text, "\"");
    return false;
  }
  int bits = static_cast<int>(n.base.size() * 8);
  n.prefix = bits;
  if (slash != std::string_view::npos) {
    if (len.empty() || len.size() > 3 || len.find_first_not_of("0123456789") != std::string_view::npos ||
        std::stoi(std::string(len)) > bits) {
      if (error) *error = Cat("bad network mask length in \"", text, "\"");
      return false;
    }
    n.prefix = std::stoi(std::string(len));
  }
  IpNetwork masked = n;
  for (int i = n.prefix; i < bits; ++i) masked.base.bytes[i / 8] &= static_cast<uint8_t>(~(0x80 >> (i % 8)));
  if (std::memcmp(masked.base.bytes, n.base.bytes, n.base.size()) != 0) {
    if (error)
      *error = Cat("non-null host address bits in \"", text, "\", perhaps you should use \"",
                   n.base.family == AF_INET6 ? "[" : "", FormatIpAddress(masked.base),
                   n.base.family == AF_INET6 ? "]" : "", "/", n.prefix, "\" instead");
    return false;
  }
  *out = n;
  return true;
}

absl::StatusOr<MatchList> MatchList::Parse(std::string_view name, std::string_view value,
                                           MatchListKind kind, bool parent_matches_subdomains,
                                           const FindTable& find_table) {
  MatchList list;
  list.name_ = std::string(name);
  list.kind_ = kind;
  list.parent_ = parent_matches_subdomains;
  for (const std::string& raw : SplitPostfixList(value)) {
    Item item;
    std::string_view p = raw;
    while (!p.empty() && p.front() == '!') {
      item.negate = !item.negate;
      p.remove_prefix(1);
    }
    if (p.empty()) continue;
    if (p.front() == '/')
      return absl::InvalidArgumentError(
          Cat(name, ": \"", raw,
              "\": a /file/name item is not carried by the bundle; list its patterns in the "
              "parameter value instead"));
    std::string net_error;
    if (kind == MatchListKind::kHost && WrittenAsNetwork(p)) {
      if (!ParseIpNetwork(p, &item.network, &net_error))
        return absl::InvalidArgumentError(Cat(name, ": ", net_error));
      item.type = Item::kNetwork;
      item.text = std::string(p);
    } else if (kind == MatchListKind::kHost && AddressChars(p) &&
               ParseIpNetwork(p, &item.network, nullptr)) {
      item.type = Item::kNetwork;  // a bare address
      item.text = std::string(p);
    } else if (p.front() != '[' && p.find(':') != std::string_view::npos) {
      item.type = Item::kTable;
      item.text = std::string(p);
      item.table = find_table ? find_table(p) : nullptr;
    } else {
      item.text = Lower(p);
    }
    list.items_.push_back(std::move(item));
  }
  return list;
}

MatchStatus MatchList::TableKey(const Item& item, std::string_view key, std::string* why) const {
  if (!item.table) {
    if (why) *why = Cat(item.text, " is not in the bundle");
    return MatchStatus::kTryAgain;
  }
  tables::LookupResult r =
      item.table->IsPatternTable() ? item.table->Lookup(key) : tables::LookupFolded(*item.table, key);
  if (r.status == tables::LookupStatus::kTryAgain) {
    if (why) *why = Cat(item.text, ": ", r.value);
    return MatchStatus::kTryAgain;
  }
  return r.found() ? MatchStatus::kMatch : MatchStatus::kNoMatch;
}

MatchStatus MatchList::TableHostname(const Item& item, std::string_view name,
                                     std::string* why) const {
  if (!item.table) return TableKey(item, name, why);
  std::string lower = Lower(name);
  // The name itself goes to every table; parent domains only to tables
  // that can answer partial keys (not regexp/pcre/cidr).
  std::vector<std::string> keys;
  if (!lower.empty() && lower.front() == '[')
    keys.push_back(lower);
  else
    keys = tables::DomainKeys(lower, parent_);
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i > 0 && item.table->IsPatternTable()) break;
    MatchStatus s = TableKey(item, keys[i], why);
    if (s != MatchStatus::kNoMatch) return s;
  }
  return MatchStatus::kNoMatch;
}

MatchStatus MatchList::MatchHost(std::string_view name, std::string_view addr,
                                 std::string* why) const {
  IpAddress client;
  bool have_addr = AddressChars(addr) && ParseIpAddress(addr, &client);
  // Postfix compares IPv4 clients in native form.
  if (have_addr && client.family == AF_INET6) {
    static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(client.bytes, kMapped, 12) == 0) {
      IpAddress v4;
      v4.family = AF_INET;
      std::memcpy(v4.bytes, client.bytes + 12, 4);
      client = v4;
    }
  }
  for (const Item& item : items_) {
    bool hit = false;
    switch (item.type) {
      case Item::kNetwork:
        hit = have_addr && item.network.Contains(client);
        break;
      case Item::kPattern:
        hit = tables::HostnameMatchesPattern(name, item.text, parent_);
        break;
      case Item::kTable: {
        MatchStatus s = TableHostname(item, name, why);
        if (s == MatchStatus::kNoMatch && AddressChars(addr)) s = TableKey(item, addr, why);
        if (s == MatchStatus::kTryAgain) return s;
        hit = s == MatchStatus::kMatch;
        break;
      }
    }
    if (hit) return item.negate ? MatchStatus::kNoMatch : MatchStatus::kMatch;
  }
  return MatchStatus::kNoMatch;
}

MatchStatus MatchList::MatchDomain(std::string_view domain, std::string* why) const {
  if (domain.size() > 1 && domain.back() == '.' && domain[domain.size() - 2] != '.')
    domain.remove_suffix(1);
  for (const Item& item : items_) {
    bool hit = false;
    if (item.type == Item::kTable) {
      MatchStatus s = TableHostname(item, domain, why);
      if (s == MatchStatus::kTryAgain) return s;
      hit = s == MatchStatus::kMatch;
    } else {
      hit = tables::HostnameMatchesPattern(domain, item.text, parent_);
    }
    if (hit) return item.negate ? MatchStatus::kNoMatch : MatchStatus::kMatch;
  }
  return MatchStatus::kNoMatch;
}

MatchStatus MatchList::MatchString(std::string_view text, std::string* why) const {
  for (const Item& item : items_) {
    bool hit = false;
    if (item.type == Item::kTable) {
      MatchStatus s = TableKey(item, Lower(text), why);
      if (s == MatchStatus::kTryAgain) return s;
      hit = s == MatchStatus::kMatch;
    } else {
      hit = IEquals(text, item.text);
    }
    if (hit) return item.negate ? MatchStatus::kNoMatch : MatchStatus::kMatch;
  }
  return MatchStatus::kNoMatch;
}

namespace {

int PrefixOf(const sockaddr* mask) {
  if (!mask) return -1;
  const uint8_t* b = nullptr;
  size_t n = 0;
  if (mask->sa_family == AF_INET) {
    b = reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(mask)->sin_addr);
    n = 4;
  } else if (mask->sa_family == AF_INET6) {
    b = reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in6*>(mask)->sin6_addr);
    n = 16;
  } else {
    return -1;
  }
  int bits = 0;
  for (size_t i = 0; i < n; ++i)
    for (int j = 7; j >= 0; --j) {
      if (!(b[i] & (1 << j))) return bits;
      ++bits;
    }
  return bits;
}

bool FromSockaddr(const sockaddr* sa, IpAddress* out) {
  if (!sa) return false;
  if (sa->sa_family == AF_INET) {
    out->family = AF_INET;
    std::memcpy(out->bytes, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, 4);
    return true;
  }
  if (sa->sa_family == AF_INET6) {
    out->family = AF_INET6;
    std::memcpy(out->bytes, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, 16);
    return true;
  }
  return false;
}

bool SameAddress(const IpAddress& a, const IpAddress& b) {
  return a.family == b.family && std::memcmp(a.bytes, b.bytes, a.size()) == 0;
}

}  // namespace

absl::StatusOr<std::vector<InterfaceAddress>> OwnInterfaceAddresses(
    std::string_view inet_interfaces, std::string_view inet_protocols) {
  bool v4 = false, v6 = false;
  for (const std::string& p : SplitPostfixList(inet_protocols)) {
    std::string l = Lower(p);
    if (l == "all") v4 = v6 = true;
    else if (l == "ipv4") v4 = true;
    else if (l == "ipv6") v6 = true;
    else return absl::InvalidArgumentError(Cat("inet_protocols: unknown protocol \"", p, "\""));
  }
  auto wanted = [&](int family) { return (family == AF_INET && v4) || (family == AF_INET6 && v6); };

  std::vector<InterfaceAddress> local;  // every interface address
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return absl::UnavailableError("getifaddrs failed");
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    InterfaceAddress a;
    if (!FromSockaddr(i->ifa_addr, &a.addr) || !wanted(a.addr.family)) continue;
    a.prefix = PrefixOf(i->ifa_netmask);
    if (a.prefix < 0) a.prefix = static_cast<int>(a.addr.size() * 8);
    bool dup = false;
    for (const InterfaceAddress& seen : local) dup |= SameAddress(seen.addr, a.addr);
    if (!dup) local.push_back(a);
  }
  freeifaddrs(list);

  std::vector<InterfaceAddress> out;
  auto add = [&](const IpAddress& addr) {
    for (const InterfaceAddress& seen : out)
      if (SameAddress(seen.addr, addr)) return;
    InterfaceAddress a{addr, static_cast<int>(addr.size() * 8)};
    for (const InterfaceAddress& l : local)
      if (SameAddress(l.addr, addr)) a.prefix = l.prefix;
    out.push_back(a);
  };
  for (const std::string& item : SplitPostfixList(inet_interfaces)) {
    std::string l = Lower(item);
    if (l == "all") {
      for (const InterfaceAddress& a : local) add(a.addr);
    } else if (l == "loopback-only") {
      IpAddress a;
      if (v4 && ParseIpAddress("127.0.0.1", &a)) add(a);
      if (v6 && ParseIpAddress("::1", &a)) add(a);
    } else {
      std::string host = item;
      if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
      IpAddress a;
      if (ParseIpAddress(host, &a)) {
        if (wanted(a.family)) add(a);
        continue;
      }
      addrinfo hints{};
      hints.ai_socktype = SOCK_STREAM;
      addrinfo* res = nullptr;
      if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || !res)
        return absl::UnavailableError(Cat("inet_interfaces: cannot resolve \"", item, "\""));
      for (addrinfo* r = res; r; r = r->ai_next)
        if (FromSockaddr(r->ai_addr, &a) && wanted(a.family)) add(a);
      freeaddrinfo(res);
    }
  }
  return out;
}

absl::StatusOr<std::string> MynetworksFor(const std::vector<InterfaceAddress>& addresses,
                                          std::string_view style) {
  std::string s = Lower(style);
  if (s != "host" && s != "subnet" && s != "class")
    return absl::InvalidArgumentError(
        Cat("bad mynetworks_style value: ", style, "; specify exactly one value"));
  std::string out;
  for (const InterfaceAddress& a : addresses) {
    int bits = static_cast<int>(a.addr.size() * 8);
    int prefix = bits;
    if (s == "subnet") prefix = a.prefix;
    if (s == "class") {
      if (a.addr.family == AF_INET) {
        uint8_t first = a.addr.bytes[0];
        prefix = first < 128 ? 8 : first < 192 ? 16 : first < 224 ? 24 : 4;
      } else {
        prefix = a.prefix;
      }
    }
    IpAddress net = a.addr;
    for (int i = prefix; i < bits; ++i) net.bytes[i / 8] &= static_cast<uint8_t>(~(0x80 >> (i % 8)));
    if (!out.empty()) out += ' ';
    if (net.family == AF_INET6)
      out += Cat("[", FormatIpAddress(net), "]/", prefix);
    else
      out += Cat(FormatIpAddress(net), "/", prefix);
  }
  return out;
}

}  // namespace posthaste::runtime
