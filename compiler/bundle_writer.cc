// bundle_writer.cc: writing a generation and switching CURRENT to it.
//
// The ordering (fsync files, fsync the directory, rename, fsync the parent)
// is what makes a crash at any point leave either the old or the new bundle
// live, never a half-written one (LevelDB's SetCurrentFile does the same).
#include "compiler/bundle_writer.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>
#include <string>
#include <type_traits>
#include <utility>

#include "tables/bundle_loader.h"
#include "tables/sha256.h"
#include "tables/str_cat.h"

namespace posthaste::compiler {
namespace {

using tables::Cat;

absl::Status Errno(std::string_view what, std::string_view path) {
  return absl::UnavailableError(Cat(what, " ", path, ": ", std::strerror(errno)));
}

void RemoveTree(const std::string& path) {
  std::error_code ec;  // best effort: nothing useful to do on failure
  std::filesystem::remove_all(path, ec);
}

absl::Status FsyncPath(const std::string& path, int flags) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | flags);
  if (fd < 0) return Errno("open", path);
  if (fsync(fd) != 0) {
    absl::Status s = Errno("fsync", path);
    close(fd);
    return s;
  }
  close(fd);
  return absl::OkStatus();
}

absl::Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("write", path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

// A unique, not yet existing name "<dir>/<prefix>XXXXXX" reserved as an
// empty directory.
absl::StatusOr<std::string> MakeTempDir(const std::string& dir, std::string_view prefix) {
  std::string tmpl = Cat(dir, "/", prefix, "XXXXXX");
  if (mkdtemp(tmpl.data()) == nullptr) return Errno("mkdtemp", tmpl);
  return tmpl;
}

}  // namespace

GenerationWriter::~GenerationWriter() { Abort(); }

void GenerationWriter::Abort() {
  if (state_ == State::kBegun && !temp_dir_.empty()) RemoveTree(temp_dir_);
  state_ = State::kDone;
}

absl::Status GenerationWriter::Begin(const std::string& bundle_dir) {
  if (state_ != State::kNew) return absl::FailedPreconditionError("GenerationWriter: Begin twice");
  if (bundle_dir.empty()) return absl::InvalidArgumentError("empty bundle directory name");
  if (mkdir(bundle_dir.c_str(), 0755) != 0 && errno != EEXIST) return Errno("mkdir", bundle_dir);
  struct stat st;
  if (stat(bundle_dir.c_str(), &st) != 0) return Errno("stat", bundle_dir);
  if (!S_ISDIR(st.st_mode))
    return absl::FailedPreconditionError(Cat(bundle_dir, ": not a directory"));
  absl::StatusOr<std::string> temp = MakeTempDir(bundle_dir, tables::kTempPrefix);
  if (!temp.ok()) return temp.status();
  bundle_dir_ = bundle_dir;
  temp_dir_ = *std::move(temp);
  state_ = State::kBegun;
  return absl::OkStatus();
}

absl::Status GenerationWriter::AddSource(std::string path, std::string sha256, uint64_t size) {
  if (!tables::IsSha256Hex(sha256))
    return absl::InvalidArgumentError(Cat("source ", path, ": bad sha256"));
  for (const tables::ManifestSource& s : manifest_.sources)
    if (s.path == path) return absl::AlreadyExistsError(Cat("source ", path, " added twice"));
  manifest_.sources.push_back({std::move(path), std::move(sha256), size});
  return absl::OkStatus();
}

absl::Status GenerationWriter::AddSourceContents(std::string path, std::string_view contents) {
  return AddSource(std::move(path), tables::Sha256Hex(contents), contents.size());
}

absl::Status GenerationWriter::AddArtifactFile(tables::ArtifactKind kind, std::string name,
                                               std::string file_name, bool fold_case) {
  if (name.empty()) return absl::InvalidArgumentError("artifact with an empty name");
  if (!tables::IsArtifactFileName(file_name))
    return absl::InvalidArgumentError(
        Cat("artifact ", name, ": bad file name \"", file_name,
            "\" (want [A-Za-z0-9][A-Za-z0-9._-]*, not MANIFEST or CURRENT)"));
  for (const tables::ManifestArtifact& a : manifest_.artifacts) {
    if (a.kind == kind && a.name == name)
      return absl::AlreadyExistsError(Cat("artifact ", name, " added twice"));
    if (a.file == file_name)
      return absl::AlreadyExistsError(
          Cat("artifact file ", file_name, " used by ", a.name, " and ", name));
  }
  tables::ManifestArtifact a;
  a.kind = kind;
  a.name = std::move(name);
  a.file = std::move(file_name);
  a.fold_case = fold_case;
  manifest_.artifacts.push_back(std::move(a));
  return absl::OkStatus();
}

absl::Status GenerationWriter::AddServiceParam(std::string service, std::string param,
                                               std::string value) {
  if (service.empty() || param.empty())
    return absl::InvalidArgumentError("service parameter with an empty service or name");
  for (const tables::ManifestServiceParam& p : manifest_.service_params)
    if (p.service == service && p.param == param)
      return absl::AlreadyExistsError(
          Cat("parameter ", param, " of service ", service, " added twice"));
  manifest_.service_params.push_back({std::move(service), std::move(param), std::move(value)});
  return absl::OkStatus();
}

absl::StatusOr<GenerationWriter::Result> GenerationWriter::Commit() {
  if (state_ != State::kBegun)
    return absl::FailedPreconditionError("GenerationWriter: Commit without Begin");
  absl::StatusOr<Result> result = CommitOrFail();
  // On success the temporary directory has become the generation (or was
  // removed as a duplicate); on failure Abort() removes what is left.
  if (result.ok()) temp_dir_.clear();
  Abort();
  return result;
}

absl::StatusOr<GenerationWriter::Result> GenerationWriter::CommitOrFail() {
  // 1. Hash and fsync every artifact.
  std::set<std::string, std::less<>> listed;
  for (tables::ManifestArtifact& a : manifest_.artifacts) {
    std::string path = Cat(temp_dir_, "/", a.file);
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
      if (errno == ENOENT)
        return absl::NotFoundError(
            Cat(path, ": artifact ", a.name, " was listed but never written"));
      return Errno("open", path);
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      close(fd);
      return absl::FailedPreconditionError(Cat(path, ": not a regular file"));
    }
    if (fsync(fd) != 0) {
      absl::Status s = Errno("fsync", path);
      close(fd);
      return s;
    }
    absl::StatusOr<tables::FileDigest> digest = tables::Sha256Fd(fd, path);
    close(fd);
    if (!digest.ok()) return digest.status();
    a.sha256 = digest->sha256;
    a.size = digest->size;
    listed.insert(a.file);
  }

  // 2. The generation must be exactly what the MANIFEST lists.
  DIR* d = opendir(temp_dir_.c_str());
  if (!d) return Errno("opendir", temp_dir_);
  for (struct dirent* e; (e = readdir(d)) != nullptr;) {
    std::string_view n = e->d_name;
    if (n == "." || n == ".." || listed.count(n)) continue;
    std::string path = Cat(temp_dir_, "/", n);
    closedir(d);
    return absl::FailedPreconditionError(
        Cat(path, ": file in the new generation that no artifact lists"));
  }
  closedir(d);

  // 3. MANIFEST, then make the directory durable and readable.
  if (absl::Status s = manifest_.Validate(); !s.ok()) return s;
  std::string text = manifest_.Serialize();
  std::string manifest_path = Cat(temp_dir_, "/", tables::kManifestFileName);
  int fd = open(manifest_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("create", manifest_path);
  absl::Status written = WriteAll(fd, text, manifest_path);
  if (written.ok() && fsync(fd) != 0) written = Errno("fsync", manifest_path);
  if (close(fd) != 0 && written.ok()) written = Errno("close", manifest_path);
  if (!written.ok()) return written;
  if (chmod(temp_dir_.c_str(), 0755) != 0) return Errno("chmod", temp_dir_);
  if (absl::Status s = FsyncPath(temp_dir_, O_DIRECTORY); !s.ok()) return s;

  // 4. Rename into its content-addressed name.
  Result result;
  result.manifest_sha256 = tables::Sha256Hex(text);
  result.generation = tables::GenerationNameFor(result.manifest_sha256);
  result.directory = Cat(bundle_dir_, "/", result.generation);
  if (rename(temp_dir_.c_str(), result.directory.c_str()) != 0) {
    if (errno != EEXIST && errno != ENOTEMPTY)
      return Errno(Cat("rename ", temp_dir_, " to"), result.directory);
    // Already published: keep it if it verifies as ours, else replace it.
    absl::StatusOr<std::shared_ptr<const tables::Snapshot>> existing =
        tables::Loader(bundle_dir_).LoadGeneration(result.generation);
    if (existing.ok() && (*existing)->manifest_sha256() == result.manifest_sha256) {
      result.reused = true;
      RemoveTree(temp_dir_);
    } else if (existing.ok()) {
      return absl::FailedPreconditionError(
          Cat(result.directory, ": holds a different MANIFEST with the same name prefix"));
    } else {
      absl::StatusOr<std::string> aside = MakeTempDir(bundle_dir_, ".tmp-broken-");
      if (!aside.ok()) return aside.status();
      if (rename(result.directory.c_str(), aside->c_str()) != 0) {
        absl::Status s = Errno(Cat("rename ", result.directory, " to"), *aside);
        RemoveTree(*aside);
        return s;
      }
      if (rename(temp_dir_.c_str(), result.directory.c_str()) != 0) {
        absl::Status s = Errno(Cat("rename ", temp_dir_, " to"), result.directory);
        RemoveTree(*aside);
        return s;
      }
      RemoveTree(*aside);
    }
  }
  if (absl::Status s = FsyncPath(bundle_dir_, O_DIRECTORY); !s.ok()) return s;

  // 5. Point CURRENT at it.
  if (absl::Status s = WriteCurrent(result.generation); !s.ok()) return s;
  result.manifest = manifest_;
  return result;
}

absl::Status GenerationWriter::WriteCurrent(const std::string& generation) {
  std::string tmp = Cat(bundle_dir_, "/", tables::kTempPrefix, "CURRENT-XXXXXX");
  int fd = mkstemp(tmp.data());
  if (fd < 0) return Errno("mkstemp", tmp);
  absl::Status s = WriteAll(fd, generation + "\n", tmp);
  if (s.ok() && fchmod(fd, 0644) != 0) s = Errno("fchmod", tmp);
  if (s.ok() && fsync(fd) != 0) s = Errno("fsync", tmp);
  if (close(fd) != 0 && s.ok()) s = Errno("close", tmp);
  std::string current = Cat(bundle_dir_, "/", tables::kCurrentFileName);
  if (s.ok() && rename(tmp.c_str(), current.c_str()) != 0)
    s = Errno(Cat("rename ", tmp, " to"), current);
  if (!s.ok()) {
    unlink(tmp.c_str());
    return s;
  }
  return FsyncPath(bundle_dir_, O_DIRECTORY);
}

}  // namespace posthaste::compiler
