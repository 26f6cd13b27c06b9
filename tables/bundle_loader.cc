// bundle_loader.cc: CURRENT -> MANIFEST -> artifacts -> Snapshot, checking
// everything on the way (order and rationale in tables/bundle_format.md §3).
#include "tables/bundle_loader.h"

#include "tables/cidr_table.h"
#include "tables/memory_table.h"
#include "tables/pattern_table.h"
#include "tables/route_verifier.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <cerrno>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "tables/sha256.h"
#include "tables/str_cat.h"

namespace posthaste::tables {
namespace {

// Opens a regular file inside the bundle without following a symlink.
// `what` says what the file is for in the "missing" message.
absl::StatusOr<int> OpenRegular(const std::string& path, std::string_view what) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT) return absl::NotFoundError(Cat(path, ": missing (", what, ")"));
    if (e == ELOOP)
      return absl::DataLossError(Cat(path, ": is a symlink; bundles hold regular files"));
    return absl::UnavailableError(Cat("open ", path, ": ", std::strerror(e)));
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return absl::UnavailableError(Cat("fstat ", path, ": ", std::strerror(e)));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return absl::DataLossError(Cat(path, ": not a regular file"));
  }
  return fd;
}

// Reads at most `limit` bytes of a small file; larger is an error.
absl::StatusOr<std::string> ReadLimited(const std::string& path, size_t limit,
                                        std::string_view what) {
  absl::StatusOr<int> fd = OpenRegular(path, what);
  if (!fd.ok()) return fd.status();
  std::string data;
  char buf[1 << 14];
  for (;;) {
    size_t want = std::min(sizeof buf, limit + 1 - data.size());
    ssize_t n = read(*fd, buf, want);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      close(*fd);
      return absl::UnavailableError(Cat("read ", path, ": ", std::strerror(e)));
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > limit) {
      close(*fd);
      return absl::DataLossError(Cat(path, ": larger than the ", limit, "-byte limit for ", what));
    }
  }
  close(*fd);
  return data;
}

// A CURRENT or generation name for a message: printable, cut short.
std::string Shown(std::string_view s) {
  return Cat("\"", EscapeManifestToken(s.substr(0, 64)), s.size() > 64 ? "..." : "", "\"");
}

}  // namespace

const Table* Snapshot::FindTable(std::string_view name) const {
  auto it = tables_.find(name);
  return it == tables_.end() ? nullptr : it->second.get();
}

const Snapshot::ParamMap* Snapshot::ServiceParams(std::string_view service) const {
  auto it = services_.find(service);
  return it == services_.end() ? nullptr : &it->second;
}

std::optional<std::string_view> Snapshot::ServiceParam(std::string_view service,
                                                       std::string_view param) const {
  const ParamMap* params = ServiceParams(service);
  if (!params) return std::nullopt;
  auto it = params->find(param);
  if (it == params->end()) return std::nullopt;
  return std::string_view(it->second);
}

Loader::Loader(std::string bundle_dir, LoaderLimits limits)
    : bundle_dir_(std::move(bundle_dir)), limits_(limits) {}

absl::StatusOr<std::string> Loader::ReadCurrent() const {
  std::string path = Cat(bundle_dir_, "/", kCurrentFileName);
  absl::StatusOr<std::string> text =
      ReadLimited(path, limits_.max_current_bytes, "the live generation pointer");
  if (!text.ok()) return text.status();
  std::string_view name = *text;
  if (name.empty() || name.back() != '\n')
    return absl::DataLossError(
        Cat(path, ": ", Shown(name), " is not one line ending in a newline"));
  name.remove_suffix(1);
  if (name.find('/') != std::string_view::npos || name.find("..") != std::string_view::npos)
    return absl::DataLossError(
        Cat(path, ": names ", Shown(name), ", outside the bundle directory (want gen-<16 hex>)"));
  if (!IsGenerationName(name))
    return absl::DataLossError(
        Cat(path, ": ", Shown(name), " is not a generation name (want gen-<16 hex>)"));
  return std::string(name);
}

absl::StatusOr<std::shared_ptr<const Snapshot>> Loader::LoadCurrent() const {
  absl::StatusOr<std::string> generation = ReadCurrent();
  if (!generation.ok()) return generation.status();
  return LoadGeneration(*generation);
}

namespace {

struct PendingComposite {
  const ManifestArtifact* artifact;
  std::string path;
};

// Builds a static:, unionmap: or pipemap: table from its artifact file:
// the form on the first line, then the static value (the rest of the file,
// exactly) or one member table name per line. nullopt while a member is not
// built yet.
absl::StatusOr<std::optional<std::unique_ptr<Table>>> BuildComposite(
    const std::string& path, const std::map<std::string, std::unique_ptr<Table>, std::less<>>& tables) {
  std::string text;
  {
    std::ifstream in(path, std::ios::binary);
    if (!in) return absl::UnavailableError(Cat("open ", path, ": ", std::strerror(errno)));
    std::ostringstream buf;
    buf << in.rdbuf();
    text = buf.str();
  }
  size_t nl = text.find('\n');
  if (nl == std::string::npos) return absl::DataLossError(Cat(path, ": no composite form line"));
  std::string form = text.substr(0, nl);
  std::string rest = text.substr(nl + 1);
  if (form == "static") return std::optional<std::unique_ptr<Table>>(std::make_unique<StaticTable>(rest));
  if (form != "unionmap" && form != "pipemap")
    return absl::DataLossError(Cat(path, ": unknown composite form ", Shown(form)));
  std::vector<const Table*> members;
  size_t start = 0;
  while (start < rest.size()) {
    size_t end = rest.find('\n', start);
    if (end == std::string::npos) return absl::DataLossError(Cat(path, ": unterminated member line"));
    auto it = tables.find(std::string_view(rest).substr(start, end - start));
    if (it == tables.end()) return std::optional<std::unique_ptr<Table>>();
    members.push_back(it->second.get());
    start = end + 1;
  }
  if (members.empty()) return absl::DataLossError(Cat(path, ": composite without members"));
  std::unique_ptr<Table> t;
  if (form == "unionmap") {
    t = std::make_unique<UnionTable>(std::move(members), false);
  } else {
    t = std::make_unique<PipeTable>(std::move(members), false);
  }
  return std::optional<std::unique_ptr<Table>>(std::move(t));
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Snapshot>> Loader::LoadGeneration(
    std::string_view generation) const {
  if (!IsGenerationName(generation))
    return absl::InvalidArgumentError(
        Cat(bundle_dir_, ": ", Shown(generation), " is not a generation name (want gen-<16 hex>)"));
  std::shared_ptr<Snapshot> snap(new Snapshot());
  snap->generation_ = std::string(generation);
  snap->directory_ = Cat(bundle_dir_, "/", generation);
  const std::string& dir = snap->directory_;

  struct stat st;
  if (lstat(dir.c_str(), &st) != 0) {
    int e = errno;
    if (e == ENOENT) return absl::NotFoundError(Cat(dir, ": generation missing"));
    return absl::UnavailableError(Cat("lstat ", dir, ": ", std::strerror(e)));
  }
  if (!S_ISDIR(st.st_mode)) return absl::DataLossError(Cat(dir, ": not a directory"));

  // MANIFEST: version first, so a newer format says so; then its hash
  // against the name, so a corrupt MANIFEST is never interpreted; then the
  // strict parse.
  std::string manifest_path = Cat(dir, "/", kManifestFileName);
  absl::StatusOr<std::string> text =
      ReadLimited(manifest_path, limits_.max_manifest_bytes, "the generation's manifest");
  if (!text.ok()) return text.status();
  absl::StatusOr<int> version = Manifest::ParseFormatVersion(*text, manifest_path);
  if (!version.ok()) return version.status();
  snap->manifest_sha256_ = Sha256Hex(*text);
  if (GenerationNameFor(snap->manifest_sha256_) != generation)
    return absl::DataLossError(Cat(manifest_path, ": SHA-256 ", snap->manifest_sha256_,
                                   " does not match generation name ", generation,
                                   " (corrupt MANIFEST or renamed generation)"));
  absl::StatusOr<Manifest> manifest = Manifest::Parse(*text, manifest_path);
  if (!manifest.ok()) return manifest.status();
  snap->manifest_ = *std::move(manifest);

  std::vector<PendingComposite> composites;
  for (const ManifestArtifact& a : snap->manifest_.artifacts) {
    std::string path = Cat(dir, "/", a.file);
    std::string label = Cat(ArtifactKindName(a.kind), " ", Shown(a.name));
    absl::StatusOr<int> fd = OpenRegular(path, Cat("listed in MANIFEST as ", label));
    if (!fd.ok()) return fd.status();
    if (fstat(*fd, &st) != 0) {
      int e = errno;
      close(*fd);
      return absl::UnavailableError(Cat("fstat ", path, ": ", std::strerror(e)));
    }
    if (static_cast<uint64_t>(st.st_size) != a.size) {
      close(*fd);
      bool shorter = static_cast<uint64_t>(st.st_size) < a.size;
      return absl::DataLossError(Cat(path, ": size ", st.st_size, " bytes, MANIFEST says ", a.size,
                                     " (", label, shorter ? " truncated)" : " grown or replaced)"));
    }
    absl::StatusOr<FileDigest> digest = Sha256Fd(*fd, path);
    close(*fd);
    if (!digest.ok()) return digest.status();
    if (digest->size != a.size || digest->sha256 != a.sha256)
      return absl::DataLossError(Cat(path, ": SHA-256 ", digest->sha256,
                                     " does not match MANIFEST's ", a.sha256, " (", label,
                                     " corrupt)"));
    switch (a.kind) {
      case ArtifactKind::kTable: {
        absl::StatusOr<std::unique_ptr<CdbTable>> table = CdbTable::Open(path, a.fold_case);
        if (!table.ok())
          return absl::Status(table.status().code(),
                              Cat(std::string(table.status().message()), " (", label, ")"));
        snap->tables_.emplace(a.name, *std::move(table));
        break;
      }
      case ArtifactKind::kCidr: {
        absl::StatusOr<std::unique_ptr<CidrTable>> table = ReadCidrTable(path);
        if (!table.ok())
          return absl::Status(table.status().code(),
                              Cat(std::string(table.status().message()), " (", label, ")"));
        snap->tables_.emplace(a.name, *std::move(table));
        break;
      }
      case ArtifactKind::kComposite:
        composites.push_back({&a, path});
        break;
      case ArtifactKind::kPatterns: {
        absl::StatusOr<std::string> bytes =
            ReadLimited(path, limits_.max_pattern_table_bytes, label);
        if (!bytes.ok()) return bytes.status();
        absl::StatusOr<std::unique_ptr<PatternTable>> table = ReadPatternTable(*bytes);
        if (!table.ok())
          return absl::Status(table.status().code(),
                              Cat(path, ": ", std::string(table.status().message()), " (", label,
                                  ")"));
        snap->tables_.emplace(a.name, *std::move(table));
        break;
      }
      case ArtifactKind::kRoute: {
        if (snap->route_) return absl::DataLossError(Cat(path, ": a second routing program"));
        absl::StatusOr<std::string> bytes = ReadLimited(path, limits_.max_manifest_bytes, label);
        if (!bytes.ok()) return bytes.status();
        absl::StatusOr<RouteProgram> program = RouteProgram::Decode(*bytes);
        if (!program.ok())
          return absl::Status(program.status().code(),
                              Cat(path, ": ", std::string(program.status().message())));
        snap->route_ = std::make_unique<RouteProgram>(*std::move(program));
        break;
      }
    }
  }

  // Composites refer to other tables by name; build them once their members
  // exist (members may be composites too), and refuse cycles or dangling names.
  for (size_t round = 0; !composites.empty(); ++round) {
    std::vector<PendingComposite> waiting;
    for (const PendingComposite& c : composites) {
      absl::StatusOr<std::optional<std::unique_ptr<Table>>> built =
          BuildComposite(c.path, snap->tables_);
      if (!built.ok())
        return absl::Status(built.status().code(),
                            Cat(std::string(built.status().message()), " (composite ",
                                Shown(c.artifact->name), ")"));
      if (!built->has_value()) {
        waiting.push_back(c);
        continue;
      }
      snap->tables_.emplace(c.artifact->name, std::move(**built));
    }
    if (waiting.size() == composites.size())
      return absl::DataLossError(Cat(dir, "/MANIFEST: composite table ",
                                     Shown(waiting.front().artifact->name),
                                     " names a table the bundle does not hold (or a cycle)"));
    composites = std::move(waiting);
  }

  // The routing program runs only after the verifier accepted it, with every
  // table it names present in this generation.
  if (snap->route_) {
    absl::Status verified = VerifyRouteProgram(
        *snap->route_, [&](std::string_view name) { return snap->tables_.count(name) > 0; });
    if (!verified.ok())
      return absl::DataLossError(Cat(dir, ": ", std::string(verified.message())));
  }

  for (const ManifestServiceParam& p : snap->manifest_.service_params)
    snap->services_[p.service].emplace(p.param, p.value);
  return std::shared_ptr<const Snapshot>(std::move(snap));
}

}  // namespace posthaste::tables
