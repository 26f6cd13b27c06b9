// delivery_agents.cc: the agents posthasted runs.
#include "runtime/delivery_agents.h"

#include "runtime/simple_agents.h"
#include "runtime/smtp_client.h"
#include "runtime/virtual_delivery.h"

namespace posthaste::runtime {

absl::StatusOr<std::unique_ptr<DeliveryAgents>> DeliveryAgents::Create(
    asio::io_context& io, Maillog* log, DeliveryAgentsOptions options) {
  std::unique_ptr<DeliveryAgents> agents(new DeliveryAgents());
  DnsResolverOptions dns;
  dns.servers = options.dns_servers;
  auto resolver = DnsResolver::Create(io.get_executor(), dns);
  if (!resolver.ok()) return resolver.status();
  agents->resolver_ = std::move(*resolver);
  SmtpClientOptions smtp;
  smtp.resolver = agents->resolver_.get();
  smtp.maillog = log;
  agents->smtp_ = std::make_unique<SmtpDeliveryAgent>(io.get_executor(), smtp);
  LocalDeliveryOptions local;
  local.forward = std::move(options.forward);
  local.blocking = agents->blocking_.get_executor();
  local.log = log;
  agents->local_ = std::make_unique<LocalDeliveryAgent>(std::move(local));
  VirtualDeliveryOptions virt;
  virt.blocking = agents->blocking_.get_executor();
  virt.log = log;
  agents->virtual_ = std::make_unique<VirtualDeliveryAgent>(virt);
  agents->discard_ = std::make_unique<DiscardAgent>();
  agents->error_ = std::make_unique<ErrorAgent>();
  return agents;
}

DeliveryAgents::~DeliveryAgents() {
  CloseIdle();
  blocking_.join();
}

DeliveryAgent* DeliveryAgents::Find(std::string_view process_name) const {
  if (process_name == "smtp") return smtp_.get();
  if (process_name == "local") return local_.get();
  if (process_name == "virtual") return virtual_.get();
  if (process_name == "discard") return discard_.get();
  if (process_name == "error") return error_.get();
  return nullptr;
}

void DeliveryAgents::CloseIdle() {
  if (smtp_) static_cast<SmtpDeliveryAgent*>(smtp_.get())->CloseIdleConnections();
}

}  // namespace posthaste::runtime
