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

#include "runtime/dsn.h"

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
  // ETRN: `argument` holds the words after the verb joined by one space;
  // the session checks them (its state comes first in Postfix's replies).
  kEtrn,
  // BDAT (CHUNKING): `size` holds the chunk size and `last` is set for
  // "BDAT n LAST". A malformed one gets "521 5.5.4 Syntax: BDAT count
  // [LAST]" and the session hangs up, as Postfix does.
  kBdat,
  // STARTTLS, which this server does not offer: "502 5.5.1 Error:
  // command not implemented".
  kNotImplemented,
  // AUTH while SASL is off: "503 5.5.1 Error: authentication not enabled".
  kAuth,
  // XCLIENT and XFORWARD from a client that smtpd_authorized_xclient_hosts
  // and smtpd_authorized_xforward_hosts (empty by default) do not name:
  // "550 5.7.0 Error: insufficient authorization".
  kUnauthorized,
  // smtpd_forbidden_commands at its default (CONNECT, GET, POST, and any
  // line whose first byte is not a letter): the reply says goodbye and the
  // session must disconnect.
  kForbidden,
  // Anything else (HELP, EXPN and TURN included, as in Postfix), and empty
  // lines: "500 5.5.2 Error: command not recognized".
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
  // MAIL SMTPUTF8.
  bool smtputf8 = false;
  // BDAT ... LAST.
  bool last = false;
  // MAIL RET= and ENVID= (ENVID decoded from xtext).
  DsnRet dsn_ret = DsnRet::kUnspecified;
  std::string dsn_envid;
  // RCPT NOTIFY= (kDsnNotify* bits) and ORCPT= ("type;address", the address
  // decoded from xtext; empty when not given).
  uint8_t dsn_notify = 0;
  std::string dsn_orcpt;
};

struct SmtpCommandOptions {
  // strict_rfc821_envelopes: addresses must be enclosed in <>.
  bool strict_rfc821_envelopes = false;
  // smtputf8_enable: command lines must be valid UTF-8 ("500 5.5.2 Error:
  // bad UTF-8 syntax"), MAIL takes SMTPUTF8, and the VRFY syntax reply
  // mentions it.
  bool smtputf8_enable = true;
  // DSN offered (not in smtpd_discard_ehlo_keywords): MAIL RET=/ENVID= and
  // RCPT NOTIFY=/ORCPT= are understood; otherwise they are unsupported
  // options.
  bool dsn_enable = true;
  // disable_vrfy_command.
  bool disable_vrfy_command = false;
  // smtpd_forbidden_commands has its default value: CONNECT, GET, POST and
  // lines that do not start with a letter are kForbidden. Otherwise they
  // are kUnknown and the caller matches its own list. A message header sent
  // as a command is kForbidden either way.
  bool builtin_forbidden_commands = true;
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

// The command word of `line`: its first white-space separated word, "" for
// a blank line (the verb ParseSmtpCommand looks up).
std::string_view SmtpCommandWord(std::string_view line);

// The reply to a forbidden command, after which the session ends.
inline constexpr std::string_view kForbiddenCommandReply =
    "221 2.7.0 Error: I can break rules, too. Goodbye.";

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

// RFC 3461 xtext: "+XX" (two hex digits) stands for one byte, every other
// byte must be printable ASCII other than '+' and '='. Returns nullopt when
// `text` is not valid xtext or decodes to something non-printable.
std::optional<std::string> DecodeXtext(std::string_view text);
// (The smtp client's XtextEncode is the reverse.)

}  // namespace posthaste::runtime
