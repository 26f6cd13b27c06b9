// message_checks.h: header_checks, mime_header_checks, nested_header_checks and body_checks applied to a message.
//
// What cleanup does before a message is queued (spec §4): each logical
// header goes to the table for its class (primary headers to header_checks,
// MIME headers at any level to mime_header_checks, headers of attached
// messages to nested_header_checks), each body line to body_checks (empty
// lines are not looked up; only the first body_checks_size_limit bytes of
// each part; long lines in line_length_limit chunks), the first matching
// rule's action takes effect: REJECT, DISCARD, REDIRECT and PASS end all
// inspection; HOLD, FILTER, BCC, WARN, INFO, DUNNO/OK are recorded; PREPEND,
// REPLACE, IGNORE and STRIP edit the message. Used by `phc checks` and
// `phc route -H` now and by the runtime's cleanup. The message is untrusted
// input; tables are borrowed and must outlive the call.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tables/check_action.h"
#include "tables/lookup.h"
#include "tables/message_walker.h"

namespace posthaste::tables {

// Each class is a list searched in order, as Postfix searches a parameter's
// tables: the first table with an answer gives the action.
struct MessageCheckTables {
  std::vector<const Table*> header;         // header_checks
  std::vector<const Table*> mime_header;    // mime_header_checks
  std::vector<const Table*> nested_header;  // nested_header_checks
  std::vector<const Table*> body;           // body_checks
  bool mime = true;                      // disable_mime_input_processing = no
  size_t header_size_limit = 102400;
  size_t body_checks_size_limit = 51200;
  size_t line_length_limit = 2048;
};

// One action taken (or refused) on one line.
struct CheckEvent {
  CheckAction action;
  CheckContext context = CheckContext::kHeader;
  bool header = true;         // a header (else a body line)
  std::string line;           // the line as looked up
  const Table* table = nullptr;
  std::optional<size_t> rule;  // the answering rule, for pattern tables
  bool applied = true;         // false: Postfix logs a warning and ignores it
  std::string note;            // why it was not applied
};

struct CheckOutcome {
  enum class Disposition { kAccept, kReject, kDiscard, kTryAgain };
  Disposition disposition = Disposition::kAccept;
  std::string reply;  // kReject / kTryAgain: the SMTP reply ("550 5.7.1 ...")
  bool hold = false;
  std::string hold_reason;
  std::optional<std::string> filter;    // the last FILTER's transport:destination
  std::optional<std::string> redirect;  // the last REDIRECT's address
  std::vector<std::string> bcc;         // BCC recipients, first occurrence order
  std::vector<CheckEvent> events;       // every action, in message order
  std::string message;                  // the message after the edits
};

CheckOutcome CheckMessage(std::string_view message, const MessageCheckTables& tables);

// The word Postfix logs for an action ("reject", "warning", ...).
std::string_view CheckLogWord(CheckVerb verb);

}  // namespace posthaste::tables
