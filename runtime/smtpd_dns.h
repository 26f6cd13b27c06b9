// smtpd_dns.h: the DNS answers the SMTP server's restrictions ask for.
//
// SmtpdAccess::Check never queries DNS: it names the answer it lacks
// (AccessVerdict::dns_needed, an SmtpdDnsQuery) and the session resolves it
// here, through the runtime's c-ares resolver (runtime/dns_resolver.h),
// without blocking its event loop. The lookups follow Postfix 3.7:
//   kMailHost (reject_unknown_{sender,recipient}_domain): MX, then A, then
//     AAAA, stopping at the first answer; an MX answer with a record for
//     the root name is a null MX (RFC 7505, IsNullMx) and ends the search;
//   kHostName (reject_unknown_helo_hostname): A, then AAAA, then MX;
//   kList (DNS block and allow lists): A only; when listed, the TXT
//     records too (the reason in reply templates), at most 500 bytes
//     joined with " / ". Not listed is NXDOMAIN or no A record; anything
//     else that fails is a temporary failure (Postfix then lets the client
//     through, or defers a reject for an allow list);
//   kMxHosts / kNsHosts (check_*_mx_access, check_*_ns_access): the host
//     names, a null MX as such;
//   kAddresses: A and AAAA, found when either answers.
// A failed lookup carries the resolver's reason for Postfix's warnings.
// When no lookup answers, the outcomes rank as Postfix ranks them: a
// temporary failure outweighs a null MX, which outweighs "not found". A
// name DNS cannot carry (bad syntax, an address literal) is "not found",
// as Postfix's resolver front end says, without a query.
#pragma once

#include "asio/awaitable.hpp"
#include "runtime/dns_resolver.h"
#include "runtime/smtpd_access.h"

namespace posthaste::runtime {

asio::awaitable<SmtpdDnsAnswer> ResolveSmtpdDns(DnsResolver& resolver, SmtpdDnsQuery query);

}  // namespace posthaste::runtime
