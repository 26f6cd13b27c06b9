// delivery_agents.h: the delivery agents one posthasted runs, by master.cf
// command name (Postfix's process_name): smtp (also for lmtp-less relay
// transports), local, virtual, discard, error.
//
// Owned by the server; the queue manager finds an agent per transport with
// Find(process_name). Agents are shared by all bundle generations: what a
// delivery reads from the configuration comes with its DeliveryRequest.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "asio.hpp"
#include "runtime/delivery.h"
#include "runtime/dns_resolver.h"
#include "runtime/local_delivery.h"
#include "runtime/maillog.h"

namespace posthaste::runtime {

struct DeliveryAgentsOptions {
  std::vector<std::string> dns_servers;  // "ip:port"; empty = /etc/resolv.conf
  ForwardFunction forward;               // local alias expansion re-injects through this
};

class DeliveryAgents {
 public:
  static absl::StatusOr<std::unique_ptr<DeliveryAgents>> Create(asio::io_context& io, Maillog* log,
                                                                DeliveryAgentsOptions options);
  ~DeliveryAgents();
  // "smtp", "local", "virtual", "discard", "error"; nullptr for others.
  DeliveryAgent* Find(std::string_view process_name) const;
  // Closes cached SMTP connections (shutdown).
  void CloseIdle();
  // The c-ares resolver the smtp agent uses; the SMTP server's DNS-based
  // restrictions share it.
  DnsResolver* resolver() const { return resolver_.get(); }

 private:
  DeliveryAgents() = default;
  asio::thread_pool blocking_{2};  // local and virtual file work
  std::unique_ptr<DnsResolver> resolver_;
  std::unique_ptr<DeliveryAgent> smtp_, local_, virtual_, discard_, error_;
};

}  // namespace posthaste::runtime
