// smtp_tls.h: the smtp delivery agent's TLS policy (STARTTLS) and the
// OpenSSL client contexts built from it.
//
// smtp_client.cc asks for a policy per delivery (from the transport
// service's parameters) and for the matching client context, then upgrades
// a session after EHLO when the server offers STARTTLS (levels may and
// up), refuses to send mail in plaintext at encrypt and up, and checks the
// server certificate at verify and secure, as Postfix 3.7 does:
//
//   smtp_tls_security_level   none | may | encrypt | verify | secure; empty
//                             means smtp_enforce_tls / smtp_use_tls (encrypt,
//                             may, else none). dane and dane-only fall back
//                             to may and encrypt (no DNSSEC here);
//                             fingerprint is refused (4.7.0 "client TLS
//                             configuration problem"), never weakened.
//   smtp_tls_protocols        for may; smtp_tls_mandatory_protocols for the
//                             others. ">=TLSv1.2", "<=TLSv1.3", "!TLSv1.1",
//                             "TLSv1.2 TLSv1.3", the old "!SSLv2, !SSLv3";
//                             SSLv2 and SSLv3 are never negotiated.
//   smtp_tls_ciphers          medium or high (smtp_tls_mandatory_ciphers at
//                             encrypt and up); other grades count as medium.
//   smtp_tls_CAfile, _CApath  trust anchors (tls_append_default_CA adds the
//                             system's); smtp_tls_cert_file / _key_file a
//                             client certificate; smtp_tls_servername SNI
//                             ("hostname", "nexthop" or a name).
//
// Trust: the server's certificate is untrusted input; OpenSSL verifies it
// against the configured anchors only, and the result is only acted on at
// verify and secure.
//
// Not done here: DANE/TLSA, fingerprint matching, TLS session caching,
// smtp_tls_policy_maps, client-side SASL.
//
// Thread safety: TlsContextCache is thread-safe; contexts are shared
// read-only (OpenSSL's SSL_CTX is safe to share once configured).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "asio/ssl/context.hpp"
#include "runtime/service_params.h"

namespace posthaste::runtime {

enum class TlsLevel { kNone, kMay, kEncrypt, kVerify, kSecure, kInvalid };

// Allowed protocol versions as OpenSSL constants (TLS1_VERSION ...), plus
// the ones excluded inside the range.
struct TlsProtocols {
  int min_version = 0;
  int max_version = 0;
  bool exclude_tls1_1 = false;
  bool exclude_tls1_2 = false;
};

// Parses a Postfix protocol list; false (and *error) when it names an
// unknown protocol or leaves nothing usable.
bool ParseTlsProtocols(std::string_view value, TlsProtocols* out, std::string* error);

struct TlsPolicy {
  TlsLevel level = TlsLevel::kNone;
  std::string level_name;  // as configured, for messages
  TlsProtocols protocols;
  bool high_ciphers = false;
  std::string ca_file, ca_path;
  bool append_default_ca = false;
  std::string cert_file, key_file;
  std::string servername;  // smtp_tls_servername
  bool note_starttls_offer = false;
  std::string problem;     // why the level is kInvalid
  bool required() const { return level >= TlsLevel::kEncrypt && level != TlsLevel::kInvalid; }
  bool wanted() const { return level >= TlsLevel::kMay && level != TlsLevel::kInvalid; }
};

TlsPolicy LoadTlsPolicy(const ServiceParams& params);

// Client contexts, one per distinct configuration.
class TlsContextCache {
 public:
  absl::StatusOr<std::shared_ptr<asio::ssl::context>> Get(const TlsPolicy& policy);

 private:
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<asio::ssl::context>> contexts_;
};

// Words for the "... TLS connection established" line: "Verified" (trusted
// and the name matches), "Trusted", "Untrusted" or "Anonymous" (no
// certificate). `match_name` is the name the certificate should carry, or
// "" not to check names; `match_subdomains` also accepts any name below it.
struct TlsPeerCheck {
  bool has_certificate = false;
  bool trusted = false;
  bool name_matched = false;
  std::string Describe() const;
};
TlsPeerCheck CheckTlsPeer(SSL* ssl, std::string_view match_name, bool match_subdomains);

// "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)".
std::string TlsSessionSummary(SSL* ssl);

}  // namespace posthaste::runtime
