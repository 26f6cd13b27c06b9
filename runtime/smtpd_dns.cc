// smtpd_dns.cc: see smtpd_dns.h.
#include "runtime/smtpd_dns.h"

#include <array>

namespace posthaste::runtime {
namespace {

enum class RecordType { kMx, kA, kAaaa };

// Postfix's precedence among lookup outcomes (dns_lookup_rl): the higher
// rank is reported.
int Rank(SmtpdDnsStatus s) {
  switch (s) {
    case SmtpdDnsStatus::kOk: return 3;
    case SmtpdDnsStatus::kTempFail: return 2;
    case SmtpdDnsStatus::kNullMx: return 1;
    case SmtpdDnsStatus::kNotFound: return 0;
  }
  return 0;
}

SmtpdDnsStatus FromFailure(const absl::Status& s) {
  if (absl::IsNotFound(s) || absl::IsInvalidArgument(s)) return SmtpdDnsStatus::kNotFound;
  return SmtpdDnsStatus::kTempFail;
}

asio::awaitable<SmtpdDnsStatus> LookupOne(DnsResolver& resolver, const std::string& name,
                                          RecordType type) {
  if (type == RecordType::kMx) {
    absl::StatusOr<std::vector<MxRecord>> mx = co_await resolver.LookupMx(name);
    if (!mx.ok()) co_return FromFailure(mx.status());
    if (IsNullMx(*mx)) co_return SmtpdDnsStatus::kNullMx;
    co_return SmtpdDnsStatus::kOk;
  }
  // (No co_await inside a conditional expression: GCC 12 miscompiles it.)
  absl::StatusOr<std::vector<asio::ip::address>> addrs;
  if (type == RecordType::kA) {
    addrs = co_await resolver.LookupA(name);
  } else {
    addrs = co_await resolver.LookupAaaa(name);
  }
  if (!addrs.ok()) co_return FromFailure(addrs.status());
  co_return SmtpdDnsStatus::kOk;
}

// A DNS list query: the A records say whether the name is listed (AAAA is
// not asked, as in Postfix); when it is, the TXT records give the reason,
// joined with " / " up to 500 bytes. A failed TXT lookup leaves no reason.
asio::awaitable<SmtpdDnsAnswer> ResolveList(DnsResolver& resolver, const std::string& name) {
  absl::StatusOr<std::vector<asio::ip::address>> addrs = co_await resolver.LookupA(name);
  if (!addrs.ok()) co_return SmtpdDnsAnswer(FromFailure(addrs.status()));
  SmtpdDnsAnswer answer(SmtpdDnsStatus::kOk);
  for (const asio::ip::address& a : *addrs) answer.addresses.push_back(a.to_string());
  absl::StatusOr<std::vector<std::string>> txt = co_await resolver.LookupTxt(name);
  if (txt.ok()) {
    constexpr size_t kLimit = 500;
    for (size_t i = 0; i < txt->size() && answer.text.size() < kLimit; ++i) {
      if (i > 0) {
        if (kLimit - answer.text.size() <= 3) break;
        answer.text += " / ";
      }
      answer.text += (*txt)[i].substr(0, kLimit - answer.text.size());
    }
  }
  co_return answer;
}

SmtpdDnsAnswer Failed(const absl::Status& status) {
  SmtpdDnsAnswer answer(FromFailure(status));
  answer.failure = std::string(status.message());
  return answer;
}

// The MX or NS host names of a domain (an MX answer that names the root is
// a null MX).
asio::awaitable<SmtpdDnsAnswer> ResolveServers(DnsResolver& resolver, const std::string& name,
                                               SmtpdDnsKind kind) {
  SmtpdDnsAnswer answer(SmtpdDnsStatus::kOk);
  if (kind == SmtpdDnsKind::kMxHosts) {
    absl::StatusOr<std::vector<MxRecord>> mx = co_await resolver.LookupMx(name);
    if (!mx.ok()) co_return Failed(mx.status());
    if (IsNullMx(*mx)) co_return SmtpdDnsAnswer(SmtpdDnsStatus::kNullMx);
    for (const MxRecord& r : *mx) answer.names.push_back(r.host);
    co_return answer;
  }
  absl::StatusOr<std::vector<std::string>> ns = co_await resolver.LookupNs(name);
  if (!ns.ok()) co_return Failed(ns.status());
  answer.names = std::move(*ns);
  co_return answer;
}

// A host's IPv4 and IPv6 addresses: found when either family answers; a
// temporary failure of either outweighs "not found".
asio::awaitable<SmtpdDnsAnswer> ResolveAddresses(DnsResolver& resolver, const std::string& name) {
  SmtpdDnsAnswer answer(SmtpdDnsStatus::kOk);
  absl::StatusOr<std::vector<asio::ip::address>> v4 = co_await resolver.LookupA(name);
  absl::StatusOr<std::vector<asio::ip::address>> v6 = co_await resolver.LookupAaaa(name);
  for (const auto* r : {&v4, &v6})
    if (r->ok())
      for (const asio::ip::address& a : **r) answer.addresses.push_back(a.to_string());
  if (!answer.addresses.empty()) co_return answer;
  if (!v4.ok() && FromFailure(v4.status()) == SmtpdDnsStatus::kTempFail) co_return Failed(v4.status());
  if (!v6.ok() && FromFailure(v6.status()) == SmtpdDnsStatus::kTempFail) co_return Failed(v6.status());
  co_return Failed(v4.ok() ? v6.status() : v4.status());
}

}  // namespace

asio::awaitable<SmtpdDnsAnswer> ResolveSmtpdDns(DnsResolver& resolver, SmtpdDnsQuery query) {
  if (query.kind == SmtpdDnsKind::kList) co_return co_await ResolveList(resolver, query.name);
  if (query.kind == SmtpdDnsKind::kMxHosts || query.kind == SmtpdDnsKind::kNsHosts)
    co_return co_await ResolveServers(resolver, query.name, query.kind);
  if (query.kind == SmtpdDnsKind::kAddresses) co_return co_await ResolveAddresses(resolver, query.name);
  constexpr std::array<RecordType, 3> kMailHostOrder = {RecordType::kMx, RecordType::kA,
                                                        RecordType::kAaaa};
  constexpr std::array<RecordType, 3> kHostNameOrder = {RecordType::kA, RecordType::kAaaa,
                                                        RecordType::kMx};
  const auto& order = query.kind == SmtpdDnsKind::kMailHost ? kMailHostOrder : kHostNameOrder;
  SmtpdDnsStatus best = SmtpdDnsStatus::kNotFound;
  for (size_t i = 0; i < order.size(); ++i) {
    SmtpdDnsStatus s = co_await LookupOne(resolver, query.name, order[i]);
    if (i == 0 || Rank(s) > Rank(best)) best = s;
    if (s == SmtpdDnsStatus::kOk) break;
    if (s == SmtpdDnsStatus::kNullMx && query.kind == SmtpdDnsKind::kMailHost) break;
  }
  co_return SmtpdDnsAnswer(best);
}

}  // namespace posthaste::runtime
