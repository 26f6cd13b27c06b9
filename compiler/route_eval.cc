// route_eval.cc: the reference evaluator, spec §5 step by step over the model.
#include "compiler/route_eval.h"

#include <set>

#include "tables/str_cat.h"

namespace posthaste::compiler {
namespace {

using tables::AddrMapResult;
using tables::LookupStatus;
using tables::MatchStatus;
using tables::RouteRunResult;
using tables::RouteTarget;
using tables::Cat;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

constexpr int kCanonicalNesting = 10;

// One evaluation: the tables, the trace, and the deferral state.
class Run {
 public:
  Run(const RouteModel& m, const std::vector<const tables::Table*>& ts, bool trace)
      : m_(m), trace_(trace) {
    by_id_ = [&ts](uint16_t id) -> const tables::Table* {
      return id < ts.size() ? ts[id] : nullptr;
    };
  }

  void Step(std::string note, const std::string& param) {
    if (!trace_) return;
    auto it = m_.origins.find(param);
    out.trace.push_back({0, std::move(note), it == m_.origins.end() ? "" : Cat(param, " (", it->second, ")")});
  }
  bool Defer(std::string reason) {
    out.deferred = true;
    out.reason = std::move(reason);
    return false;
  }
  std::string TableName(uint16_t id) const {
    return id < m_.table_names.size() ? m_.table_names[id] : "?";
  }

  // Whether the address's domain counts as local for local-part keys.
  bool IsLocal(std::string_view address, bool* local) {
    *local = false;
    std::string d = tables::RouteDomainOf(address);
    if (d.empty()) return true;
    std::string why;
    MatchStatus s = tables::MatchDomainList(m_.local_domains, d, by_id_, &why);
    if (s == MatchStatus::kTryAgain) return Defer("lookup failure");
    *local = s == MatchStatus::kMatch;
    return true;
  }

  // cleanup_map11: one-to-one rewriting, nested.
  bool Canonical(const std::vector<uint16_t>& maps, const std::string& param, std::string* addr) {
    if (maps.empty()) return true;
    for (int n = 0; n < kCanonicalNesting; ++n) {
      bool local;
      if (!IsLocal(*addr, &local)) return false;
      AddrMapResult r = tables::MailAddrMap(maps, by_id_, *addr, m_.recipient_delimiter, local,
                                            m_.propagate_canonical);
      if (r.status == LookupStatus::kTryAgain) return Defer("lookup failure");
      if (r.status != LookupStatus::kFound || r.addresses.empty()) return true;
      Step(Cat(*addr, " -> ", r.addresses[0], " (key \"", r.key, "\" in ", TableName(r.table_id), ")"),
           param);
      bool unchanged = Lower(*addr) == Lower(r.addresses[0]);
      *addr = r.addresses[0];
      if (unchanged) return true;
    }
    return Defer("unreasonable canonical map nesting for " + *addr);
  }

  // cleanup_map1n: virtual alias expansion.
  bool Expand(const std::string& input, std::vector<std::string>* result) {
    std::vector<std::string> list = {input};
    if (m_.virtual_alias_maps.empty()) {
      *result = list;
      return true;
    }
    std::set<std::string> expanded_to_self;
    for (size_t at = 0; at < list.size(); ++at) {
      if (list.size() > m_.expansion_limit)
        return Defer("unreasonable virtual_alias_maps map expansion size for " + input);
      for (uint32_t depth = 0;; ++depth) {
        if (expanded_to_self.count(Lower(list[at]))) break;
        if (depth >= m_.recursion_limit)
          return Defer("unreasonable virtual_alias_maps map nesting for " + input);
        bool local;
        if (!IsLocal(list[at], &local)) return false;
        AddrMapResult r = tables::MailAddrMap(m_.virtual_alias_maps, by_id_, list[at],
                                              m_.recipient_delimiter, local, m_.propagate_virtual);
        if (r.status == LookupStatus::kTryAgain) return Defer("lookup failure");
        if (r.status != LookupStatus::kFound || r.addresses.empty()) break;
        Step(Cat(list[at], " -> ", r.raw, " (key \"", r.key, "\" in ", TableName(r.table_id), ")"),
             "virtual_alias_maps");
        const std::string before = list[at];
        list[at] = r.addresses[0];
        for (size_t k = 1; k < r.addresses.size(); ++k) list.push_back(r.addresses[k]);
        for (const std::string& a : r.addresses)
          if (Lower(a) == Lower(before)) expanded_to_self.insert(Lower(before));
      }
    }
    std::set<std::string> seen;
    for (const std::string& a : list)
      if (seen.insert(Lower(a)).second) result->push_back(a);
    return true;
  }

  tables::CanonicalFormOptions FormOptions() const {
    return {m_.myorigin, m_.mydomain, m_.append_at_myorigin, m_.append_dot_mydomain};
  }

  // A lookup in a domain list; false (deferred) on try-again.
  bool InList(const tables::DomainList& list, const std::string& domain, bool* in) {
    std::string why;
    MatchStatus s = tables::MatchDomainList(list, domain, by_id_, &why);
    if (s == MatchStatus::kTryAgain) return Defer("lookup failure");
    *in = s == MatchStatus::kMatch;
    return true;
  }

  // A sender_dependent_* lookup; `value` empty when not found.
  bool SenderValue(const std::vector<uint16_t>& maps, const std::string& param,
                   const std::string& sender, const std::string& null_key, std::string* value) {
    value->clear();
    if (maps.empty()) return true;
    bool local;
    if (!IsLocal(sender, &local)) return false;
    AddrMapResult r = tables::SenderLookup(maps, by_id_, sender, m_.recipient_delimiter, local, null_key);
    if (r.status == LookupStatus::kTryAgain) return Defer("lookup failure");
    if (r.status != LookupStatus::kFound) return true;
    Step(Cat("key \"", r.key, "\" in ", TableName(r.table_id), " = ", r.raw), param);
    *value = r.raw;
    if (*value == "") *value = "";
    return true;
  }

  void Decide(const std::string& sender, const std::string& rcpt, const std::string& filter);

  RouteRunResult out;

 private:
  const RouteModel& m_;
  bool trace_;
  tables::TableById by_id_;
};

bool IsDunno(const std::string& v) { return Lower(v) == "dunno"; }

void Run::Decide(const std::string& sender, const std::string& rcpt, const std::string& filter) {
  RouteTarget t;
  std::string final_rcpt = rcpt;
  enum Class { kLocal, kAlias, kMailbox, kRelay, kDefault } cls = kDefault;
  if (!filter.empty()) {
    // Spec §5.3: the filter short-circuits resolution entirely.
    t = tables::FilterTarget(filter, m_.default_filter_nexthop, rcpt, m_.myhostname);
    Step("content filter " + filter + " bypasses the resolver -> " + t.transport + " " + t.nexthop,
         "content_filter");
  } else {
    std::string domain = tables::RouteDomainOf(rcpt);
    bool in = false;
    if (domain.empty()) {
      domain = m_.myhostname;
      final_rcpt = rcpt + "@" + m_.myhostname;
      cls = kLocal;
    } else {
      if (!InList(m_.mydestination, domain, &in)) return;
      if (in) {
        cls = kLocal;
      } else {
        if (!InList(m_.virtual_alias_domains, domain, &in)) return;
        if (in) {
          cls = kAlias;
        } else {
          if (!InList(m_.virtual_mailbox_domains, domain, &in)) return;
          if (in) {
            cls = kMailbox;
          } else {
            if (!InList(m_.relay_domains, domain, &in)) return;
            cls = in ? kRelay : kDefault;
            if (!in)
              Step("default class: " + domain +
                       " is not in mydestination, virtual_alias_domains, virtual_mailbox_domains"
                       " or relay_domains",
                   "default_transport");
          }
        }
      }
    }
    std::string channel;
    switch (cls) {
      case kLocal:
        Step("local domain " + domain, "mydestination");
        t.nexthop = domain;
        tables::ApplyTransportParam(m_.local_transport, &t);
        Step("transport " + m_.local_transport, "local_transport");
        break;
      case kAlias:
        Step("virtual alias domain " + domain + " without a matching alias", "virtual_alias_domains");
        t = {"error", "5.1.1 User unknown in virtual alias table"};
        break;
      case kMailbox:
        Step("virtual mailbox domain " + domain, "virtual_mailbox_domains");
        t.nexthop = domain;
        tables::ApplyTransportParam(m_.virtual_transport, &t);
        Step("transport " + m_.virtual_transport, "virtual_transport");
        break;
      case kRelay:
      case kDefault: {
        if (cls == kRelay) {
          Step("relay domain " + domain, "relay_domains");
          channel = m_.relay_transport;
          Step("transport " + channel, "relay_transport");
        } else {
          channel = m_.default_transport;
          std::string v;
          if (!SenderValue(m_.sender_transport_maps, "sender_dependent_default_transport_maps",
                           sender, m_.empty_transport_key, &v))
            return;
          if (!v.empty() && !IsDunno(v)) {
            channel = v;
            Step("transport " + channel + " from the sender's entry", "sender_dependent_default_transport_maps");
          }
          else
            Step("transport " + channel, "default_transport");
        }
        t.nexthop = domain;
        std::string relay;
        if (!SenderValue(m_.sender_relayhost_maps, "sender_dependent_relayhost_maps", sender,
                         m_.empty_relayhost_key, &relay))
          return;
        if (!relay.empty() && !IsDunno(relay)) {
          t.nexthop = relay;
          Step("next hop " + relay + " from the sender's entry", "sender_dependent_relayhost_maps");
        } else if (!m_.relayhost.empty()) {
          t.nexthop = m_.relayhost;
          Step("relayhost " + m_.relayhost, "relayhost");
        }
        std::string before = t.nexthop;
        tables::ApplyTransportParam(channel, &t);
        if (t.nexthop != before)
          Step("next hop " + t.nexthop + " written in the transport " + channel +
                   " replaces " + before,
               cls == kRelay ? "relay_transport" : "default_transport");
        break;
      }
    }
    if (cls != kAlias && !m_.transport_maps.empty()) {
      AddrMapResult r = tables::TransportLookup(m_.transport_maps, by_id_, final_rcpt,
                                                m_.recipient_delimiter, m_.transport_parent_style);
      if (r.status == LookupStatus::kTryAgain) {
        Defer("lookup failure");
        return;
      }
      if (r.status == LookupStatus::kFound) {
        Step(Cat("key \"", r.key, "\" in ", TableName(r.table_id), " = ", r.raw), "transport_maps");
        tables::ApplyTransportTableValue(r.raw, domain, &t);
        Step("transport_maps -> " + t.transport + " " + t.nexthop, "transport_maps");
      }
    }
    if (!m_.relocated_maps.empty()) {
      bool local;
      if (!IsLocal(final_rcpt, &local)) return;
      AddrMapResult r = tables::MailAddrMap(m_.relocated_maps, by_id_, final_rcpt,
                                            m_.recipient_delimiter, local, false);
      if (r.status == LookupStatus::kTryAgain) {
        Defer("lookup failure");
        return;
      }
      if (r.status == LookupStatus::kFound) {
        Step(Cat("key \"", r.key, "\" in ", TableName(r.table_id), " = ", r.raw), "relocated_maps");
        t = {"error", "5.1.6 User has moved to " + r.raw};
      }
    }
    if (!m_.allow_min_user && !rcpt.empty() && rcpt[0] == '-') {
      Step("local part starts with '-'", "allow_min_user");
      t = {"error", "5.1.3 bad address syntax"};
    }
  }
  out.addresses = {final_rcpt};
  out.transport = t.transport;
  out.nexthop = t.nexthop;
  auto it = m_.service_sources.find(t.transport);
  out.source = it == m_.service_sources.end() ? "" : it->second;
  auto v6 = m_.service_sources6.find(t.transport);
  out.source6 = v6 == m_.service_sources6.end() ? "" : v6->second;
}

}  // namespace

RouteEvaluator::RouteEvaluator(const RouteModel& model, std::vector<const tables::Table*> tables)
    : model_(model), tables_(std::move(tables)) {}

tables::RouteRunResult RouteEvaluator::RewriteSender(std::string_view sender, bool trace) const {
  Run run(model_, tables_, trace);
  std::string addr = tables::CanonicalForm(sender, run.FormOptions());
  if (!addr.empty()) {
    if (model_.sender_canonical &&
        !run.Canonical(model_.sender_canonical_maps, "sender_canonical_maps", &addr))
      return run.out;
    if (model_.canonical_sender && !run.Canonical(model_.canonical_maps, "canonical_maps", &addr))
      return run.out;
  }
  run.out.addresses = {addr};
  run.out.filter = model_.content_filter;
  return run.out;
}

tables::RouteRunResult RouteEvaluator::RewriteRecipient(std::string_view recipient,
                                                        bool trace) const {
  Run run(model_, tables_, trace);
  std::string addr = tables::CanonicalForm(recipient, run.FormOptions());
  if (model_.recipient_canonical &&
      !run.Canonical(model_.recipient_canonical_maps, "recipient_canonical_maps", &addr))
    return run.out;
  if (model_.canonical_recipient && !run.Canonical(model_.canonical_maps, "canonical_maps", &addr))
    return run.out;
  std::vector<std::string> list;
  if (!run.Expand(addr, &list)) return run.out;
  run.out.addresses = std::move(list);
  return run.out;
}

tables::RouteRunResult RouteEvaluator::Resolve(std::string_view sender, std::string_view recipient,
                                               std::string_view filter, bool trace) const {
  Run run(model_, tables_, trace);
  run.Decide(std::string(sender), std::string(recipient), std::string(filter));
  return run.out;
}

}  // namespace posthaste::compiler
