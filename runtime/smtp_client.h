// smtp_client.h: the outbound smtp delivery agent (Postfix 3.7 smtp(8)).
//
// The queue manager hands it one group of recipients of one message with a
// transport and a next hop (delivery.h). The agent finds the servers,
// talks SMTP to them and reports one outcome per recipient:
//
//   next hop      "example.com" or "example.com:2525": MX lookup, hosts in
//                 preference order (equal preferences shuffled), the
//                 domain's own addresses when it has no MX;
//                 "[mail.example.com]", "[mail.example.com]:587",
//                 "[192.0.2.1]", "[ipv6:2001:db8::1]:25": no MX lookup;
//                 IP literals bypass DNS; "" means the recipient domain;
//                 several next hops (comma or space separated, as relayhost
//                 lists) are tried in order, then smtp_fallback_relay.
//   limits        smtp_mx_address_limit addresses and smtp_mx_session_limit
//                 sessions per next hop.
//   source        DeliveryRequest.source / source6 (from routing), else the
//                 service's smtp_bind_address / smtp_bind_address6; an
//                 address that cannot be bound is logged and ignored unless
//                 smtp_bind_address_enforce = yes (then 4.4.0, next server).
//   session       greeting (5xx greeting: next server with
//                 smtp_skip_5xx_greeting), EHLO smtp_helo_name (HELO when
//                 EHLO is rejected), PIPELINING (MAIL, RCPTs and DATA in one
//                 write), SIZE= (and 5.3.4 locally when the message is larger
//                 than the server's SIZE), BODY=8BITMIME for 8-bit mail,
//                 ORCPT when the server offers DSN, DATA with CR LF line ends,
//                 dot-stuffing and lines longer than smtp_line_length_limit
//                 folded, QUIT; every step bounded by its smtp_*_timeout.
//   outcomes      2xx sent, 4xx deferred, 5xx bounced; a MAIL FROM, DATA or
//                 end-of-data rejection applies to every recipient; a soft
//                 failure (4xx, connection trouble, timeout) on a server that
//                 is not the last candidate sends the recipients to the next
//                 one; texts, enhanced status codes and diagnostics are
//                 Postfix's ("host x[ip] said: 550 5.1.1 ... (in reply to
//                 RCPT TO command)", "connect to x[ip]:25: Connection
//                 refused", "conversation with x[ip] timed out while ...").
//   TLS           STARTTLS after EHLO per smtp_tls_security_level (may,
//                 encrypt, verify, secure; smtp_tls.h): a failed opportunistic
//                 handshake retries the server in plaintext, mandatory TLS
//                 never sends mail in the clear, verify/secure check the
//                 certificate's trust and name.
//   feedback      DeliveryResult.destination_failure when the destination
//                 rather than the message failed (no server reachable,
//                 connection trouble, greeting refused): Postfix's hop status.
//   reuse         after a delivery the connection is parked in a cache keyed
//                 by (service, next hop, source addresses) when
//                 smtp_connection_cache_on_demand = yes or the destination is
//                 in smtp_connection_cache_destinations; the next message to
//                 that key reuses it after an RSET probe, within
//                 smtp_connection_reuse_time_limit and
//                 smtp_connection_reuse_count_limit.
//
// Trust: server replies and DNS answers are untrusted; replies are read with
// line and size limits (smtp_reply.h), DNS with the resolver's limits.
//
// Not done here: DANE, TLS policy maps and session caching, SASL AUTH,
// SMTPUTF8 and 8-bit to 7-bit MIME conversion, XFORWARD, smtp_generic_maps
// and smtp_header_checks, SRV lookups, detecting that an MX host is this
// machine (loop detection only notices a server greeting with our own
// name), the recipient limit (the queue manager splits requests), LMTP.
//
// Thread safety: Deliver() may run concurrently on any threads of the
// io_context; the agent must outlive its deliveries, and the resolver the
// agent.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "asio/any_io_executor.hpp"
#include "runtime/delivery.h"

namespace posthaste::runtime {

class DnsResolver;
class Maillog;

struct SmtpClientOptions {
  // Needed for every next hop that is not an IP literal; without it such
  // lookups fail temporarily.
  DnsResolver* resolver = nullptr;
  // Info and warning lines ("smtp" program); may be null.
  Maillog* maillog = nullptr;
  // Seed for shuffling equal-preference servers; 0 picks a random one.
  uint64_t random_seed = 0;
};

class SmtpDeliveryAgent : public DeliveryAgent {
 public:
  // `executor` runs the idle-connection timers.
  SmtpDeliveryAgent(asio::any_io_executor executor, SmtpClientOptions options);
  ~SmtpDeliveryAgent() override;

  asio::awaitable<DeliveryResult> Deliver(const DeliveryRequest& request) override;

  // Parked idle connections, and closing them all (shutdown, reload).
  size_t idle_connections() const;
  void CloseIdleConnections();

  // Counters for tests and statistics.
  uint64_t connections_opened() const;
  uint64_t connections_reused() const;

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// The DATA content of a message: LF (or CR LF) lines to CR LF, a leading '.'
// doubled, lines longer than `line_limit` (0 = no limit) broken with CR LF
// SPACE as Postfix does, always ending with CR LF; without the final ".".
// Sets *folded when a line was broken.
std::string EncodeSmtpData(std::string_view content, size_t line_limit, bool* folded = nullptr);

// RFC 5321 form of an address in internal form: the local part quoted when
// it needs it ("a b"@example.com); "" stays "".
std::string QuoteSmtpAddress(std::string_view address);

// RFC 3461 xtext: '+', '=' and bytes outside '!'..'~' as "+HH".
std::string XtextEncode(std::string_view text);

}  // namespace posthaste::runtime
