// route_check.cc: routing problems `phc check` reports (see route_check.h).
#include "compiler/route_check.h"

#include <set>

#include "compiler/route_model.h"
#include "compiler/table_open.h"
#include "compiler/table_source.h"
#include "compiler/text.h"
#include "compiler/validate.h"
#include "tables/delivery_agent_names.h"

namespace posthaste::compiler {
namespace {

bool ValidPort(std::string_view port) {
  if (port.empty()) return false;
  bool digits = true;
  for (char c : port) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-'))
      return false;
    digits &= c >= '0' && c <= '9';
  }
  if (digits && (port.size() > 5 || std::stoi(std::string(port)) == 0 ||
                 std::stoi(std::string(port)) > 65535))
    return false;
  return true;
}

bool ValidHost(std::string_view host) {
  if (host.empty()) return false;
  for (char c : host)
    if (IsSpace(c) || c == '[' || c == ']' || c == ',' || c == '@') return false;
  return true;
}

class RoutingChecker {
 public:
  RoutingChecker(const ConfigSet& config, DiagnosticSink* sink) : config_(config), sink_(sink) {}

  void Run() {
    if (!config_.main_cf || !config_.master_cf) return;
    for (const MasterService& svc : config_.master_cf->services)
      if (svc.complete() && svc.type() == "unix" && !commands_.count(svc.name()))
        commands_[svc.name()] = svc.process_name();
    model_ = BuildRouteModel(config_, nullptr);

    // Transports main.cf routes mail to must run an agent posthasted has.
    for (const char* p : {"default_transport", "relay_transport", "local_transport",
                          "virtual_transport", "content_filter"}) {
      if (!config_.main_cf->Find(p)) continue;  // the defaults name agents posthasted runs
      std::string v = Value(p);
      std::string transport = v.substr(0, v.find(':'));
      auto it = commands_.find(transport);
      if (it != commands_.end() && !tables::PosthastedRunsAgent(it->second))
        Report(DiagCode::kUnsupportedTransport, p, UnsupportedAgent(p, transport, it->second));
    }

    // Next hops inside main.cf settings.
    CheckNexthopList("relayhost");
    CheckNexthopParam("default_filter_nexthop", "smtp");
    for (const char* p : {"default_transport", "relay_transport", "content_filter"}) {
      std::string v = Value(p);
      size_t colon = v.find(':');
      if (colon == std::string::npos || colon + 1 >= v.size()) continue;
      std::string transport = v.substr(0, colon);
      auto it = commands_.find(transport);
      if (it == commands_.end() || (it->second != "smtp" && it->second != "lmtp")) continue;
      std::string problem = NexthopProblem(v.substr(colon + 1), it->second == "lmtp");
      if (!problem.empty())
        Report(DiagCode::kBadNexthop, p, p + std::string(" next hop \"") + v.substr(colon + 1) +
                                             "\": " + problem);
    }

    CheckTableEntries("transport_maps", model_.transport_maps, Kind::kTransportMap);
    CheckTableEntries("sender_dependent_default_transport_maps", model_.sender_transport_maps,
                      Kind::kSenderTransport);
    CheckTableEntries("sender_dependent_relayhost_maps", model_.sender_relayhost_maps,
                      Kind::kRelayhost);
    CheckRelayDomains();
  }

 private:
  enum class Kind { kTransportMap, kSenderTransport, kRelayhost };

  std::string Value(const std::string& name) {
    std::optional<std::string> v = config_.params->Value(name, ValueMode::kEffective);
    if (!v) return "";
    return Trim(config_.params->ExpandValue(*v, ValueMode::kEffective).text);
  }
  SourceSpan ParamSpan(const std::string& name) {
    const Assignment* a = config_.main_cf->Find(name);
    return a ? a->ValueSpan() : SourceSpan{};
  }
  static std::string UnsupportedAgent(const std::string& where, const std::string& transport,
                                      const std::string& agent) {
    return where + " routes mail to transport \"" + transport + "\", whose delivery agent \"" +
           agent + "\" posthasted does not run (it runs smtp, local, virtual, discard and error)";
  }

  void Report(DiagCode code, const std::string& param, std::string message) {
    sink_->Report(code, ParamSpan(param), std::move(message));
  }

  void CheckNexthopParam(const std::string& name, const std::string& command) {
    std::string v = Value(name);
    if (v.empty()) return;
    std::string problem = NexthopProblem(v, command == "lmtp");
    if (!problem.empty()) Report(DiagCode::kBadNexthop, name, name + " \"" + v + "\": " + problem);
  }
  void CheckNexthopList(const std::string& name) {
    for (const ListItem& item : SplitListItems(Value(name))) {
      std::string problem = NexthopProblem(item.text, false);
      if (!problem.empty())
        Report(DiagCode::kBadNexthop, name, name + " \"" + item.text + "\": " + problem);
    }
  }

  // Checks one table value; `at` is where it is written.
  void CheckValue(Kind kind, const std::string& param, const std::string& value, SourceSpan at,
                  SourceSpan key_at) {
    if (FoldCase(value) == "dunno" || value.empty()) return;
    if (kind == Kind::kRelayhost) {
      for (const ListItem& item : SplitListItems(value)) {
        std::string problem = NexthopProblem(item.text, false);
        if (!problem.empty())
          sink_->Report(DiagCode::kBadNexthop, at,
                        param + " next hop \"" + item.text + "\": " + problem);
      }
      return;
    }
    size_t colon = value.find(':');
    std::string transport = value.substr(0, colon);
    std::string nexthop = colon == std::string::npos ? "" : value.substr(colon + 1);
    if (!transport.empty()) {
      auto it = commands_.find(transport);
      if (it == commands_.end()) {
        Diagnostic& d = sink_->Report(
            kind == Kind::kTransportMap ? DiagCode::kUndefinedRouteTransport
                                        : DiagCode::kUndefinedSenderTransport,
            at,
            param + " entry names transport \"" + transport +
                "\", which master.cf does not define as a unix service");
        if (key_at.valid()) d.notes.push_back({key_at, "for this key"});
        return;
      }
      if (!tables::PosthastedRunsAgent(it->second)) {
        Diagnostic& d = sink_->Report(DiagCode::kUnsupportedTransport, at,
                                      UnsupportedAgent(param + " entry", transport, it->second));
        if (key_at.valid()) d.notes.push_back({key_at, "for this key"});
        return;
      }
      if (it->second != "smtp" && it->second != "lmtp") return;
      if (!nexthop.empty()) {
        std::string problem = NexthopProblem(nexthop, it->second == "lmtp");
        if (!problem.empty())
          sink_->Report(DiagCode::kBadNexthop, at,
                        param + " next hop \"" + nexthop + "\": " + problem);
      }
    } else if (!nexthop.empty()) {
      std::string problem = NexthopProblem(nexthop, false);
      if (!problem.empty())
        sink_->Report(DiagCode::kBadNexthop, at, param + " next hop \"" + nexthop + "\": " + problem);
    }
  }

  void CheckTableEntries(const std::string& param, const std::vector<uint16_t>& ids, Kind kind) {
    for (uint16_t id : ids) {
      const std::string& name = model_.table_names[id];
      TableSpec spec;
      if (!ParseTableSpec(name, &spec) || !checked_.insert(param + "\n" + name).second) continue;
      if (spec.type == "inline") {
        // Entries sit in main.cf; report at the setting.
        OpenedTable t = OpenTable(name, {});
        if (!t.table) continue;
        t.table->ForEach([&](std::string_view k, std::string_view v) {
          (void)k;
          CheckValue(kind, param, std::string(v), ParamSpan(param), {});
        });
        continue;
      }
      if (!(IsIndexedType(spec.type) || spec.type == "texthash")) continue;
      std::string text, error;
      if (!ReadFile(spec.name, &text, &error)) continue;  // missing-table-file reports it
      int file = -1;
      for (int f = 0; f < config_.sources.size(); ++f)
        if (config_.sources.file(f).path == spec.name) file = f;
      if (file < 0) file = config_.sources.Add(spec.name, text);
      TableSourceOptions options;
      ScanTableSource(spec.name, text, options,
                      {[&](std::string_view key, std::string_view value, int line) {
                         std::string_view l = config_.sources.Line(file, line);
                         size_t col = l.find(value);
                         SourceSpan at{file, line,
                                       col == std::string_view::npos ? 1 : static_cast<int>(col) + 1,
                                       static_cast<int>(value.size())};
                         SourceSpan key_at{file, line, 1, static_cast<int>(key.size())};
                         CheckValue(kind, param, std::string(value), at, key_at);
                       },
                       [](int, std::string) {}});
    }
  }

  void CheckRelayDomains() {
    const Assignment* relay = config_.main_cf->Find("relay_domains");
    if (!relay) return;
    tables::TableById none = [](uint16_t) -> const tables::Table* { return nullptr; };
    for (const ListItem& item : SplitListItems(relay->value)) {
      std::string d = FoldCase(item.text);
      if (d.find('$') != std::string::npos) {
        d = FoldCase(config_.params->ExpandValue(d, ValueMode::kEffective).text);
        if (d.find_first_of(" ,\t") != std::string::npos) continue;
      }
      if (d.empty() || d[0] == '!' || d[0] == '.' || d[0] == '/' || d.find(':') != std::string::npos)
        continue;
      std::string why;
      if (tables::MatchDomainList(model_.mydestination, d, none, &why) != tables::MatchStatus::kMatch)
        continue;
      Diagnostic& diag = sink_->Report(
          DiagCode::kRelayDomainLocal, relay->ValueSpanAt(item.offset, item.text.size()),
          "relay_domains lists \"" + d +
              "\", which mydestination already makes local: mail for it is delivered locally");
      if (const Assignment* dest = config_.main_cf->Find("mydestination"))
        diag.notes.push_back({dest->ValueSpan(), "mydestination is set here"});
    }
  }

  const ConfigSet& config_;
  DiagnosticSink* sink_;
  RouteModel model_;
  std::map<std::string, std::string> commands_;  // unix service -> process name
  std::set<std::string> checked_;
};

}  // namespace

std::string NexthopProblem(std::string_view nexthop, bool lmtp) {
  std::string_view h = nexthop;
  if (h.empty()) return "empty next hop";
  if (lmtp && (h.substr(0, 5) == "unix:")) return h.size() > 5 ? "" : "empty socket path";
  if (lmtp && h.substr(0, 5) == "inet:") h.remove_prefix(5);
  if (h.front() == '[') {
    size_t close = h.find(']');
    if (close == std::string_view::npos) return "'[' without ']'";
    std::string_view host = h.substr(1, close - 1);
    if (host.substr(0, 5) == "ipv6:") host.remove_prefix(5);
    if (host.empty()) return "empty host name in brackets";
    for (char c : host)
      if (IsSpace(c) || c == '[' || c == '@') return "invalid character in host name";
    std::string_view rest = h.substr(close + 1);
    if (rest.empty()) return "";
    if (rest.front() != ':') return "text after ']' that is not \":port\"";
    return ValidPort(rest.substr(1)) ? "" : "invalid port \"" + std::string(rest.substr(1)) + "\"";
  }
  if (h.find(']') != std::string_view::npos) return "']' without '['";
  size_t colon = h.rfind(':');
  std::string_view host = h.substr(0, colon);
  if (!ValidHost(host)) return "invalid host name \"" + std::string(host) + "\"";
  if (colon != std::string_view::npos && !ValidPort(h.substr(colon + 1)))
    return "invalid port \"" + std::string(h.substr(colon + 1)) + "\"";
  return "";
}

void CheckRouting(const ConfigSet& config, DiagnosticSink* sink) { RoutingChecker(config, sink).Run(); }

}  // namespace posthaste::compiler
