// param_registry.cc: the parameter registry, expanded from params.def.
//
// Bottom layer (tables/). Turns the generated X-macro rows of params.def and
// programs.def into constexpr arrays and answers lookups by name. The rows are
// sorted by the harvest script and the sort order is checked at compile time,
// so FindParam can binary-search. Pure data: no I/O, no allocation, safe to
// call from any thread at any time. It does not evaluate $name expressions or
// compute host-dependent defaults; callers do that.
#include "tables/param_registry.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <string_view>

namespace posthaste::tables {
namespace {

constexpr int64_t kNoMin = INT64_MIN;
constexpr int64_t kNoMax = INT64_MAX;

constexpr std::string_view kProgramNames[] = {
#define POSTHASTE_PROGRAM(id, name) name,
#include "tables/programs.def"
#undef POSTHASTE_PROGRAM
};
static_assert(std::size(kProgramNames) == kProgramCount);
static_assert(kProgramCount <= 64, "ProgramMask has 64 bits");

#define POSTHASTE_PROGRAM_BIT(p) ProgramBit(p)
#define POSTHASTE_PARAM(name, type, default_value, unit, lo, hi, programs,      \
                        implemented, host_dependent, description, raw,         \
                        read_only, legacy)                                     \
  ParamInfo{name,     ParamType::type, default_value, unit,      lo,       hi, \
            programs, implemented,     description,   host_dependent, raw,     \
            read_only, legacy},
constexpr ParamInfo kParams[] = {
#include "tables/params.def"
};
#undef POSTHASTE_PARAM
#undef POSTHASTE_PROGRAM_BIT

constexpr bool NamesStrictlyIncrease() {
  for (size_t i = 1; i < std::size(kParams); ++i) {
    if (!(kParams[i - 1].name < kParams[i].name)) return false;
  }
  return true;
}
static_assert(NamesStrictlyIncrease(),
              "params.def rows must be sorted by name and unique");

// Service-derived parameters, as postconf registers them for master.cf
// services (postconf_service.c in Postfix 3.7). Delivery agents share one
// list; pipe(8) and spawn(8) also get a command time limit.
constexpr std::string_view kDeliveryAgents = "local,error,virtual,smtp,lmtp,pipe";
constexpr ServiceParamTemplate kServiceTemplates[] = {
    {"_time_limit", "command_time_limit", "pipe,spawn"},
    {"_recipient_limit", "default_recipient_limit", kDeliveryAgents},
    {"_extra_recipient_limit", "default_extra_recipient_limit", kDeliveryAgents},
    {"_recipient_refill_limit", "default_recipient_refill_limit",
     kDeliveryAgents},
    {"_recipient_refill_delay", "default_recipient_refill_delay",
     kDeliveryAgents},
    {"_delivery_slot_cost", "default_delivery_slot_cost", kDeliveryAgents},
    {"_delivery_slot_loan", "default_delivery_slot_loan", kDeliveryAgents},
    {"_delivery_slot_discount", "default_delivery_slot_discount",
     kDeliveryAgents},
    {"_minimum_delivery_slots", "default_minimum_delivery_slots",
     kDeliveryAgents},
    {"_initial_destination_concurrency", "initial_destination_concurrency",
     kDeliveryAgents},
    {"_destination_concurrency_limit", "default_destination_concurrency_limit",
     kDeliveryAgents},
    {"_destination_recipient_limit", "default_destination_recipient_limit",
     kDeliveryAgents},
    {"_destination_concurrency_positive_feedback",
     "default_destination_concurrency_positive_feedback", kDeliveryAgents},
    {"_destination_concurrency_negative_feedback",
     "default_destination_concurrency_negative_feedback", kDeliveryAgents},
    {"_destination_concurrency_failed_cohort_limit",
     "default_destination_concurrency_failed_cohort_limit", kDeliveryAgents},
    {"_destination_rate_delay", "default_destination_rate_delay",
     kDeliveryAgents},
    {"_transport_rate_delay", "default_transport_rate_delay", kDeliveryAgents},
};

}  // namespace

std::string_view ProgramName(Program p) {
  if (p >= kProgramCount) return {};
  return kProgramNames[p];
}

absl::Span<const ParamInfo> AllParams() { return kParams; }

const ParamInfo* FindParam(std::string_view name) {
  const ParamInfo* end = std::end(kParams);
  const ParamInfo* it = std::lower_bound(
      std::begin(kParams), end, name,
      [](const ParamInfo& p, std::string_view n) { return p.name < n; });
  if (it == end || it->name != name) return nullptr;
  return it;
}

absl::Span<const ServiceParamTemplate> ServiceParamTemplates() {
  return kServiceTemplates;
}

std::string_view ParamTypeName(ParamType type) {
  switch (type) {
    case ParamType::kBool:
      return "bool";
    case ParamType::kInt:
      return "int";
    case ParamType::kTime:
      return "time";
    case ParamType::kSize:
      return "size";
    case ParamType::kString:
      return "string";
    case ParamType::kList:
      return "list";
    case ParamType::kMatchList:
      return "match_list";
    case ParamType::kTableList:
      return "table_list";
    case ParamType::kRestrictionList:
      return "restriction_list";
    case ParamType::kServiceName:
      return "service_name";
  }
  return "unknown";
}

}  // namespace posthaste::tables
