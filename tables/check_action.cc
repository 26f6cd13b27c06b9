// check_action.cc: action verbs, their arguments, and what each context allows.
#include "tables/check_action.h"

#include <strings.h>

#include <cctype>

namespace posthaste::tables {
namespace {

struct VerbName {
  CheckVerb verb;
  std::string_view name;
};
constexpr VerbName kVerbs[] = {
    {CheckVerb::kReject, "REJECT"},   {CheckVerb::kDiscard, "DISCARD"},
    {CheckVerb::kHold, "HOLD"},       {CheckVerb::kFilter, "FILTER"},
    {CheckVerb::kRedirect, "REDIRECT"}, {CheckVerb::kBcc, "BCC"},
    {CheckVerb::kPass, "PASS"},       {CheckVerb::kWarn, "WARN"},
    {CheckVerb::kInfo, "INFO"},       {CheckVerb::kPrepend, "PREPEND"},
    {CheckVerb::kReplace, "REPLACE"}, {CheckVerb::kIgnore, "IGNORE"},
    {CheckVerb::kStrip, "STRIP"},     {CheckVerb::kDunno, "DUNNO"},
    {CheckVerb::kOk, "OK"},
};

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Parameter names and their contexts; the first name of a context is the
// one messages use.
struct ContextName {
  std::string_view param;
  CheckContext context;
};
constexpr ContextName kContextNames[] = {
    {"header_checks", CheckContext::kHeader},
    {"mime_header_checks", CheckContext::kMimeHeader},
    {"nested_header_checks", CheckContext::kNestedHeader},
    {"body_checks", CheckContext::kBody},
    {"milter_header_checks", CheckContext::kMilterHeader},
    {"smtp_header_checks", CheckContext::kSmtpHeader},
    {"smtp_mime_header_checks", CheckContext::kSmtpHeader},
    {"smtp_nested_header_checks", CheckContext::kSmtpHeader},
    {"lmtp_header_checks", CheckContext::kSmtpHeader},
    {"lmtp_mime_header_checks", CheckContext::kSmtpHeader},
    {"lmtp_nested_header_checks", CheckContext::kSmtpHeader},
    {"smtp_body_checks", CheckContext::kSmtpBody},
    {"lmtp_body_checks", CheckContext::kSmtpBody},
};

std::string_view NameOf(CheckContext context) {
  for (const ContextName& c : kContextNames)
    if (c.context == context) return c.param;
  return "lookup";
}

// A DSN status "d.ddd.ddd" at the start of `text`, followed by a blank or
// the end: its length, or 0.
size_t DsnLength(std::string_view text) {
  size_t i = 0;
  auto digits = [&](size_t min, size_t max) {
    size_t n = 0;
    while (i < text.size() && isdigit(static_cast<unsigned char>(text[i])) && n < max) ++i, ++n;
    return n >= min;
  };
  if (!digits(1, 1) || i >= text.size() || text[i++] != '.') return 0;
  if (!digits(1, 3) || i >= text.size() || text[i++] != '.') return 0;
  if (!digits(1, 3)) return 0;
  if (i < text.size() && !IsBlank(text[i])) return 0;
  return i;
}

}  // namespace

CheckContext CheckContextOf(std::string_view name) {
  for (const ContextName& c : kContextNames)
    if (c.param == name) return c.context;
  return CheckContext::kLookup;
}

bool IsHeaderContext(CheckContext c) {
  return c == CheckContext::kHeader || c == CheckContext::kMimeHeader ||
         c == CheckContext::kNestedHeader || c == CheckContext::kMilterHeader ||
         c == CheckContext::kSmtpHeader;
}

CheckAction ParseCheckAction(std::string_view result) {
  CheckAction a;
  size_t start = 0;
  while (start < result.size() && IsBlank(result[start])) ++start;
  size_t end = start;
  while (end < result.size() && !IsBlank(result[end])) ++end;
  a.verb_text = std::string(result.substr(start, end - start));
  size_t text = end;
  while (text < result.size() && IsBlank(result[text])) ++text;
  a.text = std::string(result.substr(text));
  for (const VerbName& v : kVerbs)
    if (v.name.size() == a.verb_text.size() &&
        strncasecmp(v.name.data(), a.verb_text.data(), v.name.size()) == 0)
      a.verb = v.verb;
  return a;
}

std::string_view CheckVerbName(CheckVerb verb) {
  for (const VerbName& v : kVerbs)
    if (v.verb == verb) return v.name;
  return "";
}

bool LooksLikeHeader(std::string_view text) {
  size_t n = 0;
  while (n < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[n]);
    if (c <= 32 || c >= 127 || c == ':') break;
    ++n;
  }
  return n > 0 && n < text.size() && text[n] == ':';
}

std::optional<std::string> FilterTransport(const CheckAction& action) {
  if (action.verb != CheckVerb::kFilter) return std::nullopt;
  size_t colon = action.text.find(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  return action.text.substr(0, colon);
}

std::string_view CheckContextName(CheckContext context) { return NameOf(context); }

std::vector<ActionProblem> CheckActionProblems(const CheckAction& action, CheckContext context) {
  std::vector<ActionProblem> out;
  if (context == CheckContext::kLookup) return out;
  std::string where(NameOf(context));
  auto warn = [&](std::string message) { out.push_back({false, std::move(message)}); };
  bool smtp = context == CheckContext::kSmtpHeader || context == CheckContext::kSmtpBody;
  const std::string& verb = action.verb_text;
  switch (action.verb) {
    case CheckVerb::kUnknown:
      warn("unknown action \"" + verb + "\" in " + where +
           ": Postfix logs a warning and passes the line unchanged");
      return out;
    case CheckVerb::kReject:
    case CheckVerb::kDiscard:
    case CheckVerb::kHold:
    case CheckVerb::kFilter:
    case CheckVerb::kRedirect:
    case CheckVerb::kBcc:
    case CheckVerb::kPass:
      if (smtp) {
        warn("action " + verb + " is not supported in " + where +
             " (delivery time): Postfix logs a warning and passes the line unchanged");
        return out;
      }
      break;
    default:
      break;
  }
  switch (action.verb) {
    case CheckVerb::kReject:
      if (size_t n = DsnLength(action.text); n > 0 && action.text[0] != '4' && action.text[0] != '5')
        warn("REJECT status \"" + action.text.substr(0, n) +
             "\" is neither 4.x.x nor 5.x.x: Postfix replies with a 4.x.x temporary error");
      break;
    case CheckVerb::kFilter:
      if (action.text.empty() || action.text.find(':') == std::string::npos ||
          action.text[0] == ':')
        warn("FILTER needs transport:destination, got \"" + action.text +
             "\": Postfix logs a warning and ignores the action");
      break;
    case CheckVerb::kRedirect:
    case CheckVerb::kBcc:
      if (action.text.find('@') == std::string::npos)
        warn(verb + " needs user@domain, got \"" + action.text +
             "\": Postfix logs a warning and ignores the action");
      break;
    case CheckVerb::kPrepend:
      if (context == CheckContext::kMilterHeader) {
        warn("PREPEND is not supported in milter_header_checks: Postfix logs a warning and "
             "ignores the action");
        break;
      }
      [[fallthrough]];
    case CheckVerb::kReplace:
      if (action.text.empty()) {
        warn(verb + " without text: Postfix logs a warning and ignores the action");
      } else if (IsHeaderContext(context) && !LooksLikeHeader(action.text)) {
        warn(verb + " text \"" + action.text +
             "\" is not a header (Name: value): Postfix logs a warning and ignores the action");
      }
      break;
    default:
      break;
  }
  return out;
}

std::string RejectReply(std::string_view text, bool* forced) {
  if (forced) *forced = false;
  if (text.empty()) return "550 5.7.1 message content rejected";
  size_t n = DsnLength(text);
  if (n == 0) return "550 5.7.1 " + std::string(text);
  std::string t(text);
  if (t[0] != '4' && t[0] != '5') {
    t[0] = '4';
    if (forced) *forced = true;
  }
  return (t[0] == '4' ? "451 " : "550 ") + t;
}

}  // namespace posthaste::tables
