// route_disasm.cc: the routing program as text (phc route --disasm).
#include "tables/route_disasm.h"

#include "tables/str_cat.h"

namespace posthaste::tables {

std::string DisassembleRouteProgram(const RouteProgram& p) {
  std::string out;
  auto quoted = [](std::string_view s) { return Cat("\"", s, "\""); };
  out += Cat("; routing program: ", p.code.size(), " instructions, ", p.strings.size(),
             " strings, ", p.table_names.size(), " tables\n");
  out += Cat("; myhostname ", p.myhostname < p.strings.size() ? quoted(p.strings[p.myhostname]) : "?",
             ", recipient_delimiter ",
             p.recipient_delimiter < p.strings.size() ? quoted(p.strings[p.recipient_delimiter]) : "?",
             ", local domains d", p.local_domains, ", recursion limit ", p.recursion_limit,
             ", expansion limit ", p.expansion_limit, "\n");
  for (size_t t = 0; t < p.table_names.size(); ++t)
    out += Cat("; table t", t, " ", p.table_names[t], "\n");
  for (size_t l = 0; l < p.table_lists.size(); ++l) {
    out += Cat("; list l", l, ":");
    for (uint16_t id : p.table_lists[l]) out += Cat(" t", id);
    out += "\n";
  }
  for (size_t l = 0; l < p.domain_lists.size(); ++l) {
    out += Cat("; domains d", l, p.domain_lists[l].parent_matches_subdomains ? " (parent)" : "", ":");
    for (const DomainListItem& item : p.domain_lists[l].items)
      out += Cat(" ", item.negate ? "!" : "", item.table ? Cat("t", item.table_id) : item.pattern);
    out += "\n";
  }
  for (const RouteService& s : p.services)
    if (s.transport < p.strings.size() && s.source < p.strings.size())
      out += Cat("; service ", p.strings[s.transport], " source ",
                 p.strings[s.source].empty() ? "-" : p.strings[s.source],
                 s.source6 < p.strings.size() && !p.strings[s.source6].empty()
                     ? Cat(" source6 ", p.strings[s.source6])
                     : std::string(),
                 "\n");
  for (size_t pc = 0; pc < p.code.size(); ++pc) {
    for (size_t e = 0; e < p.entries.size(); ++e)
      if (p.entries[e] == pc) out += Cat(RouteEntryName(static_cast<uint8_t>(e)), ":\n");
    const RouteInsn& i = p.code[pc];
    const RouteOpInfo* info = RouteOpInfoFor(static_cast<uint8_t>(i.op));
    if (!info) {
      out += Cat("  ", pc, "\t.byte ", static_cast<int>(i.op), "\n");
      continue;
    }
    std::string operands;
    auto add = [&](OperandKind kind, uint32_t v) {
      std::string text;
      switch (kind) {
        case OperandKind::kNone:
          return;
        case OperandKind::kReg:
          text = std::string(RouteRegName(static_cast<uint8_t>(v)));
          break;
        case OperandKind::kString:
          text = v < p.strings.size() ? quoted(p.strings[v]) : Cat("s", v, "?");
          break;
        case OperandKind::kTableList:
          text = Cat("l", v);
          break;
        case OperandKind::kDomainList:
          text = Cat("d", v);
          break;
        case OperandKind::kJump:
          text = Cat("->", pc + 1 + v);
          break;
      }
      operands += operands.empty() ? " " : ", ";
      operands += text;
    };
    add(info->r1, i.r1);
    add(info->r2, i.r2);
    add(info->x, i.x);
    add(info->y, i.y);
    add(info->z, i.z);
    if (i.flags) operands += Cat(operands.empty() ? " " : ", ", "flags=", static_cast<int>(i.flags));
    std::string line = Cat("  ", pc, "\t", info->name, operands);
    out += Cat(line, "\t; ", info->synopsis);
    if (i.origin != kNoOrigin && i.origin < p.origins.size()) out += Cat(" [", p.origins[i.origin], "]");
    out += "\n";
  }
  return out;
}

}  // namespace posthaste::tables
