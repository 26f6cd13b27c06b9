// route_vm.cc: the routing VM; each opcode's doc block sits at its case.
//
// Doc block layout (read by people and by the disassembler's synopsis, which
// comes from route_ops.def): name and operands, effect, failure behaviour.
#include "tables/route_vm.h"

#include <algorithm>
#include <set>

#include "tables/str_cat.h"

namespace posthaste::tables {
namespace {

bool EqualFold(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string LowerCopy(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

constexpr int kMap11Nesting = 10;  // cleanup's limit for canonical map nesting

}  // namespace

RouteVm::RouteVm(const RouteProgram& program, std::vector<const Table*> tables)
    : program_(program), tables_(std::move(tables)) {}

RouteRunResult RouteVm::RewriteSender(std::string_view sender, bool trace) const {
  std::string regs[kRouteRegCount];
  regs[kRegAddress] = std::string(sender);
  regs[kRegSender] = std::string(sender);
  RouteRunResult r = Run(kEntrySender, regs, trace);
  if (!r.deferred) r.addresses = {regs[kRegAddress]};
  r.filter = regs[kRegFilter];
  return r;
}

RouteRunResult RouteVm::RewriteRecipient(std::string_view recipient, bool trace) const {
  std::string regs[kRouteRegCount];
  regs[kRegAddress] = std::string(recipient);
  RouteRunResult r = Run(kEntryRecipient, regs, trace);
  if (!r.deferred && r.addresses.empty()) r.addresses = {regs[kRegAddress]};
  return r;
}

RouteRunResult RouteVm::Resolve(std::string_view sender, std::string_view recipient,
                                std::string_view filter, bool trace) const {
  std::string regs[kRouteRegCount];
  regs[kRegAddress] = std::string(recipient);
  regs[kRegSender] = std::string(sender);
  regs[kRegFilter] = std::string(filter);
  RouteRunResult r = Run(kEntryResolve, regs, trace);
  if (!r.deferred) {
    r.addresses = {regs[kRegAddress]};
    r.transport = regs[kRegTransport];
    r.nexthop = regs[kRegNexthop];
    r.source = regs[kRegSource];
  }
  return r;
}

RouteRunResult RouteVm::Run(uint8_t entry, std::string regs[kRouteRegCount], bool trace) const {
  const RouteProgram& p = program_;
  RouteRunResult out;
  auto defer = [&](std::string reason) {
    out.deferred = true;
    out.reason = std::move(reason);
    return out;
  };
  auto str = [&](uint16_t id) -> std::string_view {
    return id < p.strings.size() ? std::string_view(p.strings[id]) : std::string_view();
  };
  TableById by_id = [this](uint16_t id) -> const Table* {
    return id < tables_.size() ? tables_[id] : nullptr;
  };
  static const std::vector<uint16_t> kNoTables;
  auto list = [&](uint16_t id) -> const std::vector<uint16_t>& {
    return id < p.table_lists.size() ? p.table_lists[id] : kNoTables;
  };
  const std::string_view delimiter = str(p.recipient_delimiter);
  // Whether an address's domain is local for the local-part keys (spec §3.6).
  auto is_local = [&](std::string_view address, bool* local) -> bool {
    *local = false;
    if (p.local_domains >= p.domain_lists.size()) return true;
    std::string domain = RouteDomainOf(address);
    if (domain.empty()) return true;
    std::string why;
    MatchStatus m = MatchDomainList(p.domain_lists[p.local_domains], domain, by_id, &why);
    if (m == MatchStatus::kTryAgain) return false;
    *local = m == MatchStatus::kMatch;
    return true;
  };
  auto note = [&](uint16_t pc, std::string text) {
    if (!trace) return;
    const RouteInsn& at = p.code[pc];
    out.trace.push_back({pc, std::move(text),
                         at.origin < p.origins.size() ? p.origins[at.origin] : std::string()});
  };
  auto table_name = [&](uint16_t id) -> std::string {
    return id < p.table_names.size() ? p.table_names[id] : "?";
  };

  size_t pc = entry < p.entries.size() ? p.entries[entry] : p.code.size();
  for (size_t steps = 0; steps < kMaxRouteInsns; ++steps) {
    if (pc >= p.code.size()) return defer("routing program ran off its end");
    const RouteInsn& i = p.code[pc];
    const uint16_t here = static_cast<uint16_t>(pc);
    auto reg = [&](uint8_t r) -> std::string& { return regs[r < kRouteRegCount ? r : uint8_t{kRegTemp}]; };
    size_t next = pc + 1;
    size_t target = pc + 1 + i.z;
    // The common end of findaddr, findsender and findxport: a hit sets r1,
    // a miss goes to the target, a try-again is noted and false (defer).
    auto take_lookup = [&](const AddrMapResult& m) {
      if (m.status == LookupStatus::kTryAgain) {
        note(here, "lookup failure: " + m.why);
        return false;
      }
      if (m.status != LookupStatus::kFound) {
        next = target;
        return true;
      }
      note(here, Cat("key \"", m.key, "\" in ", table_name(m.table_id), " = ", m.raw));
      reg(i.r1) = m.raw;
      return true;
    };
    switch (i.op) {
      // halt
      //   Stops. The entry's outputs are read from the registers: address
      //   (rewrite entries), transport / nexthop / source (resolve).
      case RouteOp::kHalt:
        note(here, "");
        return out;

      // defer x
      //   Stops with a temporary failure whose reason is string x; the
      //   runtime keeps the message queued (resolve) or refuses it with 4xx
      //   (cleanup).
      case RouteOp::kDefer:
        note(here, std::string(str(i.x)));
        return defer(std::string(str(i.x)));

      // jump z
      //   Continues at pc + 1 + z. Jumps only go forward.
      case RouteOp::kJump:
        next = target;
        break;

      // set r1, x
      //   r1 = string x.
      case RouteOp::kSet:
        reg(i.r1) = std::string(str(i.x));
        break;

      // copy r1, r2
      //   r1 = r2.
      case RouteOp::kCopy:
        reg(i.r1) = reg(i.r2);
        break;

      // concat r1, r2, x
      //   r1 = string x followed by r2 (e.g. "5.1.6 User has moved to " + new
      //   location).
      case RouteOp::kConcat:
        reg(i.r1) = Cat(str(i.x), reg(i.r2));
        break;

      // canon r1, x, y, flags
      //   r1 = the canonical form of the address in r1: "@x" (myorigin)
      //   appended to a bare user when flag kCanonAppendAt, ".y" (mydomain)
      //   appended to a dotless domain when kCanonAppendDot.
      case RouteOp::kCanon: {
        CanonicalFormOptions o;
        o.myorigin = std::string(str(i.x));
        o.mydomain = std::string(str(i.y));
        o.append_at_myorigin = (i.flags & kCanonAppendAt) != 0;
        o.append_dot_mydomain = (i.flags & kCanonAppendDot) != 0;
        reg(i.r1) = CanonicalForm(reg(i.r1), o);
        break;
      }

      // domain r1, r2, x
      //   r1 = the domain of the address in r2 as written (trailing dots
      //   removed); string x when the address has none.
      case RouteOp::kDomain: {
        std::string d = RouteDomainOf(reg(i.r2));
        reg(i.r1) = d.empty() ? std::string(str(i.x)) : d;
        break;
      }

      // jempty r1, z
      //   Goes to pc + 1 + z when r1 is empty.
      case RouteOp::kJumpEmpty:
        if (reg(i.r1).empty()) next = target;
        break;

      // jeq r1, x, z
      //   Goes to pc + 1 + z when r1 equals string x, ignoring ASCII case
      //   (used for DUNNO results).
      case RouteOp::kJumpEq:
        if (EqualFold(reg(i.r1), str(i.x))) next = target;
        break;

      // jnotdash r1, z
      //   Goes to pc + 1 + z unless the address in r1 starts with '-'
      //   (allow_min_user = no bounces such recipients).
      case RouteOp::kJumpNotDash:
        if (reg(i.r1).empty() || reg(i.r1)[0] != '-') next = target;
        break;

      // jnotin r1, x, z
      //   Goes to pc + 1 + z unless the domain in r1 is in domain list x
      //   (mydestination, virtual_alias_domains, ...). A table in the list
      //   that answers try-again defers.
      case RouteOp::kJumpNotIn: {
        if (i.x >= p.domain_lists.size()) return defer("routing program: bad domain list");
        std::string why;
        MatchStatus m = MatchDomainList(p.domain_lists[i.x], reg(i.r1), by_id, &why);
        if (m == MatchStatus::kTryAgain) {
          note(here, "lookup failure: " + why);
          return defer("lookup failure");
        }
        note(here, m == MatchStatus::kMatch ? "in list" : "not in list");
        if (m != MatchStatus::kMatch) next = target;
        break;
      }

      // map11 r1, x, flags
      //   Canonical rewriting as cleanup does it: looks r1 up in tables x
      //   (search order of spec §3.6), replaces it by the first address of
      //   the result, and repeats with the new address until a miss or a
      //   result equal to its input, at most 10 times (more defers, as
      //   cleanup's "unreasonable map nesting"). kPropagate: unmatched
      //   address extensions are propagated. A try-again defers.
      case RouteOp::kMap11: {
        std::string& a = reg(i.r1);
        int count = 0;
        for (;; ++count) {
          if (count >= kMap11Nesting) return defer("unreasonable canonical map nesting for " + a);
          bool local = false;
          if (!is_local(a, &local)) return defer("lookup failure");
          AddrMapResult m = MailAddrMap(list(i.x), by_id, a, delimiter, local,
                                        (i.flags & kPropagate) != 0);
          if (m.status == LookupStatus::kTryAgain) {
            note(here, "lookup failure: " + m.why);
            return defer("lookup failure");
          }
          if (m.status != LookupStatus::kFound || m.addresses.empty()) break;
          note(here, Cat(a, " -> ", m.addresses[0], " (key \"", m.key, "\" in ",
                         table_name(m.table_id), ")"));
          bool same = EqualFold(a, m.addresses[0]);
          a = m.addresses[0];
          if (same) break;
        }
        break;
      }

      // expand r1, x, flags
      //   Virtual alias expansion as cleanup does it (spec §5.2): the output
      //   list starts as [r1]; each address is looked up in tables x and
      //   replaced by its result addresses, recursively, until a miss. An
      //   address that expanded to itself is not expanded again; more than
      //   virtual_alias_recursion_limit nested lookups or more than
      //   virtual_alias_expansion_limit addresses defer; a try-again defers.
      //   Duplicates are dropped. The list becomes the entry's output.
      case RouteOp::kExpand: {
        std::vector<std::string> argv = {reg(i.r1)};
        std::set<std::string> been_here;
        for (size_t arg = 0; arg < argv.size(); ++arg) {
          if (argv.size() > p.expansion_limit)
            return defer("unreasonable virtual_alias_maps map expansion size for " + reg(i.r1));
          for (uint32_t count = 0;; ++count) {
            if (been_here.count(LowerCopy(argv[arg]))) break;
            if (count >= p.recursion_limit)
              return defer("unreasonable virtual_alias_maps map nesting for " + reg(i.r1));
            bool local = false;
            if (!is_local(argv[arg], &local)) return defer("lookup failure");
            AddrMapResult m = MailAddrMap(list(i.x), by_id, argv[arg], delimiter, local,
                                          (i.flags & kPropagate) != 0);
            if (m.status == LookupStatus::kTryAgain) {
              note(here, "lookup failure: " + m.why);
              return defer("lookup failure");
            }
            if (m.status != LookupStatus::kFound || m.addresses.empty()) break;
            note(here, Cat(argv[arg], " -> ", m.raw, " (key \"", m.key, "\" in ",
                           table_name(m.table_id), ")"));
            std::string lhs = argv[arg];
            for (size_t k = 0; k < m.addresses.size(); ++k) {
              if (k == 0)
                argv[arg] = m.addresses[k];
              else
                argv.push_back(m.addresses[k]);
              if (EqualFold(lhs, m.addresses[k])) been_here.insert(LowerCopy(lhs));
            }
          }
        }
        std::set<std::string> seen;
        out.addresses.clear();
        for (std::string& a : argv)
          if (seen.insert(LowerCopy(a)).second) out.addresses.push_back(std::move(a));
        break;
      }

      // findaddr r1, r2, x, z
      //   r1 = the value of address r2 in tables x (search order of spec
      //   §3.6; local-part keys when the domain is local); goes to pc + 1 + z
      //   on a miss. A try-again defers (relocated_maps).
      case RouteOp::kFindAddr: {
        bool local = false;
        if (!is_local(reg(i.r2), &local)) return defer("lookup failure");
        AddrMapResult m = MailAddrMap(list(i.x), by_id, reg(i.r2), delimiter, local, false);
        if (!take_lookup(m)) return defer("lookup failure");
        break;
      }

      // findsender r1, r2, x, y, z
      //   r1 = the value of sender r2 in tables x (sender_dependent_* maps;
      //   the null sender is looked up as string y); goes to pc + 1 + z on a
      //   miss. A try-again defers.
      case RouteOp::kFindSender: {
        bool local = false;
        if (!is_local(reg(i.r2), &local)) return defer("lookup failure");
        AddrMapResult m = SenderLookup(list(i.x), by_id, reg(i.r2), delimiter, local, str(i.y));
        if (!take_lookup(m)) return defer("lookup failure");
        break;
      }

      // findxport r1, r2, x, z, flags
      //   r1 = the transport_maps value for address r2 in tables x: full
      //   address, without extension, domain, parent domains (".parent", or
      //   "parent" with kParentStyle), then "*"; goes to pc + 1 + z on a
      //   miss. A try-again defers.
      case RouteOp::kFindTransport: {
        AddrMapResult m = TransportLookup(list(i.x), by_id, reg(i.r2), delimiter,
                                          (i.flags & kParentStyle) != 0);
        if (!take_lookup(m)) return defer("lookup failure");
        break;
      }

      // xparam r1
      //   Applies a transport parameter value in r1 (local_transport, ...,
      //   or a sender_dependent_default_transport_maps result): transport =
      //   text before ':'; a non-empty text after ':' replaces nexthop.
      case RouteOp::kTransportParam: {
        RouteTarget t{regs[kRegTransport], regs[kRegNexthop]};
        ApplyTransportParam(reg(i.r1), &t);
        regs[kRegTransport] = t.transport;
        regs[kRegNexthop] = t.nexthop;
        break;
      }

      // xtable r1
      //   Applies a transport table value in r1 (spec §5.1): "t:h" sets
      //   both, "t:" resets nexthop to the recipient domain (register
      //   domain), ":h" keeps the transport, ":" changes nothing.
      case RouteOp::kTransportTable: {
        RouteTarget t{regs[kRegTransport], regs[kRegNexthop]};
        ApplyTransportTableValue(reg(i.r1), regs[kRegDomain], &t);
        regs[kRegTransport] = t.transport;
        regs[kRegNexthop] = t.nexthop;
        break;
      }

      // filter r1, x
      //   The content filter short-circuit (spec §5.3): transport = r1
      //   before ':', nexthop = the text after it, else string x
      //   (default_filter_nexthop), else the recipient's domain (myhostname
      //   without one). Nothing else of resolution applies.
      case RouteOp::kFilter: {
        RouteTarget t = FilterTarget(reg(i.r1), str(i.x), regs[kRegAddress], str(p.myhostname));
        regs[kRegTransport] = t.transport;
        regs[kRegNexthop] = t.nexthop;
        break;
      }

      // source
      //   source = the IPv4 bind address of the master.cf service named by
      //   register transport (its -o smtp_bind_address or main.cf's; the
      //   lmtp_ twins for lmtp), empty when the service binds none; the
      //   IPv6 one (smtp_bind_address6) goes to the result's source6.
      case RouteOp::kSource: {
        regs[kRegSource].clear();
        out.source6.clear();
        for (const RouteService& s : p.services)
          if (str(s.transport) == regs[kRegTransport]) {
            regs[kRegSource] = std::string(str(s.source));
            out.source6 = std::string(str(s.source6));
            break;
          }
        break;
      }

      // append r1, x
      //   r1 = r1 followed by string x (a bare recipient gets
      //   "@myhostname", as trivial-rewrite's resolver gives it).
      case RouteOp::kAppend:
        reg(i.r1) += str(i.x);
        break;

      default:
        return defer("routing program: unknown opcode");
    }
    if (trace && i.op != RouteOp::kFindAddr && i.op != RouteOp::kFindSender &&
        i.op != RouteOp::kFindTransport && i.op != RouteOp::kJumpNotIn &&
        i.op != RouteOp::kMap11 && i.op != RouteOp::kExpand && i.origin != kNoOrigin)
      note(here, "");
    pc = next;
  }
  return defer("routing program exceeded its instruction budget");
}

}  // namespace posthaste::tables
