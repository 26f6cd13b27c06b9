// smtp_command.h: parses one SMTP command line into a verb and its arguments.
//
// First stage of the SMTP server's receive path. Input: one command line that
// the session has already split off the stream (CRLF or bare LF removed) and
// cut to its line length limit. Output: a SmtpCommand, or the reply a Postfix
// 3.7 smtpd would send for that line (syntax errors, unknown or unsupported
// commands and parameters).
//
// SECURITY: parses untrusted network input. It never asserts on input, keeps
// no state between calls and allocates at most a small multiple of the line.
//
// Not done here: session state (HELO required, nested MAIL, need RCPT ...),
// access restrictions, size and recipient limits, policy on address classes.
// Those belong to the session, which gets everything it needs in SmtpCommand.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace posthaste::runtime {

enum class SmtpVerb {
  kEhlo,
  kHelo,
  kMail,
  kRcpt,
  kData,
  kRset,
  kNoop,
  kQuit,
  kVrfy,
  // Known SMTP extensions we do not offer (STARTTLS, AUTH, ETRN, BDAT,
  // XCLIENT, XFORWARD, EXPN, HELP, TURN): "502 5.5.1 Error: command not
  // implemented".
  kNotImplemented,
  // smtpd_forbidden_commands at its default (CONNECT, GET, POST, and any
  // line whose first byte is not a letter): the reply says goodbye and the
  // session must disconnect.
  kForbidden,
  // Anything else, and empty lines.
  kUnknown,
};

// The MAIL FROM BODY= parameter.
enum class SmtpBody { kUnspecified, k7Bit, k8BitMime };

struct SmtpCommand {
  SmtpVerb verb = SmtpVerb::kUnknown;
  // The verb as the client spelled it (for logging).
  std::string verb_text;
  // EHLO/HELO: the hostname argument, several words joined by one space as
  // Postfix does. VRFY: the argument as given.
  std::string argument;
  // MAIL/RCPT/VRFY: the address in Postfix's internal form: angle brackets
  // and any source route removed, quoted local parts unquoted
  // ("<\"a b\"@x>" gives `a b@x`). Empty for the null sender <>.
  std::string address;
  // MAIL SIZE=n, when given.
  std::optional<uint64_t> size;
  SmtpBody body = SmtpBody::kUnspecified;
};

struct SmtpCommandOptions {
  // strict_rfc821_envelopes: addresses must be enclosed in <>.
  bool strict_rfc821_envelopes = false;
  // smtputf8_enable: only changes the VRFY syntax reply text.
  bool smtputf8_enable = true;
  // disable_vrfy_command.
  bool disable_vrfy_command = false;
};

struct ParsedSmtpCommand {
  SmtpCommand command;
  // Empty when the command parsed; otherwise the complete reply line
  // (without CRLF) to send, e.g. "501 5.5.4 Syntax: MAIL FROM:<address>".
  std::string reply;
  bool ok() const { return reply.empty(); }
};

// Parses `line` (no line terminator). Never fails in any other way than
// through `reply`.
ParsedSmtpCommand ParseSmtpCommand(std::string_view line, const SmtpCommandOptions& options);

// Converts an address as written in an envelope (optionally in <>, with a
// source route, with quoted local parts) to the internal form described at
// SmtpCommand::address. Returns nullopt when the syntax is unusable.
// `strict` is strict_rfc821_envelopes. Exposed for tests and for VRFY-like
// callers.
std::optional<std::string> ExtractEnvelopeAddress(std::string_view token, bool strict);

// True for a domain Postfix would accept in an envelope address: a host name
// (letters, digits, '-', '_' in dot-separated labels of at most 63 bytes, 255
// bytes in all, an optional trailing dot) or an address literal [1.2.3.4] /
// [IPv6:...].
bool ValidEnvelopeDomain(std::string_view domain);

}  // namespace posthaste::runtime
