// service_params.h: typed reads of one master.cf service's resolved
// parameters from a loaded bundle.
//
// The compiler already expanded every value ($name references, -o
// overrides) and checked its type; the runtime only converts the strings it
// finds in the Snapshot into numbers, durations, booleans and lists. A value
// that is missing from the bundle falls back to the registry's built-in
// default (tables/params.def), so a service always sees Postfix's default.
// A value that does not convert (a bundle made by another compiler version)
// also falls back to the default and is reported through problems(), never
// fatal: the loader already verified the bundle's integrity.
//
// Host-dependent defaults (myhostname, mydomain, mynetworks) are not in the
// bundle unless set explicitly; HostName() and friends compute them here.
//
// Thread safety: immutable after construction; borrows the Snapshot's map,
// so keep the Snapshot alive.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "tables/bundle_loader.h"

namespace posthaste::runtime {

class ServiceParams {
 public:
  // `service` is "name/type" ("smtp/inet", "cleanup/unix"); a service the
  // bundle lacks gives an empty view (all defaults).
  ServiceParams(const tables::Snapshot& snapshot, std::string_view service);
  // For tests: a plain map, no Snapshot.
  explicit ServiceParams(const tables::Snapshot::ParamMap* params);

  // The raw resolved value, or the registry default, or "" for an unknown name.
  std::string Str(std::string_view name) const;
  // True when the bundle holds a value for `name` (set or defaulted by the compiler).
  bool Has(std::string_view name) const;
  bool Bool(std::string_view name) const;
  int64_t Int(std::string_view name) const;
  // Sizes in bytes (message_size_limit ...).
  int64_t Size(std::string_view name) const { return Int(name); }
  // Time values with Postfix units (s m h d w); a bare number takes the
  // parameter's default unit from the registry.
  absl::Duration Time(std::string_view name) const;
  // A list value split on commas and white space (Postfix's list syntax),
  // keeping {...} groups together.
  std::vector<std::string> List(std::string_view name) const;

  // myhostname (bundle value, else gethostname(), fully qualified if possible).
  std::string HostName() const;
  // mydomain (bundle value, else the host name minus its first label).
  std::string Domain() const;

  const std::vector<std::string>& problems() const { return problems_; }

 private:
  const tables::Snapshot::ParamMap* params_ = nullptr;
  mutable std::vector<std::string> problems_;
};

// A main.cf-wide parameter as a bundle carries it. The bundle records, per
// master.cf service, the parameters that service's program reads; a value
// some other program reads (cleanup's delay_warning_time, the bounce
// daemon's notify_classes, queue_directory ...) is taken from the qmgr,
// bounce or cleanup service, else from the first service that has it.
// nullopt when no service carries it.
std::optional<std::string> MainParamValue(const tables::Snapshot& snapshot, std::string_view name);

// Converts a Postfix time value ("300s", "5d", "2h", bare "60" with
// `default_unit`); false when it is not one.
bool ParsePostfixTime(std::string_view value, char default_unit, absl::Duration* out);
// Postfix boolean: yes/no/true/false (case-insensitive).
bool ParsePostfixBool(std::string_view value, bool* out);
// Splits on commas and white space, {...} groups kept whole (braces kept).
std::vector<std::string> SplitPostfixList(std::string_view value);

}  // namespace posthaste::runtime
