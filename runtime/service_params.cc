// service_params.cc: typed reads of a service's resolved parameters.
#include "runtime/service_params.h"

#include <netdb.h>
#include <unistd.h>

#include <cctype>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "tables/str_cat.h"
#include "tables/param_registry.h"

namespace posthaste::runtime {

namespace {

const tables::Snapshot::ParamMap kEmpty;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

ServiceParams::ServiceParams(const tables::Snapshot& snapshot, std::string_view service)
    : params_(snapshot.ServiceParams(service)) {
  if (!params_) params_ = &kEmpty;
}

ServiceParams::ServiceParams(const tables::Snapshot::ParamMap* params)
    : params_(params ? params : &kEmpty) {}

bool ServiceParams::Has(std::string_view name) const { return params_->count(name) > 0; }

std::string ServiceParams::Str(std::string_view name) const {
  auto it = params_->find(name);
  if (it != params_->end()) return it->second;
  const tables::ParamInfo* info = tables::FindParam(name);
  return info ? std::string(info->default_value) : std::string();
}

bool ServiceParams::Bool(std::string_view name) const {
  bool value = false;
  if (ParsePostfixBool(Str(name), &value)) return value;
  const tables::ParamInfo* info = tables::FindParam(name);
  problems_.push_back(tables::Cat(name, ": not a boolean: \"", Str(name), "\""));
  return info && ParsePostfixBool(std::string(info->default_value), &value) && value;
}

int64_t ServiceParams::Int(std::string_view name) const {
  int64_t value = 0;
  std::string text = Str(name);
  if (absl::SimpleAtoi(std::string(Trim(text)), &value)) return value;
  problems_.push_back(tables::Cat(name, ": not a number: \"", text, "\""));
  const tables::ParamInfo* info = tables::FindParam(name);
  if (info && absl::SimpleAtoi(std::string(info->default_value), &value)) return value;
  return 0;
}

absl::Duration ServiceParams::Time(std::string_view name) const {
  const tables::ParamInfo* info = tables::FindParam(name);
  char unit = info && info->time_unit ? info->time_unit : 's';
  absl::Duration d;
  if (ParsePostfixTime(Str(name), unit, &d)) return d;
  problems_.push_back(tables::Cat(name, ": not a time value: \"", Str(name), "\""));
  if (info && ParsePostfixTime(std::string(info->default_value), unit, &d)) return d;
  return absl::ZeroDuration();
}

std::vector<std::string> ServiceParams::List(std::string_view name) const {
  return SplitPostfixList(Str(name));
}

std::string ServiceParams::HostName() const {
  auto it = params_->find("myhostname");
  if (it != params_->end() && !it->second.empty()) return it->second;
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == 0) return "localhost";
  std::string host = name;
  if (host.find('.') == std::string::npos) {
    addrinfo hints{};
    hints.ai_flags = AI_CANONNAME;
    addrinfo* res = nullptr;
    if (getaddrinfo(name, nullptr, &hints, &res) == 0 && res) {
      if (res->ai_canonname && std::strchr(res->ai_canonname, '.')) host = res->ai_canonname;
      freeaddrinfo(res);
    }
  }
  return absl::AsciiStrToLower(host);
}

std::string ServiceParams::Domain() const {
  auto it = params_->find("mydomain");
  if (it != params_->end() && !it->second.empty()) return it->second;
  std::string host = HostName();
  size_t dot = host.find('.');
  return dot == std::string::npos ? "localdomain" : host.substr(dot + 1);
}

std::optional<std::string> MainParamValue(const tables::Snapshot& snapshot, std::string_view name) {
  for (std::string_view service : {"qmgr/unix", "bounce/unix", "cleanup/unix"})
    if (std::optional<std::string_view> v = snapshot.ServiceParam(service, name))
      return std::string(*v);
  for (const auto& [service, params] : snapshot.services()) {
    auto it = params.find(name);
    if (it != params.end()) return it->second;
  }
  return std::nullopt;
}

bool ParsePostfixTime(std::string_view value, char default_unit, absl::Duration* out) {
  value = Trim(value);
  if (value.empty()) return false;
  size_t digits = 0;
  while (digits < value.size() && isdigit(static_cast<unsigned char>(value[digits]))) ++digits;
  if (digits == 0 || digits > 12) return false;
  int64_t n = 0;
  if (!absl::SimpleAtoi(std::string(value.substr(0, digits)), &n)) return false;
  char unit = default_unit;
  if (digits < value.size()) {
    if (digits + 1 != value.size()) return false;
    unit = static_cast<char>(tolower(static_cast<unsigned char>(value[digits])));
  }
  switch (unit) {
    case 's': *out = absl::Seconds(n); return true;
    case 'm': *out = absl::Minutes(n); return true;
    case 'h': *out = absl::Hours(n); return true;
    case 'd': *out = absl::Hours(24 * n); return true;
    case 'w': *out = absl::Hours(24 * 7 * n); return true;
    default: return false;
  }
}

bool ParsePostfixBool(std::string_view value, bool* out) {
  std::string v = absl::AsciiStrToLower(std::string(Trim(value)));
  if (v == "yes" || v == "true") return *out = true, true;
  if (v == "no" || v == "false") return *out = false, true;
  return false;
}

std::vector<std::string> SplitPostfixList(std::string_view value) {
  std::vector<std::string> items;
  size_t i = 0;
  auto sep = [](char c) { return c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (i < value.size()) {
    while (i < value.size() && sep(value[i])) ++i;
    if (i >= value.size()) break;
    size_t start = i;
    int depth = 0;
    while (i < value.size() && (depth > 0 || !sep(value[i]))) {
      if (value[i] == '{') ++depth;
      if (value[i] == '}' && depth > 0) --depth;
      ++i;
    }
    items.emplace_back(value.substr(start, i - start));
  }
  return items;
}

}  // namespace posthaste::runtime
