// bundle_writer.h: GenerationWriter, the publish step of `phc build`.
//
// The last compiler phase (STYLE.md §1): after validation found no error and
// the emitters wrote their artifact files into TempDir(), Commit() writes the
// MANIFEST, fsyncs everything, renames the temporary directory to its
// content-addressed name gen-<16 hex of the MANIFEST's SHA-256> and then
// replaces BUNDLE_DIR/CURRENT by rename, so a reader sees either the old
// bundle or the new one, never a mixture. Layout, MANIFEST format and the
// exact publishing steps: tables/bundle_format.md.
//
// Deterministic: the same sources, artifacts and parameters give a
// byte-identical generation with the same name (no timestamps; rows sorted).
// Inputs are the compiler's own (trusted); the loader re-verifies everything
// anyway. Does not delete old generations: a running server may still map
// them. Not thread-safe; one writer per object. Concurrent `phc build` runs
// into one bundle directory each get their own temporary names; the last
// CURRENT rename wins.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tables/manifest.h"

namespace posthaste::compiler {

class GenerationWriter {
 public:
  struct Result {
    std::string generation;       // "gen-0123456789abcdef"
    std::string directory;        // BUNDLE_DIR/gen-...
    std::string manifest_sha256;  // the bundle hash (64 hex digits)
    bool reused = false;          // an identical generation already existed
    tables::Manifest manifest;    // as written (sorted, with artifact hashes)
  };

  GenerationWriter() { manifest_.compiler_version = "posthaste"; }
  // Removes the temporary directory unless Commit() succeeded.
  ~GenerationWriter();
  GenerationWriter(const GenerationWriter&) = delete;
  GenerationWriter& operator=(const GenerationWriter&) = delete;

  // Creates `bundle_dir` if missing (one level, mode 0755) and a fresh
  // temporary directory BUNDLE_DIR/.tmp-XXXXXX in it. Call once.
  absl::Status Begin(const std::string& bundle_dir);
  // Where the caller writes artifact files (valid after Begin()).
  const std::string& TempDir() const { return temp_dir_; }

  // Recorded in the MANIFEST's `compiler` row (default "posthaste").
  void SetCompilerVersion(std::string version) { manifest_.compiler_version = std::move(version); }
  // Records a source file the compiler read: its path as the user gave it,
  // the SHA-256 (hex) and size of its bytes.
  absl::Status AddSource(std::string path, std::string sha256, uint64_t size);
  // Same, hashing `contents` here.
  absl::Status AddSourceContents(std::string path, std::string_view contents);
  // Lists an artifact the caller has written (or will write before Commit())
  // as TempDir()/file_name. `name` is the artifact's identity; for a table,
  // "type:path" as configured. `fold_case`: table keys were folded to lower
  // case (false for postmap -f).
  absl::Status AddArtifactFile(tables::ArtifactKind kind, std::string name, std::string file_name,
                               bool fold_case = true);
  // Records one resolved parameter of one master.cf service ("name/type").
  absl::Status AddServiceParam(std::string service, std::string param, std::string value);

  // Publishes (see the file comment). Fails if an artifact file is missing
  // or the temporary directory holds a file no artifact lists. On failure
  // before the generation rename, the temporary directory is removed and
  // CURRENT is unchanged; a failure while replacing CURRENT leaves the new,
  // complete generation unreferenced and the old CURRENT in place.
  absl::StatusOr<Result> Commit();

  // Removes the temporary directory; the writer is then finished.
  void Abort();

 private:
  enum class State { kNew, kBegun, kDone };
  absl::StatusOr<Result> CommitOrFail();
  absl::Status WriteCurrent(const std::string& generation);

  State state_ = State::kNew;
  std::string bundle_dir_, temp_dir_;
  tables::Manifest manifest_;
};

}  // namespace posthaste::compiler
