// smtpd_access.h: the SMTP server's access restrictions (smtpd_*_restrictions).
//
// The policy half of posthasted's SMTP server, as a pure library: the session
// (runtime/smtpd_session.h) tells it what it knows at each command
// (SmtpdFacts) and gets back what Postfix 3.7's smtpd would do (AccessVerdict):
// permit, or the exact 4xx/5xx reply; the access(5) side effects on the
// message (HOLD, DISCARD, FILTER, REDIRECT, BCC, PREPEND); and the complete
// "NOQUEUE: reject: RCPT from ..." log lines, worded as Postfix words them.
// It never touches the network and never blocks beyond table lookups (and
// getpwnam_r for unix:passwd.byname in local_recipient_maps): the DNS
// answers reject_unknown_{sender,recipient}_domain,
// reject_unknown_helo_hostname, the DNS list restrictions
// (reject_rbl_client, permit_dnswl_client, reject_rhsbl_*,
// permit_rhswl_client, reject_maps_rbl) and the check_*_{mx,ns,a}_access
// searches need come from the session (SmtpdDnsQuery).
//
// What it evaluates (tables/smtpd_restrictions.def lists the restrictions it
// carries out; `phc check` refuses the others):
//   - smtpd_client/helo/sender/relay/recipient/data/end_of_data_restrictions
//     and smtpd_restriction_classes, parsed once by Build;
//   - smtpd_delay_reject: with yes (the default) the client, HELO and sender
//     lists are evaluated at RCPT (and VRFY) time, every time; CONNECT, HELO
//     and MAIL then answer kNone;
//   - RCPT: smtpd_relay_restrictions before smtpd_recipient_restrictions
//     (smtpd_relay_before_recipient_restrictions, else the other way round),
//     a permit in one list does not skip the other, and the implicit
//     reject_unlisted_recipient (smtpd_reject_unlisted_recipient) at the
//     end; "RCPT TO:<postmaster>" is exempt from everything;
//   - access(5) results: OK/RELAY, all-digits, DUNNO, REJECT, DEFER,
//     DEFER_IF_REJECT, DEFER_IF_PERMIT, 4NN/5NN text, HOLD, DISCARD, FILTER,
//     REDIRECT, BCC, PREPEND, WARN, INFO, and restriction names or classes
//     (evaluated recursively);
//   - address classes (local = $mydestination plus [ip] literals of
//     $inet_interfaces/$proxy_interfaces, virtual alias, virtual mailbox,
//     relay) with the parameters of the bundle's trivial-rewrite service
//     (master.cf "rewrite"), or the smtpd service's when there is none; the
//     bundle's routing program, when present, finds error:/retry:
//     transports for reject_unlisted_*.
// Reply codes and texts come from the service's parameters
// (access_map_reject_code, relay_domains_reject_code, ...).
//
// Failures: a table a restriction names but the bundle lacks, or a lookup
// that answers try-again, is a temporary failure with Postfix's wording
// ("451 4.3.5 <x>: Recipient address rejected: Server configuration error"
// for an access table, "451 4.3.0 <x>: Temporary lookup failure" for match
// lists and recipient tables), never a silent miss. Build refuses
// restriction lists that name restrictions posthasted does not carry out,
// undefined restriction classes, and /file/name items in match lists.
//
// Thread safety: a SmtpdAccess is immutable after Build; Check may run on
// any number of threads at once. It keeps the Snapshot alive.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "tables/bundle_loader.h"

namespace posthaste::runtime {

enum class SmtpdStage { kConnect, kHelo, kMail, kRcpt, kData, kEndOfData, kVrfy, kEtrn };

// Whether the client's host name could be looked up (reject_unknown_*).
enum class PeerNameStatus : uint8_t {
  kDefault,   // derive: "unknown" is a permanent failure, anything else verified
  kOk,        // verified (forward and reverse agree)
  kTempFail,  // DNS said try again
  kPermFail,  // no name
};

// DNS answers for the restrictions that need them. The evaluator never
// queries DNS itself: when a restriction needs an answer that
// SmtpdFacts::dns lacks, Check stops and returns a verdict with only
// `dns_needed` set; the session resolves it (runtime/smtpd_dns.h), adds the
// answer and asks again. Check stays a pure function of the facts.
enum class SmtpdDnsKind : uint8_t {
  kMailHost,  // reject_unknown_{sender,recipient}_domain: MX, then A and AAAA
  kHostName,  // reject_unknown_helo_hostname: A and AAAA, then MX
  kList,      // a DNS block/allow list query (reject_rbl_client ...): A, and TXT when listed
  kMxHosts,   // check_*_mx_access: the MX host names of a domain
  kNsHosts,   // check_*_ns_access: the name servers of a domain
  kAddresses, // the *_access checks: a host's IPv4 and IPv6 addresses
};
enum class SmtpdDnsStatus : uint8_t {
  kOk,        // a record (for kHostName a null MX counts too)
  kNotFound,  // NXDOMAIN, no record of any type, or a name DNS cannot carry
  kTempFail,  // SERVFAIL, timeout, malformed reply
  kNullMx,    // kMailHost: the domain publishes a null MX (RFC 7505)
};
struct SmtpdDnsQuery {
  SmtpdDnsKind kind = SmtpdDnsKind::kMailHost;
  std::string name;
  bool operator<(const SmtpdDnsQuery& o) const {
    return kind != o.kind ? kind < o.kind : name < o.name;
  }
  bool operator==(const SmtpdDnsQuery& o) const { return kind == o.kind && name == o.name; }
};
struct SmtpdDnsAnswer {
  SmtpdDnsAnswer(SmtpdDnsStatus s = SmtpdDnsStatus::kNotFound) : status(s) {}  // NOLINT: implicit
  SmtpdDnsStatus status;
  // kList, when listed: the A records (dotted IPv4) and the TXT records
  // joined with " / " (at most 500 bytes, as Postfix keeps them).
  // kAddresses: the host's addresses (IPv4 and IPv6 text).
  std::vector<std::string> addresses;
  std::string text;
  // kMxHosts / kNsHosts: the server names, in the order of the reply.
  std::vector<std::string> names;
  // When the lookup failed: why, in the resolver's (Postfix's) words.
  std::string failure;
};
using SmtpdDnsAnswers = std::map<SmtpdDnsQuery, SmtpdDnsAnswer>;

// A defer_if_permit that an earlier stage raised: with smtpd_delay_reject =
// no, the verdict of CONNECT, HELO and MAIL carries it (AccessVerdict::carry)
// and the session hands it back in every later SmtpdFacts of the session
// (SmtpdFacts::carry), so that a later permit becomes this deferral, as
// Postfix does. Opaque to the session.
struct SmtpdCarry {
  bool client = false, helo = false, sender = false;  // which stage raised it
  int error_class = 0;
  int code = 0;
  std::string dsn;
  std::string reason;
};

// What the session knows when it asks. Addresses are in internal
// (unquoted) form.
struct SmtpdFacts {
  std::string client_name = "unknown";  // verified client host name or "unknown"
  std::string reverse_client_name = "unknown";
  std::string client_addr;              // "127.0.0.1" / "::1"
  uint16_t client_port = 0;
  std::string helo;                     // "" until HELO/EHLO (at kHelo: the name being checked)
  // "SMTP" or "ESMTP". At kHelo: the protocol before this command (Postfix
  // switches it only once HELO/EHLO is accepted: the first EHLO logs
  // proto=SMTP).
  std::string protocol = "SMTP";
  bool ehlo = false;                    // kHelo: the command is EHLO (else HELO)
  std::optional<std::string> sender;    // after MAIL (and at MAIL: the one being checked); "" = null sender
  // RCPT and VRFY: the address being checked. DATA and END-OF-DATA: the
  // first accepted recipient (logged as to=<...> when there is exactly one).
  std::string recipient;
  size_t recipient_count = 0;           // recipients accepted so far
  std::string etrn_domain;              // ETRN: the domain being checked
  uint64_t size = 0;                    // MAIL SIZE= or bytes received at end of data
  std::string queue_id;                 // "" before the queue file exists (logs say NOQUEUE)

  PeerNameStatus client_name_status = PeerNameStatus::kDefault;
  PeerNameStatus reverse_client_name_status = PeerNameStatus::kDefault;
  std::string sasl_username;            // SASL login, "" when none (permit_sasl_authenticated)
  bool encrypted = false;               // TLS is active (reject_plaintext_session)
  bool smtputf8 = false;                // MAIL FROM carried SMTPUTF8 (UTF-8 host names allowed)
  bool improper_pipelining = false;     // commands arrived before their turn (reject_unauth_pipelining)
  // Effects already collected in this transaction: a second HOLD is not
  // logged again, and after DISCARD no restriction is evaluated any more.
  bool hold = false;
  bool discard = false;
  SmtpdCarry carry;                     // from the previous verdict (see SmtpdCarry)
  // Answers the session has resolved so far (see SmtpdDnsQuery); nullptr
  // means none yet.
  const SmtpdDnsAnswers* dns = nullptr;
};

struct AccessVerdict {
  enum class Result { kNone, kPermit, kReject, kDefer };  // kNone: no list decided (== permit)
  Result result = Result::kNone;
  // kReject/kDefer: the full reply line, e.g. "554 5.7.1 <x@y>: Relay access denied".
  std::string reply;
  // Effects on the message, collected while evaluating; the session applies
  // them to the message it queues (FILTER and REDIRECT: the last one wins;
  // BCC and PREPEND accumulate).
  bool hold = false;
  std::string hold_reason;  // what the hold log line said
  bool discard = false;
  std::optional<std::string> filter, redirect;
  std::vector<std::string> bcc, prepend;
  // Complete log texts for Maillog::Info("smtpd", ...), as Postfix 3.7
  // smtpd writes them: reject, reject_warning, warn, info, hold, discard,
  // filter, redirect, bcc and permit (smtpd_log_access_permit_actions)
  // lines, with the queue id instead of NOQUEUE when known.
  std::vector<std::string> log_lines;
  // Texts for Maillog::Warning("smtpd", ...): configuration problems Postfix
  // warns about while evaluating (table lookup errors, unknown restriction
  // in a table result, ...).
  std::vector<std::string> warnings;
  SmtpdCarry carry;  // hand back in the next SmtpdFacts::carry
  // Set when a restriction needs a DNS answer the facts lack; everything
  // else in the verdict is then empty: resolve, add the answer to
  // SmtpdFacts::dns and call Check again.
  std::optional<SmtpdDnsQuery> dns_needed;
};

class SmtpdAccess {
 public:
  // An evaluator without restrictions (every Check answers kNone); the real
  // one comes from Build.
  SmtpdAccess();

  // Built once per loaded bundle for one smtpd service ("smtp/inet",
  // "127.0.0.1:2525/inet"): parses the restriction lists and classes from
  // the service's resolved parameters, resolves tables, computes
  // $mynetworks when the bundle leaves it to the host (mynetworks_style,
  // getifaddrs). Errors: InvalidArgument for lists naming restrictions
  // posthasted does not carry out or undefined classes, and for malformed
  // match lists; Unavailable when the host's interfaces cannot be read.
  static absl::StatusOr<std::shared_ptr<const SmtpdAccess>> Build(
      std::shared_ptr<const tables::Snapshot> snapshot, std::string_view service);

  // What Postfix evaluates at that command.
  AccessVerdict Check(SmtpdStage stage, const SmtpdFacts& facts) const;

  // permit_mynetworks for an address alone (no host name): true when it is
  // in $mynetworks (a table failure counts as no).
  bool InMynetworks(std::string_view client_addr) const;
  // fast_flush_domains: whether ETRN may flush mail for `domain`.
  bool FastFlushDomain(std::string_view domain) const;

  // The $mynetworks in effect (the computed default when not set).
  const std::string& mynetworks() const;
  bool delay_reject() const;

  SmtpdAccess(const SmtpdAccess&) = delete;
  SmtpdAccess& operator=(const SmtpdAccess&) = delete;
  ~SmtpdAccess();

  struct Config;

 private:
  std::unique_ptr<Config> config_;
};

}  // namespace posthaste::runtime
