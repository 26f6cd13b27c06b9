// route_model.cc: reads the routing settings of a ConfigSet into a RouteModel.
#include "compiler/route_model.h"

#include <algorithm>
#include <set>

#include "compiler/table_open.h"
#include "compiler/text.h"
#include "compiler/validate.h"
#include "tables/route_program.h"

namespace posthaste::compiler {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

class ModelBuilder {
 public:
  ModelBuilder(const ConfigSet& config, std::vector<RouteModelProblem>* problems)
      : config_(config), params_(*config.params), problems_(problems) {}

  RouteModel Build() {
    RouteModel& m = model_;
    m.myhostname = Get("myhostname");
    m.mydomain = Get("mydomain");
    m.myorigin = Get("myorigin");
    m.append_at_myorigin = Bool("append_at_myorigin");
    m.append_dot_mydomain = Bool("append_dot_mydomain");
    m.recipient_delimiter = Get("recipient_delimiter");
    std::set<std::string> pdms = Words("parent_domain_matches_subdomains");
    auto parent = [&](const char* name) { return pdms.count(name) > 0; };

    m.mydestination = Domains("mydestination", parent("mydestination"));
    std::vector<std::string> literals = InterfaceLiterals();
    for (const std::string& lit : literals) m.mydestination.items.push_back({false, false, lit, 0});
    m.virtual_alias_domains = Domains("virtual_alias_domains", parent("virtual_alias_domains"));
    m.virtual_mailbox_domains =
        Domains("virtual_mailbox_domains", parent("virtual_mailbox_domains"));
    m.relay_domains = Domains("relay_domains", parent("relay_domains"));
    m.local_domains.parent_matches_subdomains = m.mydestination.parent_matches_subdomains;
    if (!m.myorigin.empty()) m.local_domains.items.push_back({false, false, Lower(m.myorigin), 0});
    for (const tables::DomainListItem& item : m.mydestination.items)
      m.local_domains.items.push_back(item);

    m.local_transport = Get("local_transport");
    m.virtual_transport = Get("virtual_transport");
    m.relay_transport = Get("relay_transport");
    m.default_transport = Get("default_transport");
    m.relayhost = Get("relayhost");
    m.content_filter = Get("content_filter");
    // Mail submitted with sendmail enters through pickup: its -o
    // content_filter, when it has one, is the one cleanup records.
    if (config_.master_cf) {
      for (const MasterService& svc : config_.master_cf->services) {
        if (!svc.complete() || svc.name() != "pickup" || svc.type() != "unix") continue;
        if (const MasterOption* o = svc.FindOption("content_filter")) {
          m.content_filter =
              Trim(params_.ExpandValue(o->value, ValueMode::kEffective, &svc).text);
          m.origins["content_filter"] = config_.master_cf->path + ":" + std::to_string(svc.line_number);
        }
        break;
      }
    }
    m.default_filter_nexthop = Get("default_filter_nexthop");
    m.empty_relayhost_key = Get("empty_address_relayhost_maps_lookup_key");
    m.empty_transport_key = Get("empty_address_default_transport_maps_lookup_key");
    m.transport_parent_style = parent("transport_maps");
    std::set<std::string> propagate = Words("propagate_unmatched_extensions");
    m.propagate_canonical = propagate.count("canonical") > 0;
    m.propagate_virtual = propagate.count("virtual") > 0;
    m.allow_min_user = Bool("allow_min_user");
    std::set<std::string> classes = Words("canonical_classes");
    m.canonical_sender = classes.count("envelope_sender") > 0;
    m.canonical_recipient = classes.count("envelope_recipient") > 0;
    m.sender_canonical = Words("sender_canonical_classes").count("envelope_sender") > 0;
    m.recipient_canonical =
        Words("recipient_canonical_classes").count("envelope_recipient") > 0;
    m.recursion_limit = Limit("virtual_alias_recursion_limit");
    m.expansion_limit = Limit("virtual_alias_expansion_limit");

    m.virtual_alias_maps = Tables("virtual_alias_maps");
    m.canonical_maps = Tables("canonical_maps");
    m.sender_canonical_maps = Tables("sender_canonical_maps");
    m.recipient_canonical_maps = Tables("recipient_canonical_maps");
    m.relocated_maps = Tables("relocated_maps");
    m.transport_maps = Tables("transport_maps");
    m.sender_relayhost_maps = Tables("sender_dependent_relayhost_maps");
    m.sender_transport_maps = Tables("sender_dependent_default_transport_maps");

    if (config_.master_cf) {
      for (const MasterService& svc : config_.master_cf->services) {
        if (!svc.complete() || svc.type() != "unix") continue;
        std::string command = svc.process_name();
        std::string param = command == "smtp"   ? "smtp_bind_address"
                            : command == "lmtp" ? "lmtp_bind_address"
                                                : "";
        auto value = [&](const std::string& name) -> std::string {
          if (name.empty()) return "";
          std::optional<std::string> v = params_.Value(name, ValueMode::kEffective, &svc);
          return v ? Trim(params_.ExpandValue(*v, ValueMode::kEffective, &svc).text) : "";
        };
        // The first definition of a service name wins, as master(8) reads it.
        m.service_sources.emplace(svc.name(), value(param));
        m.service_sources6.emplace(svc.name(), value(param.empty() ? "" : param + "6"));
      }
    }
    return std::move(model_);
  }

 private:
  std::string Get(const std::string& name) {
    const Assignment* a = config_.main_cf ? config_.main_cf->Find(name) : nullptr;
    model_.origins[name] =
        a ? config_.main_cf->path + ":" + std::to_string(a->line_number) : "default";
    std::optional<std::string> v = params_.Value(name, ValueMode::kEffective);
    if (!v) return "";
    return Trim(params_.ExpandValue(*v, ValueMode::kEffective).text);
  }
  bool Bool(const std::string& name) { return Lower(Get(name)) == "yes"; }
  uint32_t Limit(const std::string& name) {
    std::string v = Get(name);
    uint64_t n = 0;
    for (char c : v) {
      if (c < '0' || c > '9') break;
      n = std::min<uint64_t>(n * 10 + static_cast<uint64_t>(c - '0'), 1u << 30);
    }
    return static_cast<uint32_t>(std::clamp<uint64_t>(n, 1, tables::kMaxExpansionLimit));
  }
  std::vector<std::string> Items(const std::string& name) {
    std::vector<std::string> out;
    for (const ListItem& item : SplitListItems(Get(name))) out.push_back(item.text);
    return out;
  }
  std::set<std::string> Words(const std::string& name) {
    std::set<std::string> out;
    for (const std::string& w : Items(name)) out.insert(Lower(w));
    return out;
  }
  static bool LooksLikeTable(const std::string& item) {
    TableSpec spec;
    if (!ParseTableSpec(item, &spec)) return false;
    for (char c : spec.type)
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
    return !spec.type.empty() && spec.type[0] >= 'a' && spec.type[0] <= 'z' &&
           spec.type != "ipv6";
  }
  uint16_t TableId(const std::string& spec) {
    for (size_t i = 0; i < model_.table_names.size(); ++i)
      if (model_.table_names[i] == spec) return static_cast<uint16_t>(i);
    model_.table_names.push_back(spec);
    return static_cast<uint16_t>(model_.table_names.size() - 1);
  }
  std::vector<uint16_t> Tables(const std::string& name) {
    std::vector<uint16_t> ids;
    for (const std::string& item : Items(name)) {
      if (!LooksLikeTable(item)) {
        problems_->push_back({name, "\"" + item + "\" is not a type:name lookup table"});
        continue;
      }
      ids.push_back(TableId(item));
    }
    return ids;
  }
  tables::DomainList Domains(const std::string& name, bool parent) {
    tables::DomainList list;
    list.parent_matches_subdomains = parent;
    AddDomainItems(name, Items(name), &list, 0);
    return list;
  }
  void AddDomainItems(const std::string& name, const std::vector<std::string>& items,
                      tables::DomainList* list, int depth) {
    for (std::string item : items) {
      bool negate = false;
      while (!item.empty() && item[0] == '!') {
        negate = !negate;
        item.erase(0, 1);
      }
      if (item.empty()) continue;
      if (item[0] == '/' && depth < 4) {
        // A file name stands for the patterns it lists.
        std::string text, error;
        if (!ReadFile(item, &text, &error)) {
          problems_->push_back({name, "cannot read \"" + item + "\": " + error});
          continue;
        }
        std::vector<std::string> inner;
        size_t start = 0;
        while (start <= text.size()) {
          size_t nl = text.find('\n', start);
          std::string line = text.substr(start, nl == std::string::npos ? std::string::npos
                                                                        : nl - start);
          if (!line.empty() && line[0] != '#')
            for (const ListItem& li : SplitListItems(line)) inner.push_back(li.text);
          if (nl == std::string::npos) break;
          start = nl + 1;
        }
        AddDomainItems(name, inner, list, depth + 1);
        continue;
      }
      if (LooksLikeTable(item)) {
        list->items.push_back({true, negate, "", TableId(item)});
      } else {
        list->items.push_back({false, negate, Lower(item), 0});
      }
    }
  }
  // [address] literals of inet_interfaces and proxy_interfaces. "all" is
  // taken as the loopback addresses: the host's other addresses are not
  // known at compile time.
  std::vector<std::string> InterfaceLiterals() {
    std::vector<std::string> out;
    auto add = [&](std::string a) {
      a = Lower(a);
      if (a.size() >= 2 && a.front() == '[' && a.back() == ']') a = a.substr(1, a.size() - 2);
      if (a.empty()) return;
      bool v6 = a.find(':') != std::string::npos;
      std::string lit = v6 ? "[ipv6:" + a + "]" : "[" + a + "]";
      if (std::find(out.begin(), out.end(), lit) == out.end()) out.push_back(lit);
    };
    for (const char* name : {"inet_interfaces", "proxy_interfaces"}) {
      for (const std::string& item : Items(name)) {
        std::string w = Lower(item);
        if (w == "all" || w == "loopback-only" || w == "localhost") {
          add("127.0.0.1");
          add("::1");
        } else {
          add(w);
        }
      }
    }
    return out;
  }

  const ConfigSet& config_;
  const ParamSpace& params_;
  std::vector<RouteModelProblem>* problems_;
  RouteModel model_;
};

}  // namespace

RouteModel BuildRouteModel(const ConfigSet& config, std::vector<RouteModelProblem>* problems) {
  std::vector<RouteModelProblem> ignored;
  return ModelBuilder(config, problems ? problems : &ignored).Build();
}

}  // namespace posthaste::compiler
