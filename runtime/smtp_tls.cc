// smtp_tls.cc: STARTTLS policy for the smtp agent and its OpenSSL contexts.
#include "runtime/smtp_tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>

#include <cctype>

#include "tables/str_cat.h"

namespace posthaste::runtime {

using tables::Cat;

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Trimmed(std::string s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

// A parameter value, "" when the bundle kept an unexpanded $name.
std::string Value(const ServiceParams& p, std::string_view name) {
  std::string v = Trimmed(p.Str(name));
  return v.find('$') == std::string::npos ? v : std::string();
}

// Protocols in order; SSLv2 and SSLv3 only so that old lists parse.
constexpr const char* kProtocolNames[] = {"sslv2", "sslv3", "tlsv1", "tlsv1.1", "tlsv1.2", "tlsv1.3"};
constexpr int kProtocolVersions[] = {0, 0, TLS1_VERSION, TLS1_1_VERSION, TLS1_2_VERSION, TLS1_3_VERSION};
constexpr int kProtocolCount = 6;

int ProtocolIndex(std::string_view name) {
  std::string lower = Lower(name);
  for (int i = 0; i < kProtocolCount; ++i) {
    if (lower == kProtocolNames[i]) return i;
  }
  return -1;
}

std::string OpenSslError() {
  unsigned long code = ERR_get_error();
  if (code == 0) return "unknown error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  ERR_clear_error();
  return buf;
}

constexpr char kMediumCiphers[] = "aNULL:-aNULL:HIGH:MEDIUM:+RC4:@STRENGTH";
constexpr char kHighCiphers[] = "aNULL:-aNULL:HIGH:@STRENGTH";

}  // namespace

bool ParseTlsProtocols(std::string_view value, TlsProtocols* out, std::string* error) {
  bool allowed[kProtocolCount] = {false, false, true, true, true, true};
  bool include[kProtocolCount] = {};
  bool any_include = false;
  size_t pos = 0;
  while (pos < value.size()) {
    size_t start = value.find_first_not_of(", \t:", pos);
    if (start == std::string_view::npos) break;
    size_t end = value.find_first_of(", \t:", start);
    if (end == std::string_view::npos) end = value.size();
    std::string_view token = value.substr(start, end - start);
    pos = end;
    int op = 0;  // 0 include, 1 exclude, 2 at least, 3 at most
    if (token.substr(0, 2) == ">=") {
      op = 2;
      token.remove_prefix(2);
    } else if (token.substr(0, 2) == "<=") {
      op = 3;
      token.remove_prefix(2);
    } else if (token.substr(0, 1) == "!") {
      op = 1;
      token.remove_prefix(1);
    }
    int index = ProtocolIndex(token);
    if (index < 0) {
      if (error) *error = Cat("unknown TLS protocol \"", token, "\"");
      return false;
    }
    for (int i = 0; i < kProtocolCount; ++i) {
      if ((op == 1 && i == index) || (op == 2 && i < index) || (op == 3 && i > index)) allowed[i] = false;
    }
    if (op == 0) {
      include[index] = true;
      any_include = true;
    }
  }
  int min = -1, max = -1;
  for (int i = 2; i < kProtocolCount; ++i) {
    if (any_include && !include[i]) allowed[i] = false;
    if (!allowed[i]) continue;
    if (min < 0) min = i;
    max = i;
  }
  if (min < 0) {
    if (error) *error = Cat("no TLS protocol left in \"", value, "\"");
    return false;
  }
  out->min_version = kProtocolVersions[min];
  out->max_version = kProtocolVersions[max];
  out->exclude_tls1_1 = min < 3 && max > 3 && !allowed[3];
  out->exclude_tls1_2 = min < 4 && max > 4 && !allowed[4];
  return true;
}

TlsPolicy LoadTlsPolicy(const ServiceParams& p) {
  TlsPolicy policy;
  std::string level = Lower(Value(p, "smtp_tls_security_level"));
  if (level.empty()) {
    level = p.Bool("smtp_enforce_tls") ? "encrypt" : p.Bool("smtp_use_tls") ? "may" : "none";
  }
  policy.level_name = level;
  if (level == "none") {
    policy.level = TlsLevel::kNone;
  } else if (level == "may" || level == "dane") {
    policy.level = TlsLevel::kMay;
  } else if (level == "encrypt" || level == "dane-only") {
    policy.level = TlsLevel::kEncrypt;
  } else if (level == "verify") {
    policy.level = TlsLevel::kVerify;
  } else if (level == "secure") {
    policy.level = TlsLevel::kSecure;
  } else {
    policy.level = TlsLevel::kInvalid;
    policy.problem = Cat("unsupported smtp_tls_security_level \"", level, "\"");
  }
  bool mandatory = policy.level >= TlsLevel::kEncrypt;
  std::string protocols = p.Str(mandatory ? "smtp_tls_mandatory_protocols" : "smtp_tls_protocols");
  std::string error;
  if (policy.level != TlsLevel::kNone && policy.level != TlsLevel::kInvalid &&
      !ParseTlsProtocols(protocols, &policy.protocols, &error)) {
    policy.level = TlsLevel::kInvalid;
    policy.problem = Cat(mandatory ? "smtp_tls_mandatory_protocols" : "smtp_tls_protocols", ": ", error);
  }
  policy.high_ciphers = Lower(Value(p, mandatory ? "smtp_tls_mandatory_ciphers" : "smtp_tls_ciphers")) == "high";
  policy.ca_file = Value(p, "smtp_tls_CAfile");
  policy.ca_path = Value(p, "smtp_tls_CApath");
  policy.append_default_ca = p.Bool("tls_append_default_CA");
  policy.cert_file = Value(p, "smtp_tls_cert_file");
  policy.key_file = Value(p, "smtp_tls_key_file");
  if (policy.key_file.empty()) policy.key_file = policy.cert_file;
  policy.servername = Value(p, "smtp_tls_servername");
  policy.note_starttls_offer = p.Bool("smtp_tls_note_starttls_offer");
  return policy;
}

absl::StatusOr<std::shared_ptr<asio::ssl::context>> TlsContextCache::Get(const TlsPolicy& policy) {
  std::string key = Cat(policy.protocols.min_version, "/", policy.protocols.max_version, "/",
                        policy.protocols.exclude_tls1_1 ? 1 : 0, policy.protocols.exclude_tls1_2 ? 1 : 0,
                        "/", policy.high_ciphers ? 1 : 0, "/", policy.ca_file, "/", policy.ca_path, "/",
                        policy.append_default_ca ? 1 : 0, "/", policy.cert_file, "/", policy.key_file);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = contexts_.find(key);
  if (it != contexts_.end()) return it->second;

  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX* ctx = context->native_handle();
  ERR_clear_error();
  SSL_CTX_set_min_proto_version(ctx, policy.protocols.min_version);
  SSL_CTX_set_max_proto_version(ctx, policy.protocols.max_version);
  uint64_t options = SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_NO_COMPRESSION;
  if (policy.protocols.exclude_tls1_1) options |= SSL_OP_NO_TLSv1_1;
  if (policy.protocols.exclude_tls1_2) options |= SSL_OP_NO_TLSv1_2;
  SSL_CTX_set_options(ctx, options);
  if (SSL_CTX_set_cipher_list(ctx, policy.high_ciphers ? kHighCiphers : kMediumCiphers) != 1) {
    return absl::FailedPreconditionError(Cat("cannot set the cipher list: ", OpenSslError()));
  }
  // The handshake always completes; the verification result is judged
  // afterwards, and only enforced at verify and secure (as Postfix does).
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  if (!policy.ca_file.empty() || !policy.ca_path.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, policy.ca_file.empty() ? nullptr : policy.ca_file.c_str(),
                                      policy.ca_path.empty() ? nullptr : policy.ca_path.c_str()) != 1) {
      return absl::FailedPreconditionError(
          Cat("cannot load CA file \"", policy.ca_file, "\" or path \"", policy.ca_path, "\": ", OpenSslError()));
    }
  }
  if (policy.append_default_ca) SSL_CTX_set_default_verify_paths(ctx);
  if (!policy.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, policy.cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, policy.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
      return absl::FailedPreconditionError(
          Cat("cannot load client certificate \"", policy.cert_file, "\": ", OpenSslError()));
    }
  }
  contexts_.emplace(key, context);
  return context;
}

std::string TlsPeerCheck::Describe() const {
  if (!has_certificate) return "Anonymous";
  if (trusted && name_matched) return "Verified";
  return trusted ? "Trusted" : "Untrusted";
}

TlsPeerCheck CheckTlsPeer(SSL* ssl, std::string_view match_name, bool match_subdomains) {
  TlsPeerCheck check;
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return check;
  check.has_certificate = true;
  check.trusted = SSL_get_verify_result(ssl) == X509_V_OK;
  if (!match_name.empty()) {
    std::string name(match_name);
    unsigned char buf[16];
    if (inet_pton(AF_INET, name.c_str(), buf) == 1 || inet_pton(AF_INET6, name.c_str(), buf) == 1) {
      check.name_matched = X509_check_ip_asc(cert, name.c_str(), 0) == 1;
    } else {
      check.name_matched = X509_check_host(cert, name.c_str(), name.size(), 0, nullptr) == 1;
      if (!check.name_matched && match_subdomains) {
        std::string dotted = "." + name;
        check.name_matched = X509_check_host(cert, dotted.c_str(), dotted.size(), 0, nullptr) == 1;
      }
    }
  }
  X509_free(cert);
  return check;
}

std::string TlsSessionSummary(SSL* ssl) {
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
  int alg_bits = 0;
  int bits = cipher ? SSL_CIPHER_get_bits(cipher, &alg_bits) : 0;
  return Cat(SSL_get_version(ssl), " with cipher ", cipher ? SSL_CIPHER_get_name(cipher) : "none", " (",
             bits, "/", alg_bits, " bits)");
}

}  // namespace posthaste::runtime
