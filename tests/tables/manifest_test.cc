// manifest_test.cc: MANIFEST text round trips, canonical escaping, and the
// strict parser's refusals (each with its line number).
#include "tables/manifest.h"

#include <string>

#include "gtest/gtest.h"
#include "tables/sha256.h"

namespace posthaste::tables {
namespace {

const std::string kHashA(64, 'a');
const std::string kHashB = Sha256Hex("b");

Manifest Sample() {
  Manifest m;
  m.compiler_version = "posthaste-0.1.0";
  m.sources.push_back({"/etc/postfix/master.cf", kHashB, 880});
  m.sources.push_back({"/etc/postfix/main.cf", kHashA, 1234});
  ManifestArtifact t1;
  t1.name = "hash:/etc/postfix/transport";
  t1.sha256 = kHashA;
  t1.size = 4096;
  t1.file = "t-0001.cdb";
  ManifestArtifact t2;
  t2.name = "inline:{a.example=smtp:[b.example], c=local:}";
  t2.sha256 = kHashB;
  t2.size = 2048;
  t2.file = "t-0002.cdb";
  t2.fold_case = false;
  m.artifacts = {t2, t1};
  m.service_params.push_back({"submission/inet", "smtpd_tls_security_level", "encrypt"});
  m.service_params.push_back({"smtp/inet", "smtpd_banner", "mx.example.com ESMTP"});
  m.service_params.push_back({"smtp/inet", "empty_one", ""});
  return m;
}

// The text Serialize(Sample()) must give: sorted, escaped.
const char kSampleText[] =
    "posthaste-bundle 1\n"
    "compiler posthaste-0.1.0\n"
    "source aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 1234 "
    "/etc/postfix/main.cf\n"
    "source 3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d 880 "
    "/etc/postfix/master.cf\n"
    "artifact table hash:/etc/postfix/transport "
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 4096 t-0001.cdb -\n"
    "artifact table inline:{a.example=smtp:[b.example],%20c=local:} "
    "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d 2048 t-0002.cdb nofold\n"
    "service smtp/inet empty_one -\n"
    "service smtp/inet smtpd_banner mx.example.com%20ESMTP\n"
    "service submission/inet smtpd_tls_security_level encrypt\n";

// Replaces line `n` (1-based) of kSampleText.
std::string WithLine(int n, const std::string& line) {
  std::string text = kSampleText;
  size_t start = 0;
  for (int i = 1; i < n; ++i) start = text.find('\n', start) + 1;
  size_t end = text.find('\n', start);
  return text.substr(0, start) + line + text.substr(end);
}

// Parses `text`, expects a refusal at `line` whose message contains `what`.
void ExpectRefused(const std::string& text, int line, const std::string& what) {
  absl::StatusOr<Manifest> m = Manifest::Parse(text, "gen/MANIFEST");
  ASSERT_FALSE(m.ok()) << "accepted:\n" << text;
  std::string msg(m.status().message());
  EXPECT_NE(msg.find("gen/MANIFEST:" + std::to_string(line) + ": "), std::string::npos) << msg;
  EXPECT_NE(msg.find(what), std::string::npos) << msg;
}

TEST(Manifest, SerializesSortedAndEscaped) {
  ASSERT_TRUE(Sample().Validate().ok()) << Sample().Validate();
  EXPECT_EQ(Sample().Serialize(), kSampleText);
}

TEST(Manifest, SerializeDoesNotDependOnInsertionOrder) {
  Manifest a = Sample(), b = Sample();
  std::swap(b.sources[0], b.sources[1]);
  std::swap(b.artifacts[0], b.artifacts[1]);
  std::swap(b.service_params[0], b.service_params[2]);
  EXPECT_EQ(a.Serialize(), b.Serialize());
}

TEST(Manifest, ParsesWhatItSerializes) {
  absl::StatusOr<Manifest> m = Manifest::Parse(kSampleText);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->format_version, 1);
  EXPECT_EQ(m->compiler_version, "posthaste-0.1.0");
  ASSERT_EQ(m->sources.size(), 2u);
  EXPECT_EQ(m->sources[0].path, "/etc/postfix/main.cf");
  EXPECT_EQ(m->sources[0].size, 1234u);
  ASSERT_EQ(m->artifacts.size(), 2u);
  EXPECT_EQ(m->artifacts[1].name, "inline:{a.example=smtp:[b.example], c=local:}");
  EXPECT_FALSE(m->artifacts[1].fold_case);
  EXPECT_TRUE(m->artifacts[0].fold_case);
  ASSERT_EQ(m->service_params.size(), 3u);
  EXPECT_EQ(m->service_params[0].value, "");
  EXPECT_EQ(m->service_params[1].value, "mx.example.com ESMTP");
  EXPECT_EQ(m->Serialize(), kSampleText);
}

TEST(Manifest, AnyByteStringRoundTrips) {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  Manifest m;
  m.compiler_version = "v 1\n";
  m.service_params.push_back({"smtp/inet", "all_bytes", all});
  m.service_params.push_back({"smtp/inet", "dash", "-"});
  m.service_params.push_back({"smtp/inet", "dashes", "--"});
  m.service_params.push_back({"smtp/inet", "percent", "%25 %"});
  m.service_params.push_back({"smtp/inet", "spaces", "  a  b  "});
  m.service_params.push_back({"x y/inet", "crlf", "a\r\nb"});
  std::string text = m.Serialize();
  absl::StatusOr<Manifest> back = Manifest::Parse(text);
  ASSERT_TRUE(back.ok()) << back.status() << "\n" << text;
  EXPECT_EQ(back->compiler_version, "v 1\n");
  ASSERT_EQ(back->service_params.size(), 6u);
  EXPECT_EQ(back->service_params[0].value, all);
  EXPECT_EQ(back->service_params[1].value, "-");
  EXPECT_EQ(back->service_params[2].value, "--");
  EXPECT_EQ(back->service_params[3].value, "%25 %");
  EXPECT_EQ(back->service_params[4].value, "  a  b  ");
  EXPECT_EQ(back->service_params[5].service, "x y/inet");
  EXPECT_EQ(back->service_params[5].value, "a\r\nb");
  EXPECT_EQ(back->Serialize(), text);
}

TEST(ManifestToken, EscapesExactlyTheBytesThatMustBe) {
  EXPECT_EQ(EscapeManifestToken(""), "-");
  EXPECT_EQ(EscapeManifestToken("-"), "%2d");
  EXPECT_EQ(EscapeManifestToken("a-b"), "a-b");
  EXPECT_EQ(EscapeManifestToken("a b%\n\x7f\xff"), "a%20b%25%0a%7f%ff");
}

TEST(ManifestToken, RefusesNonCanonicalTokens) {
  std::string out;
  EXPECT_TRUE(UnescapeManifestToken("a%20b", &out));
  EXPECT_EQ(out, "a b");
  EXPECT_FALSE(UnescapeManifestToken("%41", &out));   // 'A' must be literal
  EXPECT_FALSE(UnescapeManifestToken("a%2A", &out));  // uppercase hex
  EXPECT_FALSE(UnescapeManifestToken("a%2", &out));   // truncated
  EXPECT_FALSE(UnescapeManifestToken("a%", &out));
  EXPECT_FALSE(UnescapeManifestToken("a%zz", &out));
  EXPECT_FALSE(UnescapeManifestToken("", &out));
  EXPECT_FALSE(UnescapeManifestToken("a\tb", &out));
  EXPECT_FALSE(UnescapeManifestToken("%2d%2d", &out));  // "--" is written literally
}

TEST(ManifestParse, RefusesWrongHeaderAndVersion) {
  absl::StatusOr<Manifest> m = Manifest::Parse(WithLine(1, "posthaste-bundle 2"), "M");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(m.status().message().find("M:1: unsupported bundle format version 2"),
            std::string::npos)
      << m.status();
  ExpectRefused(WithLine(1, "posthaste-bundle"), 1, "bad header line");
  ExpectRefused(WithLine(1, "posthaste-bundle 01"), 1, "bad header line");
  ExpectRefused(WithLine(1, "postfix-bundle 1"), 1, "not a bundle manifest");
  ExpectRefused("", 1, "empty file");
  ExpectRefused("posthaste-bundle 1", 1, "newline");
  ExpectRefused("posthaste-bundle 1\n", 2, "missing \"compiler <version>\"");
  ExpectRefused(WithLine(2, "source " + kHashA + " 1 x"), 2, "second line must be");
}

TEST(ManifestParse, RefusesUnknownAndMalformedLines) {
  ExpectRefused(std::string(kSampleText) + "garbage\n", 10, "unknown row \"garbage\"");
  ExpectRefused(std::string(kSampleText) + "\n", 10, "empty line");
  ExpectRefused(std::string(kSampleText) + "posthaste-bundle 1\n", 10, "repeated");
  ExpectRefused(std::string(kSampleText) + "compiler x\n", 10, "repeated");
  ExpectRefused(std::string(kSampleText).substr(0, sizeof(kSampleText) - 2), 9, "newline");
  ExpectRefused(WithLine(9, "service submission/inet  smtpd_tls_security_level encrypt"), 9,
                "empty field");
  ExpectRefused(WithLine(9, "service submission/inet smtpd_tls_security_level encrypt "), 9,
                "empty field");
  ExpectRefused(WithLine(9, "service submission/inet smtpd_tls_security_level"), 9,
                "has 2 fields, want 3");
  ExpectRefused(WithLine(9, "service submission/inet x%41 encrypt"), 9, "bad escaping");
  ExpectRefused(WithLine(9, "service - x y"), 9, "empty service name");
  ExpectRefused(WithLine(3, "source " + kHashA + " 1 x\r"), 3, "bad escaping");
}

TEST(ManifestParse, RefusesBadHexAndSizes) {
  std::string upper(64, 'A');
  ExpectRefused(WithLine(3, "source " + upper + " 1234 /etc/postfix/main.cf"), 3, "bad sha256");
  ExpectRefused(WithLine(3, "source " + kHashA.substr(1) + " 1234 /etc/postfix/main.cf"), 3,
                "bad sha256");
  ExpectRefused(WithLine(3, "source " + kHashA + " 01234 /etc/postfix/main.cf"), 3, "bad size");
  ExpectRefused(WithLine(3, "source " + kHashA + " -1 /etc/postfix/main.cf"), 3, "bad size");
  ExpectRefused(WithLine(3, "source " + kHashA + " 18446744073709551616 /etc/postfix/main.cf"), 3,
                "bad size");
  ExpectRefused(
      WithLine(5, "artifact table hash:/etc/postfix/transport " + kHashA + " 4k t-0001.cdb -"), 5,
      "bad size");
}

TEST(ManifestParse, RefusesBadArtifactFields) {
  auto row = [](const std::string& kind, const std::string& file, const std::string& flags) {
    return "artifact " + kind + " hash:/etc/postfix/transport " + kHashA + " 4096 " + file + " " +
           flags;
  };
  ExpectRefused(WithLine(5, row("table", "../t.cdb", "-")), 5, "bad artifact file name");
  ExpectRefused(WithLine(5, row("table", "a/t.cdb", "-")), 5, "bad artifact file name");
  ExpectRefused(WithLine(5, row("table", ".t.cdb", "-")), 5, "bad artifact file name");
  ExpectRefused(WithLine(5, row("table", "MANIFEST", "-")), 5, "bad artifact file name");
  ExpectRefused(WithLine(5, row("bytecode", "t-0001.cdb", "-")), 5, "unknown artifact kind");
  ExpectRefused(WithLine(5, row("table", "t-0001.cdb", "fold")), 5, "bad flags");
  ExpectRefused(WithLine(5, row("table", "t-0001.cdb", "nofold,nofold")), 5, "bad flags");
}

TEST(ManifestParse, RefusesDuplicatesNamingTheFirstLine) {
  ExpectRefused(WithLine(4, "source " + kHashA + " 1 /etc/postfix/main.cf"), 4,
                "duplicate source \"/etc/postfix/main.cf\" (first at line 3)");
  ExpectRefused(
      WithLine(6, "artifact table hash:/etc/postfix/transport " + kHashA + " 1 t-0002.cdb -"), 6,
      "duplicate artifact table \"hash:/etc/postfix/transport\"");
  ExpectRefused(WithLine(6, "artifact table hash:/z " + kHashA + " 1 t-0001.cdb -"), 6,
                "artifact file \"t-0001.cdb\" listed twice (first at line 5)");
  ExpectRefused(WithLine(8, "service smtp/inet empty_one x"), 8,
                "duplicate parameter \"empty_one\" for service \"smtp/inet\"");
}

TEST(ManifestParse, RefusesRowsOutOfOrder) {
  ExpectRefused(WithLine(4, "source " + kHashA + " 1 /a"), 4, "out of order");
  ExpectRefused(WithLine(6, "artifact table a:b " + kHashA + " 1 t-0009.cdb -"), 6, "out of order");
  ExpectRefused(WithLine(8, "service a/inet x y"), 8, "out of order");
  ExpectRefused(WithLine(7, "source " + kHashA + " 1 /z"), 7,
                "\"source\" row after \"artifact\" rows");
  ExpectRefused(WithLine(9, "artifact table z:z " + kHashA + " 1 t-0009.cdb -"), 9,
                "\"artifact\" row after \"service\" rows");
}

TEST(GenerationName, IsSixteenHexDigitsOfTheHash) {
  EXPECT_EQ(GenerationNameFor(kHashB), "gen-3e23e8160039594a");
  EXPECT_TRUE(IsGenerationName("gen-3e23e8160039594a"));
  EXPECT_FALSE(IsGenerationName("gen-3E23E8160039594A"));
  EXPECT_FALSE(IsGenerationName("gen-3e23e8160039594"));
  EXPECT_FALSE(IsGenerationName("../gen-3e23e816003959"));
  EXPECT_FALSE(IsGenerationName("gen-3e23e8160039594a/"));
}

TEST(Sha256, MatchesKnownDigests) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace posthaste::tables
