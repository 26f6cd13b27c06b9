// validate.cc: the checks behind `phc check`.
#include "compiler/validate.h"

#include <sys/stat.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "compiler/cidr_table.h"
#include "compiler/regexp_table.h"
#include "compiler/route_check.h"
#include "compiler/text.h"
#include "compiler/value_check.h"
#include "tables/check_action.h"
#include "tables/dnsxl_pattern.h"
#include "tables/smtpd_restrictions.h"

namespace posthaste::compiler {
namespace {

using tables::ParamType;

// Table types Postfix 3.7 knows, and which of them posthaste serves.
const std::set<std::string>& ServedTableTypes() {
  static const std::set<std::string> k = {"hash", "btree", "lmdb", "cdb", "dbm", "sdbm",
                                          "texthash", "inline", "static", "unionmap", "pipemap",
                                          "cidr", "regexp", "pcre", "fail", "environ",
                                          "internal"};
  return k;
}
const std::set<std::string>& UnservedTableTypes() {
  static const std::set<std::string> k = {"mysql", "pgsql", "ldap", "sqlite", "proxy",
                                          "memcache", "socketmap", "tcp", "nis", "nisplus",
                                          "netinfo", "mongodb", "randmap", "unix"};
  return k;
}
// Types whose name is a file to check, and whether the file is the source of
// an indexed table (name) or read directly.
bool TableNameIsFile(const std::string& type) {
  static const std::set<std::string> k = {"hash", "btree", "lmdb", "cdb", "dbm", "sdbm",
                                          "texthash", "cidr", "regexp", "pcre"};
  return k.count(type) > 0;
}

int EditDistance(const std::string& a, const std::string& b) {
  std::vector<int> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = static_cast<int>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = static_cast<int>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

bool IsKnownCommand(const std::string& command) {
  static const std::set<std::string> k = {
      "smtpd", "smtp", "lmtp", "local", "virtual", "pipe", "cleanup", "qmgr", "oqmgr", "pickup",
      "bounce", "defer", "trace", "verify", "flush", "proxymap", "proxywrite", "trivial-rewrite",
      "showq", "error", "retry", "discard", "anvil", "scache", "postscreen", "dnsblog",
      "tlsproxy", "tlsmgr", "spawn", "postlogd", "qmqpd", "master", "postlog", "lmtpd"};
  // An absolute path names a program outside $daemon_directory: accept it.
  return k.count(command) > 0 || (!command.empty() && command[0] == '/');
}

bool ValidInetName(const std::string& name) {
  // host:port, [v6]:port, port, *:port, service name.
  std::string port = name;
  if (!name.empty() && name[0] == '[') {
    size_t close = name.find(']');
    if (close == std::string::npos || close + 1 >= name.size() || name[close + 1] != ':')
      return false;
    port = name.substr(close + 2);
  } else if (size_t colon = name.rfind(':'); colon != std::string::npos) {
    if (colon == 0) return false;
    port = name.substr(colon + 1);
  }
  if (port.empty()) return false;
  for (char c : port)
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  if (port.find_first_not_of("0123456789") == std::string::npos)
    return port.size() <= 5 && std::stoi(port) >= 1 && std::stoi(port) <= 65535;
  return true;
}

class Validator {
 public:
  Validator(const ConfigSet& config, const ValidateOptions& options, DiagnosticSink* sink)
      : config_(config), params_(*config.params), options_(options), sink_(sink) {}

  void Run() {
    if (!config_.main_cf) {
      sink_->Report(DiagCode::kIoError, config_.main_file_span,
                    "cannot read " + config_.dir + "/main.cf: " + config_.main_error);
      return;
    }
    if (options_.allow_unsupported) {
      sink_->OverrideSeverity(DiagCode::kUnsupportedTable, Severity::kWarning);
      sink_->OverrideSeverity(DiagCode::kUnsupportedRestriction, Severity::kWarning);
    }
    sink_->SetPhase(1);
    CheckMainStructure();
    CheckMainNames();
    CheckMainValues();
    sink_->SetPhase(2);
    if (!config_.master_cf) {
      sink_->Report(DiagCode::kIoError, config_.master_file_span,
                    "cannot read " + config_.dir + "/master.cf: " + config_.master_error);
    } else {
      CheckMaster();
    }
    sink_->SetPhase(3);
    CheckCrossReferences();
    CheckUnsupportedSettings();
    CheckRouting(config_, sink_);
  }

 private:
  const MainCf& main() const { return *config_.main_cf; }

  void CheckMainStructure() {
    for (const LogicalLine& s : main().strays) {
      SourceSpan at = s.SpanAt(0, 1);
      sink_->Report(DiagCode::kLeadingWhitespace, at,
                    "logical line must not start with whitespace; Postfix ignores this line");
    }
    for (const BadLine& bad : main().bad_lines) {
      SourceSpan at = bad.span;
      at.col = 1;
      if (bad.kind == BadLine::kEmptyName) {
        sink_->Report(DiagCode::kEmptyName, at, "missing parameter name before '='");
      } else {
        sink_->Report(DiagCode::kMissingEquals, at,
                      "missing '=' after parameter name: \"" + bad.text + "\"");
      }
    }
    std::map<std::string, const Assignment*> first;
    for (const Assignment& a : main().assignments) {
      auto [it, inserted] = first.emplace(a.name, &a);
      if (inserted) continue;
      Diagnostic& d = sink_->Report(DiagCode::kDuplicateParam, LineStart(a),
                                    "\"" + a.name + "\" is set again; this later value wins");
      d.notes.push_back({LineStart(*it->second), "earlier value set here"});
      it->second = &a;
    }
  }

  static SourceSpan LineStart(const Assignment& a) {
    SourceSpan s = a.name_span;
    s.col = 1;
    return s;
  }

  void ReportUnknown(const std::string& name, SourceSpan span, bool in_master) {
    std::string msg = "unknown parameter \"" + name + "\"";
    if (in_master) msg += " in -o option";
    Diagnostic& d = sink_->Report(DiagCode::kUnknownParam, span, msg);
    std::string guess = DidYouMean(params_, name);
    if (!guess.empty()) d.notes.push_back({span, "did you mean \"" + guess + "\"?"});
  }

  void CheckMainNames() {
    for (const NameSpaceWarning& w : params_.warnings()) {
      if (w.kind == NameSpaceWarning::kUnusedMain) {
        SourceSpan s = w.span;
        s.col = 1;
        ReportUnknown(w.name, s, false);
      }
    }
  }

  // True when a plain reference to `name` has no value anywhere.
  bool Undefined(const std::string& name, const MasterService* scope) const {
    if (params_.Find(name) || params_.ExplicitValue(name)) return false;
    if (scope && (scope->FindOption(name) || name == "process_name" || name == "service_name"))
      return false;
    return true;
  }

  // References, syntax and loops of one value. `span_at(offset, len)` maps an
  // offset in the value to a source span.
  void CheckReferences(const std::string& name, std::string_view value,
                       const std::function<SourceSpan(size_t, size_t)>& span_at,
                       SourceSpan line_start, const MasterService* scope, bool raw) {
    if (raw) return;
    std::vector<Reference> refs;
    ExpandResult scan = ScanReferences(value, &refs);
    for (const ExpandError& e : scan.errors) {
      size_t off = e.offset == std::string::npos ? 0 : e.offset;
      sink_->Report(DiagCode::kMacroSyntax, span_at(off, 1), e.message);
    }
    if (scan.error) return;
    std::set<std::string> reported;
    for (const Reference& r : refs) {
      if (r.conditional || !Undefined(r.name, scope) || !reported.insert(r.name).second) continue;
      size_t off = r.dollar_offset == std::string::npos ? 0 : r.dollar_offset;
      Diagnostic& d = sink_->Report(DiagCode::kUndefinedRef, span_at(off, 1),
                                    "undefined parameter \"" + r.name + "\" expands to nothing");
      std::string guess = DidYouMean(params_, r.name);
      if (!guess.empty()) d.notes.push_back({span_at(off, 1), "did you mean \"" + guess + "\"?"});
    }
    ExpandResult full = params_.ExpandValue(value, ValueMode::kEffective, scope);
    bool nesting = false;
    for (const ExpandError& e : full.errors) nesting |= e.nesting;
    if (!nesting || loop_members_.count(name)) return;
    // Report each cycle once, at its first member; a parameter that only
    // leads into a cycle is not itself reported.
    std::vector<std::string> cycle = LoopPath(name, scope);
    if (cycle.empty()) return;
    for (const std::string& member : cycle) loop_members_.insert(member);
    std::string text = cycle.size() == 2 ? "parameter \"" + name + "\" refers to itself"
                                         : "parameter \"" + name + "\" refers to itself through ";
    if (cycle.size() > 2)
      for (size_t i = 0; i < cycle.size(); ++i) text += (i ? " -> $" : "$") + cycle[i];
    sink_->Report(DiagCode::kRefLoop, line_start, text);
  }

  // The reference cycle through `name` (name ... name), or empty.
  std::vector<std::string> LoopPath(const std::string& name, const MasterService* scope) const {
    std::vector<std::string> path{name};
    std::set<std::string> seen{name};
    std::function<bool(const std::string&)> dfs = [&](const std::string& at) -> bool {
      std::optional<std::string> v = params_.Value(at, ValueMode::kEffective, scope);
      if (!v) return false;
      std::vector<Reference> refs;
      ScanReferences(*v, &refs);
      for (const Reference& r : refs) {
        if (r.name == name) {
          path.push_back(name);
          return true;
        }
        if (!seen.insert(r.name).second) continue;
        path.push_back(r.name);
        if (dfs(r.name)) return true;
        path.pop_back();
      }
      return false;
    };
    if (!dfs(name)) return {};
    return path;
  }

  void CheckTyped(const std::string& name, const std::string& value,
                  const std::function<SourceSpan(size_t, size_t)>& span_at,
                  const MasterService* scope) {
    const KnownParam* p = params_.Find(name);
    if (!p || !p->info) return;
    std::string effective = value;
    if (value.find('$') != std::string::npos) {
      ExpandResult r = params_.ExpandValue(value, ValueMode::kEffective, scope);
      if (r.error) return;
      effective = r.text;
    }
    for (const ValueProblem& problem : CheckValue(*p->info, effective)) {
      SourceSpan at = span_at(0, value.size());
      sink_->Report(problem.code, at, problem.message);
    }
  }

  void CheckMainValues() {
    for (const Assignment& a : main().assignments) {
      auto span_at = [&a](size_t off, size_t len) { return a.ValueSpanAt(off, len); };
      const KnownParam* p = params_.Find(a.name);
      bool raw = p && p->info && p->info->raw;
      CheckReferences(a.name, a.value, span_at, LineStart(a), nullptr, raw);
      if (!a.overridden) CheckTyped(a.name, a.value, span_at, nullptr);
      if (!a.overridden) CheckRestrictionList(a.name, a.value, span_at, nullptr);
    }
  }

  void CheckMaster() {
    const MasterCf& master = *config_.master_cf;
    for (const LogicalLine& s : master.strays) {
      SourceSpan at = s.SpanAt(0, 1);
      sink_->Report(DiagCode::kLeadingWhitespace, at,
                    "logical line must not start with whitespace; Postfix ignores this line");
    }
    std::map<std::string, const MasterService*> seen;
    for (const MasterService& svc : master.services) {
      SourceSpan start = svc.line.SpanAt(0, 1);
      if (svc.unbalanced_braces)
        sink_->Report(DiagCode::kBadSyntax, svc.unbalanced_span, "unbalanced '{' or '}'");
      if (!svc.complete()) {
        sink_->Report(DiagCode::kFieldCount, start,
                      "bad field count: " + std::to_string(svc.words.size()) +
                          " fields, a service needs at least 8");
        continue;
      }
      CheckServiceFields(svc);
      auto [it, inserted] = seen.emplace(svc.id(), &svc);
      if (!inserted) {
        Diagnostic& d = sink_->Report(DiagCode::kDuplicateService, start,
                                      "service \"" + svc.id() + "\" is defined twice");
        d.notes.push_back({it->second->line.SpanAt(0, 1), "first defined here"});
      }
      for (const MasterService::Problem& p : svc.option_problems)
        sink_->Report(DiagCode::kBadOption, p.span, p.message);
      for (const MasterOption& o : svc.options) {
        const KnownParam* p = params_.Find(o.name);
        bool known = p || params_.ValidInService(&svc, o.name);
        if (!known) ReportUnknown(o.name, o.name_span, true);
        auto span_at = [&svc, &o](size_t off, size_t len) {
          return svc.line.SpanAt(o.value_offset + off, len);
        };
        bool raw = p && p->info && p->info->raw;
        CheckReferences(o.name, o.value, span_at, o.name_span, &svc, raw);
        if (svc.FindOption(o.name) == &o) {
          CheckTyped(o.name, o.value, span_at, &svc);
          CheckRestrictionList(o.name, o.value, span_at, &svc);
        }
      }
    }
  }

  void CheckServiceFields(const MasterService& svc) {
    static const std::set<std::string> kTypes = {"inet", "unix", "unix-dgram", "fifo", "pass"};
    const std::string& type = svc.field(kFieldType);
    if (!kTypes.count(type))
      sink_->Report(DiagCode::kBadServiceType, svc.FieldSpan(kFieldType),
                    "invalid service type \"" + type + "\"");
    static const char* kFlagNames[] = {"", "", "private", "unpriv", "chroot"};
    for (int f = kFieldPrivate; f <= kFieldChroot; ++f) {
      const std::string& v = svc.field(f);
      if (v != "y" && v != "n" && v != "-")
        sink_->Report(DiagCode::kBadFlag, svc.FieldSpan(f),
                      std::string("invalid ") + kFlagNames[f] + " field \"" + v +
                          "\": expected y, n or -");
    }
    // '-' means the default, y: the master daemon refuses both for inet.
    if (type == "inet" && (svc.field(kFieldPrivate) == "y" || svc.field(kFieldPrivate) == "-"))
      sink_->Report(DiagCode::kInetPrivate, svc.FieldSpan(kFieldPrivate),
                    "an inet service cannot be private (\"" + svc.field(kFieldPrivate) +
                        "\" means y here); use n");
    std::string wakeup = svc.field(kFieldWakeup);
    std::string digits = wakeup;
    if (!digits.empty() && digits.back() == '?') digits.pop_back();
    bool wakeup_ok = wakeup == "-" ||
                     (!digits.empty() && std::all_of(digits.begin(), digits.end(), ::isdigit));
    if (!wakeup_ok)
      sink_->Report(DiagCode::kBadWakeup, svc.FieldSpan(kFieldWakeup),
                    "invalid wakeup field \"" + wakeup + "\"");
    const std::string& maxproc = svc.field(kFieldMaxproc);
    if (maxproc != "-" &&
        (maxproc.empty() || !std::all_of(maxproc.begin(), maxproc.end(), ::isdigit)))
      sink_->Report(DiagCode::kBadMaxproc, svc.FieldSpan(kFieldMaxproc),
                    "invalid maxproc field \"" + maxproc + "\"");
    const std::string& name = svc.field(kFieldService);
    if (type == "inet" && !ValidInetName(name))
      sink_->Report(DiagCode::kBadServiceName, svc.FieldSpan(kFieldService),
                    "invalid inet service address \"" + name + "\"");
    if (!IsKnownCommand(svc.field(kFieldCommand)))
      sink_->Report(DiagCode::kUnknownCommand, svc.FieldSpan(kFieldCommand),
                    "unknown command \"" + svc.field(kFieldCommand) +
                        "\": not a Postfix daemon program");
  }

  // Restriction classes declared anywhere (main.cf or a service's -o
  // smtpd_restriction_classes): names a list may use besides restrictions.
  bool IsRestrictionClass(const std::string& name) const {
    if (params_.restriction_classes().count(name)) return true;
    if (!config_.master_cf) return false;
    for (const MasterService& svc : config_.master_cf->services) {
      const MasterOption* o = svc.FindOption("smtpd_restriction_classes");
      if (!o) continue;
      ExpandResult r = params_.ExpandValue(o->value, ValueMode::kEffective, &svc);
      for (const ListItem& item : SplitListItems(r.text))
        if (item.text == name) return true;
    }
    return false;
  }

  // Every restriction an smtpd_*_restrictions list or a restriction class
  // names must be one posthasted carries out (tables/smtpd_restrictions.def).
  // Items with $references are expanded one by one; what they expand to is
  // reported at the reference.
  void CheckRestrictionList(const std::string& name, const std::string& value,
                            const std::function<SourceSpan(size_t, size_t)>& span_at,
                            const MasterService* scope) {
    bool is_list = tables::FindSmtpdRestrictionList(name) != nullptr;
    if (!is_list && !IsRestrictionClass(name)) return;
    struct Word {
      std::string text;
      SourceSpan span;
    };
    std::vector<Word> words;
    for (const ListItem& item : SplitListItems(value)) {
      SourceSpan at = span_at(item.offset, item.text.size());
      if (item.text.find('$') == std::string::npos) {
        words.push_back({item.text, at});
        continue;
      }
      ExpandResult r = params_.ExpandValue(item.text, ValueMode::kEffective, scope);
      if (r.error) continue;  // reported as a reference problem
      for (const ListItem& sub : SplitListItems(r.text)) words.push_back({sub.text, at});
    }
    for (size_t i = 0; i < words.size(); ++i) {
      const Word& w = words[i];
      if (w.text.find(':') != std::string::npos) continue;  // type:table, an access table
      if (const tables::SmtpdRestrictionInfo* info = tables::FindSmtpdRestriction(w.text)) {
        if (!info->implemented)
          sink_->Report(DiagCode::kUnsupportedRestriction, w.span,
                        "Postfix restriction \"" + w.text +
                            "\" is not implemented by posthasted (" +
                            std::string(info->description) + ")");
        if (info->arg == tables::SmtpdRestrictionArg::kDomain && i + 1 < words.size())
          CheckDnsListFilter(w.text, words[i + 1].text, words[i + 1].span);
        if (info->arg != tables::SmtpdRestrictionArg::kNone) ++i;  // its argument
        continue;
      }
      if (IsRestrictionClass(w.text)) continue;
      Diagnostic& d = sink_->Report(DiagCode::kUnknownRestriction, w.span,
                                    "unknown smtpd restriction \"" + w.text + "\" in " + name);
      std::string guess = ClosestRestriction(w.text);
      if (!guess.empty()) d.notes.push_back({w.span, "did you mean \"" + guess + "\"?"});
    }
  }

  // "zen.spamhaus.org=127.0.0.[2..11]": the filter after '=' must parse
  // (Postfix stops with "RBL reply error" on the first lookup otherwise).
  void CheckDnsListFilter(const std::string& restriction, const std::string& spec,
                          const SourceSpan& span) {
    tables::DnsxlSpec list = tables::SplitDnsxlSpec(spec);
    if (!list.filter) return;
    absl::StatusOr<tables::DnsxlPattern> pattern = tables::DnsxlPattern::Parse(*list.filter);
    if (!pattern.ok())
      sink_->Report(DiagCode::kBadDnsList, span,
                    restriction + " " + spec + ": " + std::string(pattern.status().message()));
  }

  static std::string ClosestRestriction(const std::string& name) {
    std::string best;
    int best_distance = std::max<int>(2, static_cast<int>(name.size()) / 5) + 1;
    for (const tables::SmtpdRestrictionInfo& info : tables::AllSmtpdRestrictions()) {
      int d = EditDistance(name, std::string(info.name));
      if (d < best_distance) {
        best_distance = d;
        best = info.name;
      }
    }
    return best;
  }

  bool TransportDefined(const std::string& transport) const {
    if (!config_.master_cf) return true;  // already reported
    for (const MasterService& svc : config_.master_cf->services)
      if (svc.complete() && svc.name() == transport && svc.type() == "unix") return true;
    return false;
  }

  void CheckTransport(const std::string& param, const std::string& value,
                      const std::function<SourceSpan(size_t, size_t)>& span_at) {
    std::string expanded = value;
    size_t start = 0;
    while (start < value.size() && isspace(static_cast<unsigned char>(value[start]))) ++start;
    if (value.find('$') != std::string::npos) {
      ExpandResult r = params_.ExpandValue(value, ValueMode::kEffective);
      if (r.error) return;
      expanded = r.text;
      start = 0;
    }
    std::string_view v = expanded;
    v.remove_prefix(std::min(start, v.size()));
    if (v.empty()) return;
    std::string transport(v.substr(0, v.find(':')));
    if (transport.empty() || TransportDefined(transport)) return;
    Diagnostic& d = sink_->Report(DiagCode::kUndefinedTransport,
                                  span_at(value.find('$') == std::string::npos ? start : 0,
                                          transport.size()),
                                  param + " names transport \"" + transport +
                                      "\", which master.cf does not define as a unix service");
    (void)d;
  }

  // `param` names the setting, which decides how the tables' answers are
  // used (header_checks actions, or plain data).
  void CheckTables(const std::string& value,
                   const std::function<SourceSpan(size_t, size_t)>& span_at,
                   const std::string& param) {
    // In restriction lists, a policy service endpoint (inet:host:port,
    // unix:private/name) is not a table.
    bool restrictions = tables::FindSmtpdRestrictionList(param) || IsRestrictionClass(param);
    bool endpoint = false;
    for (const ListItem& item : SplitListItems(value)) {
      if (endpoint) {
        endpoint = false;
        continue;
      }
      const tables::SmtpdRestrictionInfo* info =
          restrictions ? tables::FindSmtpdRestriction(item.text) : nullptr;
      endpoint = info && info->arg == tables::SmtpdRestrictionArg::kServer;
      CheckTableItem(item, span_at, 0, param);
    }
  }

  void CheckTableItem(const ListItem& item,
                      const std::function<SourceSpan(size_t, size_t)>& span_at, int depth,
                      const std::string& param) {
    const std::string& t = item.text;
    // posthasted answers the passwd file itself where smtpd asks it: the
    // local part of local_recipient_maps lookups (getpwnam_r).
    if (param == "local_recipient_maps" &&
        (t == "unix:passwd.byname" || t == "proxy:unix:passwd.byname"))
      return;
    size_t colon = t.find(':');
    if (colon == std::string::npos || colon == 0) return;
    std::string type = t.substr(0, colon);
    for (char c : type)
      if (!(islower(static_cast<unsigned char>(c)) || isdigit(static_cast<unsigned char>(c))))
        return;  // not a type:name item (an address, a restriction name, ...)
    if (!isalpha(static_cast<unsigned char>(type[0]))) return;
    std::string name = t.substr(colon + 1);
    SourceSpan at = span_at(item.offset, t.size());
    if (UnservedTableTypes().count(type)) {
      sink_->Report(DiagCode::kUnsupportedTable, at,
                    "table type \"" + type + ":\" is not served by posthaste (\"" + t + "\")");
      return;
    }
    if (!ServedTableTypes().count(type)) {
      sink_->Report(DiagCode::kUnknownTableType, at,
                    "unknown table type \"" + type + ":\" in \"" + t + "\"");
      return;
    }
    if ((type == "unionmap" || type == "pipemap") && depth < 8) {
      std::string error;
      std::optional<std::string> inner = ExtractBraced(name, &error);
      if (inner) {
        size_t base = item.offset + colon + 1 + name.find(*inner);
        for (ListItem sub : SplitListItems(*inner)) {
          sub.offset += base;
          CheckTableItem(sub, span_at, depth + 1, param);
        }
      }
      return;
    }
    if (!TableNameIsFile(type)) return;
    std::string path = name;
    if (path.find('$') != std::string::npos) {
      ExpandResult r = params_.ExpandValue(path, ValueMode::kEffective);
      if (r.error) return;
      path = r.text;
    }
    struct stat st;
    if (stat(path.c_str(), &st) != 0) {
      sink_->Report(DiagCode::kMissingTableFile, at,
                    "table file \"" + path + "\" of \"" + t + "\" does not exist");
      return;
    }
    if (type == "regexp" || type == "pcre") CheckPatternTable(type, path, param);
    if (type == "cidr") CheckCidrTable(path);
  }

  // Reads a regexp: or pcre: table once and reports every rule Postfix
  // would skip, at the offending token; then, once per context it is used
  // in, every action Postfix would ignore there and FILTER transports that
  // master.cf lacks.
  void CheckPatternTable(const std::string& type, const std::string& path,
                         const std::string& param) {
    auto it = parsed_patterns_.find(type + ":" + path);
    if (it == parsed_patterns_.end()) {
      std::string text, error;
      if (!ReadFile(path, &text, &error)) return;
      int file = config_.sources.Add(path, text);
      it = parsed_patterns_.emplace(type + ":" + path,
                                    ParsePatternRules(config_.sources, file, type == "pcre"))
               .first;
      for (const PatternTableProblem& p : it->second.problems)
        sink_->Report(DiagCode::kTableRule, p.span, p.message);
    }
    tables::CheckContext context = tables::CheckContextOf(param);
    if (context == tables::CheckContext::kLookup) return;
    if (!checked_tables_.insert(param + "=" + type + ":" + path).second) return;
    const ParsedPatternTable& parsed = it->second;
    for (size_t i = 0; i < parsed.rules.size(); ++i) {
      const tables::PatternRule& rule = parsed.rules[i];
      if (rule.kind != tables::PatternRule::Kind::kMatch) continue;
      tables::CheckAction action = tables::ParseCheckAction(rule.result);
      for (const tables::ActionProblem& problem : tables::CheckActionProblems(action, context))
        sink_->Report(DiagCode::kCheckAction, parsed.result_spans[i], problem.message);
      std::optional<std::string> transport = tables::FilterTransport(action);
      if (transport && !TransportDefined(*transport)) {
        SourceSpan span = parsed.result_spans[i];
        sink_->Report(DiagCode::kFilterTransport, span,
                      "FILTER names transport \"" + *transport + "\" (" + param +
                          "), which master.cf does not define as a unix service");
      }
    }
  }

  // Reads a cidr table once and reports every rule Postfix would
  // skip or warn about, at its line in the table file.
  void CheckCidrTable(const std::string& path) {
    if (!checked_tables_.insert("cidr:" + path).second) return;
    std::string text, error;
    if (!ReadFile(path, &text, &error)) return;
    int file = config_.sources.Add(path, text);
    std::vector<std::string> warnings;
    ParseCidrRules(path, text, &warnings);
    for (const std::string& w : warnings) {
      // "<type> map PATH, line N: text" or a bare text about the table.
      int line = 0;
      std::string message = w;
      size_t at = w.find(", line ");
      if (at != std::string::npos) {
        size_t colon = w.find(": ", at);
        line = std::atoi(w.c_str() + at + 7);
        if (colon != std::string::npos) message = w.substr(colon + 2);
      }
      SourceSpan span{file, line, line > 0 ? 1 : 0, 1};
      sink_->Report(DiagCode::kTableRule, span, message);
    }
  }

  // Caches that daemons create and update themselves (TLS session caches,
  // the verify and postscreen caches): their files need not exist yet.
  static bool IsCacheParam(const std::string& name) {
    auto ends = [&](std::string_view suffix) {
      return name.size() >= suffix.size() &&
             name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    return ends("_cache_database") || ends("_cache_map") || ends("_cache_name") ||
           name == "address_verify_map";
  }

  bool ValueHoldsTables(const KnownParam* p, const std::string& name) const {
    if (IsCacheParam(name)) return false;
    if (params_.restriction_classes().count(name)) return true;
    if (!p || !p->info) return false;
    return p->info->type == ParamType::kTableList || p->info->type == ParamType::kMatchList ||
           p->info->type == ParamType::kRestrictionList;
  }

  void CheckCrossReferences() {
    for (const Assignment& a : main().assignments) {
      if (a.overridden) continue;
      auto span_at = [&a](size_t off, size_t len) { return a.ValueSpanAt(off, len); };
      const KnownParam* p = params_.Find(a.name);
      if (p && p->info && p->info->type == ParamType::kServiceName)
        CheckTransport(a.name, a.value, span_at);
      if (ValueHoldsTables(p, a.name)) CheckTables(a.value, span_at, a.name);
    }
    if (!config_.master_cf) return;
    for (const MasterService& svc : config_.master_cf->services) {
      for (const MasterOption& o : svc.options) {
        auto span_at = [&svc, &o](size_t off, size_t len) {
          return svc.line.SpanAt(o.value_offset + off, len);
        };
        const KnownParam* p = params_.Find(o.name);
        if (p && p->info && p->info->type == ParamType::kServiceName)
          CheckTransport(o.name, o.value, span_at);
        if (ValueHoldsTables(p, o.name)) CheckTables(o.value, span_at, o.name);
      }
    }
  }

  // Settings a Postfix admin relies on that posthasted does not act on
  // yet: said once where they are written, so that a deploy does not lose
  // them silently. Empty or default values say nothing.
  static std::string UnsupportedSettingWhy(const std::string& name, const std::string& value) {
    std::string v;
    for (char c : TrimView(value)) v.push_back(static_cast<char>(tolower(static_cast<unsigned char>(c))));
    if (v.empty()) return "";
    bool yes = v == "yes" || v == "true" || v == "1";
    if (name == "smtpd_milters" || name == "non_smtpd_milters")
      return "posthasted runs no milters: mail is accepted without them";
    if (name == "smtpd_proxy_filter")
      return "posthasted has no before-queue proxy filter yet: mail is queued without it";
    if (name == "smtpd_sasl_auth_enable" && yes)
      return "posthasted offers no SMTP AUTH yet: clients cannot log in, and "
             "permit_sasl_authenticated never matches";
    if (name == "masquerade_domains")
      return "cleanup does not masquerade addresses yet: they keep their full domain";
    if (name == "smtp_generic_maps")
      return "the smtp client does not rewrite addresses with it yet";
    if (name == "smtp_sasl_auth_enable" && yes)
      return "the smtp client does not log in (SASL) yet: a next hop that requires AUTH "
             "refuses the mail";
    if (name == "smtp_tls_policy_maps")
      return "the smtp client reads no per-destination TLS policy yet: smtp_tls_security_level "
             "applies to every destination";
    if (name == "smtp_header_checks" || name == "smtp_mime_header_checks" ||
        name == "smtp_nested_header_checks" || name == "smtp_body_checks")
      return "the smtp client applies no output content checks yet";
    if ((name == "smtpd_tls_security_level" && v == "encrypt") ||
        (name == "smtpd_enforce_tls" && yes))
      return "posthasted offers no STARTTLS yet: this service answers every MAIL with "
             "\"530 5.7.0 Must issue a STARTTLS command first\"";
    return "";
  }

  void CheckUnsupportedSettings() {
    auto effective = [this](const std::string& value, const MasterService* scope) {
      if (value.find('$') == std::string::npos) return value;
      ExpandResult r = params_.ExpandValue(value, ValueMode::kEffective, scope);
      return r.error ? std::string() : r.text;
    };
    for (const Assignment& a : main().assignments) {
      if (a.overridden) continue;
      std::string why = UnsupportedSettingWhy(a.name, effective(a.value, nullptr));
      if (!why.empty())
        sink_->Report(DiagCode::kUnsupportedSetting, a.ValueSpanAt(0, a.value.size()),
                      a.name + ": " + why);
    }
    if (!config_.master_cf) return;
    for (const MasterService& svc : config_.master_cf->services) {
      if (!svc.complete()) continue;
      for (const MasterOption& o : svc.options) {
        std::string why = UnsupportedSettingWhy(o.name, effective(o.value, &svc));
        if (!why.empty())
          sink_->Report(DiagCode::kUnsupportedSetting, o.value_span,
                        svc.id() + ": " + o.name + ": " + why);
      }
      std::string command = svc.process_name();
      if (svc.type() == "inet" && command != "smtpd")
        sink_->Report(DiagCode::kUnsupportedSetting,
                      svc.FieldSpan(kFieldCommand),
                      "service " + svc.id() + " runs " + command +
                          ", which posthasted does not run: nothing listens there");
    }
  }

  const ConfigSet& config_;
  const ParamSpace& params_;
  ValidateOptions options_;
  DiagnosticSink* sink_;
  std::set<std::string> loop_members_;
  std::set<std::string> checked_tables_;
  std::map<std::string, ParsedPatternTable> parsed_patterns_;
};

}  // namespace

std::vector<ListItem> SplitListItems(std::string_view value) {
  std::vector<ListItem> items;
  auto sep = [](char c) { return c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  size_t i = 0;
  while (i < value.size()) {
    while (i < value.size() && sep(value[i])) ++i;
    if (i >= value.size()) break;
    size_t j = i;
    int level = 0;
    while (j < value.size() && (level > 0 || !sep(value[j]))) {
      if (value[j] == '{') ++level;
      if (value[j] == '}' && level > 0) --level;
      ++j;
    }
    items.push_back({std::string(value.substr(i, j - i)), i});
    i = j;
  }
  return items;
}

std::string DidYouMean(const ParamSpace& params, const std::string& name) {
  std::string best;
  int best_distance = std::max<int>(2, static_cast<int>(name.size()) / 5) + 1;
  for (const auto& [known, p] : params.known()) {
    if (known.size() + best_distance < name.size() || name.size() + best_distance < known.size())
      continue;
    int d = EditDistance(name, known);
    if (d < best_distance) {
      best_distance = d;
      best = known;
    }
  }
  return best;
}

void Validate(const ConfigSet& config, const ValidateOptions& options, DiagnosticSink* sink) {
  Validator(config, options, sink).Run();
}

}  // namespace posthaste::compiler
