// route_model.h: the routing model: every setting of spec §5, read from a ConfigSet.
//
// The middle of the routing pipeline: a validated ConfigSet goes in; out
// comes a RouteModel, plain data with every parameter already `$`-expanded,
// lists split, tables named by id, and for each setting where it was written
// (main.cf:LINE or "default") so `phc route --explain` can cite it. The
// reference evaluator (route_eval.h) walks this model directly; the code
// generator (route_codegen.h) turns it into a RouteProgram for the VM. Both
// must agree on every input. Tables are only named here (table_names); the
// caller opens them (compiler/table_open.h or a bundle Snapshot).
//
// Not modelled: smtpd-time checks (local_recipient_maps, relay_recipient_maps),
// fallback_transport / mailbox_transport (local(8) decides those after
// routing), percent hack and bang paths.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "compiler/config_set.h"
#include "tables/route_rules.h"

namespace posthaste::compiler {

struct RouteModel {
  // Where each setting the model uses comes from: "PATH:LINE" or "default".
  std::map<std::string, std::string> origins;
  std::vector<std::string> table_names;  // table id -> "type:name" (expanded)

  std::string myhostname, mydomain, myorigin;
  bool append_at_myorigin = true;
  bool append_dot_mydomain = false;
  std::string recipient_delimiter;

  // Address classes (spec §5.2).
  tables::DomainList mydestination;  // plus inet_interfaces / proxy_interfaces literals
  tables::DomainList virtual_alias_domains;
  tables::DomainList virtual_mailbox_domains;
  tables::DomainList relay_domains;
  // Domains whose local part alone is a lookup key (spec §3.6): $myorigin,
  // $mydestination, interface literals.
  tables::DomainList local_domains;

  std::string local_transport, virtual_transport, relay_transport, default_transport;
  std::string relayhost;
  // content_filter of mail submitted locally (pickup's -o, else main.cf);
  // the runtime replaces it with the receiving service's own value.
  std::string content_filter, default_filter_nexthop;
  std::string empty_relayhost_key = "<>", empty_transport_key = "<>";
  bool transport_parent_style = false;  // transport_maps in parent_domain_matches_subdomains
  bool propagate_canonical = true, propagate_virtual = true;
  bool allow_min_user = false;
  bool canonical_sender = true, canonical_recipient = true;  // canonical_classes
  bool sender_canonical = true;     // sender_canonical_classes has envelope_sender
  bool recipient_canonical = true;  // recipient_canonical_classes has envelope_recipient
  uint32_t recursion_limit = 1000, expansion_limit = 1000;

  // Table lists (ids into table_names), in search order.
  std::vector<uint16_t> virtual_alias_maps, canonical_maps, sender_canonical_maps,
      recipient_canonical_maps, relocated_maps, transport_maps, sender_relayhost_maps,
      sender_transport_maps;

  // master.cf services of type unix: name -> bind address the delivery
  // binds to (smtp_bind_address for smtp, lmtp_bind_address for lmtp; the
  // service's -o or main.cf's), empty for none.
  std::map<std::string, std::string> service_sources;
  std::map<std::string, std::string> service_sources6;  // smtp_bind_address6 / lmtp_bind_address6
};

// Problems found while building the model (a table list item that is not
// type:name, a list file that cannot be read, ...), for `phc check`.
struct RouteModelProblem {
  std::string param;
  std::string message;
};

// Builds the model from a loaded configuration (main.cf must be present).
RouteModel BuildRouteModel(const ConfigSet& config, std::vector<RouteModelProblem>* problems);

}  // namespace posthaste::compiler
