// manifest.h: the bundle MANIFEST (what one generation holds) and the
// generation layout names.
//
// The contract between the publisher (compiler/bundle_writer.h) and the
// loader (tables/bundle_loader.h); the format is specified in
// tables/bundle_format.md. Serialize() writes the one canonical text for a
// Manifest (rows sorted, strings escaped, no timestamps), so equal inputs give
// equal bytes and the same generation name. Parse() reads text from disk and
// treats it as untrusted: it accepts only canonical text and reports the first
// problem with its line number. Nothing here touches the file system.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace posthaste::tables {

// The format version this build writes and reads (bundle_format.md §4.1).
inline constexpr int kManifestFormatVersion = 1;
inline constexpr std::string_view kManifestMagic = "posthaste-bundle";

// Layout names (bundle_format.md §1).
inline constexpr std::string_view kCurrentFileName = "CURRENT";
inline constexpr std::string_view kManifestFileName = "MANIFEST";
inline constexpr std::string_view kGenerationPrefix = "gen-";
// Hex digits of the MANIFEST's SHA-256 in a generation name.
inline constexpr size_t kGenerationHashDigits = 16;
// Prefix of work-in-progress names inside a bundle directory.
inline constexpr std::string_view kTempPrefix = ".tmp-";

// True for exactly "gen-" followed by 16 lowercase hex digits.
bool IsGenerationName(std::string_view name);
// "gen-" + the first 16 digits of `manifest_sha256` (64 lowercase hex digits).
std::string GenerationNameFor(std::string_view manifest_sha256);
// True for a name allowed as an artifact <file> (bundle_format.md §4.2).
bool IsArtifactFileName(std::string_view name);

enum class ArtifactKind {
  kTable,  // a CDB file, opened with CdbTable
  kCidr,   // cidr rules serialized in a CDB file (cidr_table.h), indexed at load
  kComposite,  // static:, unionmap:, pipemap: a small text file naming the form and
               // the member tables (see bundle_format.md)
  kPatterns,   // a regexp: or pcre: table in compact form (pattern_table.h), compiled at load
  kRoute,      // the routing program (tables/route_format.md), verified at load
};
// "table", ...
std::string_view ArtifactKindName(ArtifactKind kind);

struct ManifestSource {
  std::string path;    // as the user gave it
  std::string sha256;  // 64 lowercase hex digits
  uint64_t size = 0;
};

struct ManifestArtifact {
  ArtifactKind kind = ArtifactKind::kTable;
  std::string name;    // for tables: "type:path" as configured
  std::string sha256;  // of the file's bytes
  uint64_t size = 0;
  std::string file;  // file name inside the generation directory
  // Table flag: keys were folded to lower case at build time (no `nofold`).
  bool fold_case = true;
};

struct ManifestServiceParam {
  std::string service;  // "name/type", e.g. "smtp/inet"
  std::string param;
  std::string value;  // resolved; may be empty or hold any bytes
};

struct Manifest {
  int format_version = kManifestFormatVersion;
  std::string compiler_version;
  std::vector<ManifestSource> sources;
  std::vector<ManifestArtifact> artifacts;
  std::vector<ManifestServiceParam> service_params;

  // The canonical text (bundle_format.md §4): rows sorted, strings escaped.
  // Precondition: Validate() is ok (Serialize does not re-check).
  std::string Serialize() const;

  // Everything Parse would refuse in Serialize()'s output, minus syntax:
  // version, hex digests, artifact file names, duplicates. Order does not
  // matter here; Serialize sorts.
  absl::Status Validate() const;

  // Parses MANIFEST text. `origin` prefixes messages ("origin:LINE: what").
  // Errors: FailedPrecondition for an unsupported format version, DataLoss
  // for anything else malformed.
  static absl::StatusOr<Manifest> Parse(std::string_view text,
                                        std::string_view origin = kManifestFileName);

  // Reads only the header line and returns its format version, so a loader
  // can say "unsupported version" before anything else (DataLoss when the
  // first line is not a bundle header at all).
  static absl::StatusOr<int> ParseFormatVersion(std::string_view text,
                                                std::string_view origin = kManifestFileName);
};

// String token escaping (bundle_format.md §4.3), exposed for tests.
std::string EscapeManifestToken(std::string_view raw);
// False when `token` is not a canonical escaped token.
bool UnescapeManifestToken(std::string_view token, std::string* out);

}  // namespace posthaste::tables
