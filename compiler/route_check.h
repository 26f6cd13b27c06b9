// route_check.h: the routing checks of `phc check` (and of `phc build`).
//
// Part of validation's cross-reference phase: reads the routing settings
// (via the RouteModel's view of main.cf and master.cf) and the entries of
// the indexed and inline tables that carry transports or next hops
// (transport_maps, sender_dependent_default_transport_maps,
// sender_dependent_relayhost_maps) and reports, at the setting's or the
// entry's file:line:col:
//   undefined-route-transport  a transport_maps entry names a service master.cf lacks
//   undefined-sender-transport a sender_dependent_default_transport_maps entry does
//   bad-nexthop                a next hop that does not parse ([host, [h]:port!, ...)
//   relay-domain-local         a relay_domains entry that mydestination already makes local
// Table files are added to the ConfigSet's sources so diagnostics can quote
// them. Regexp, pcre and cidr table results are not inspected (their values
// may contain $n substitutions).
#pragma once

#include "compiler/config_set.h"
#include "compiler/diagnostics.h"

namespace posthaste::compiler {

void CheckRouting(const ConfigSet& config, DiagnosticSink* sink);

// Why `nexthop` is not a valid SMTP/LMTP next hop (host, host:port, [host],
// [host]:port, [ipv6:addr]:port; with `lmtp` also unix:path and
// inet:host:port), or "" when it is.
std::string NexthopProblem(std::string_view nexthop, bool lmtp);

}  // namespace posthaste::compiler
