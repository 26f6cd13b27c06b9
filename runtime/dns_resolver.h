// dns_resolver.h: asynchronous DNS lookups (MX, A, AAAA, NS, TXT) for the
// delivery agents and the SMTP server's restrictions, c-ares driven by the
// server's Asio io_context.
//
// The smtp delivery agent (smtp_client.h) asks for a destination's MX hosts
// and for host addresses; the queries run concurrently with everything else
// on the io_context, never blocking a thread. c-ares owns the sockets; this
// class watches them with asio::posix::stream_descriptor (readiness only,
// the descriptors are never closed by Asio) and drives c-ares' timeouts
// with one steady_timer. All c-ares calls happen on one strand, so the
// resolver may be used from coroutines on any thread of the io_context.
//
// Trust: DNS replies are untrusted input. c-ares parses them; a reply longer
// than max_reply_bytes is refused, and at most max_records records of a
// reply are returned (the rest is dropped, as Postfix's record limit does).
// Names are checked before they are sent: an IP literal or a name with
// characters outside letters, digits, '-', '_' and '.' is refused.
//
// Results: the records, or a Status whose code says what the caller may do
// and whose message is the resolver's reason in Postfix's words (the
// delivery agent puts it after "Name service error for name=N type=T: "):
//   NotFound         "Host not found" (NXDOMAIN) or "Host found but no data
//                    record of requested type" (the name exists, no records)
//   Unavailable      "Host not found, try again" (SERVFAIL, REFUSED, timeout,
//                    unreachable server, malformed or oversized reply,
//                    resolver shutting down): a temporary failure
//   InvalidArgument  "invalid host or domain name"
//
// Not done here: CNAME chasing beyond what the recursive server put in the
// answer, DNSSEC, search domains (names are looked up as given), caching.
//
// Lifetime: create and destroy the resolver while its io_context exists;
// destroying it ends every lookup in progress with Unavailable. Lookups may
// only be started while the resolver lives.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "asio/any_io_executor.hpp"
#include "asio/awaitable.hpp"
#include "asio/ip/address.hpp"

namespace posthaste::runtime {

struct DnsResolverOptions {
  // Name servers as "ip:port" ("127.0.0.1:5353", "[::1]:53"); empty means
  // the system's (/etc/resolv.conf).
  std::vector<std::string> servers;
  // Time for one try at one server, and the number of tries.
  absl::Duration timeout = absl::Seconds(5);
  int tries = 2;
  // Largest reply accepted (UDP or TCP).
  size_t max_reply_bytes = 65535;
  // Most records returned from one reply.
  size_t max_records = 100;
};

struct MxRecord {
  uint16_t preference = 0;
  // The exchanger's name without the trailing dot; "" for the root name
  // (a null MX, RFC 7505).
  std::string host;
};

// Whether an MX answer is a null MX: as in Postfix's resolver, any record
// that names the root makes the whole answer one, whatever else it lists.
bool IsNullMx(const std::vector<MxRecord>& records);

class DnsResolver {
 public:
  static absl::StatusOr<std::unique_ptr<DnsResolver>> Create(asio::any_io_executor executor,
                                                             DnsResolverOptions options = {});
  ~DnsResolver();
  DnsResolver(const DnsResolver&) = delete;
  DnsResolver& operator=(const DnsResolver&) = delete;

  // MX records in the order of the reply (callers sort by preference).
  asio::awaitable<absl::StatusOr<std::vector<MxRecord>>> LookupMx(std::string name);
  // IPv4 and IPv6 addresses, in the order of the reply.
  asio::awaitable<absl::StatusOr<std::vector<asio::ip::address>>> LookupA(std::string name);
  asio::awaitable<absl::StatusOr<std::vector<asio::ip::address>>> LookupAaaa(std::string name);

  // The name servers of `name` (NS records), in the order of the reply.
  asio::awaitable<absl::StatusOr<std::vector<std::string>>> LookupNs(std::string name);
  // TXT records, each one's character-strings joined, in the order of the
  // reply (DNS block list reasons).
  asio::awaitable<absl::StatusOr<std::vector<std::string>>> LookupTxt(std::string name);

  // Queries sent so far (tests).
  uint64_t queries_sent() const;

  class Impl;

 private:
  explicit DnsResolver(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

// True when `name` may be sent to DNS: 1..253 characters of letters,
// digits, '-', '_' and dots, labels of 1..63, an optional trailing dot, and
// not an IPv4 or IPv6 address literal.
bool IsValidDnsName(std::string_view name);

}  // namespace posthaste::runtime
