// checks_command.cc: `phc checks [-c DIR] [--message] < message`: what cleanup's checks would do.
//
// Opens the tables main.cf configures for header_checks, mime_header_checks,
// nested_header_checks and body_checks (with their defaults and $-expansion),
// runs the message from stdin through tables::CheckMessage (the same code
// the runtime's cleanup uses) and prints, one line per action taken, the
// answering rule's file:line, the action, the line it matched and the
// action's text; then the outcome. `--message` also prints the message as
// it would be queued (after PREPEND, REPLACE, IGNORE, STRIP).
// Exit 0 when the checks ran (whatever they decided), 2 when they could not.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>

#include "compiler/config_set.h"
#include "compiler/table_open.h"
#include "compiler/validate.h"
#include "tables/message_checks.h"
#include "tables/pattern_table.h"
#include "tools/commands.h"

namespace posthaste::tools {
namespace {

// A line as printed: embedded newlines of folded headers shown as "\n".
std::string Printable(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

int ChecksCommand(const std::vector<std::string>& argv) {
  std::string dir = "/etc/postfix";
  bool print_message = false;
  auto usage = [] {
    std::fputs("usage: phc checks [-c DIR] [--message] < message\n", stderr);
    return 2;
  };
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "-c" && i + 1 < argv.size()) {
      dir = argv[++i];
    } else if (a.rfind("-c", 0) == 0 && a.size() > 2) {
      dir = a.substr(2);
    } else if (a == "--message") {
      print_message = true;
    } else {
      std::fprintf(stderr, "phc checks: unknown argument \"%s\"\n", a.c_str());
      return usage();
    }
  }
  auto config = compiler::LoadConfig(dir, {}, true);
  if (!config->main_cf) {
    std::fprintf(stderr, "phc checks: open %s/main.cf: %s\n", dir.c_str(),
                 config->main_error.c_str());
    return 2;
  }
  auto value = [&](const std::string& name) -> std::string {
    std::optional<std::string> v = config->params->Value(name, compiler::ValueMode::kEffective);
    if (!v) return "";
    compiler::ExpandResult r = config->params->ExpandValue(*v, compiler::ValueMode::kEffective);
    return r.error ? *v : r.text;
  };
  auto number = [&](const std::string& name, size_t fallback) -> size_t {
    std::string v = value(name);
    if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos) return fallback;
    return static_cast<size_t>(std::stoull(v));
  };

  // Each table is opened once even when several classes name it.
  std::map<std::string, std::unique_ptr<tables::Table>> opened;
  auto open_list = [&](const std::string& param, std::vector<const tables::Table*>* out) -> bool {
    for (const compiler::ListItem& item : compiler::SplitListItems(value(param))) {
      auto it = opened.find(item.text);
      if (it == opened.end()) {
        compiler::OpenOptions options;
        compiler::OpenedTable t = compiler::OpenTable(item.text, options);
        for (const std::string& w : t.warnings)
          std::fprintf(stderr, "phc checks: warning: %s\n", w.c_str());
        if (!t.table) {
          std::fprintf(stderr, "phc checks: %s: %s\n", param.c_str(), t.fatal.c_str());
          return false;
        }
        it = opened.emplace(item.text, std::move(t.table)).first;
      }
      out->push_back(it->second.get());
    }
    return true;
  };
  tables::MessageCheckTables checks;
  if (!open_list("header_checks", &checks.header) ||
      !open_list("mime_header_checks", &checks.mime_header) ||
      !open_list("nested_header_checks", &checks.nested_header) ||
      !open_list("body_checks", &checks.body))
    return 2;
  checks.mime = value("disable_mime_input_processing") != "yes";
  checks.header_size_limit = number("header_size_limit", checks.header_size_limit);
  checks.body_checks_size_limit = number("body_checks_size_limit", checks.body_checks_size_limit);
  checks.line_length_limit = number("line_length_limit", checks.line_length_limit);

  std::string message((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  tables::CheckOutcome outcome = tables::CheckMessage(message, checks);

  for (const tables::CheckEvent& e : outcome.events) {
    std::string where;
    for (const auto& [spec, table] : opened)
      if (table.get() == e.table) where = spec;
    if (const auto* p = dynamic_cast<const tables::PatternTable*>(e.table); p && e.rule)
      where = p->source() + ":" + std::to_string(p->rules()[*e.rule].line);
    std::string word(tables::CheckLogWord(e.action.verb));
    if (e.action.verb == tables::CheckVerb::kUnknown) word = e.action.verb_text;
    std::printf("%s: %s: %s %s", where.c_str(), word.c_str(), e.header ? "header" : "body",
                Printable(e.line).c_str());
    if (!e.action.text.empty()) std::printf(": %s", Printable(e.action.text).c_str());
    if (!e.applied) std::printf(" (ignored: %s)", e.note.c_str());
    std::printf("\n");
  }
  switch (outcome.disposition) {
    case tables::CheckOutcome::Disposition::kAccept:
      std::printf("result: accept\n");
      break;
    case tables::CheckOutcome::Disposition::kReject:
      std::printf("result: reject: %s\n", outcome.reply.c_str());
      break;
    case tables::CheckOutcome::Disposition::kDiscard:
      std::printf("result: discard\n");
      break;
    case tables::CheckOutcome::Disposition::kTryAgain:
      std::printf("result: defer: %s\n", outcome.reply.c_str());
      break;
  }
  bool delivered = outcome.disposition == tables::CheckOutcome::Disposition::kAccept;
  if (delivered && outcome.hold) std::printf("hold: %s\n", outcome.hold_reason.c_str());
  if (delivered && outcome.redirect) std::printf("redirect: %s\n", outcome.redirect->c_str());
  if (delivered && outcome.filter && !outcome.redirect)
    std::printf("filter: %s\n", outcome.filter->c_str());
  if (delivered)
    for (const std::string& b : outcome.bcc) std::printf("bcc: %s\n", b.c_str());
  if (print_message) {
    std::printf("\n");
    std::fwrite(outcome.message.data(), 1, outcome.message.size(), stdout);
  }
  return 0;
}

}  // namespace posthaste::tools
