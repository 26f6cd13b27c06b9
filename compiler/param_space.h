// param_space.h: which parameter names exist and what they are worth, per service.
//
// The semantic core shared by `phc check`, `phc conf` and `phc xref`. Built
// from main.cf, master.cf, command-line overrides and the registry, it
// decides what Postfix decides: built-in parameters, service-derived
// parameters (only for services master.cf defines), user-defined parameters
// (known only when some value references them), restriction classes, and
// each service's `-o` name space with its read-only process_name and
// service_name. It answers value lookups (explicit, default, or per service)
// and expands values. It also records what Postfix would warn about while
// building the name space (undefined references, unused parameters,
// read-only assignments), in file order.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "compiler/expand.h"
#include "compiler/main_cf.h"
#include "compiler/master_cf.h"
#include "tables/param_registry.h"

namespace posthaste::compiler {

enum class ParamClass { kBuiltin, kService, kUser };

struct KnownParam {
  std::string name;
  ParamClass cls;
  const tables::ParamInfo* info = nullptr;  // built-in only
  std::string default_value;                // expression, unexpanded
};

// Which values a lookup sees, as postconf's -d / -n modes choose.
enum class ValueMode {
  kEffective,     // main.cf (with overrides) else default
  kDefaultsOnly,  // built-in defaults only (-d)
  kExplicitOnly,  // main.cf only (-n); no default
};

struct NameSpaceWarning {
  enum Kind { kUndefined, kUnusedMain, kUnusedMaster, kReadOnly, kSyntax } kind;
  std::string name;
  std::string value;
  SourceSpan span;  // where the reference or assignment is
  const MasterService* service = nullptr;
};

class ParamSpace {
 public:
  // `overrides`: name=value pairs from the command line (postconf -o).
  ParamSpace(const MainCf* main_cf, const MasterCf* master_cf,
             std::vector<std::pair<std::string, std::string>> overrides = {});

  const KnownParam* Find(const std::string& name) const;
  const std::map<std::string, KnownParam>& known() const { return known_; }

  // main.cf value with command-line overrides applied.
  std::optional<std::string> ExplicitValue(const std::string& name) const;
  // The value `name` has for `service` (nullptr = global), per `mode`.
  std::optional<std::string> Value(const std::string& name, ValueMode mode,
                                   const MasterService* service = nullptr) const;
  // Fully expands `value` in the scope of `service`.
  ExpandResult ExpandValue(std::string_view value, ValueMode mode,
                           const MasterService* service = nullptr) const;

  // Names a service's -o options may use without being unknown: user names
  // validated in that service's name space.
  bool ValidInService(const MasterService* service, const std::string& name) const;
  const std::vector<NameSpaceWarning>& warnings() const { return warnings_; }
  const std::set<std::string>& restriction_classes() const { return restriction_classes_; }

 private:
  void RegisterBuiltins();
  void RegisterServiceParams();
  void RegisterUserParams();
  void FlagUserParameter(const std::string& name, const MasterService* scope, SourceSpan where);
  void ScanValue(std::string_view value, const MasterService* scope, const Assignment* a,
                 const MasterOption* opt);
  std::string HostDependentDefault(const std::string& name, ValueMode mode) const;
  std::optional<std::string> LocalValue(const MasterService* service,
                                        const std::string& name) const;

  const MainCf* main_;
  const MasterCf* master_;
  std::map<std::string, std::string> overrides_;
  std::map<std::string, KnownParam> known_;
  std::map<const MasterService*, std::set<std::string>> local_valid_;
  std::set<std::string> restriction_classes_;
  std::vector<NameSpaceWarning> warnings_;
};

}  // namespace posthaste::compiler
