// check_action.h: the actions of header_checks / body_checks results (spec §4.3).
//
// A pattern table used as header_checks answers a result text such as
// `REJECT 5.7.1 no thanks`; this file splits it into a verb and its text and
// says, per context, what Postfix does with it at run time: the compiler
// reports the problems at compile time (`phc check`), the message checker
// (message_checks.h) applies the effects. Shared by compiler and runtime;
// pure functions over strings.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace posthaste::tables {

enum class CheckVerb {
  kReject, kDiscard, kHold, kFilter, kRedirect, kBcc, kPass, kWarn, kInfo,
  kPrepend, kReplace, kIgnore, kStrip, kDunno, kOk,
  kUnknown,  // anything else: Postfix logs a warning and leaves the line alone
};

// Where a table's answers are used.
enum class CheckContext {
  kHeader,        // header_checks (cleanup, before queueing)
  kMimeHeader,    // mime_header_checks
  kNestedHeader,  // nested_header_checks
  kBody,          // body_checks
  kMilterHeader,  // milter_header_checks (headers Milters add)
  kSmtpHeader,    // smtp_header_checks, smtp_mime_header_checks, smtp_nested_header_checks
  kSmtpBody,      // smtp_body_checks (and the lmtp_ variants of all four)
  kLookup,        // any other use: results are data, not actions
};

// The context a parameter's tables are used in (kLookup for other names).
CheckContext CheckContextOf(std::string_view param_name);
bool IsHeaderContext(CheckContext context);

struct CheckAction {
  CheckVerb verb = CheckVerb::kUnknown;
  std::string verb_text;  // as written
  std::string text;       // the rest, leading blanks removed
};

// Splits `result` at the first blank; verbs are case-insensitive.
CheckAction ParseCheckAction(std::string_view result);
// "REJECT", "DISCARD", ...; "" for kUnknown.
std::string_view CheckVerbName(CheckVerb verb);
// The parameter a context's messages name ("header_checks", "body_checks" ...).
std::string_view CheckContextName(CheckContext context);

struct ActionProblem {
  bool error = false;   // an error refuses the build; a warning says what Postfix does
  std::string message;
};

// What is wrong with `action` in `context`: unknown verb, missing or
// malformed argument, an action the context does not support. Empty when
// Postfix carries it out as written. (Whether a FILTER transport exists in
// master.cf is the caller's check: see FilterTransport().)
std::vector<ActionProblem> CheckActionProblems(const CheckAction& action, CheckContext context);

// The transport of a FILTER action's `transport:destination`, or nullopt.
std::optional<std::string> FilterTransport(const CheckAction& action);

// True when `text` is a header line ("Name: value", name of printable
// ASCII without ':' or blanks).
bool LooksLikeHeader(std::string_view text);

// The SMTP reply for REJECT with `text`: "550 5.7.1 text" by default,
// "451 4.x.x text" when the text starts with a 4.x.x code; a code of any
// other class is forced to 4 (sets *forced). Empty text gives Postfix's
// "550 5.7.1 message content rejected".
std::string RejectReply(std::string_view text, bool* forced = nullptr);

}  // namespace posthaste::tables
