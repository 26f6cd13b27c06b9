// message_checks.cc: the effect of every header/body check action on one message.
#include "tables/message_checks.h"

#include <strings.h>

#include <algorithm>

#include "tables/pattern_table.h"

namespace posthaste::tables {
namespace {

// Headers that belong to mime_header_checks even in the primary header.
bool IsMimeHeaderName(std::string_view header) {
  static constexpr std::string_view kNames[] = {
      "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
      "Content-Disposition", "Content-ID", "Content-Description"};
  size_t colon = header.find(':');
  if (colon == std::string_view::npos) return false;
  std::string_view name = header.substr(0, colon);
  for (std::string_view n : kNames)
    if (n.size() == name.size() && strncasecmp(n.data(), name.data(), n.size()) == 0) return true;
  return false;
}

class Checker {
 public:
  explicit Checker(const MessageCheckTables& tables) : tables_(tables) {}

  CheckOutcome Run(std::string_view message) {
    WalkOptions options;
    options.mime = tables_.mime;
    options.header_size_limit = tables_.header_size_limit;
    options.on_part_body = [this] { part_bytes_ = 0; };
    WalkMessage(message, options, [this](MessagePart part, std::string_view text) {
      if (part == MessagePart::kBody) {
        Body(text);
      } else {
        Header(part, text);
      }
      return true;
    });
    return std::move(out_);
  }

 private:
  bool stopped() const {
    return out_.disposition != CheckOutcome::Disposition::kAccept || passed_ ||
           out_.redirect.has_value();
  }

  void Header(MessagePart part, std::string_view line) {
    const std::vector<const Table*>* table = &tables_.header;
    CheckContext context = CheckContext::kHeader;
    if (IsMimeHeaderName(line) || part == MessagePart::kMimeHeader) {
      table = &tables_.mime_header;
      context = CheckContext::kMimeHeader;
    } else if (part == MessagePart::kNestedHeader) {
      table = &tables_.nested_header;
      context = CheckContext::kNestedHeader;
    }
    std::string edited;
    if (!Inspect(table, context, true, line, &edited)) Emit(line);
    else out_.message += edited;
  }

  void Body(std::string_view line) {
    if (line.empty() || tables_.body.empty() || part_bytes_ >= tables_.body_checks_size_limit) {
      part_bytes_ += line.size() + 1;
      Emit(line);
      return;
    }
    part_bytes_ += line.size() + 1;
    // Long lines reach the checks in line_length_limit pieces.
    size_t chunk = std::max<size_t>(tables_.line_length_limit, 1);
    std::string rebuilt, prepended;
    for (size_t at = 0; at < line.size(); at += chunk) {
      std::string_view piece = line.substr(at, chunk);
      std::string edited;
      if (!Inspect(&tables_.body, CheckContext::kBody, false, piece, &edited)) {
        rebuilt.append(piece);
        continue;
      }
      // `edited` holds zero or more complete lines: prepended lines, then
      // the piece (replaced or not), newline-terminated, or nothing.
      size_t last = edited.size() < 2 ? std::string::npos : edited.rfind('\n', edited.size() - 2);
      std::string own = last == std::string::npos ? edited : edited.substr(last + 1);
      if (last != std::string::npos) prepended += edited.substr(0, last + 1);
      if (!own.empty()) rebuilt.append(own.substr(0, own.size() - 1));
    }
    out_.message += prepended;
    if (rebuilt.empty()) return;  // every piece was removed (IGNORE, STRIP)
    Emit(rebuilt);
  }

  void Emit(std::string_view line) {
    out_.message.append(line);
    out_.message.push_back('\n');
  }

  // Looks `line` up and applies the action. False when the line goes out
  // unchanged; else *edited holds what replaces it (complete lines).
  bool Inspect(const std::vector<const Table*>* tables, CheckContext context, bool header,
               std::string_view line, std::string* edited) {
    if (stopped()) return false;
    for (const Table* table : *tables)
      if (std::optional<bool> changed = InspectOne(table, context, header, line, edited))
        return *changed;
    return false;
  }

  // nullopt when `table` has no answer for `line`.
  std::optional<bool> InspectOne(const Table* table, CheckContext context, bool header,
                                 std::string_view line, std::string* edited) {
    CheckEvent event;
    std::string value;
    if (const auto* patterns = dynamic_cast<const PatternTable*>(table)) {
      std::optional<PatternTable::Hit> hit = patterns->Find(line);
      if (!hit) return std::nullopt;
      event.rule = hit->rule;
      value = std::move(hit->result);
    } else {
      std::string key(line);
      if (table->FoldsCase())
        std::transform(key.begin(), key.end(), key.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      LookupResult r = table->Lookup(key);
      if (r.status == LookupStatus::kTryAgain) {
        out_.disposition = CheckOutcome::Disposition::kTryAgain;
        out_.reply = "451 4.3.0 Error: temporary lookup failure in header or body checks";
        return false;
      }
      if (!r.found()) return std::nullopt;
      value = std::move(r.value);
    }
    event.action = ParseCheckAction(value);
    event.context = context;
    event.header = header;
    event.line = std::string(line);
    event.table = table;
    std::vector<ActionProblem> problems = CheckActionProblems(event.action, context);
    if (!problems.empty()) {
      event.applied = false;
      event.note = problems.front().message;
      // A REJECT with an odd status class is carried out, with a 4.x.x code.
      if (event.action.verb == CheckVerb::kReject) event.applied = true;
    }
    bool changed = false;
    if (event.applied) changed = Apply(event, line, edited);
    bool first_hold = event.action.verb != CheckVerb::kHold || !logged_hold_;
    if (event.action.verb == CheckVerb::kHold && event.applied) logged_hold_ = true;
    if (first_hold) out_.events.push_back(std::move(event));
    return changed;
  }

  bool Apply(const CheckEvent& event, std::string_view line, std::string* edited) {
    const std::string& text = event.action.text;
    switch (event.action.verb) {
      case CheckVerb::kReject:
        out_.disposition = CheckOutcome::Disposition::kReject;
        out_.reply = RejectReply(text);
        return false;
      case CheckVerb::kDiscard:
        out_.disposition = CheckOutcome::Disposition::kDiscard;
        return false;
      case CheckVerb::kHold:
        if (!out_.hold) out_.hold_reason = text;
        out_.hold = true;
        return false;
      case CheckVerb::kFilter:
        out_.filter = text;
        return false;
      case CheckVerb::kRedirect:
        out_.redirect = text;
        return false;
      case CheckVerb::kBcc:
        if (std::find(out_.bcc.begin(), out_.bcc.end(), text) == out_.bcc.end())
          out_.bcc.push_back(text);
        return false;
      case CheckVerb::kPass:
        passed_ = true;
        return false;
      case CheckVerb::kPrepend:
        *edited = text + "\n" + std::string(line) + "\n";
        return true;
      case CheckVerb::kReplace:
        *edited = text + "\n";
        return true;
      case CheckVerb::kIgnore:
      case CheckVerb::kStrip:
        edited->clear();
        return true;
      default:  // WARN, INFO, DUNNO, OK: logged only
        return false;
    }
  }

  const MessageCheckTables& tables_;
  CheckOutcome out_;
  size_t part_bytes_ = 0;
  bool passed_ = false;
  bool logged_hold_ = false;
};

}  // namespace

CheckOutcome CheckMessage(std::string_view message, const MessageCheckTables& tables) {
  return Checker(tables).Run(message);
}

std::string_view CheckLogWord(CheckVerb verb) {
  switch (verb) {
    case CheckVerb::kReject: return "reject";
    case CheckVerb::kDiscard: return "discard";
    case CheckVerb::kHold: return "hold";
    case CheckVerb::kFilter: return "filter";
    case CheckVerb::kRedirect: return "redirect";
    case CheckVerb::kBcc: return "bcc";
    case CheckVerb::kPass: return "pass";
    case CheckVerb::kWarn: return "warning";
    case CheckVerb::kInfo: return "info";
    case CheckVerb::kPrepend: return "prepend";
    case CheckVerb::kReplace: return "replace";
    case CheckVerb::kIgnore: return "ignore";
    case CheckVerb::kStrip: return "strip";
    case CheckVerb::kDunno: return "dunno";
    case CheckVerb::kOk: return "ok";
    case CheckVerb::kUnknown: return "unknown";
  }
  return "";
}

}  // namespace posthaste::tables
