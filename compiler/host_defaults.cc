// host_defaults.cc: host name and interface based defaults, as Postfix
// computes them.
#include "compiler/host_defaults.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <vector>

namespace posthaste::compiler {
namespace {

std::vector<std::string> Words(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(static_cast<char>(tolower(static_cast<unsigned char>(c))));
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

int PrefixLength(const unsigned char* mask, int bytes) {
  int len = 0;
  for (int i = 0; i < bytes; ++i) {
    for (int b = 7; b >= 0; --b) {
      if (!(mask[i] >> b & 1)) return len;
      ++len;
    }
  }
  return len;
}

void ApplyPrefix(unsigned char* addr, int bytes, int prefix) {
  for (int i = 0; i < bytes; ++i) {
    int keep = std::clamp(prefix - 8 * i, 0, 8);
    addr[i] &= static_cast<unsigned char>(0xff << (8 - keep));
  }
}

}  // namespace

std::string HostName() {
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) != 0) return "localhost";
  return host;
}

std::string DefaultMyHostname(const std::string& mydomain) {
  std::string name = HostName();
  if (name.find('.') == std::string::npos)
    name += "." + (mydomain.empty() ? std::string("localdomain") : mydomain);
  return name;
}

std::string DefaultMyDomain(const std::string& myhostname) {
  size_t dot = myhostname.find('.');
  if (dot == std::string::npos) return "localdomain";
  return myhostname.substr(dot + 1);
}

std::string DefaultMyNetworks(const std::string& interfaces, const std::string& style,
                              const std::string& protocols) {
  std::vector<std::string> wanted = Words(interfaces);
  bool all = std::find(wanted.begin(), wanted.end(), "all") != wanted.end();
  bool loopback_only = std::find(wanted.begin(), wanted.end(), "loopback-only") != wanted.end();
  std::vector<std::string> protos = Words(protocols);
  auto has = [&](const char* p) {
    return std::find(protos.begin(), protos.end(), "all") != protos.end() ||
           std::find(protos.begin(), protos.end(), p) != protos.end();
  };
  bool want4 = has("ipv4"), want6 = has("ipv6");
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return "127.0.0.0/8";
  std::vector<std::string> v4, v6;
  std::set<std::string> seen;
  for (ifaddrs* ifa = list; ifa; ifa = ifa->ifa_next) {
    if (!ifa->ifa_addr || !ifa->ifa_netmask || !(ifa->ifa_flags & IFF_UP)) continue;
    int family = ifa->ifa_addr->sa_family;
    if ((family == AF_INET && !want4) || (family == AF_INET6 && !want6)) continue;
    if (family != AF_INET && family != AF_INET6) continue;
    unsigned char addr[16], mask[16];
    int bytes = family == AF_INET ? 4 : 16;
    if (family == AF_INET) {
      std::memcpy(addr, &reinterpret_cast<sockaddr_in*>(ifa->ifa_addr)->sin_addr, 4);
      std::memcpy(mask, &reinterpret_cast<sockaddr_in*>(ifa->ifa_netmask)->sin_addr, 4);
    } else {
      std::memcpy(addr, &reinterpret_cast<sockaddr_in6*>(ifa->ifa_addr)->sin6_addr, 16);
      std::memcpy(mask, &reinterpret_cast<sockaddr_in6*>(ifa->ifa_netmask)->sin6_addr, 16);
    }
    char text[INET6_ADDRSTRLEN];
    inet_ntop(family, addr, text, sizeof text);
    bool loopback = ifa->ifa_flags & IFF_LOOPBACK;
    if (!all) {
      bool listed = std::find(wanted.begin(), wanted.end(), text) != wanted.end();
      if (!(listed || (loopback_only && loopback))) continue;
    }
    int prefix = PrefixLength(mask, bytes);
    if (style == "host") {
      prefix = bytes * 8;
    } else if (style == "class" && family == AF_INET) {
      prefix = addr[0] < 128 ? 8 : addr[0] < 192 ? 16 : addr[0] < 224 ? 24 : 32;
    }
    ApplyPrefix(addr, bytes, prefix);
    inet_ntop(family, addr, text, sizeof text);
    std::string net = family == AF_INET ? std::string(text) + "/" + std::to_string(prefix)
                                        : "[" + std::string(text) + "]/" + std::to_string(prefix);
    if (!seen.insert(net).second) continue;
    (family == AF_INET ? v4 : v6).push_back(net);
  }
  freeifaddrs(list);
  std::string out;
  for (const auto* group : {&v4, &v6})
    for (const std::string& n : *group) out += (out.empty() ? "" : " ") + n;
  return out;
}

}  // namespace posthaste::compiler
