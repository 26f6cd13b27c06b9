// route_verifier.cc: every check a routing program passes before it runs.
#include "tables/route_verifier.h"

#include "tables/str_cat.h"

namespace posthaste::tables {
namespace {

absl::Status Bad(std::string_view what) {
  return absl::DataLossError(Cat("route program rejected: ", what));
}

}  // namespace

absl::Status VerifyRouteProgram(const RouteProgram& p,
                                const std::function<bool(std::string_view)>& table_exists) {
  const size_t n = p.code.size();
  if (n == 0) return Bad("no instructions");
  if (n > kMaxRouteInsns) return Bad("too many instructions");
  if (p.strings.size() > kMaxRouteStrings || p.table_names.size() > kMaxRouteTables ||
      p.table_lists.size() > kMaxRouteLists || p.domain_lists.size() > kMaxRouteLists ||
      p.origins.size() > kMaxRouteInsns || p.services.size() > kMaxRouteStrings)
    return Bad("too many constants");
  auto str_ok = [&](uint16_t id) { return id < p.strings.size(); };
  if (!str_ok(p.myhostname) || !str_ok(p.recipient_delimiter))
    return Bad("header names a missing string");
  if (p.local_domains >= p.domain_lists.size()) return Bad("header names a missing domain list");
  if (p.recursion_limit < 1 || p.recursion_limit > kMaxRecursionLimit)
    return Bad(Cat("recursion limit ", p.recursion_limit, " out of range"));
  if (p.expansion_limit < 1 || p.expansion_limit > kMaxExpansionLimit)
    return Bad(Cat("expansion limit ", p.expansion_limit, " out of range"));
  for (size_t e = 0; e < p.entries.size(); ++e)
    if (p.entries[e] >= n) return Bad(Cat("entry ", RouteEntryName(static_cast<uint8_t>(e)), " out of range"));
  for (size_t t = 0; t < p.table_names.size(); ++t) {
    if (p.table_names[t].empty()) return Bad(Cat("table ", t, " has no name"));
    if (table_exists && !table_exists(p.table_names[t]))
      return Bad(Cat("table \"", p.table_names[t], "\" is not in the bundle"));
  }
  for (size_t l = 0; l < p.table_lists.size(); ++l) {
    if (p.table_lists[l].size() > kMaxRouteListItems) return Bad("table list too long");
    for (uint16_t id : p.table_lists[l])
      if (id >= p.table_names.size()) return Bad(Cat("table list ", l, " names missing table ", id));
  }
  for (size_t l = 0; l < p.domain_lists.size(); ++l) {
    if (p.domain_lists[l].items.size() > kMaxRouteListItems) return Bad("domain list too long");
    for (const DomainListItem& item : p.domain_lists[l].items)
      if (item.table ? item.table_id >= p.table_names.size() || !item.pattern.empty()
                     : item.table_id != 0)
        return Bad(Cat("domain list ", l, " has a bad item"));
  }
  for (const RouteService& s : p.services)
    if (!str_ok(s.transport) || !str_ok(s.source) || !str_ok(s.source6)) return Bad("service row names a missing string");

  for (size_t pc = 0; pc < n; ++pc) {
    const RouteInsn& i = p.code[pc];
    const RouteOpInfo* info = RouteOpInfoFor(static_cast<uint8_t>(i.op));
    if (!info) return Bad(Cat("instruction ", pc, ": unknown opcode ", static_cast<int>(i.op)));
    if ((i.flags & ~info->allowed_flags) != 0)
      return Bad(Cat("instruction ", pc, " (", info->name, "): flags not allowed"));
    if (i.origin != kNoOrigin && i.origin >= p.origins.size())
      return Bad(Cat("instruction ", pc, ": origin out of range"));
    auto check = [&](OperandKind kind, uint32_t v, std::string_view slot) -> absl::Status {
      bool ok = true;
      switch (kind) {
        case OperandKind::kNone:
          ok = v == 0;
          break;
        case OperandKind::kReg:
          ok = v < kRouteRegCount;
          break;
        case OperandKind::kString:
          ok = v < p.strings.size();
          break;
        case OperandKind::kTableList:
          ok = v < p.table_lists.size();
          break;
        case OperandKind::kDomainList:
          ok = v < p.domain_lists.size();
          break;
        case OperandKind::kJump:
          ok = pc + 1 + v < n;  // forward only, inside the code
          break;
      }
      if (ok) return absl::OkStatus();
      return Bad(Cat("instruction ", pc, " (", info->name, "): operand ", slot, " = ", v,
                     " out of range"));
    };
    for (absl::Status s : {check(info->r1, i.r1, "r1"), check(info->r2, i.r2, "r2"),
                           check(info->x, i.x, "x"), check(info->y, i.y, "y"),
                           check(info->z, i.z, "z")})
      if (!s.ok()) return s;
  }
  RouteOp last = p.code.back().op;
  if (last != RouteOp::kHalt && last != RouteOp::kDefer)
    return Bad("the last instruction does not stop (halt or defer)");
  return absl::OkStatus();
}

}  // namespace posthaste::tables
