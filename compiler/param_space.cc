// param_space.cc: building the parameter name space the way Postfix does.
#include "compiler/param_space.h"

#include <unistd.h>

#include <cstring>

#include "compiler/host_defaults.h"

namespace posthaste::compiler {
namespace {

constexpr std::string_view kListSeparators = ", \t\r\n";

std::vector<std::string> SplitList(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && kListSeparators.find(s[i]) != std::string_view::npos) ++i;
    size_t j = i;
    while (j < s.size() && kListSeparators.find(s[j]) == std::string_view::npos) ++j;
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

bool IsRaw(const KnownParam* p) { return p && p->info && p->info->raw; }
bool IsReadOnly(const KnownParam* p) { return p && p->info && p->info->read_only; }

}  // namespace

ParamSpace::ParamSpace(const MainCf* main_cf, const MasterCf* master_cf,
                       std::vector<std::pair<std::string, std::string>> overrides)
    : main_(main_cf), master_(master_cf) {
  for (auto& [k, v] : overrides) overrides_[k] = v;
  RegisterBuiltins();
  RegisterServiceParams();
  RegisterUserParams();
}

void ParamSpace::RegisterBuiltins() {
  for (const tables::ParamInfo& info : tables::AllParams()) {
    KnownParam p{std::string(info.name), ParamClass::kBuiltin, &info,
                 std::string(info.default_value)};
    known_.emplace(p.name, std::move(p));
  }
}

void ParamSpace::RegisterServiceParams() {
  if (!master_) return;
  for (const MasterService& svc : master_->services) {
    if (!svc.complete()) continue;
    const std::string& command = svc.field(kFieldCommand);
    for (const tables::ServiceParamTemplate& t : tables::ServiceParamTemplates()) {
      bool applies = false;
      for (const std::string& c : SplitList(t.commands))
        if (c == command) applies = true;
      if (!applies) continue;
      std::string name = svc.name() + std::string(t.suffix);
      auto it = known_.find(name);
      if (it != known_.end()) continue;  // a built-in with its own default (e.g. local_...)
      known_.emplace(name, KnownParam{name, ParamClass::kService, nullptr,
                                      "$" + std::string(t.default_param)});
    }
  }
}

std::optional<std::string> ParamSpace::ExplicitValue(const std::string& name) const {
  auto o = overrides_.find(name);
  if (o != overrides_.end()) return o->second;
  if (main_) {
    if (const Assignment* a = main_->Find(name)) return a->value;
  }
  return std::nullopt;
}

std::optional<std::string> ParamSpace::LocalValue(const MasterService* service,
                                                  const std::string& name) const {
  if (!service) return std::nullopt;
  if (name == "process_name") return service->process_name();
  if (name == "service_name") return service->service_name();
  if (const MasterOption* o = service->FindOption(name)) return o->value;
  return std::nullopt;
}

void ParamSpace::FlagUserParameter(const std::string& name, const MasterService* scope,
                                   SourceSpan where) {
  bool user_supplied = false;
  if (scope && scope->FindOption(name)) {
    user_supplied = true;
    local_valid_[scope].insert(name);
  } else if (ExplicitValue(name)) {
    user_supplied = true;
    if (!known_.count(name)) known_.emplace(name, KnownParam{name, ParamClass::kUser, nullptr, ""});
  }
  if (!scope && master_) {
    for (const MasterService& svc : master_->services) {
      if (svc.FindOption(name)) {
        user_supplied = true;
        local_valid_[&svc].insert(name);
      }
    }
  }
  if (!user_supplied && !known_.count(name))
    warnings_.push_back({NameSpaceWarning::kUndefined, name, "", where, scope});
}

void ParamSpace::ScanValue(std::string_view value, const MasterService* scope,
                           const Assignment* a, const MasterOption* opt) {
  std::vector<Reference> refs;
  ExpandResult scan = ScanReferences(value, &refs);
  for (const Reference& r : refs) {
    SourceSpan where;
    if (a && r.dollar_offset != std::string::npos) where = a->ValueSpanAt(r.dollar_offset, 1);
    if (opt && r.dollar_offset != std::string::npos && scope)
      where = scope->line.SpanAt(opt->value_offset + r.dollar_offset, 1);
    FlagUserParameter(r.name, scope, where);
  }
  for (const ExpandError& e : scan.errors)
    warnings_.push_back({NameSpaceWarning::kSyntax, "", e.message, {}, scope});
}

void ParamSpace::RegisterUserParams() {
  // Restriction classes named in smtpd_restriction_classes become known.
  auto flag_classes = [&](const std::optional<std::string>& list, const MasterService* scope) {
    if (!list) return;
    ExpandResult expanded = ExpandValue(*list, ValueMode::kEffective, scope);
    for (const std::string& cls : SplitList(expanded.text)) {
      if (!scope) restriction_classes_.insert(cls);
      FlagUserParameter(cls, scope, {});
    }
  };
  // master.cf -o name spaces first.
  if (master_) {
    for (const MasterService& svc : master_->services) {
      if (svc.options.empty()) continue;
      if (const MasterOption* o = svc.FindOption("smtpd_restriction_classes"))
        flag_classes(o->value, &svc);
      for (const MasterOption& o : svc.options) {
        if (restriction_classes_.count(o.name)) local_valid_[&svc].insert(o.name);
        const KnownParam* p = Find(o.name);
        if (IsReadOnly(p)) {
          warnings_.push_back({NameSpaceWarning::kReadOnly, o.name, o.value, o.name_span, &svc});
          continue;
        }
        if (IsRaw(p)) continue;
        ScanValue(o.value, &svc, nullptr, &o);
      }
    }
  }
  // Defaults of parameters left at their default.
  std::vector<std::string> names;
  for (const auto& [name, p] : known_) names.push_back(name);
  for (const std::string& name : names) {
    const KnownParam& p = known_.at(name);
    if (IsRaw(&p) || ExplicitValue(name)) continue;
    std::string def = p.default_value;
    ScanValue(def, nullptr, nullptr, nullptr);
  }
  // Explicit main.cf settings (and command-line overrides).
  flag_classes(ExplicitValue("smtpd_restriction_classes"), nullptr);
  if (main_) {
    for (const Assignment& a : main_->assignments) {
      if (a.overridden || overrides_.count(a.name)) continue;
      const KnownParam* p = Find(a.name);
      if (IsReadOnly(p)) {
        warnings_.push_back({NameSpaceWarning::kReadOnly, a.name, a.value, a.name_span, nullptr});
        continue;
      }
      if (IsRaw(p)) continue;
      ScanValue(a.value, nullptr, &a, nullptr);
    }
  }
  for (const auto& [name, value] : overrides_) {
    const KnownParam* p = Find(name);
    if (IsRaw(p) || IsReadOnly(p)) continue;
    ScanValue(value, nullptr, nullptr, nullptr);
  }
  // Unused: explicit settings whose names are still unknown.
  if (main_) {
    for (const Assignment& a : main_->assignments) {
      if (a.overridden || known_.count(a.name)) continue;
      warnings_.push_back({NameSpaceWarning::kUnusedMain, a.name, a.value, a.name_span, nullptr});
    }
  }
  for (const auto& [name, value] : overrides_) {
    if (known_.count(name) || (main_ && main_->Find(name))) continue;
    warnings_.push_back({NameSpaceWarning::kUnusedMain, name, value, {}, nullptr});
  }
  if (master_) {
    for (const MasterService& svc : master_->services) {
      for (const MasterOption& o : svc.options) {
        if (known_.count(o.name) || ValidInService(&svc, o.name)) continue;
        warnings_.push_back({NameSpaceWarning::kUnusedMaster, o.name, o.value, o.name_span, &svc});
      }
    }
  }
}

bool ParamSpace::ValidInService(const MasterService* service, const std::string& name) const {
  auto it = local_valid_.find(service);
  return it != local_valid_.end() && it->second.count(name);
}

const KnownParam* ParamSpace::Find(const std::string& name) const {
  auto it = known_.find(name);
  return it == known_.end() ? nullptr : &it->second;
}

std::optional<std::string> ParamSpace::Value(const std::string& name, ValueMode mode,
                                             const MasterService* service) const {
  if (std::optional<std::string> local = LocalValue(service, name)) return local;
  const KnownParam* p = Find(name);
  if (!p) return std::nullopt;
  if (mode != ValueMode::kDefaultsOnly) {
    if (std::optional<std::string> v = ExplicitValue(name)) return v;
    if (mode == ValueMode::kExplicitOnly) return std::nullopt;
  }
  if (p->info && p->info->host_dependent) return HostDependentDefault(name, mode);
  return p->default_value;
}

std::string ParamSpace::HostDependentDefault(const std::string& name, ValueMode mode) const {
  // Inputs come from main.cf unless only defaults are wanted (postconf -d).
  auto input = [&](const std::string& param) -> std::string {
    ValueMode m = mode == ValueMode::kDefaultsOnly ? ValueMode::kDefaultsOnly : ValueMode::kEffective;
    if (m == ValueMode::kEffective) {
      if (std::optional<std::string> v = ExplicitValue(param)) {
        ExpandResult r = ExpandValue(*v, m);
        return r.error ? "" : r.text;
      }
      if (param == "myhostname" || param == "mydomain") return "";
    } else if (param == "myhostname" || param == "mydomain") {
      return "";
    }
    std::optional<std::string> v = Value(param, m);
    if (!v) return "";
    ExpandResult r = ExpandValue(*v, m);
    return r.error ? "" : r.text;
  };
  if (name == "myhostname") return DefaultMyHostname(input("mydomain"));
  if (name == "mydomain") {
    std::string host = input("myhostname");
    return DefaultMyDomain(host.empty() ? DefaultMyHostname("") : host);
  }
  if (name == "mynetworks")
    return DefaultMyNetworks(input("inet_interfaces"), input("mynetworks_style"),
                             input("inet_protocols"));
  if (name == "process_id") return std::to_string(getpid());
  return Find(name)->default_value;
}

ExpandResult ParamSpace::ExpandValue(std::string_view value, ValueMode mode,
                                     const MasterService* service) const {
  // Expansion inside -n output still sees defaults (postconf does the same).
  ValueMode lookup_mode = mode == ValueMode::kExplicitOnly ? ValueMode::kEffective : mode;
  LookupFn lookup = [&](std::string_view name, bool) {
    return Value(std::string(name), lookup_mode, service);
  };
  return Expand(value, kExpandRecurse, lookup);
}

}  // namespace posthaste::compiler
