// smtp_command.cc: SMTP command line parser (see smtp_command.h).
//
// Parses untrusted network input: every index is checked against the line,
// nothing here asserts on content. The replies are Postfix 3.7 smtpd's,
// checked against the strings the Debian postfix 3.7.11 smtpd binary carries.
#include "runtime/smtp_command.h"

#include <arpa/inet.h>

#include <array>
#include <cstring>

#include "absl/strings/ascii.h"

namespace posthaste::runtime {
namespace {

constexpr std::string_view kBadSyntax = "500 5.5.2 Error: bad syntax";
constexpr std::string_view kNotRecognized = "502 5.5.2 Error: command not recognized";
constexpr std::string_view kNotImplemented = "502 5.5.1 Error: command not implemented";
constexpr std::string_view kForbidden = "221 2.7.0 Error: I can break rules, too. Goodbye.";
constexpr std::string_view kMailSyntax = "501 5.5.4 Syntax: MAIL FROM:<address>";
constexpr std::string_view kRcptSyntax = "501 5.5.4 Syntax: RCPT TO:<address>";
constexpr std::string_view kBadSender = "501 5.1.7 Bad sender address syntax";
constexpr std::string_view kBadRecipient = "501 5.1.3 Bad recipient address syntax";
constexpr std::string_view kBadSize = "501 5.5.4 Bad message size syntax";

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (absl::ascii_tolower(static_cast<unsigned char>(a[i])) !=
        absl::ascii_tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// The C locale's isspace(), as Postfix's command tokenizer uses.
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

// Client text echoed in a reply: anything but printable ASCII becomes '?',
// so a reply never carries control bytes back to the client.
std::string Printable(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) c = '?';
  }
  return out;
}

// Splits the rest of a command line into whitespace-separated words. A
// double-quoted string (with backslash escapes) keeps its spaces, so
// <"john doe"@example.com> stays one word.
std::vector<std::string_view> SplitWords(std::string_view s) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && IsSpace(s[i])) ++i;
    if (i >= s.size()) break;
    size_t start = i;
    bool quoted = false;
    while (i < s.size() && (quoted || !IsSpace(s[i]))) {
      if (quoted && s[i] == '\\' && i + 1 < s.size()) {
        i += 2;
        continue;
      }
      if (s[i] == '"') quoted = !quoted;
      ++i;
    }
    words.push_back(s.substr(start, i - start));
  }
  return words;
}

std::string JoinWords(const std::vector<std::string_view>& words, size_t from) {
  std::string out;
  for (size_t i = from; i < words.size(); ++i) {
    if (!out.empty()) out += ' ';
    out.append(words[i]);
  }
  return out;
}

bool ValidIpv4(std::string_view s) {
  int parts = 0;
  size_t i = 0;
  while (true) {
    size_t start = i;
    unsigned value = 0;
    while (i < s.size() && absl::ascii_isdigit(static_cast<unsigned char>(s[i])) && i - start < 3) {
      value = value * 10 + static_cast<unsigned>(s[i] - '0');
      ++i;
    }
    if (i == start || value > 255) return false;
    ++parts;
    if (i == s.size()) break;
    if (s[i] != '.' || parts == 4) return false;
    ++i;
  }
  return parts == 4;
}

bool ValidHostname(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > 255) return false;
  bool non_numeric = false;
  size_t label = 0;
  char prev = '.';
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (c == '.') {
      if (label == 0 || prev == '-') return false;
      label = 0;
    } else if (absl::ascii_isalnum(u) || c == '-' || c == '_' || u >= 0x80) {
      if (c == '-' && label == 0) return false;
      if (++label > 63) return false;
      if (!absl::ascii_isdigit(u)) non_numeric = true;
    } else {
      return false;
    }
    prev = c;
  }
  // An all-numeric name is an IPv4 address without brackets.
  return prev != '-' && non_numeric;
}

// Removes quoting from an address (Postfix's internal form): quotes go,
// backslash escapes are resolved. Returns nullopt for an unterminated quote
// or a control character.
std::optional<std::string> Unquote(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool quoted = false;
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) return std::nullopt;
    if (c == '"') {
      quoted = !quoted;
      continue;
    }
    if (c == '\\') {
      if (i + 1 >= s.size()) return std::nullopt;
      auto next = static_cast<unsigned char>(s[++i]);
      if (next < 0x20 || next == 0x7f) return std::nullopt;
      out += static_cast<char>(next);
      continue;
    }
    if (!quoted && (c == '<' || c == '>' || c == '(' || c == ')' || c == ',' || c == ';' ||
                    c == ' ' || c == '\t')) {
      return std::nullopt;
    }
    out += static_cast<char>(c);
  }
  if (quoted) return std::nullopt;
  return out;
}

// Position of the first occurrence of `ch` outside double quotes, or npos.
size_t FindUnquoted(std::string_view s, char ch, bool last) {
  size_t found = std::string_view::npos;
  bool quoted = false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
      continue;
    }
    if (s[i] == '"') {
      quoted = !quoted;
    } else if (!quoted && s[i] == ch) {
      found = i;
      if (!last) return found;
    }
  }
  return found;
}

SmtpVerb LookupVerb(std::string_view verb) {
  struct Entry {
    std::string_view name;
    SmtpVerb verb;
  };
  static constexpr std::array<Entry, 23> kVerbs = {{
      {"EHLO", SmtpVerb::kEhlo},
      {"HELO", SmtpVerb::kHelo},
      {"MAIL", SmtpVerb::kMail},
      {"RCPT", SmtpVerb::kRcpt},
      {"DATA", SmtpVerb::kData},
      {"RSET", SmtpVerb::kRset},
      {"NOOP", SmtpVerb::kNoop},
      {"QUIT", SmtpVerb::kQuit},
      {"VRFY", SmtpVerb::kVrfy},
      {"STARTTLS", SmtpVerb::kNotImplemented},
      {"AUTH", SmtpVerb::kNotImplemented},
      {"ETRN", SmtpVerb::kNotImplemented},
      {"BDAT", SmtpVerb::kNotImplemented},
      {"XCLIENT", SmtpVerb::kNotImplemented},
      {"XFORWARD", SmtpVerb::kNotImplemented},
      {"EXPN", SmtpVerb::kNotImplemented},
      {"HELP", SmtpVerb::kNotImplemented},
      {"TURN", SmtpVerb::kNotImplemented},
      {"ATRN", SmtpVerb::kNotImplemented},
      {"SEND", SmtpVerb::kNotImplemented},
      {"CONNECT", SmtpVerb::kForbidden},
      {"GET", SmtpVerb::kForbidden},
      {"POST", SmtpVerb::kForbidden},
  }};
  for (const Entry& e : kVerbs) {
    if (EqualsIgnoreCase(verb, e.name)) return e.verb;
  }
  return SmtpVerb::kUnknown;
}

// MAIL FROM: / RCPT TO: common part. `rest` follows the verb. Returns the
// words after the keyword's colon (address first), or nullopt when the
// keyword is missing or no address follows.
std::optional<std::vector<std::string_view>> SplitPathCommand(std::string_view rest,
                                                              std::string_view keyword) {
  size_t i = 0;
  while (i < rest.size() && IsSpace(rest[i])) ++i;
  rest.remove_prefix(i);
  if (rest.size() < keyword.size() || !EqualsIgnoreCase(rest.substr(0, keyword.size()), keyword)) {
    return std::nullopt;
  }
  std::vector<std::string_view> words = SplitWords(rest.substr(keyword.size()));
  if (words.empty()) return std::nullopt;
  return words;
}

void ParseMail(std::string_view rest, const SmtpCommandOptions& options, ParsedSmtpCommand* out) {
  auto words = SplitPathCommand(rest, "FROM:");
  if (!words) {
    out->reply = kMailSyntax;
    return;
  }
  std::optional<std::string> address =
      ExtractEnvelopeAddress((*words)[0], options.strict_rfc821_envelopes);
  if (!address) {
    out->reply = kBadSender;
    return;
  }
  out->command.address = std::move(*address);
  for (size_t i = 1; i < words->size(); ++i) {
    std::string_view param = (*words)[i];
    if (EqualsIgnoreCase(param, "BODY=8BITMIME")) {
      out->command.body = SmtpBody::k8BitMime;
    } else if (EqualsIgnoreCase(param, "BODY=7BIT")) {
      out->command.body = SmtpBody::k7Bit;
    } else if (param.size() >= 5 && EqualsIgnoreCase(param.substr(0, 5), "SIZE=")) {
      std::string_view digits = param.substr(5);
      uint64_t value = 0;
      bool ok = !digits.empty() && digits.size() <= 18;
      for (char c : digits) {
        if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) ok = false;
        if (ok) value = value * 10 + static_cast<uint64_t>(c - '0');
      }
      if (!ok) {
        out->reply = kBadSize;
        return;
      }
      out->command.size = value;
    } else {
      out->reply = "555 5.5.4 Unsupported option: " + Printable(param);
      return;
    }
  }
}

void ParseRcpt(std::string_view rest, const SmtpCommandOptions& options, ParsedSmtpCommand* out) {
  auto words = SplitPathCommand(rest, "TO:");
  if (!words) {
    out->reply = kRcptSyntax;
    return;
  }
  std::optional<std::string> address =
      ExtractEnvelopeAddress((*words)[0], options.strict_rfc821_envelopes);
  if (!address || address->empty()) {
    out->reply = kBadRecipient;
    return;
  }
  out->command.address = std::move(*address);
  if (words->size() > 1) {
    // No DSN (NOTIFY=, ORCPT=) is offered, so every RCPT parameter is
    // unsupported.
    out->reply = "555 5.5.4 Unsupported option: " + Printable((*words)[1]);
  }
}

}  // namespace

bool ValidEnvelopeDomain(std::string_view domain) {
  if (domain.size() >= 2 && domain.front() == '[' && domain.back() == ']') {
    std::string_view literal = domain.substr(1, domain.size() - 2);
    if (literal.size() > 5 && EqualsIgnoreCase(literal.substr(0, 5), "IPv6:")) {
      std::string text(literal.substr(5));
      unsigned char buf[16];
      return inet_pton(AF_INET6, text.c_str(), buf) == 1;
    }
    return ValidIpv4(literal);
  }
  return ValidHostname(domain);
}

std::optional<std::string> ExtractEnvelopeAddress(std::string_view token, bool strict) {
  std::string_view inner = token;
  size_t open = FindUnquoted(token, '<', false);
  size_t close = FindUnquoted(token, '>', true);
  if (open != std::string_view::npos || close != std::string_view::npos) {
    if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
      return std::nullopt;
    }
    // Only one <...> pair; anything around it is an RFC 822 phrase, which
    // only the lenient mode tolerates.
    if (FindUnquoted(token.substr(open + 1), '<', false) != std::string_view::npos) {
      return std::nullopt;
    }
    if (strict && (open != 0 || close != token.size() - 1)) return std::nullopt;
    inner = token.substr(open + 1, close - open - 1);
  } else if (strict) {
    return std::nullopt;
  }
  if (inner.empty()) return std::string();
  // Source route: @hosta,@hostb:user@hostc becomes user@hostc.
  if (inner.front() == '@') {
    size_t colon = FindUnquoted(inner, ':', false);
    if (colon == std::string_view::npos) return std::nullopt;
    inner.remove_prefix(colon + 1);
    if (inner.empty() || inner.front() == '@') return std::nullopt;
  }
  size_t at = FindUnquoted(inner, '@', true);
  if (at != std::string_view::npos) {
    if (at == 0 || !ValidEnvelopeDomain(inner.substr(at + 1))) return std::nullopt;
  }
  std::optional<std::string> address = Unquote(inner);
  if (!address || address->empty()) return std::nullopt;
  return address;
}

ParsedSmtpCommand ParseSmtpCommand(std::string_view line, const SmtpCommandOptions& options) {
  ParsedSmtpCommand out;
  if (line.find('\0') != std::string_view::npos) {
    out.reply = kBadSyntax;
    return out;
  }
  size_t i = 0;
  while (i < line.size() && IsSpace(line[i])) ++i;
  size_t verb_start = i;
  while (i < line.size() && !IsSpace(line[i])) ++i;
  std::string_view verb = line.substr(verb_start, i - verb_start);
  std::string_view rest = line.substr(i);
  if (verb.empty()) {
    out.reply = kBadSyntax;
    return out;
  }
  // A line whose first byte is not a letter is treated like the default
  // smtpd_forbidden_commands pattern /^[^A-Z]/.
  out.command.verb_text = std::string(verb);
  SmtpVerb kind = LookupVerb(verb);
  if (kind == SmtpVerb::kUnknown && !absl::ascii_isalpha(static_cast<unsigned char>(verb[0]))) {
    kind = SmtpVerb::kForbidden;
  }
  out.command.verb = kind;
  std::vector<std::string_view> words;
  switch (kind) {
    case SmtpVerb::kEhlo:
    case SmtpVerb::kHelo:
      words = SplitWords(rest);
      if (words.empty()) {
        out.reply =
            kind == SmtpVerb::kEhlo ? "501 Syntax: EHLO hostname" : "501 Syntax: HELO hostname";
        return out;
      }
      out.command.argument = JoinWords(words, 0);
      return out;
    case SmtpVerb::kMail:
      ParseMail(rest, options, &out);
      return out;
    case SmtpVerb::kRcpt:
      ParseRcpt(rest, options, &out);
      return out;
    case SmtpVerb::kData:
    case SmtpVerb::kRset:
      if (!SplitWords(rest).empty()) {
        out.reply = kind == SmtpVerb::kData ? "501 5.5.4 Syntax: DATA" : "501 5.5.4 Syntax: RSET";
      }
      return out;
    case SmtpVerb::kNoop:
    case SmtpVerb::kQuit:
      return out;
    case SmtpVerb::kVrfy: {
      if (options.disable_vrfy_command) {
        out.reply = "502 5.5.1 VRFY command is disabled";
        return out;
      }
      words = SplitWords(rest);
      if (words.empty()) {
        out.reply = options.smtputf8_enable ? "501 5.5.4 Syntax: VRFY address [SMTPUTF8]"
                                            : "501 5.5.4 Syntax: VRFY address";
        return out;
      }
      out.command.argument = JoinWords(words, 0);
      std::optional<std::string> address = ExtractEnvelopeAddress(out.command.argument, false);
      if (!address || address->empty()) {
        out.reply = kBadRecipient;
        return out;
      }
      out.command.address = std::move(*address);
      return out;
    }
    case SmtpVerb::kNotImplemented:
      out.reply = kNotImplemented;
      return out;
    case SmtpVerb::kForbidden:
      out.reply = kForbidden;
      return out;
    case SmtpVerb::kUnknown:
      out.reply = kNotRecognized;
      return out;
  }
  out.reply = kNotRecognized;
  return out;
}

}  // namespace posthaste::runtime
