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
#include "tables/casefold.h"
#include "tables/message_walker.h"

namespace posthaste::runtime {
namespace {

constexpr std::string_view kBadSyntax = "500 5.5.2 Error: bad syntax";
constexpr std::string_view kNotRecognized = "500 5.5.2 Error: command not recognized";
constexpr std::string_view kNotImplemented = "502 5.5.1 Error: command not implemented";
constexpr std::string_view kMailSyntax = "501 5.5.4 Syntax: MAIL FROM:<address>";
constexpr std::string_view kRcptSyntax = "501 5.5.4 Syntax: RCPT TO:<address>";
constexpr std::string_view kBadSender = "501 5.1.7 Bad sender address syntax";
constexpr std::string_view kBadRecipient = "501 5.1.3 Bad recipient address syntax";
constexpr std::string_view kBadSize = "501 5.5.4 Bad message size syntax";
constexpr std::string_view kBadRet = "501 5.5.4 Bad RET parameter syntax";
constexpr std::string_view kBadEnvid = "501 5.5.4 Bad ENVID parameter syntax";
constexpr std::string_view kBadNotify = "501 5.5.4 Error: Bad NOTIFY parameter syntax";
constexpr std::string_view kBadOrcpt = "501 5.5.4 Error: Bad ORCPT parameter syntax";
constexpr std::string_view kBadUtf8 = "500 5.5.2 Error: bad UTF-8 syntax";

bool EqualsIgnoreCase(std::string_view a, std::string_view b);

bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsIgnoreCase(s.substr(0, prefix.size()), prefix);
}

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
// <"john doe"@example.com> stays one word, and so does an address in angle
// brackets: "< a@example.com >" is one word, as Postfix's smtpd reads it.
std::vector<std::string_view> SplitWords(std::string_view s) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && IsSpace(s[i])) ++i;
    if (i >= s.size()) break;
    size_t start = i;
    bool quoted = false;
    bool bracketed = false;
    while (i < s.size() && (quoted || bracketed || !IsSpace(s[i]))) {
      if (s[i] == '\\' && i + 1 < s.size()) {
        i += 2;
        continue;
      }
      if (s[i] == '"') {
        quoted = !quoted;
      } else if (!quoted && s[i] == '<') {
        // Only when a '>' follows: a lone '<' does not swallow the line.
        bracketed = s.find('>', i) != std::string_view::npos;
      } else if (!quoted && s[i] == '>') {
        bracketed = false;
      }
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
  static constexpr std::array<Entry, 18> kVerbs = {{
      {"EHLO", SmtpVerb::kEhlo},
      {"HELO", SmtpVerb::kHelo},
      {"MAIL", SmtpVerb::kMail},
      {"RCPT", SmtpVerb::kRcpt},
      {"DATA", SmtpVerb::kData},
      {"RSET", SmtpVerb::kRset},
      {"NOOP", SmtpVerb::kNoop},
      {"QUIT", SmtpVerb::kQuit},
      {"VRFY", SmtpVerb::kVrfy},
      {"ETRN", SmtpVerb::kEtrn},
      {"STARTTLS", SmtpVerb::kNotImplemented},
      {"BDAT", SmtpVerb::kBdat},
      {"AUTH", SmtpVerb::kAuth},
      {"XCLIENT", SmtpVerb::kUnauthorized},
      {"XFORWARD", SmtpVerb::kUnauthorized},
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
    } else if (StartsWithIgnoreCase(param, "AUTH=")) {
      // SASL is off: the AUTH= parameter is accepted and ignored.
    } else if (options.smtputf8_enable && EqualsIgnoreCase(param, "SMTPUTF8")) {
      out->command.smtputf8 = true;
    } else if (options.dsn_enable && StartsWithIgnoreCase(param, "RET=")) {
      std::string_view value = param.substr(4);
      if (out->command.dsn_ret != DsnRet::kUnspecified) {
        out->reply = kBadRet;
        return;
      }
      if (EqualsIgnoreCase(value, "FULL")) {
        out->command.dsn_ret = DsnRet::kFull;
      } else if (EqualsIgnoreCase(value, "HDRS")) {
        out->command.dsn_ret = DsnRet::kHeaders;
      } else {
        out->reply = kBadRet;
        return;
      }
    } else if (options.dsn_enable && StartsWithIgnoreCase(param, "ENVID=")) {
      std::optional<std::string> envid = DecodeXtext(param.substr(6));
      if (!out->command.dsn_envid.empty() || !envid || envid->empty()) {
        out->reply = kBadEnvid;
        return;
      }
      out->command.dsn_envid = std::move(*envid);
    } else {
      out->reply = "555 5.5.4 Unsupported option: " + Printable(param);
      return;
    }
  }
}

// NOTIFY= value: NEVER alone, or a comma list of SUCCESS, FAILURE, DELAY.
// Returns 0 when the value is not valid.
uint8_t ParseNotify(std::string_view value) {
  uint8_t mask = 0;
  size_t i = 0;
  while (i <= value.size()) {
    size_t comma = value.find(',', i);
    if (comma == std::string_view::npos) comma = value.size();
    std::string_view word = value.substr(i, comma - i);
    i = comma + 1;
    if (word.empty()) continue;
    if (EqualsIgnoreCase(word, "NEVER")) {
      mask |= kDsnNotifyNever;
    } else if (EqualsIgnoreCase(word, "SUCCESS")) {
      mask |= kDsnNotifySuccess;
    } else if (EqualsIgnoreCase(word, "FAILURE")) {
      mask |= kDsnNotifyFailure;
    } else if (EqualsIgnoreCase(word, "DELAY")) {
      mask |= kDsnNotifyDelay;
    } else {
      return 0;
    }
  }
  if ((mask & kDsnNotifyNever) && mask != kDsnNotifyNever) return 0;
  return mask;
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
  for (size_t i = 1; i < words->size(); ++i) {
    std::string_view param = (*words)[i];
    if (options.dsn_enable && StartsWithIgnoreCase(param, "NOTIFY=")) {
      uint8_t mask = out->command.dsn_notify ? 0 : ParseNotify(param.substr(7));
      if (mask == 0) {
        out->reply = kBadNotify;
        return;
      }
      out->command.dsn_notify = mask;
    } else if (options.dsn_enable && StartsWithIgnoreCase(param, "ORCPT=")) {
      // addr-type ";" xtext; the type is an atom (rfc822, utf-8 ...).
      std::string_view value = param.substr(6);
      size_t semi = value.find(';');
      std::string_view type = semi == std::string_view::npos ? "" : value.substr(0, semi);
      bool type_ok = !type.empty();
      for (char c : type)
        if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') type_ok = false;
      std::optional<std::string> orcpt;
      if (type_ok) orcpt = DecodeXtext(value.substr(semi + 1));
      if (!out->command.dsn_orcpt.empty() || !orcpt || orcpt->empty()) {
        out->reply = kBadOrcpt;
        return;
      }
      out->command.dsn_orcpt = std::string(type) + ";" + *orcpt;
    } else {
      out->reply = "555 5.5.4 Unsupported option: " + Printable(param);
      return;
    }
  }
}

}  // namespace

std::optional<std::string> DecodeXtext(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == '+') {
      if (i + 2 >= text.size()) return std::nullopt;
      auto hex = [](unsigned char h) -> int {
        if (h >= '0' && h <= '9') return h - '0';
        if (h >= 'A' && h <= 'F') return h - 'A' + 10;
        if (h >= 'a' && h <= 'f') return h - 'a' + 10;
        return -1;
      };
      int hi = hex(static_cast<unsigned char>(text[i + 1]));
      int lo = hex(static_cast<unsigned char>(text[i + 2]));
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<unsigned char>(hi * 16 + lo);
      i += 2;
    } else if (c < '!' || c > '~' || c == '=') {
      return std::nullopt;
    }
    if (c < 0x20 || c >= 0x7f) return std::nullopt;
    out.push_back(static_cast<char>(c));
  }
  return out;
}

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

namespace {

// Drops what RFC 822 lets surround an address and Postfix's parser ignores:
// (comments) outside quotes, and blanks at either end ("< a@b >"). Blanks
// between the words of an address ("<a b@c>") are left for the address
// check to refuse, as Postfix does. Backslash escapes and quoted strings
// are kept as they are. nullopt for an unbalanced comment.
std::optional<std::string> DropBlanksAndComments(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool quoted = false;
  int depth = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\\' && i + 1 < s.size()) {
      if (depth == 0) {
        out += c;
        out += s[i + 1];
      }
      ++i;
      continue;
    }
    if (depth > 0) {
      if (c == '(') ++depth;
      if (c == ')') --depth;
      continue;
    }
    if (c == '"') quoted = !quoted;
    if (!quoted) {
      if (c == '(') {
        depth = 1;
        continue;
      }
    }
    out += c;
  }
  if (depth != 0 || quoted) return std::nullopt;
  size_t first = 0;
  while (first < out.size() && IsSpace(out[first])) ++first;
  size_t last = out.size();
  while (last > first && IsSpace(out[last - 1])) --last;
  return out.substr(first, last - first);
}

// What may follow the address's closing '>' in the same word: more '>',
// list separators and comments, nothing else ("<a@b>x" and "<a@b>:" are
// refused by Postfix, "<a@b>," and "<a@b>(note)" pass).
bool HarmlessTail(std::string_view tail) {
  std::optional<std::string> rest = DropBlanksAndComments(tail);
  if (!rest) return false;
  for (char c : *rest)
    if (c != '>' && c != ',' && c != ';') return false;
  return true;
}

}  // namespace

std::optional<std::string> ExtractEnvelopeAddress(std::string_view token, bool strict) {
  std::string_view inner = token;
  size_t open = FindUnquoted(token, '<', false);
  if (strict) {
    size_t close = FindUnquoted(token, '>', true);
    if (open != 0 || close == std::string_view::npos || close != token.size() - 1) {
      return std::nullopt;
    }
    inner = token.substr(1, token.size() - 2);
    if (FindUnquoted(inner, '<', false) != std::string_view::npos ||
        FindUnquoted(inner, '>', false) != std::string_view::npos) {
      return std::nullopt;
    }
  } else {
    // Anything before the first '<' is an RFC 822 phrase; extra '<' and '>'
    // around the address are tolerated, as Postfix does.
    if (open != std::string_view::npos) {
      inner = token.substr(open);
      size_t opens = 0;
      while (!inner.empty() && inner.front() == '<') {
        inner.remove_prefix(1);
        ++opens;
      }
      size_t close = FindUnquoted(inner, '>', false);
      if (close == std::string_view::npos) return std::nullopt;
      // Each '<' needs its '>' ("<<a@b>>" passes, "<<a@b>" does not).
      size_t closes = 0;
      while (close + closes < inner.size() && inner[close + closes] == '>') ++closes;
      if (closes < opens || !HarmlessTail(inner.substr(close))) return std::nullopt;
      inner = inner.substr(0, close);
    } else if (size_t close = FindUnquoted(token, '>', false); close != std::string_view::npos) {
      if (!HarmlessTail(token.substr(close))) return std::nullopt;
      inner = token.substr(0, close);
    }
  }
  // Inside brackets, blanks and comments go; a bare address keeps them (and
  // is refused for them: "VRFY a b c" is three words, not one address).
  std::optional<std::string> cleaned =
      open != std::string_view::npos ? DropBlanksAndComments(inner) : std::string(inner);
  if (!cleaned) return std::nullopt;
  std::string_view rest = *cleaned;
  if (rest.empty()) return std::string();
  // Source route: @hosta,@hostb:user@hostc becomes user@hostc. What starts
  // with '@' and is left without a local part ("@domain", also after a
  // route) is an empty local part at that domain, as Postfix reads it
  // (logged as ""@domain); "@" alone is refused.
  bool route_form = rest.front() == '@';
  if (route_form) {
    size_t colon = FindUnquoted(rest, ':', false);
    if (colon != std::string_view::npos) rest.remove_prefix(colon + 1);
    if (rest.empty()) return std::nullopt;
  }
  size_t at = FindUnquoted(rest, '@', true);
  if (at != std::string_view::npos) {
    if ((at == 0 && !route_form) || !ValidEnvelopeDomain(rest.substr(at + 1))) return std::nullopt;
  }
  // <""> is the null address.
  return Unquote(rest);
}

std::string_view SmtpCommandWord(std::string_view line) {
  size_t i = 0;
  while (i < line.size() && IsSpace(line[i])) ++i;
  size_t start = i;
  while (i < line.size() && !IsSpace(line[i])) ++i;
  return line.substr(start, i - start);
}

ParsedSmtpCommand ParseSmtpCommand(std::string_view line, const SmtpCommandOptions& options) {
  ParsedSmtpCommand out;
  if (line.find('\0') != std::string_view::npos) {
    out.reply = kBadSyntax;
    return out;
  }
  if (options.smtputf8_enable && !tables::IsValidUtf8(line)) {
    out.reply = kBadUtf8;
    return out;
  }
  std::string_view verb = SmtpCommandWord(line);
  std::string_view rest = line.substr(verb.data() - line.data() + verb.size());
  if (verb.empty()) {
    out.reply = kBadSyntax;
    return out;
  }
  // A line whose first byte is not a letter is treated like the default
  // smtpd_forbidden_commands pattern /^[^A-Z]/.
  out.command.verb_text = std::string(verb);
  SmtpVerb kind = LookupVerb(verb);
  if (kind == SmtpVerb::kForbidden && !options.builtin_forbidden_commands) kind = SmtpVerb::kUnknown;
  // A first word like "Subject:" is a message header sent as a command (a
  // client that ignored a refused DATA): Postfix hangs up on it as well.
  if (kind == SmtpVerb::kUnknown &&
      ((options.builtin_forbidden_commands &&
        !absl::ascii_isalpha(static_cast<unsigned char>(verb[0]))) ||
       tables::HeaderNameLength(verb) > 0)) {
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
    case SmtpVerb::kEtrn:
      out.command.argument = JoinWords(SplitWords(rest), 0);
      return out;
    case SmtpVerb::kBdat: {
      words = SplitWords(rest);
      bool ok = !words.empty() && words.size() <= 2 && !words[0].empty() && words[0].size() <= 18;
      uint64_t count = 0;
      for (size_t k = 0; ok && k < words[0].size(); ++k) {
        if (!absl::ascii_isdigit(static_cast<unsigned char>(words[0][k]))) ok = false;
        count = count * 10 + static_cast<uint64_t>(words[0][k] - '0');
      }
      if (ok && words.size() == 2) ok = EqualsIgnoreCase(words[1], "LAST");
      if (!ok) {
        out.reply = "521 5.5.4 Syntax: BDAT count [LAST]";
        return out;
      }
      out.command.size = count;
      out.command.last = words.size() == 2;
      return out;
    }
    case SmtpVerb::kNotImplemented:
      out.reply = kNotImplemented;
      return out;
    case SmtpVerb::kAuth:
      out.reply = "503 5.5.1 Error: authentication not enabled";
      return out;
    case SmtpVerb::kUnauthorized:
      out.reply = "550 5.7.0 Error: insufficient authorization";
      return out;
    case SmtpVerb::kForbidden:
      out.reply = kForbiddenCommandReply;
      return out;
    case SmtpVerb::kUnknown:
      out.reply = kNotRecognized;
      return out;
  }
  out.reply = kNotRecognized;
  return out;
}

}  // namespace posthaste::runtime
