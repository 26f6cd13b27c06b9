// route_codegen.cc: emits the routing bytecode for a RouteModel.
#include "compiler/route_codegen.h"

#include <map>

namespace posthaste::compiler {
namespace {

using tables::RouteInsn;
using tables::RouteOp;
using tables::RouteProgram;
namespace t = tables;

class Assembler {
 public:
  explicit Assembler(const RouteModel& m) : m_(m) {}

  uint16_t Str(const std::string& s) {
    auto it = strings_.find(s);
    if (it != strings_.end()) return it->second;
    uint16_t id = static_cast<uint16_t>(p.strings.size());
    p.strings.push_back(s);
    strings_.emplace(s, id);
    return id;
  }
  uint16_t List(const std::vector<uint16_t>& ids) {
    p.table_lists.push_back(ids);
    return static_cast<uint16_t>(p.table_lists.size() - 1);
  }
  uint16_t Domains(const t::DomainList& list) {
    p.domain_lists.push_back(list);
    return static_cast<uint16_t>(p.domain_lists.size() - 1);
  }
  // The origin of `param` as recorded in the model.
  uint16_t Origin(const std::string& param) {
    auto it = m_.origins.find(param);
    std::string text = param + " (" + (it == m_.origins.end() ? "default" : it->second) + ")";
    auto found = origins_.find(text);
    if (found != origins_.end()) return found->second;
    uint16_t id = static_cast<uint16_t>(p.origins.size());
    p.origins.push_back(text);
    origins_.emplace(text, id);
    return id;
  }

  size_t Emit(RouteOp op, uint8_t r1 = 0, uint8_t r2 = 0, uint16_t x = 0, uint16_t y = 0,
              uint8_t flags = 0, uint16_t origin = t::kNoOrigin) {
    RouteInsn i;
    i.op = op;
    i.r1 = r1;
    i.r2 = r2;
    i.x = x;
    i.y = y;
    i.flags = flags;
    i.origin = origin;
    p.code.push_back(i);
    return p.code.size() - 1;
  }
  // A forward jump from instruction `from` to the next instruction emitted.
  struct Label {
    std::vector<size_t> from;
  };
  void Bind(Label* label) {
    for (size_t f : label->from) p.code[f].z = static_cast<uint16_t>(p.code.size() - f - 1);
    label->from.clear();
  }
  void To(Label* label, size_t insn) { label->from.push_back(insn); }
  size_t here() const { return p.code.size(); }

  RouteProgram p;

 private:
  const RouteModel& m_;
  std::map<std::string, uint16_t> strings_;
  std::map<std::string, uint16_t> origins_;
};

}  // namespace

tables::RouteProgram GenerateRouteProgram(const RouteModel& m) {
  Assembler a(m);
  RouteProgram& p = a.p;
  p.table_names = m.table_names;
  a.Str("");
  p.myhostname = a.Str(m.myhostname);
  p.recipient_delimiter = a.Str(m.recipient_delimiter);
  p.local_domains = a.Domains(m.local_domains);
  p.recursion_limit = m.recursion_limit;
  p.expansion_limit = m.expansion_limit;
  for (const auto& [service, source] : m.service_sources) {
    auto v6 = m.service_sources6.find(service);
    p.services.push_back(
        {a.Str(service), a.Str(source), a.Str(v6 == m.service_sources6.end() ? "" : v6->second)});
  }

  const uint8_t canon_flags = static_cast<uint8_t>((m.append_at_myorigin ? t::kCanonAppendAt : 0) |
                                                   (m.append_dot_mydomain ? t::kCanonAppendDot : 0));
  const uint16_t myorigin = a.Str(m.myorigin), mydomain = a.Str(m.mydomain);
  const uint8_t canon_propagate = m.propagate_canonical ? t::kPropagate : 0;

  // sender: cleanup rewrites the envelope sender once per message and
  // records the content filter request.
  p.entries[t::kEntrySender] = static_cast<uint16_t>(a.here());
  a.Emit(RouteOp::kCanon, t::kRegAddress, 0, myorigin, mydomain, canon_flags,
         a.Origin("myorigin"));
  {
    Assembler::Label done;
    a.To(&done, a.Emit(RouteOp::kJumpEmpty, t::kRegAddress));
    if (m.sender_canonical && !m.sender_canonical_maps.empty())
      a.Emit(RouteOp::kMap11, t::kRegAddress, 0, a.List(m.sender_canonical_maps), 0,
             canon_propagate, a.Origin("sender_canonical_maps"));
    if (m.canonical_sender && !m.canonical_maps.empty())
      a.Emit(RouteOp::kMap11, t::kRegAddress, 0, a.List(m.canonical_maps), 0, canon_propagate,
             a.Origin("canonical_maps"));
    a.Bind(&done);
    if (!m.content_filter.empty())
      a.Emit(RouteOp::kSet, t::kRegFilter, 0, a.Str(m.content_filter), 0, 0,
             a.Origin("content_filter"));
    a.Emit(RouteOp::kHalt);
  }

  // recipient: canonical rewriting, then virtual alias expansion.
  p.entries[t::kEntryRecipient] = static_cast<uint16_t>(a.here());
  a.Emit(RouteOp::kCanon, t::kRegAddress, 0, myorigin, mydomain, canon_flags,
         a.Origin("myorigin"));
  if (m.recipient_canonical && !m.recipient_canonical_maps.empty())
    a.Emit(RouteOp::kMap11, t::kRegAddress, 0, a.List(m.recipient_canonical_maps), 0,
           canon_propagate, a.Origin("recipient_canonical_maps"));
  if (m.canonical_recipient && !m.canonical_maps.empty())
    a.Emit(RouteOp::kMap11, t::kRegAddress, 0, a.List(m.canonical_maps), 0, canon_propagate,
           a.Origin("canonical_maps"));
  if (!m.virtual_alias_maps.empty())
    a.Emit(RouteOp::kExpand, t::kRegAddress, 0, a.List(m.virtual_alias_maps), 0,
           m.propagate_virtual ? t::kPropagate : 0, a.Origin("virtual_alias_maps"));
  a.Emit(RouteOp::kHalt);

  // resolve: spec §5.2 / §5.3 for one final recipient.
  p.entries[t::kEntryResolve] = static_cast<uint16_t>(a.here());
  Assembler::Label no_filter, dash, relocated, tmap, relayhost, split, bare, local, alias,
      mailbox, relay, dflt;
  a.To(&no_filter, a.Emit(RouteOp::kJumpEmpty, t::kRegFilter));
  a.Emit(RouteOp::kFilter, t::kRegFilter, 0, a.Str(m.default_filter_nexthop), 0, 0,
         a.Origin("content_filter"));
  a.To(&dash, a.Emit(RouteOp::kJump));
  a.Bind(&no_filter);
  a.Emit(RouteOp::kDomain, t::kRegDomain, t::kRegAddress, a.Str(""));
  a.To(&bare, a.Emit(RouteOp::kJumpEmpty, t::kRegDomain));
  a.To(&alias, a.Emit(RouteOp::kJumpNotIn, t::kRegDomain, 0, a.Domains(m.mydestination), 0, 0,
                      a.Origin("mydestination")));
  a.To(&local, a.Emit(RouteOp::kJump));
  a.Bind(&bare);
  a.Emit(RouteOp::kSet, t::kRegDomain, 0, p.myhostname);
  a.Emit(RouteOp::kAppend, t::kRegAddress, 0, a.Str("@" + m.myhostname));
  a.Bind(&local);
  a.Emit(RouteOp::kCopy, t::kRegNexthop, t::kRegDomain);
  a.Emit(RouteOp::kSet, t::kRegTemp, 0, a.Str(m.local_transport), 0, 0,
         a.Origin("local_transport"));
  a.Emit(RouteOp::kTransportParam, t::kRegTemp);
  a.To(&tmap, a.Emit(RouteOp::kJump));

  a.Bind(&alias);
  a.To(&mailbox, a.Emit(RouteOp::kJumpNotIn, t::kRegDomain, 0, a.Domains(m.virtual_alias_domains),
                        0, 0, a.Origin("virtual_alias_domains")));
  a.Emit(RouteOp::kSet, t::kRegTransport, 0, a.Str("error"));
  a.Emit(RouteOp::kSet, t::kRegNexthop, 0, a.Str("5.1.1 User unknown in virtual alias table"));
  a.To(&relocated, a.Emit(RouteOp::kJump));

  a.Bind(&mailbox);
  a.To(&relay, a.Emit(RouteOp::kJumpNotIn, t::kRegDomain, 0,
                      a.Domains(m.virtual_mailbox_domains), 0, 0,
                      a.Origin("virtual_mailbox_domains")));
  a.Emit(RouteOp::kCopy, t::kRegNexthop, t::kRegDomain);
  a.Emit(RouteOp::kSet, t::kRegTemp, 0, a.Str(m.virtual_transport), 0, 0,
         a.Origin("virtual_transport"));
  a.Emit(RouteOp::kTransportParam, t::kRegTemp);
  a.To(&tmap, a.Emit(RouteOp::kJump));

  a.Bind(&relay);
  a.To(&dflt, a.Emit(RouteOp::kJumpNotIn, t::kRegDomain, 0, a.Domains(m.relay_domains), 0, 0,
                     a.Origin("relay_domains")));
  a.Emit(RouteOp::kSet, t::kRegTransport, 0, a.Str(m.relay_transport), 0, 0,
         a.Origin("relay_transport"));
  a.To(&relayhost, a.Emit(RouteOp::kJump));

  a.Bind(&dflt);
  a.Emit(RouteOp::kSet, t::kRegTransport, 0, a.Str(m.default_transport), 0, 0,
         a.Origin("default_transport"));
  if (!m.sender_transport_maps.empty()) {
    a.To(&relayhost, a.Emit(RouteOp::kFindSender, t::kRegTemp, t::kRegSender,
                            a.List(m.sender_transport_maps), a.Str(m.empty_transport_key), 0,
                            a.Origin("sender_dependent_default_transport_maps")));
    a.To(&relayhost, a.Emit(RouteOp::kJumpEq, t::kRegTemp, 0, a.Str("DUNNO")));
    a.To(&relayhost, a.Emit(RouteOp::kJumpEmpty, t::kRegTemp));
    a.Emit(RouteOp::kCopy, t::kRegTransport, t::kRegTemp);
  }

  // Relay and default classes: the next hop (spec §5.2 step 6), then the
  // transport's own next hop (step 7).
  a.Bind(&relayhost);
  a.Emit(RouteOp::kCopy, t::kRegNexthop, t::kRegDomain);
  Assembler::Label global;
  if (!m.sender_relayhost_maps.empty()) {
    a.To(&global, a.Emit(RouteOp::kFindSender, t::kRegTemp, t::kRegSender,
                         a.List(m.sender_relayhost_maps), a.Str(m.empty_relayhost_key), 0,
                         a.Origin("sender_dependent_relayhost_maps")));
    a.To(&global, a.Emit(RouteOp::kJumpEq, t::kRegTemp, 0, a.Str("DUNNO")));
    a.To(&global, a.Emit(RouteOp::kJumpEmpty, t::kRegTemp));
    a.Emit(RouteOp::kCopy, t::kRegNexthop, t::kRegTemp);
    a.To(&split, a.Emit(RouteOp::kJump));
  }
  a.Bind(&global);
  if (!m.relayhost.empty())
    a.Emit(RouteOp::kSet, t::kRegNexthop, 0, a.Str(m.relayhost), 0, 0, a.Origin("relayhost"));
  a.Bind(&split);
  a.Emit(RouteOp::kCopy, t::kRegTemp, t::kRegTransport);
  a.Emit(RouteOp::kTransportParam, t::kRegTemp);

  a.Bind(&tmap);
  if (!m.transport_maps.empty()) {
    Assembler::Label miss;
    a.To(&miss, a.Emit(RouteOp::kFindTransport, t::kRegTemp, t::kRegAddress,
                       a.List(m.transport_maps), 0,
                       m.transport_parent_style ? t::kParentStyle : 0, a.Origin("transport_maps")));
    a.Emit(RouteOp::kTransportTable, t::kRegTemp);
    a.Bind(&miss);
  }
  a.Bind(&relocated);
  if (!m.relocated_maps.empty()) {
    Assembler::Label miss;
    a.To(&miss, a.Emit(RouteOp::kFindAddr, t::kRegTemp, t::kRegAddress, a.List(m.relocated_maps),
                       0, 0, a.Origin("relocated_maps")));
    a.Emit(RouteOp::kSet, t::kRegTransport, 0, a.Str("error"));
    a.Emit(RouteOp::kConcat, t::kRegNexthop, t::kRegTemp, a.Str("5.1.6 User has moved to "));
    a.Bind(&miss);
  }
  // The resolver's syntax check; content filters bypass it (spec §5.3).
  if (!m.allow_min_user) {
    Assembler::Label ok;
    a.To(&ok, a.Emit(RouteOp::kJumpNotDash, t::kRegAddress, 0, 0, 0, 0,
                     a.Origin("allow_min_user")));
    a.Emit(RouteOp::kSet, t::kRegTransport, 0, a.Str("error"));
    a.Emit(RouteOp::kSet, t::kRegNexthop, 0, a.Str("5.1.3 bad address syntax"));
    a.Bind(&ok);
  }
  a.Bind(&dash);
  a.Emit(RouteOp::kSource);
  a.Emit(RouteOp::kHalt);
  return std::move(a.p);
}

}  // namespace posthaste::compiler
