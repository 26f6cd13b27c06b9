// manifest.cc: MANIFEST serialisation and the strict parser.
//
// Parse() reads bytes that came from disk: every field is checked, and only
// the canonical text Serialize() would write is accepted (sorted rows,
// canonical escapes), so one Manifest has exactly one text and one hash.
#include "tables/manifest.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "tables/sha256.h"
#include "tables/str_cat.h"

namespace posthaste::tables {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

bool IsLiteralTokenByte(unsigned char c) { return c >= 0x21 && c <= 0x7e && c != '%'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // uppercase is not canonical
}

// Quotes a (possibly hostile) field for an error message: escaped and cut.
std::string Shown(std::string_view field) {
  constexpr size_t kMaxShown = 60;
  std::string s = EscapeManifestToken(field.substr(0, kMaxShown));
  if (field.size() > kMaxShown) s += "...";
  return "\"" + s + "\"";
}

// Canonical decimal: "0" or [1-9][0-9]*, fitting in 64 bits.
bool ParseSize(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  if (s.size() > 1 && s[0] == '0') return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

std::vector<std::string_view> SplitFields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  for (;;) {
    size_t sp = line.find(' ', start);
    if (sp == std::string_view::npos) {
      fields.push_back(line.substr(start));
      return fields;
    }
    fields.push_back(line.substr(start, sp - start));
    start = sp + 1;
  }
}

std::string FlagsToken(const ManifestArtifact& a) {
  switch (a.kind) {
    case ArtifactKind::kTable:
      return a.fold_case ? "-" : "nofold";
    case ArtifactKind::kCidr:
    case ArtifactKind::kComposite:
    case ArtifactKind::kPatterns:
    case ArtifactKind::kRoute:
      return "-";
  }
  return "-";
}

bool ParseKind(std::string_view s, ArtifactKind* out) {
  if (s == "table") {
    *out = ArtifactKind::kTable;
    return true;
  }
  if (s == "cidr") {
    *out = ArtifactKind::kCidr;
    return true;
  }
  if (s == "composite") {
    *out = ArtifactKind::kComposite;
    return true;
  }
  if (s == "patterns") {
    *out = ArtifactKind::kPatterns;
    return true;
  }
  if (s == "route") {
    *out = ArtifactKind::kRoute;
    return true;
  }
  return false;
}

// Applies the flags token to `a`; false for unknown, unsorted or repeated
// flags.
bool ParseFlags(std::string_view token, ManifestArtifact* a) {
  if (token == "-") return true;
  std::string_view prev;
  size_t start = 0;
  for (bool last = false; !last;) {
    size_t comma = token.find(',', start);
    last = comma == std::string_view::npos;
    std::string_view flag = token.substr(start, last ? std::string_view::npos : comma - start);
    start = comma + 1;
    if (flag.empty() || (!prev.empty() && flag <= prev)) return false;
    prev = flag;
    if (a->kind == ArtifactKind::kTable && flag == "nofold") {
      a->fold_case = false;
    } else {
      return false;
    }
  }
  return true;
}

std::string KindAndName(ArtifactKind kind, std::string_view name) {
  return Cat(ArtifactKindName(kind), " ", Shown(name));
}

// Sort keys (bundle_format.md §4.4): decoded strings compared bytewise.
auto SourceKey(const ManifestSource& s) { return std::tie(s.path); }
auto ArtifactKey(const ManifestArtifact& a) {
  return std::make_tuple(ArtifactKindName(a.kind), std::string_view(a.name));
}
auto ServiceKey(const ManifestServiceParam& p) { return std::tie(p.service, p.param); }

class Parser {
 public:
  Parser(std::string_view text, std::string_view origin) : text_(text), origin_(origin) {}

  absl::StatusOr<Manifest> Run();

 private:
  absl::Status Error(std::string_view what) const {
    return absl::DataLossError(Cat(origin_, ":", line_no_, ": ", what));
  }
  // Decodes a string token; `what` names the field in the message.
  absl::Status Token(std::string_view token, std::string_view what, std::string* out) const {
    if (!UnescapeManifestToken(token, out))
      return Error(Cat("bad escaping in ", what, " ", Shown(token),
                       " (want %xx with lowercase hex for bytes outside 0x21-0x7e "
                       "and '%', '-' for empty)"));
    return absl::OkStatus();
  }
  absl::Status Digest(std::string_view field, std::string* out) const {
    if (!IsSha256Hex(field))
      return Error(Cat("bad sha256 ", Shown(field), " (want 64 lowercase hex digits)"));
    *out = std::string(field);
    return absl::OkStatus();
  }
  absl::Status Size(std::string_view field, uint64_t* out) const {
    if (!ParseSize(field, out))
      return Error(Cat("bad size ", Shown(field),
                       " (want a decimal byte count without sign or leading zeros)"));
    return absl::OkStatus();
  }
  absl::Status FieldCount(const std::vector<std::string_view>& f, size_t want,
                          std::string_view syntax) const {
    if (f.size() != want)
      return Error(
          Cat("\"", f[0], "\" row has ", f.size() - 1, " fields, want ", want - 1, ": ", syntax));
    return absl::OkStatus();
  }

  absl::Status Source(const std::vector<std::string_view>& f);
  absl::Status Artifact(const std::vector<std::string_view>& f);
  absl::Status Service(const std::vector<std::string_view>& f);

  std::string_view text_, origin_;
  int line_no_ = 0;
  Manifest m_;
  std::map<std::string, int, std::less<>> source_lines_;
  std::map<std::pair<std::string, std::string>, int> artifact_lines_;
  std::map<std::string, int, std::less<>> file_lines_;
  std::map<std::pair<std::string, std::string>, int> service_lines_;
};

absl::Status Parser::Source(const std::vector<std::string_view>& f) {
  if (absl::Status s = FieldCount(f, 4, "source <sha256> <size> <path>"); !s.ok()) return s;
  ManifestSource src;
  if (absl::Status s = Digest(f[1], &src.sha256); !s.ok()) return s;
  if (absl::Status s = Size(f[2], &src.size); !s.ok()) return s;
  if (absl::Status s = Token(f[3], "source path", &src.path); !s.ok()) return s;
  if (src.path.empty()) return Error("empty source path");
  auto [it, inserted] = source_lines_.emplace(src.path, line_no_);
  if (!inserted)
    return Error(Cat("duplicate source ", Shown(src.path), " (first at line ", it->second, ")"));
  if (!m_.sources.empty() && !(SourceKey(m_.sources.back()) < SourceKey(src)))
    return Error(Cat("source ", Shown(src.path), " out of order (rows are sorted by path)"));
  m_.sources.push_back(std::move(src));
  return absl::OkStatus();
}

absl::Status Parser::Artifact(const std::vector<std::string_view>& f) {
  if (absl::Status s = FieldCount(f, 7, "artifact <kind> <name> <sha256> <size> <file> <flags>");
      !s.ok())
    return s;
  ManifestArtifact a;
  if (!ParseKind(f[1], &a.kind))
    return Error(Cat("unknown artifact kind ", Shown(f[1]), " (this build knows: table)"));
  if (absl::Status s = Token(f[2], "artifact name", &a.name); !s.ok()) return s;
  if (a.name.empty()) return Error("empty artifact name");
  if (absl::Status s = Digest(f[3], &a.sha256); !s.ok()) return s;
  if (absl::Status s = Size(f[4], &a.size); !s.ok()) return s;
  if (!IsArtifactFileName(f[5]))
    return Error(Cat("bad artifact file name ", Shown(f[5]),
                     " (want [A-Za-z0-9][A-Za-z0-9._-]*, not MANIFEST or CURRENT)"));
  a.file = std::string(f[5]);
  if (!ParseFlags(f[6], &a))
    return Error(Cat("bad flags ", Shown(f[6]), " for ", ArtifactKindName(a.kind),
                     " artifact (want '-' or a sorted comma list of: nofold)"));
  auto [it, inserted] = artifact_lines_.emplace(
      std::make_pair(std::string(ArtifactKindName(a.kind)), a.name), line_no_);
  if (!inserted)
    return Error(Cat("duplicate artifact ", KindAndName(a.kind, a.name), " (first at line ",
                     it->second, ")"));
  auto [fit, finserted] = file_lines_.emplace(a.file, line_no_);
  if (!finserted)
    return Error(
        Cat("artifact file ", Shown(a.file), " listed twice (first at line ", fit->second, ")"));
  if (!m_.artifacts.empty() && !(ArtifactKey(m_.artifacts.back()) < ArtifactKey(a)))
    return Error(Cat("artifact ", KindAndName(a.kind, a.name),
                     " out of order (rows are sorted by kind, then name)"));
  m_.artifacts.push_back(std::move(a));
  return absl::OkStatus();
}

absl::Status Parser::Service(const std::vector<std::string_view>& f) {
  if (absl::Status s = FieldCount(f, 4, "service <service> <param> <value>"); !s.ok()) return s;
  ManifestServiceParam p;
  if (absl::Status s = Token(f[1], "service", &p.service); !s.ok()) return s;
  if (absl::Status s = Token(f[2], "parameter name", &p.param); !s.ok()) return s;
  if (absl::Status s = Token(f[3], "parameter value", &p.value); !s.ok()) return s;
  if (p.service.empty()) return Error("empty service name");
  if (p.param.empty()) return Error("empty parameter name");
  auto [it, inserted] = service_lines_.emplace(std::make_pair(p.service, p.param), line_no_);
  if (!inserted)
    return Error(Cat("duplicate parameter ", Shown(p.param), " for service ", Shown(p.service),
                     " (first at line ", it->second, ")"));
  if (!m_.service_params.empty() && !(ServiceKey(m_.service_params.back()) < ServiceKey(p)))
    return Error(Cat("service parameter ", Shown(p.service), " ", Shown(p.param),
                     " out of order (rows are sorted by service, then parameter)"));
  m_.service_params.push_back(std::move(p));
  return absl::OkStatus();
}

absl::StatusOr<Manifest> Parser::Run() {
  absl::StatusOr<int> version = Manifest::ParseFormatVersion(text_, origin_);
  if (!version.ok()) return version.status();
  m_.format_version = *version;

  // 0: sources, 1: artifacts, 2: services. Rows may only move forward.
  static constexpr std::string_view kSections[] = {"source", "artifact", "service"};
  int section = 0;
  size_t pos = 0;
  while (pos < text_.size()) {
    ++line_no_;
    size_t nl = text_.find('\n', pos);
    if (nl == std::string_view::npos) return Error("last line does not end with a newline");
    std::string_view line = text_.substr(pos, nl - pos);
    pos = nl + 1;
    if (line_no_ == 1) continue;  // the header, checked above
    if (line.empty()) return Error("empty line");
    std::vector<std::string_view> f = SplitFields(line);
    for (std::string_view field : f)
      if (field.empty()) return Error("empty field (fields are separated by exactly one space)");
    if (line_no_ == 2) {
      if (f[0] != "compiler") return Error("second line must be \"compiler <version>\"");
      if (absl::Status s = FieldCount(f, 2, "compiler <version>"); !s.ok()) return s;
      if (absl::Status s = Token(f[1], "compiler version", &m_.compiler_version); !s.ok()) return s;
      continue;
    }
    int row_section = -1;
    for (int i = 0; i < 3; ++i)
      if (f[0] == kSections[i]) row_section = i;
    if (row_section < 0) {
      if (f[0] == kManifestMagic || f[0] == "compiler")
        return Error(Cat("repeated \"", f[0], "\" row"));
      return Error(Cat("unknown row ", Shown(f[0])));
    }
    if (row_section < section)
      return Error(Cat("\"", f[0], "\" row after \"", kSections[section],
                       "\" rows (order: source, artifact, service)"));
    section = row_section;
    absl::Status s = row_section == 0 ? Source(f) : row_section == 1 ? Artifact(f) : Service(f);
    if (!s.ok()) return s;
  }
  if (line_no_ < 2) {
    line_no_ = 2;
    return Error("missing \"compiler <version>\" row");
  }
  return std::move(m_);
}

}  // namespace

bool IsGenerationName(std::string_view name) {
  if (name.size() != kGenerationPrefix.size() + kGenerationHashDigits) return false;
  if (name.substr(0, kGenerationPrefix.size()) != kGenerationPrefix) return false;
  for (char c : name.substr(kGenerationPrefix.size()))
    if (HexValue(c) < 0) return false;
  return true;
}

std::string GenerationNameFor(std::string_view manifest_sha256) {
  return Cat(kGenerationPrefix, manifest_sha256.substr(0, kGenerationHashDigits));
}

bool IsArtifactFileName(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  if (name == kManifestFileName || name == kCurrentFileName) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-'))) return false;
  }
  return true;
}

std::string_view ArtifactKindName(ArtifactKind kind) {
  switch (kind) {
    case ArtifactKind::kTable:
      return "table";
    case ArtifactKind::kCidr:
      return "cidr";
    case ArtifactKind::kComposite:
      return "composite";
    case ArtifactKind::kPatterns:
      return "patterns";
    case ArtifactKind::kRoute:
      return "route";
  }
  return "?";
}

std::string EscapeManifestToken(std::string_view raw) {
  if (raw.empty()) return "-";
  if (raw == "-") return "%2d";
  std::string out;
  out.reserve(raw.size());
  for (char ch : raw) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (IsLiteralTokenByte(c)) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHexDigits[c >> 4]);
      out.push_back(kHexDigits[c & 0xf]);
    }
  }
  return out;
}

bool UnescapeManifestToken(std::string_view token, std::string* out) {
  out->clear();
  if (token == "-") return true;
  for (size_t i = 0; i < token.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(token[i]);
    if (c == '%') {
      if (i + 2 >= token.size()) return false;
      int hi = HexValue(token[i + 1]), lo = HexValue(token[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out->push_back(static_cast<char>(hi << 4 | lo));
      i += 2;
    } else if (IsLiteralTokenByte(c)) {
      out->push_back(static_cast<char>(c));
    } else {
      return false;
    }
  }
  // Canonical form only: each byte escaped exactly when it must be.
  return EscapeManifestToken(*out) == token;
}

std::string Manifest::Serialize() const {
  std::vector<const ManifestSource*> sources;
  for (const ManifestSource& s : this->sources) sources.push_back(&s);
  std::sort(sources.begin(), sources.end(),
            [](auto* a, auto* b) { return SourceKey(*a) < SourceKey(*b); });
  std::vector<const ManifestArtifact*> artifacts;
  for (const ManifestArtifact& a : this->artifacts) artifacts.push_back(&a);
  std::sort(artifacts.begin(), artifacts.end(),
            [](auto* a, auto* b) { return ArtifactKey(*a) < ArtifactKey(*b); });
  std::vector<const ManifestServiceParam*> params;
  for (const ManifestServiceParam& p : service_params) params.push_back(&p);
  std::sort(params.begin(), params.end(),
            [](auto* a, auto* b) { return ServiceKey(*a) < ServiceKey(*b); });

  std::string out = Cat(kManifestMagic, " ", format_version, "\n", "compiler ",
                        EscapeManifestToken(compiler_version), "\n");
  for (const ManifestSource* s : sources)
    out += Cat("source ", s->sha256, " ", s->size, " ", EscapeManifestToken(s->path), "\n");
  for (const ManifestArtifact* a : artifacts)
    out += Cat("artifact ", ArtifactKindName(a->kind), " ", EscapeManifestToken(a->name), " ",
               a->sha256, " ", a->size, " ", a->file, " ", FlagsToken(*a), "\n");
  for (const ManifestServiceParam* p : params)
    out += Cat("service ", EscapeManifestToken(p->service), " ", EscapeManifestToken(p->param), " ",
               EscapeManifestToken(p->value), "\n");
  return out;
}

absl::Status Manifest::Validate() const {
  if (format_version != kManifestFormatVersion)
    return absl::InvalidArgumentError(
        Cat("manifest format version ", format_version, " is not ", kManifestFormatVersion));
  std::map<std::string_view, int> paths;
  for (const ManifestSource& s : sources) {
    if (s.path.empty()) return absl::InvalidArgumentError("manifest: empty source path");
    if (!IsSha256Hex(s.sha256))
      return absl::InvalidArgumentError(Cat("manifest: bad sha256 for source ", Shown(s.path)));
    if (!paths.emplace(s.path, 0).second)
      return absl::InvalidArgumentError(Cat("manifest: duplicate source ", Shown(s.path)));
  }
  std::map<std::pair<std::string_view, std::string_view>, int> names;
  std::map<std::string_view, int> files;
  for (const ManifestArtifact& a : artifacts) {
    if (a.name.empty()) return absl::InvalidArgumentError("manifest: empty artifact name");
    if (!IsSha256Hex(a.sha256))
      return absl::InvalidArgumentError(
          Cat("manifest: bad sha256 for artifact ", KindAndName(a.kind, a.name)));
    if (!IsArtifactFileName(a.file))
      return absl::InvalidArgumentError(Cat("manifest: bad artifact file name ", Shown(a.file),
                                            " for ", KindAndName(a.kind, a.name)));
    if (!names.emplace(std::make_pair(ArtifactKindName(a.kind), std::string_view(a.name)), 0)
             .second)
      return absl::InvalidArgumentError(
          Cat("manifest: duplicate artifact ", KindAndName(a.kind, a.name)));
    if (!files.emplace(a.file, 0).second)
      return absl::InvalidArgumentError(
          Cat("manifest: artifact file ", Shown(a.file), " listed twice"));
  }
  std::map<std::pair<std::string_view, std::string_view>, int> params;
  for (const ManifestServiceParam& p : service_params) {
    if (p.service.empty() || p.param.empty())
      return absl::InvalidArgumentError("manifest: empty service or parameter name");
    if (!params.emplace(std::make_pair(std::string_view(p.service), std::string_view(p.param)), 0)
             .second)
      return absl::InvalidArgumentError(
          Cat("manifest: duplicate parameter ", Shown(p.param), " for service ", Shown(p.service)));
  }
  return absl::OkStatus();
}

absl::StatusOr<Manifest> Manifest::Parse(std::string_view text, std::string_view origin) {
  return Parser(text, origin).Run();
}

absl::StatusOr<int> Manifest::ParseFormatVersion(std::string_view text, std::string_view origin) {
  size_t nl = text.find('\n');
  std::string_view line = text.substr(0, nl);
  auto bad = [&](std::string_view what) { return absl::DataLossError(Cat(origin, ":1: ", what)); };
  if (text.empty()) return bad("empty file, not a bundle manifest");
  std::vector<std::string_view> f = SplitFields(line);
  if (f[0] != kManifestMagic)
    return bad(
        Cat("not a bundle manifest (first line must be \"", kManifestMagic, " <version>\")"));
  uint64_t version = 0;
  if (f.size() != 2 || !ParseSize(f[1], &version))
    return bad(Cat("bad header line (want \"", kManifestMagic, " <version>\")"));
  if (version != static_cast<uint64_t>(kManifestFormatVersion))
    return absl::FailedPreconditionError(Cat(origin, ":1: unsupported bundle format version ",
                                             version, " (this build reads version ",
                                             kManifestFormatVersion, ")"));
  if (nl == std::string_view::npos) return bad("header line does not end with a newline");
  return static_cast<int>(version);
}

}  // namespace posthaste::tables
