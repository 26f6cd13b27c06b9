// host_defaults.h: built-in defaults that Postfix computes on the running host.
//
// myhostname (the host name, made fully qualified with $mydomain or
// "localdomain"), mydomain (myhostname minus its first label, or
// "localdomain" when it has no dot), mynetworks (the networks of the listening interfaces
// per mynetworks_style), process_id and process_name. Used by ParamSpace
// when a default of a host-dependent registry row is needed. Reads the
// host name and the interface list; nothing else.
#pragma once

#include <string>

namespace posthaste::compiler {

std::string HostName();  // gethostname(), unqualified or not
// `mydomain` = the value of $mydomain to append when the host name has no
// dot (empty: "localdomain").
std::string DefaultMyHostname(const std::string& mydomain);
std::string DefaultMyDomain(const std::string& myhostname);
// `interfaces`: the expanded inet_interfaces value; `style`: subnet, host
// or class; `protocols`: the expanded inet_protocols value.
std::string DefaultMyNetworks(const std::string& interfaces, const std::string& style,
                              const std::string& protocols);

}  // namespace posthaste::compiler
