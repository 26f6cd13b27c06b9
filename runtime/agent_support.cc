// agent_support.cc: outcomes, DSN rules, mail names and BlockingAgent.
#include "runtime/agent_support.h"

#include <cctype>
#include <exception>
#include <vector>

#include "asio/co_spawn.hpp"
#include "asio/use_awaitable.hpp"
#include "runtime/service_params.h"
#include "tables/str_cat.h"

namespace posthaste::runtime {

namespace {

bool Digits(std::string_view s) {
  if (s.empty() || s.size() > 3) return false;
  for (char c : s)
    if (!isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

RecipientOutcome MakeOutcome(size_t index, RecipientOutcome::Status status, std::string_view dsn,
                             char cls, std::string text) {
  RecipientOutcome o;
  o.index = index;
  o.status = status;
  if (ValidDsn(dsn) && dsn[0] == cls)
    o.dsn = std::string(dsn);
  else
    o.dsn = tables::Cat(std::string_view(&cls, 1), ".0.0");
  o.text = std::move(text);
  return o;
}

// RFC 5322 atext, plus 8-bit bytes (SMTPUTF8 local parts are not quoted).
bool IsAtext(unsigned char c) {
  if (isalnum(c) || c >= 0x80) return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(static_cast<char>(c)) !=
         std::string_view::npos;
}

bool IsDotAtom(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  char prev = 0;
  for (char c : s) {
    if (c == '.') {
      if (prev == '.') return false;
    } else if (!IsAtext(static_cast<unsigned char>(c))) {
      return false;
    }
    prev = c;
  }
  return true;
}

// A value still holding an unexpanded $name (a registry default such as
// myorigin's "$myhostname" when the bundle did not carry the parameter).
bool Unexpanded(std::string_view v) { return v.find('$') != std::string_view::npos; }

}  // namespace

bool ValidDsn(std::string_view code) {
  if (code.size() < 5 || (code[0] != '2' && code[0] != '4' && code[0] != '5') || code[1] != '.')
    return false;
  std::string_view rest = code.substr(2);
  size_t dot = rest.find('.');
  if (dot == std::string_view::npos) return false;
  return Digits(rest.substr(0, dot)) && Digits(rest.substr(dot + 1));
}

DsnText SplitDsn(std::string_view text) {
  size_t end = 0;
  while (end < text.size() && !isspace(static_cast<unsigned char>(text[end]))) ++end;
  DsnText out;
  if (ValidDsn(text.substr(0, end))) {
    out.code = std::string(text.substr(0, end));
    text.remove_prefix(end);
    while (!text.empty() && isspace(static_cast<unsigned char>(text.front())))
      text.remove_prefix(1);
  }
  out.text = std::string(text);
  return out;
}

RecipientOutcome SentOutcome(size_t index, std::string_view dsn, std::string text) {
  return MakeOutcome(index, RecipientOutcome::Status::kSent, dsn, '2', std::move(text));
}

RecipientOutcome DeferredOutcome(size_t index, std::string_view dsn, std::string text) {
  return MakeOutcome(index, RecipientOutcome::Status::kDeferred, dsn, '4', std::move(text));
}

RecipientOutcome BouncedOutcome(size_t index, std::string_view dsn, std::string text) {
  return MakeOutcome(index, RecipientOutcome::Status::kBounced, dsn, '5', std::move(text));
}

void ApplySoftBounce(RecipientOutcome* outcome) {
  if (outcome->status != RecipientOutcome::Status::kBounced) return;
  outcome->status = RecipientOutcome::Status::kDeferred;
  if (!outcome->dsn.empty()) outcome->dsn[0] = '4';
}

DeliveryResult DeferAll(const DeliveryRequest& request, std::string_view dsn, std::string text) {
  DeliveryResult result;
  for (const DeliveryRecipient& r : request.recipients)
    result.outcomes.push_back(DeferredOutcome(r.index, dsn, text));
  return result;
}

std::string GlobalParam(const tables::Snapshot& snapshot, std::string_view service,
                        std::string_view name) {
  auto value = [&](const tables::Snapshot::ParamMap* m) -> std::string {
    if (!m) return "";
    auto it = m->find(name);
    if (it == m->end() || it->second.empty() || Unexpanded(it->second)) return "";
    return it->second;
  };
  for (std::string_view from : {service, std::string_view("cleanup/unix")})
    if (std::string v = value(snapshot.ServiceParams(from)); !v.empty()) return v;
  // Then the first service (by name) running a program that documents it.
  for (std::string_view program : {"cleanup", "local", "trivial-rewrite", "smtpd"}) {
    for (const auto& [svc, params] : snapshot.services()) {
      auto it = params.find("process_name");
      if (it == params.end() || it->second != program) continue;
      if (std::string v = value(&params); !v.empty()) return v;
    }
  }
  return "";
}

AgentGlobals ReadAgentGlobals(const tables::Snapshot& snapshot, std::string_view service) {
  AgentGlobals g;
  g.myhostname = GlobalParam(snapshot, service, "myhostname");
  if (g.myhostname.empty()) g.myhostname = ServiceParams(snapshot, service).HostName();
  g.myorigin = GlobalParam(snapshot, service, "myorigin");
  if (g.myorigin.empty()) g.myorigin = g.myhostname;
  bool soft = false;
  g.soft_bounce = ParsePostfixBool(GlobalParam(snapshot, service, "soft_bounce"), &soft) && soft;
  return g;
}

AgentGlobals AgentGlobalsCache::Get(const tables::Snapshot& snapshot, std::string_view service) {
  std::string key = tables::Cat(snapshot.generation(), " ", snapshot.directory(), " ", service);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (key == key_) return value_;
  }
  AgentGlobals g = ReadAgentGlobals(snapshot, service);
  std::lock_guard<std::mutex> lock(mu_);
  key_ = std::move(key);
  value_ = g;
  return g;
}

std::string QuoteAddress(std::string_view address) {
  size_t at = address.rfind('@');
  std::string_view local = at == std::string_view::npos ? address : address.substr(0, at);
  std::string_view domain = at == std::string_view::npos ? "" : address.substr(at);
  if (local.empty() || IsDotAtom(local)) return std::string(address);
  std::string out = "\"";
  for (char c : local) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  out.append(domain);
  return out;
}

DeliveryResult BlockingAgent::Run(const DeliveryRequest& request) {
  DeliveryResult result;
  try {
    result = DeliverNow(request);
  } catch (const std::exception& e) {
    return DeferAll(request, "4.3.0", tables::Cat("local delivery failed: ", e.what()));
  }
  // Every recipient gets exactly one outcome, whatever the agent did.
  std::vector<bool> seen(request.recipients.size(), false);
  for (const RecipientOutcome& o : result.outcomes)
    for (size_t i = 0; i < request.recipients.size(); ++i)
      if (request.recipients[i].index == o.index) seen[i] = true;
  for (size_t i = 0; i < request.recipients.size(); ++i)
    if (!seen[i])
      result.outcomes.push_back(DeferredOutcome(request.recipients[i].index, "4.3.0",
                                                "delivery agent reported no status"));
  return result;
}

asio::awaitable<DeliveryResult> BlockingAgent::Deliver(const DeliveryRequest& request) {
  if (!blocking_) co_return Run(request);
  DeliveryResult result;
  bool failed = false;
  try {
    result = co_await asio::co_spawn(
        *blocking_,
        [this, &request]() -> asio::awaitable<DeliveryResult> { co_return Run(request); },
        asio::use_awaitable);
  } catch (const std::exception&) {
    failed = true;
  }
  if (failed) co_return DeferAll(request, "4.3.0", "local delivery failed: internal error");
  co_return result;
}

}  // namespace posthaste::runtime
