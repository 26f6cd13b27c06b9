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
    if (mx->size() == 1 && mx->front().host.empty()) co_return SmtpdDnsStatus::kNullMx;
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

}  // namespace

asio::awaitable<SmtpdDnsStatus> ResolveSmtpdDns(DnsResolver& resolver, SmtpdDnsQuery query) {
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
  co_return best;
}

}  // namespace posthaste::runtime
