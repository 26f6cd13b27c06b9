// bundle_loader.h: the verified loader of published bundles and the immutable
// Snapshot it builds.
//
// The disk side of the runtime (STYLE.md §1): reads BUNDLE_DIR/CURRENT, the
// generation's MANIFEST and every artifact, and trusts none of them although
// our own compiler wrote them. It checks the format version, that the
// MANIFEST hash matches the generation name, every artifact's size and
// SHA-256, then maps the tables read-only (tinycdb). The format and the order
// of checks are in tables/bundle_format.md. Every read has a size limit, no
// symlink is followed inside the bundle, and CURRENT can only name a
// gen-<16 hex> directory inside BUNDLE_DIR. Used by `phc verify` now and by the
// runtime's reload later; it never reads configuration text.
//
// Not done here: watching CURRENT, swapping snapshots, deleting old
// generations. A generation directory is immutable by contract: the loader
// hashes an artifact and then maps it by name, so anyone able to rewrite files
// inside a published generation between those steps can already change the
// configuration; protect BUNDLE_DIR with file permissions.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "tables/cdb_table.h"
#include "tables/lookup.h"
#include "tables/manifest.h"
#include "tables/route_program.h"

namespace posthaste::tables {

// One verified generation, mapped and ready to serve.
//
// Thread safety: a Snapshot is immutable after the Loader returns it; any
// number of threads may call its const methods and the tables' Lookup()
// concurrently. Callers hold it through std::shared_ptr<const Snapshot>: the
// runtime publishes a new one with an atomic shared_ptr swap, each session
// copies the pointer once at its start and keeps it to the end, and the
// tables are unmapped when the last copy goes away. Pointers and views handed
// out by a Snapshot (FindTable(), ServiceParams(), ...) live exactly as long
// as the Snapshot: keep the shared_ptr alive while using them.
class Snapshot {
 public:
  using ParamMap = std::map<std::string, std::string, std::less<>>;

  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

  // "gen-0123456789abcdef".
  const std::string& generation() const { return generation_; }
  // The generation directory, BUNDLE_DIR/gen-....
  const std::string& directory() const { return directory_; }
  // SHA-256 of the MANIFEST bytes (64 hex digits): the bundle hash.
  const std::string& manifest_sha256() const { return manifest_sha256_; }
  const Manifest& manifest() const { return manifest_; }

  // The table configured as `name` ("type:path", as written in main.cf), or
  // nullptr when the bundle has no such table.
  const Table* FindTable(std::string_view name) const;
  size_t table_count() const { return tables_.size(); }

  // Resolved parameters of one master.cf service ("name/type"), or nullptr.
  const ParamMap* ServiceParams(std::string_view service) const;
  // One parameter of one service, or nullopt.
  std::optional<std::string_view> ServiceParam(std::string_view service,
                                               std::string_view param) const;
  // The verified routing program (the `route` artifact), or nullptr when the
  // bundle has none. Its table ids resolve through FindTable(table_names[id]).
  const RouteProgram* route_program() const { return route_.get(); }

  // All services, keyed by "name/type".
  const std::map<std::string, ParamMap, std::less<>>& services() const { return services_; }

 private:
  friend class Loader;
  Snapshot() = default;

  std::string generation_, directory_, manifest_sha256_;
  Manifest manifest_;
  std::map<std::string, std::unique_ptr<Table>, std::less<>> tables_;
  std::map<std::string, ParamMap, std::less<>> services_;
  std::unique_ptr<RouteProgram> route_;
};

struct LoaderLimits {
  size_t max_current_bytes = 256;
  size_t max_manifest_bytes = 64 << 20;
  size_t max_pattern_table_bytes = 256 << 20;  // one `patterns` artifact
};

// Loads generations from one bundle directory. Stateless apart from its
// configuration: safe to use from several threads, each call reads the disk
// afresh.
//
// Errors (absl::Status, messages name the file): NotFound when CURRENT, the
// generation or an artifact is missing; FailedPrecondition for an
// unsupported format version; DataLoss for anything malformed, truncated or
// not matching its hash; Unavailable for I/O errors.
class Loader {
 public:
  explicit Loader(std::string bundle_dir, LoaderLimits limits = {});

  // The generation name CURRENT holds, checked to be gen-<16 hex>.
  absl::StatusOr<std::string> ReadCurrent() const;
  // ReadCurrent() then LoadGeneration().
  absl::StatusOr<std::shared_ptr<const Snapshot>> LoadCurrent() const;
  // Verifies and maps one generation by name (e.g. an older one).
  absl::StatusOr<std::shared_ptr<const Snapshot>> LoadGeneration(std::string_view generation) const;

  const std::string& bundle_dir() const { return bundle_dir_; }

 private:
  std::string bundle_dir_;
  LoaderLimits limits_;
};

}  // namespace posthaste::tables
