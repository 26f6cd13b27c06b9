// bundle_test.cc: publishing generations (compiler/bundle_writer.h) and
// loading them back (tables/bundle_loader.h): round trip, determinism,
// switching CURRENT, refusal of every kind of corruption, and failed commits
// that leave nothing behind.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "compiler/bundle_writer.h"
#include "gtest/gtest.h"
#include "tables/bundle_loader.h"
#include "tables/cdb_table.h"
#include "tables/manifest.h"
#include "tables/sha256.h"

namespace posthaste {
namespace {

namespace fs = std::filesystem;
using compiler::GenerationWriter;
using tables::ArtifactKind;
using tables::Loader;
using tables::Snapshot;

using Records = std::vector<std::pair<std::string, std::string>>;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

// Every file under `dir` (relative name -> bytes).
std::map<std::string, std::string> Tree(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    out[fs::relative(e.path(), dir).string()] = e.is_regular_file() ? ReadFile(e.path()) : "<dir>";
  return out;
}

std::vector<std::string> Names(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// The inputs of one build.
struct Inputs {
  std::map<std::string, Records> tables;  // name -> records, file t-N.cdb
  std::map<std::string, std::string> sources;
  std::vector<std::array<std::string, 3>> params;
};

Inputs SampleInputs() {
  Inputs in;
  in.tables["hash:/etc/postfix/transport"] = {{"example.com", "smtp:[relay.example.net]"},
                                              {"example.org", "local:"}};
  in.tables["inline:{a.example=ok, b.example=reject}"] = {{"a.example", "ok"},
                                                          {"b.example", "reject"}};
  in.sources["/etc/postfix/main.cf"] = "myhostname = mx.example.com\n";
  in.sources["/etc/postfix/master.cf"] = "smtp inet n - n - - smtpd\n";
  in.params = {{"smtp/inet", "smtpd_banner", "mx.example.com ESMTP"},
               {"smtp/inet", "smtpd_tls_security_level", ""},
               {"submission/inet", "smtpd_tls_security_level", "encrypt"},
               {"submission/inet", "weird", "a\nb%c -"}};
  return in;
}

class BundleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/phc-bundle-XXXXXX";
    root_ = mkdtemp(tmpl);
    bundle_ = root_ + "/bundle";
  }
  void TearDown() override { fs::remove_all(root_); }

  absl::StatusOr<GenerationWriter::Result> Publish(const Inputs& in, const std::string& bundle) {
    GenerationWriter w;
    if (absl::Status s = w.Begin(bundle); !s.ok()) return s;
    w.SetCompilerVersion("posthaste-test");
    int n = 0;
    for (const auto& [name, records] : in.tables) {
      std::string file = "t-" + std::to_string(++n) + ".cdb";
      auto b = tables::CdbBuilder::Create(w.TempDir() + "/" + file);
      if (!b.ok()) return b.status();
      for (const auto& [k, v] : records)
        if (absl::Status s = (*b)->Add(k, v); !s.ok()) return s;
      if (absl::Status s = (*b)->Finish(); !s.ok()) return s;
      if (absl::Status s = w.AddArtifactFile(ArtifactKind::kTable, name, file); !s.ok()) return s;
    }
    for (const auto& [path, text] : in.sources)
      if (absl::Status s = w.AddSourceContents(path, text); !s.ok()) return s;
    for (const auto& [service, param, value] : in.params)
      if (absl::Status s = w.AddServiceParam(service, param, value); !s.ok()) return s;
    return w.Commit();
  }

  // Publishes the sample and returns the generation directory.
  std::string PublishSample() {
    auto r = Publish(SampleInputs(), bundle_);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->directory : "";
  }

  // Writes `manifest` as a new, correctly named generation holding copies of
  // `from`'s artifacts, and points CURRENT at it: a bundle whose hashes all
  // match, so the loader has to refuse it for what the MANIFEST says.
  void Republish(const std::string& from, const std::string& manifest) {
    std::string gen = tables::GenerationNameFor(tables::Sha256Hex(manifest));
    std::string dir = bundle_ + "/" + gen;
    fs::create_directory(dir);
    for (const auto& e : fs::directory_iterator(from))
      if (e.path().filename() != "MANIFEST") fs::copy_file(e.path(), dir / e.path().filename());
    WriteFile(dir + "/MANIFEST", manifest);
    WriteFile(bundle_ + "/CURRENT", gen + "\n");
  }

  absl::Status LoadError() {
    auto snap = Loader(bundle_).LoadCurrent();
    return snap.ok() ? absl::OkStatus() : snap.status();
  }

  std::string root_, bundle_;
};

void ExpectRefusal(const absl::Status& s, absl::StatusCode code,
                   const std::vector<std::string>& pieces) {
  ASSERT_FALSE(s.ok()) << "the loader accepted a bad bundle";
  EXPECT_EQ(s.code(), code) << s;
  for (const std::string& p : pieces)
    EXPECT_NE(s.message().find(p), absl::string_view::npos) << "want \"" << p << "\" in: " << s;
}

void FlipBit(const std::string& path, size_t offset, int bit) {
  std::string data = ReadFile(path);
  ASSERT_LT(offset, data.size());
  data[offset] = static_cast<char>(data[offset] ^ (1 << bit));
  WriteFile(path, data);
}

TEST_F(BundleTest, RoundTripsTablesSourcesAndServiceParameters) {
  auto r = Publish(SampleInputs(), bundle_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->reused);
  EXPECT_EQ(ReadFile(bundle_ + "/CURRENT"), r->generation + "\n");
  EXPECT_EQ(Names(bundle_), (std::vector<std::string>{"CURRENT", r->generation}));
  EXPECT_EQ(Names(r->directory), (std::vector<std::string>{"MANIFEST", "t-1.cdb", "t-2.cdb"}));

  auto snap = Loader(bundle_).LoadCurrent();
  ASSERT_TRUE(snap.ok()) << snap.status();
  const Snapshot& s = **snap;
  EXPECT_EQ(s.generation(), r->generation);
  EXPECT_EQ(s.manifest_sha256(), r->manifest_sha256);
  EXPECT_EQ(s.manifest_sha256(), tables::Sha256Hex(ReadFile(r->directory + "/MANIFEST")));
  EXPECT_EQ(s.manifest().compiler_version, "posthaste-test");
  ASSERT_EQ(s.manifest().sources.size(), 2u);
  EXPECT_EQ(s.manifest().sources[0].path, "/etc/postfix/main.cf");
  EXPECT_EQ(s.manifest().sources[0].sha256, tables::Sha256Hex("myhostname = mx.example.com\n"));

  EXPECT_EQ(s.table_count(), 2u);
  const tables::Table* transport = s.FindTable("hash:/etc/postfix/transport");
  ASSERT_NE(transport, nullptr);
  EXPECT_EQ(transport->Lookup("example.com").value, "smtp:[relay.example.net]");
  EXPECT_EQ(transport->Lookup("example.org").value, "local:");
  EXPECT_FALSE(transport->Lookup("example.net").found());
  const tables::Table* in = s.FindTable("inline:{a.example=ok, b.example=reject}");
  ASSERT_NE(in, nullptr);
  EXPECT_EQ(in->Lookup("b.example").value, "reject");
  EXPECT_EQ(s.FindTable("hash:/etc/postfix/nothing"), nullptr);

  EXPECT_EQ(s.services().size(), 2u);
  EXPECT_EQ(s.ServiceParam("smtp/inet", "smtpd_banner"), "mx.example.com ESMTP");
  EXPECT_EQ(s.ServiceParam("smtp/inet", "smtpd_tls_security_level"), "");
  EXPECT_EQ(s.ServiceParam("submission/inet", "weird"), "a\nb%c -");
  EXPECT_FALSE(s.ServiceParam("smtp/inet", "nope").has_value());
  EXPECT_EQ(s.ServiceParams("pickup/unix"), nullptr);
}

TEST_F(BundleTest, RecordsTablesBuiltWithoutCaseFolding) {
  GenerationWriter w;
  ASSERT_TRUE(w.Begin(bundle_).ok());
  auto b = tables::CdbBuilder::Create(w.TempDir() + "/t.cdb");
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE((*b)->Add("MixedCase", "v").ok());
  ASSERT_TRUE((*b)->Finish().ok());
  ASSERT_TRUE(w.AddArtifactFile(ArtifactKind::kTable, "hash:/x", "t.cdb", false).ok());
  ASSERT_TRUE(w.Commit().ok());
  auto snap = Loader(bundle_).LoadCurrent();
  ASSERT_TRUE(snap.ok()) << snap.status();
  ASSERT_NE((*snap)->FindTable("hash:/x"), nullptr);
  EXPECT_FALSE((*snap)->FindTable("hash:/x")->FoldsCase());
  EXPECT_EQ((*snap)->FindTable("hash:/x")->Lookup("MixedCase").value, "v");
}

TEST_F(BundleTest, SameInputsGiveByteIdenticalGenerations) {
  Inputs in = SampleInputs();
  auto a = Publish(in, root_ + "/a");
  // Same content, added in another order.
  std::reverse(in.params.begin(), in.params.end());
  auto b = Publish(in, root_ + "/b");
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->generation, b->generation);
  EXPECT_EQ(a->manifest_sha256, b->manifest_sha256);
  EXPECT_EQ(Tree(root_ + "/a"), Tree(root_ + "/b"));
  EXPECT_EQ(Tree(a->directory).size(), 3u);
}

TEST_F(BundleTest, RepublishingTheSameInputsReusesTheGeneration) {
  auto a = Publish(SampleInputs(), bundle_);
  auto b = Publish(SampleInputs(), bundle_);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(b->reused);
  EXPECT_EQ(a->generation, b->generation);
  EXPECT_EQ(Names(bundle_), (std::vector<std::string>{"CURRENT", a->generation}));
}

TEST_F(BundleTest, RepublishingReplacesABrokenGenerationOfTheSameName) {
  auto a = Publish(SampleInputs(), bundle_);
  ASSERT_TRUE(a.ok());
  FlipBit(a->directory + "/t-1.cdb", 2050, 0);
  auto b = Publish(SampleInputs(), bundle_);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_FALSE(b->reused);
  EXPECT_TRUE(LoadError().ok()) << LoadError();
  EXPECT_EQ(Names(bundle_), (std::vector<std::string>{"CURRENT", a->generation}));
}

TEST_F(BundleTest, ASecondCommitSwitchesCurrentAndKeepsTheOldGeneration) {
  auto first = Publish(SampleInputs(), bundle_);
  ASSERT_TRUE(first.ok()) << first.status();
  Inputs changed = SampleInputs();
  changed.tables["hash:/etc/postfix/transport"] = {{"example.com", "smtp:[other.example.net]"}};
  auto second = Publish(changed, bundle_);
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_NE(first->generation, second->generation);
  EXPECT_EQ(ReadFile(bundle_ + "/CURRENT"), second->generation + "\n");

  Loader loader(bundle_);
  auto now = loader.LoadCurrent();
  ASSERT_TRUE(now.ok()) << now.status();
  EXPECT_EQ((*now)->generation(), second->generation);
  EXPECT_EQ((*now)->FindTable("hash:/etc/postfix/transport")->Lookup("example.com").value,
            "smtp:[other.example.net]");
  auto old = loader.LoadGeneration(first->generation);
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ((*old)->FindTable("hash:/etc/postfix/transport")->Lookup("example.com").value,
            "smtp:[relay.example.net]");
}

// Corruption: each refused with a message that names the file and the
// problem (STYLE.md §6).

TEST_F(BundleTest, RefusesATruncatedArtifact) {
  std::string gen = PublishSample();
  std::string path = gen + "/t-1.cdb";
  ASSERT_EQ(truncate(path.c_str(), static_cast<off_t>(fs::file_size(path) / 2)), 0);
  ExpectRefusal(LoadError(), absl::StatusCode::kDataLoss,
                {path + ": size ", "MANIFEST says", "truncated"});
}

TEST_F(BundleTest, RefusesAnArtifactWithOneBitFlipped) {
  std::string gen = PublishSample();
  FlipBit(gen + "/t-2.cdb", 2050, 5);
  ExpectRefusal(LoadError(), absl::StatusCode::kDataLoss,
                {gen + "/t-2.cdb: SHA-256 ", "does not match MANIFEST", "corrupt"});
}

TEST_F(BundleTest, RefusesAManifestWithOneBitFlipped) {
  std::string gen = PublishSample();
  FlipBit(gen + "/MANIFEST", 100, 1);
  ExpectRefusal(LoadError(), absl::StatusCode::kDataLoss,
                {gen + "/MANIFEST: SHA-256 ", "does not match generation name"});
}

TEST_F(BundleTest, RefusesAnUnsupportedFormatVersion) {
  std::string gen = PublishSample();
  std::string text = ReadFile(gen + "/MANIFEST");
  ASSERT_EQ(text.rfind("posthaste-bundle 1\n", 0), 0u);
  text.replace(0, 18, "posthaste-bundle 2");
  Republish(gen, text);
  ExpectRefusal(LoadError(), absl::StatusCode::kFailedPrecondition,
                {"/MANIFEST:1: unsupported bundle format version 2"});
}

TEST_F(BundleTest, RefusesAGenerationWhoseNameIsNotItsManifestHash) {
  std::string gen = PublishSample();
  std::string renamed = bundle_ + "/gen-0000000000000000";
  fs::rename(gen, renamed);
  WriteFile(bundle_ + "/CURRENT", "gen-0000000000000000\n");
  ExpectRefusal(LoadError(), absl::StatusCode::kDataLoss,
                {renamed + "/MANIFEST: SHA-256 ", "does not match generation name"});
}

TEST_F(BundleTest, RefusesAMissingCurrent) {
  PublishSample();
  fs::remove(bundle_ + "/CURRENT");
  ExpectRefusal(LoadError(), absl::StatusCode::kNotFound, {bundle_ + "/CURRENT: missing"});
  ExpectRefusal(Loader(root_ + "/nowhere").LoadCurrent().status(), absl::StatusCode::kNotFound,
                {"/nowhere/CURRENT: missing"});
}

TEST_F(BundleTest, RefusesACurrentThatPointsOutside) {
  std::string gen = PublishSample();
  std::string name = fs::path(gen).filename().string();
  for (std::string bad :
       std::vector<std::string>{"../x\n", "/etc\n", name + "/..\n", "../bundle/" + name + "\n"}) {
    WriteFile(bundle_ + "/CURRENT", bad);
    ExpectRefusal(LoadError(), absl::StatusCode::kDataLoss, {bundle_ + "/CURRENT: ", "outside"});
  }
  for (std::string bad :
       std::vector<std::string>{"", name, name + "\n\n", "gen-XYZ\n", name + " \n"}) {
    WriteFile(bundle_ + "/CURRENT", bad);
    ExpectRefusal(LoadError(), absl::StatusCode::kDataLoss, {bundle_ + "/CURRENT: "});
  }
  WriteFile(bundle_ + "/CURRENT", std::string(10000, 'g'));
  ExpectRefusal(LoadError(), absl::StatusCode::kDataLoss, {"CURRENT: larger than"});
  // A well-formed name that is not there.
  WriteFile(bundle_ + "/CURRENT", "gen-0123456789abcdef\n");
  ExpectRefusal(LoadError(), absl::StatusCode::kNotFound,
                {bundle_ + "/gen-0123456789abcdef: generation missing"});
}

TEST_F(BundleTest, RefusesACurrentThatIsASymlink) {
  std::string gen = PublishSample();
  WriteFile(root_ + "/elsewhere", fs::path(gen).filename().string() + "\n");
  fs::remove(bundle_ + "/CURRENT");
  fs::create_symlink(root_ + "/elsewhere", bundle_ + "/CURRENT");
  ExpectRefusal(LoadError(), absl::StatusCode::kDataLoss, {"CURRENT: is a symlink"});
}

TEST_F(BundleTest, RefusesAnArtifactListedButMissing) {
  std::string gen = PublishSample();
  fs::remove(gen + "/t-1.cdb");
  ExpectRefusal(LoadError(), absl::StatusCode::kNotFound,
                {gen + "/t-1.cdb: missing", "listed in MANIFEST as table"});
}

TEST_F(BundleTest, RefusesAnArtifactReplacedBySymlink) {
  std::string gen = PublishSample();
  fs::copy_file(gen + "/t-1.cdb", root_ + "/copy.cdb");
  fs::remove(gen + "/t-1.cdb");
  fs::create_symlink(root_ + "/copy.cdb", gen + "/t-1.cdb");
  ExpectRefusal(LoadError(), absl::StatusCode::kDataLoss, {gen + "/t-1.cdb: is a symlink"});
}

TEST_F(BundleTest, RefusesAnExtraGarbageLineInTheManifest) {
  std::string gen = PublishSample();
  std::string text = ReadFile(gen + "/MANIFEST");
  int lines = static_cast<int>(std::count(text.begin(), text.end(), '\n'));
  Republish(gen, text + "garbage here\n");
  ExpectRefusal(LoadError(), absl::StatusCode::kDataLoss,
                {"/MANIFEST:" + std::to_string(lines + 1) + ": unknown row \"garbage\""});
}

TEST_F(BundleTest, RefusesAHashMatchingManifestThatIsNotValidCdb) {
  // Hashes and sizes all agree, yet the file is no CDB: tinycdb's open checks
  // still run.
  std::string gen = PublishSample();
  WriteFile(gen + "/t-1.cdb", "not a cdb");
  std::string text = ReadFile(gen + "/MANIFEST");
  tables::Manifest m = *tables::Manifest::Parse(text);
  m.artifacts[0].sha256 = tables::Sha256Hex("not a cdb");
  m.artifacts[0].size = 9;
  Republish(gen, m.Serialize());
  ExpectRefusal(LoadError(), absl::StatusCode::kDataLoss, {"t-1.cdb: not a cdb file"});
}

TEST_F(BundleTest, AFailedCommitLeavesNothingAndCurrentUnchanged) {
  auto good = Publish(SampleInputs(), bundle_);
  ASSERT_TRUE(good.ok()) << good.status();
  std::vector<std::string> before = Names(bundle_);
  std::string current = ReadFile(bundle_ + "/CURRENT");

  {
    GenerationWriter w;
    ASSERT_TRUE(w.Begin(bundle_).ok());
    ASSERT_TRUE(w.AddArtifactFile(ArtifactKind::kTable, "hash:/never", "never.cdb").ok());
    auto r = w.Commit();
    ExpectRefusal(r.status(), absl::StatusCode::kNotFound,
                  {"never.cdb: artifact hash:/never was listed but never written"});
  }
  EXPECT_EQ(Names(bundle_), before);
  EXPECT_EQ(ReadFile(bundle_ + "/CURRENT"), current);

  {
    GenerationWriter w;
    ASSERT_TRUE(w.Begin(bundle_).ok());
    WriteFile(w.TempDir() + "/stray", "x");
    auto r = w.Commit();
    ExpectRefusal(r.status(), absl::StatusCode::kFailedPrecondition,
                  {"stray: file in the new generation that no artifact lists"});
  }
  EXPECT_EQ(Names(bundle_), before);

  {
    GenerationWriter w;  // abandoned without Commit
    ASSERT_TRUE(w.Begin(bundle_).ok());
    WriteFile(w.TempDir() + "/t.cdb", "x");
    EXPECT_EQ(Names(bundle_).size(), before.size() + 1);
  }
  EXPECT_EQ(Names(bundle_), before);
  EXPECT_EQ(ReadFile(bundle_ + "/CURRENT"), current);
  EXPECT_TRUE(LoadError().ok());
}

TEST_F(BundleTest, WriterRefusesBadArtifactNamesAndDuplicates) {
  GenerationWriter w;
  ASSERT_TRUE(w.Begin(bundle_).ok());
  EXPECT_FALSE(w.AddArtifactFile(ArtifactKind::kTable, "hash:/a", "../a.cdb").ok());
  EXPECT_FALSE(w.AddArtifactFile(ArtifactKind::kTable, "hash:/a", "MANIFEST").ok());
  EXPECT_TRUE(w.AddArtifactFile(ArtifactKind::kTable, "hash:/a", "a.cdb").ok());
  EXPECT_FALSE(w.AddArtifactFile(ArtifactKind::kTable, "hash:/a", "b.cdb").ok());
  EXPECT_FALSE(w.AddArtifactFile(ArtifactKind::kTable, "hash:/b", "a.cdb").ok());
  EXPECT_TRUE(w.AddServiceParam("smtp/inet", "p", "v").ok());
  EXPECT_FALSE(w.AddServiceParam("smtp/inet", "p", "w").ok());
  EXPECT_FALSE(w.AddSource("/x", "nothex", 1).ok());
}

}  // namespace
}  // namespace posthaste
