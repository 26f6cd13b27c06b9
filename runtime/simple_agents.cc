// simple_agents.cc: discard and error/retry.
#include "runtime/simple_agents.h"

#include "runtime/agent_support.h"
#include "runtime/service_params.h"

namespace posthaste::runtime {

namespace {

// The master.cf service name the request came through ("retry").
std::string_view ServiceName(const DeliveryRequest& request) {
  if (!request.transport.empty()) return request.transport;
  std::string_view s = request.service;
  return s.substr(0, s.find('/'));
}

}  // namespace

DeliveryResult DiscardAgent::DeliverNow(const DeliveryRequest& request) {
  DsnText reason = SplitDsn(request.nexthop);
  if (reason.text.empty()) reason.text = "discarded";
  DeliveryResult result;
  result.relay = "none";
  for (const DeliveryRecipient& r : request.recipients)
    result.outcomes.push_back(SentOutcome(r.index, reason.code, reason.text));
  return result;
}

asio::awaitable<DeliveryResult> DiscardAgent::Deliver(const DeliveryRequest& request) {
  co_return DeliverNow(request);
}

DeliveryResult ErrorAgent::DeliverNow(const DeliveryRequest& request) {
  DsnText reason = SplitDsn(request.nexthop);
  if (reason.text.empty()) reason.text = "Address is undeliverable";
  bool retry = ServiceName(request) == "retry";
  bool soft_bounce = false;
  if (!retry && request.snapshot)
    ParsePostfixBool(GlobalParam(*request.snapshot, request.service, "soft_bounce"), &soft_bounce);
  DeliveryResult result;
  result.relay = "none";
  for (const DeliveryRecipient& r : request.recipients) {
    RecipientOutcome o = retry ? DeferredOutcome(r.index, reason.code, reason.text)
                               : BouncedOutcome(r.index, reason.code, reason.text);
    if (soft_bounce) ApplySoftBounce(&o);
    result.outcomes.push_back(std::move(o));
  }
  return result;
}

asio::awaitable<DeliveryResult> ErrorAgent::Deliver(const DeliveryRequest& request) {
  co_return DeliverNow(request);
}

}  // namespace posthaste::runtime
