// route_command.cc: `phc route`: what happens to a message, one line per delivery.
//
//   phc route [-c DIR | --bundle DIR] [-f SENDER] [-H 'Name: value']...
//             [--explain] [--disasm] [--engine=reference|vm] RCPT...
//
// With -c (default /etc/postfix) the configuration is read, checked as
// `phc check` does (errors: diagnostics on stderr, exit 1) and routed by the reference evaluator (compiler/
// route_eval.h) over tables opened from their sources; --engine=vm compiles
// the routing program in memory, verifies it and runs the VM instead. With
// --bundle the published generation is loaded through the verified loader
// and its `route` program runs on the VM over the bundle's tables. Output
// (stdout): one line per delivery, TAB-separated
//   to=<final>  [orig_to=<original>]  transport=<service>  nexthop=<hop>  source=<bind or ->
// sorted by (to, transport, nexthop); a recipient whose routing defers is
// shown with transport=retry and the reason as next hop. --explain adds the
// decisions under each line with the file:line of each setting; --disasm
// prints the program instead of routing. Exit 0, 1 (configuration errors),
// 2 (usage, unreadable configuration or bundle).
#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <regex>

#include "compiler/config_set.h"
#include "compiler/diagnostics.h"
#include "compiler/route_codegen.h"
#include "compiler/route_eval.h"
#include "compiler/route_model.h"
#include "compiler/table_open.h"
#include "compiler/table_source.h"
#include "compiler/validate.h"
#include "tables/bundle_loader.h"
#include "tables/message_checks.h"
#include "tables/route_verifier.h"
#include "tables/route_vm.h"
#include "tools/commands.h"

namespace posthaste::tools {
namespace {

constexpr char kUsage[] =
    "usage: phc route [-c DIR | --bundle DIR] [-f SENDER] [-H 'Name: value']... [--explain] "
    "[--disasm] RCPT...\n";

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// The three entry points, whichever engine serves them.
class Engine {
 public:
  virtual ~Engine() = default;
  virtual tables::RouteRunResult Sender(std::string_view s, bool trace) const = 0;
  virtual tables::RouteRunResult Recipient(std::string_view r, bool trace) const = 0;
  virtual tables::RouteRunResult Resolve(std::string_view s, std::string_view r,
                                         std::string_view filter, bool trace) const = 0;
};

class VmEngine : public Engine {
 public:
  VmEngine(const tables::RouteProgram& p, std::vector<const tables::Table*> t) : vm_(p, std::move(t)) {}
  tables::RouteRunResult Sender(std::string_view s, bool trace) const override {
    return vm_.RewriteSender(s, trace);
  }
  tables::RouteRunResult Recipient(std::string_view r, bool trace) const override {
    return vm_.RewriteRecipient(r, trace);
  }
  tables::RouteRunResult Resolve(std::string_view s, std::string_view r, std::string_view f,
                                 bool trace) const override {
    return vm_.Resolve(s, r, f, trace);
  }

 private:
  tables::RouteVm vm_;
};

class ReferenceEngine : public Engine {
 public:
  ReferenceEngine(const compiler::RouteModel& m, std::vector<const tables::Table*> t)
      : eval_(m, std::move(t)) {}
  tables::RouteRunResult Sender(std::string_view s, bool trace) const override {
    return eval_.RewriteSender(s, trace);
  }
  tables::RouteRunResult Recipient(std::string_view r, bool trace) const override {
    return eval_.RewriteRecipient(r, trace);
  }
  tables::RouteRunResult Resolve(std::string_view s, std::string_view r, std::string_view f,
                                 bool trace) const override {
    return eval_.Resolve(s, r, f, trace);
  }

 private:
  compiler::RouteEvaluator eval_;
};

// Where each key of an indexed or texthash table source is written
// ("PATH:LINE"), read on first use, for --explain.
class EntryLines {
 public:
  std::string Find(const std::string& spec_text, const std::string& key) {
    auto it = cache_.find(spec_text);
    if (it == cache_.end()) {
      std::map<std::string, int>& lines = cache_[spec_text];
      compiler::TableSpec spec;
      std::string text, error;
      if (compiler::ParseTableSpec(spec_text, &spec) &&
          (compiler::IsIndexedType(spec.type) || spec.type == "texthash") &&
          compiler::ReadFile(spec.name, &text, &error)) {
        compiler::ScanTableSource(spec.name, text, {},
                                  {[&](std::string_view k, std::string_view, int line) {
                                     lines.emplace(Lower(k), line);
                                   },
                                   [](int, std::string) {}});
      }
      paths_[spec_text] = spec.name;
      it = cache_.find(spec_text);
    }
    auto line = it->second.find(key);
    if (line == it->second.end()) return "";
    return paths_[spec_text] + ":" + std::to_string(line->second);
  }

 private:
  std::map<std::string, std::map<std::string, int>> cache_;
  std::map<std::string, std::string> paths_;
};

// Trace steps as indented lines: what was decided, then where the setting
// (and the table entry, when a key hit) is written. VM traces name their
// instruction; halts and list misses are left out.
std::string ExplainLines(const std::vector<tables::RouteTraceStep>& trace,
                         const tables::RouteProgram* program, EntryLines* entries) {
  static const std::regex hit(R"re(key "([^"]*)" in (\S+))re");
  std::string out;
  for (const tables::RouteTraceStep& s : trace) {
    std::string what = s.note;
    if (program && s.pc < program->code.size()) {
      const tables::RouteOpInfo* info =
          tables::RouteOpInfoFor(static_cast<uint8_t>(program->code[s.pc].op));
      std::string name = info ? std::string(info->name) : "?";
      if (name == "halt" || what == "not in list") continue;
      what = what.empty() ? name : name + ": " + what;
    }
    if (what.empty() && s.origin.empty()) continue;
    out += "\t# " + what;
    if (!s.origin.empty()) out += "\t[" + s.origin + "]";
    std::smatch m;
    if (std::regex_search(what, m, hit)) {
      std::string at = entries->Find(m[2].str(), m[1].str());
      if (!at.empty()) out += "\t[entry " + at + "]";
    }
    out += "\n";
  }
  return out;
}

// One delivery; `text` holds the original recipient until the line is
// rendered, `source` is kDeferred for a deferral (already rendered).
struct Line {
  std::string to, transport, nexthop, text, explain, source;
};
constexpr char kDeferred[] = "\001deferred";

}  // namespace

int RouteCommand(const std::vector<std::string>& argv) {
  std::string dir = "/etc/postfix", bundle, sender, engine_name = "reference";
  std::vector<std::string> headers, recipients;
  bool explain = false, disasm = false, have_dir = false;
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "-c" && i + 1 < argv.size()) {
      dir = argv[++i];
      have_dir = true;
    } else if (a == "--bundle" && i + 1 < argv.size()) {
      bundle = argv[++i];
    } else if (a == "-f" && i + 1 < argv.size()) {
      sender = argv[++i];
    } else if (a == "-H" && i + 1 < argv.size()) {
      headers.push_back(argv[++i]);
    } else if (a == "--explain") {
      explain = true;
    } else if (a == "--disasm") {
      disasm = true;
    } else if (a == "--engine=vm" || a == "--engine=reference") {
      engine_name = a.substr(9);
    } else if (a == "--") {
      for (++i; i < argv.size(); ++i) recipients.push_back(argv[i]);
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "phc route: unknown option \"%s\"\n%s", a.c_str(), kUsage);
      return 2;
    } else {
      recipients.push_back(a);
    }
  }
  if ((have_dir && !bundle.empty()) || (recipients.empty() && !disasm)) {
    std::fputs(kUsage, stderr);
    return 2;
  }

  std::unique_ptr<compiler::ConfigSet> config;
  compiler::RouteModel model;
  std::vector<std::unique_ptr<tables::Table>> owned;
  std::shared_ptr<const tables::Snapshot> snapshot;
  tables::RouteProgram compiled;
  const tables::RouteProgram* program = nullptr;
  std::vector<const tables::Table*> table_ptrs;
  std::unique_ptr<Engine> engine;

  if (!bundle.empty()) {
    tables::Loader loader(bundle);
    absl::StatusOr<std::shared_ptr<const tables::Snapshot>> snap = loader.LoadCurrent();
    if (!snap.ok()) {
      std::fprintf(stderr, "phc route: %s\n", std::string(snap.status().message()).c_str());
      return 2;
    }
    snapshot = *snap;
    program = snapshot->route_program();
    if (!program) {
      std::fprintf(stderr, "phc route: bundle %s has no routing program\n", bundle.c_str());
      return 2;
    }
    for (const std::string& name : program->table_names) table_ptrs.push_back(snapshot->FindTable(name));
    engine = std::make_unique<VmEngine>(*program, table_ptrs);
  } else {
    config = compiler::LoadConfig(dir, {}, true);
    if (!config->main_cf) {
      std::fprintf(stderr, "phc route: %s/main.cf: %s\n", dir.c_str(), config->main_error.c_str());
      return 2;
    }
    // The same checks as `phc check`: a configuration with errors is not
    // routed (phc build would not publish it either).
    compiler::DiagnosticSink sink(&config->sources);
    compiler::Validate(*config, {}, &sink);
    if (sink.HasErrors()) {
      std::cerr << sink.RenderText();
      std::fprintf(stderr, "phc route: %s: %d errors; not routed\n", dir.c_str(), sink.errors());
      return 1;
    }
    std::vector<compiler::RouteModelProblem> problems;
    model = compiler::BuildRouteModel(*config, &problems);
    for (const compiler::RouteModelProblem& p : problems)
      std::fprintf(stderr, "phc route: warning: %s: %s\n", p.param.c_str(), p.message.c_str());
    compiler::OpenOptions options;
    for (const std::string& name : model.table_names) {
      compiler::OpenedTable t = compiler::OpenTable(name, options);
      if (!t.table) {
        std::fprintf(stderr, "phc route: cannot open %s: %s\n", name.c_str(), t.fatal.c_str());
        return 2;
      }
      table_ptrs.push_back(t.table.get());
      owned.push_back(std::move(t.table));
    }
    compiled = compiler::GenerateRouteProgram(model);
    if (absl::Status s = tables::VerifyRouteProgram(compiled); !s.ok()) {
      std::fprintf(stderr, "phc route: %s\n", std::string(s.message()).c_str());
      return 2;
    }
    program = &compiled;
    if (engine_name == "vm")
      engine = std::make_unique<VmEngine>(compiled, table_ptrs);
    else
      engine = std::make_unique<ReferenceEngine>(model, table_ptrs);
  }
  // header_checks, as cleanup reads it.
  std::vector<std::string> header_tables;
  {
    std::string value;
    if (snapshot) {
      value = std::string(snapshot->ServiceParam("cleanup/unix", "header_checks").value_or(""));
    } else {
      // cleanup's own -o header_checks, else main.cf's (as the bundle records it).
      const compiler::MasterService* cleanup = nullptr;
      if (config->master_cf)
        for (const compiler::MasterService& svc : config->master_cf->services)
          if (svc.complete() && svc.name() == "cleanup" && svc.type() == "unix" && !cleanup)
            cleanup = &svc;
      if (std::optional<std::string> v = config->params->Value(
              "header_checks", compiler::ValueMode::kEffective, cleanup))
        value = config->params->ExpandValue(*v, compiler::ValueMode::kEffective, cleanup).text;
    }
    for (const compiler::ListItem& item : compiler::SplitListItems(value))
      header_tables.push_back(item.text);
  }
  if (disasm) {
    std::cout << tables::DisassembleRouteProgram(*program);
    if (recipients.empty()) return 0;
  }
  const tables::RouteProgram* trace_program =
      (bundle.empty() && engine_name != "vm") ? nullptr : program;

  // Header checks (cleanup), before any recipient is written.
  tables::CheckOutcome checks;
  if (!headers.empty()) {
    tables::MessageCheckTables check_tables;
    for (const std::string& name : header_tables) {
      const tables::Table* t = nullptr;
      if (snapshot) {
        t = snapshot->FindTable(name);
      } else {
        compiler::OpenedTable opened = compiler::OpenTable(name, {});
        t = opened.table.get();
        if (t) owned.push_back(std::move(opened.table));
      }
      if (!t) {
        std::fprintf(stderr, "phc route: cannot open header_checks table %s\n", name.c_str());
        return 2;
      }
      check_tables.header.push_back(t);
    }
    std::string message;
    for (const std::string& h : headers) message += h + "\n";
    message += "\n";
    checks = tables::CheckMessage(message, check_tables);
    for (const tables::CheckEvent& e : checks.events) {
      if (!e.applied) continue;
      std::string word;
      switch (e.action.verb) {
        case tables::CheckVerb::kFilter: word = "filter"; break;
        case tables::CheckVerb::kRedirect: word = "redirect"; break;
        case tables::CheckVerb::kHold: word = "hold"; break;
        case tables::CheckVerb::kDiscard: word = "discard"; break;
        case tables::CheckVerb::kBcc: word = "bcc"; break;
        case tables::CheckVerb::kWarn: word = "warn"; break;
        case tables::CheckVerb::kInfo: word = "info"; break;
        case tables::CheckVerb::kReject: word = "reject"; break;
        default: break;
      }
      if (!word.empty()) std::cout << "action=" << word << "\tdetail=" << e.action.text << "\n";
    }
    if (checks.hold || checks.disposition != tables::CheckOutcome::Disposition::kAccept)
      return 0;  // held, discarded or refused: nothing is delivered now
  }

  EntryLines entry_lines;
  tables::RouteRunResult s = engine->Sender(sender, explain);
  std::string explain_sender = explain ? ExplainLines(s.trace, trace_program, &entry_lines) : "";
  std::string filter = checks.filter ? *checks.filter : s.filter;
  std::vector<Line> lines;
  auto deferred_line = [&](const std::string& to, const std::string& reason, std::string ex) {
    lines.push_back({to, "retry", "4.3.0 " + reason,
                     "to=<" + to + ">\ttransport=retry\tnexthop=4.3.0 " + reason + "\tsource=-",
                     std::move(ex), kDeferred});
  };
  const std::string final_sender = s.addresses.empty() ? sender : s.addresses[0];
  auto deliver = [&](const std::string& orig, const std::string& to, const std::string& flt,
                     const std::string& ex_before) {
    tables::RouteRunResult d = engine->Resolve(final_sender, to, flt, explain);
    std::string ex = explain ? ex_before + ExplainLines(d.trace, trace_program, &entry_lines) : "";
    if (d.deferred) {
      deferred_line(to, d.reason, ex);
      return;
    }
    std::string final_to = d.addresses.empty() ? to : d.addresses[0];
    lines.push_back({final_to, d.transport, d.nexthop, orig, ex, d.source});
  };
  // BCC recipients are added to the envelope like the others.
  std::vector<std::string> envelope = recipients;
  for (const std::string& b : checks.bcc) envelope.push_back(b);
  if (checks.redirect) {
    // REDIRECT replaces every recipient; the queue manager resolves the
    // target as it is (no alias expansion) and no filter applies.
    deliver(recipients.front(), *checks.redirect, "", explain_sender);
  } else {
    std::set<std::string> seen;  // cleanup's duplicate filter: (original, final), case folded
    for (const std::string& rcpt : envelope) {
      if (s.deferred) {
        deferred_line(rcpt, s.reason, explain_sender);
        continue;
      }
      tables::RouteRunResult r = engine->Recipient(rcpt, explain);
      std::string explain_rcpt =
          explain ? explain_sender + ExplainLines(r.trace, trace_program, &entry_lines) : "";
      if (r.deferred) {
        deferred_line(rcpt, r.reason, explain_rcpt);
        continue;
      }
      for (const std::string& to : r.addresses) {
        if (!seen.insert(Lower(rcpt) + "\n" + Lower(to)).second) continue;
        deliver(rcpt, to, filter, explain_rcpt);
      }
    }
  }
  // The queue manager keeps one queue per (transport, next hop) ignoring
  // case; recipients taken in address order, the first one's spelling of
  // the next hop is the one every recipient of that queue is sent with.
  std::sort(lines.begin(), lines.end(), [](const Line& a, const Line& b) { return a.to < b.to; });
  std::map<std::string, std::string> spelling;
  for (Line& l : lines) {
    if (l.source == kDeferred) continue;
    auto [it, fresh] = spelling.emplace(l.transport + "\n" + Lower(l.nexthop), l.nexthop);
    if (!fresh) l.nexthop = it->second;
  }
  for (Line& l : lines) {
    if (l.source == kDeferred) continue;
    std::string text = "to=<" + l.to + ">";
    if (Lower(l.to) != Lower(l.text)) text += "\torig_to=<" + l.text + ">";
    l.text = text + "\ttransport=" + l.transport + "\tnexthop=" + l.nexthop +
             "\tsource=" + (l.source.empty() ? "-" : l.source);
  }
  std::sort(lines.begin(), lines.end(), [](const Line& a, const Line& b) {
    return std::tie(a.to, a.transport, a.nexthop, a.text) <
           std::tie(b.to, b.transport, b.nexthop, b.text);
  });
  for (const Line& l : lines) std::cout << l.text << "\n" << l.explain;
  return 0;
}

}  // namespace posthaste::tools
