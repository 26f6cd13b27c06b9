// build_command.cc: `phc build [-c DIR] -o BUNDLE_DIR`: check, compile, publish.
//
// Runs every check of `phc check` first; any error prints the diagnostics,
// exits 1 and writes nothing. Otherwise compiles each lookup table the
// configuration references (indexed types, texthash:, inline:) to a CDB
// artifact, records every source file with its SHA-256, resolves the
// parameters of every master.cf service, and publishes one new generation
// through GenerationWriter (temp dir, fsync, rename, CURRENT by rename).
// Deterministic: the same inputs give a byte-identical generation.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <map>
#include <set>

#include "compiler/bundle_writer.h"
#include "compiler/cidr_table.h"
#include "compiler/config_set.h"
#include "compiler/diagnostics.h"
#include "compiler/master_cf.h"
#include "compiler/regexp_table.h"
#include "compiler/route_codegen.h"
#include "compiler/route_model.h"
#include "compiler/table_open.h"
#include "compiler/table_source.h"
#include "compiler/validate.h"
#include "tables/cdb_table.h"
#include "tables/param_registry.h"
#include "tables/route_verifier.h"
#include "tables/sha256.h"
#include "tools/commands.h"

namespace posthaste::tools {
namespace {

using compiler::ConfigSet;

struct TableRef {
  std::string spec;  // "type:name" as configured (after $ expansion)
};

// Members of a unionmap:{...} / pipemap:{...} spec, or empty.
std::vector<std::string> CompositeMembers(const compiler::TableSpec& spec) {
  std::vector<std::string> members;
  std::string error;
  std::optional<std::string> inner = compiler::ExtractBraced(spec.name, &error);
  if (!inner) return members;
  for (const compiler::ListItem& item : compiler::SplitListItems(*inner)) members.push_back(item.text);
  return members;
}

// Adds `text` (and, for composites, their members) when it is a table the
// bundle can hold.
void AddSpec(const std::string& text, std::set<std::string>* specs, int depth) {
  compiler::TableSpec spec;
  if (depth > 8 || !compiler::ParseTableSpec(text, &spec)) return;
  if (compiler::IsIndexedType(spec.type) || spec.type == "texthash" || spec.type == "inline" ||
      spec.type == "cidr" || spec.type == "static" || spec.type == "regexp" ||
      spec.type == "pcre") {
    specs->insert(text);
  } else if (spec.type == "unionmap" || spec.type == "pipemap") {
    specs->insert(text);
    for (const std::string& m : CompositeMembers(spec)) AddSpec(m, specs, depth + 1);
  }
}

// Tables whose sources are in aliases(5) form ("name: value").
bool IsAliasParam(const std::string& name) {
  return name == "alias_maps" || name == "alias_database";
}

// Every table spec referenced by explicit settings (main.cf and -o), with
// $ references expanded, in a stable order; `alias_specs` gets those used
// as alias tables.
std::set<std::string> ReferencedTables(const ConfigSet& cs, std::set<std::string>* alias_specs) {
  std::set<std::string> specs;
  auto scan = [&](const std::string& name, const std::string& value,
                  const compiler::MasterService* svc) {
    const compiler::KnownParam* p = cs.params->Find(name);
    bool holds = cs.params->restriction_classes().count(name) > 0;
    if (p && p->info) {
      auto t = p->info->type;
      holds |= t == tables::ParamType::kTableList || t == tables::ParamType::kMatchList ||
               t == tables::ParamType::kRestrictionList;
    }
    if (!holds || name.find("_cache_") != std::string::npos) return;
    compiler::ExpandResult r = cs.params->ExpandValue(value, compiler::ValueMode::kEffective, svc);
    if (r.error) return;
    for (const compiler::ListItem& item : compiler::SplitListItems(r.text)) {
      AddSpec(item.text, &specs, 0);
      if (IsAliasParam(name)) alias_specs->insert(item.text);
    }
  };
  for (const compiler::Assignment& a : cs.main_cf->assignments)
    if (!a.overridden) scan(a.name, a.value, nullptr);
  if (cs.master_cf)
    for (const compiler::MasterService& svc : cs.master_cf->services)
      for (const compiler::MasterOption& o : svc.options) scan(o.name, o.value, &svc);
  return specs;
}

// alias_maps left at its default (hash:/etc/aliases, nis:mail.aliases on
// Debian): the indexed tables among it whose source file exists, so local
// delivery and local_recipient_maps see the host's aliases as Postfix would.
// A missing source is left out with a warning: the runtime then reports the
// table unavailable and defers, as Postfix does without aliases.db. nis:
// needs nothing (lookups disabled on a host without a NIS domain).
std::set<std::string> DefaultAliasSpecs(const ConfigSet& cs) {
  std::set<std::string> out;
  if (cs.params->ExplicitValue("alias_maps")) return out;
  std::optional<std::string> value = cs.params->Value("alias_maps", compiler::ValueMode::kEffective);
  if (!value) return out;
  compiler::ExpandResult r = cs.params->ExpandValue(*value, compiler::ValueMode::kEffective, nullptr);
  if (r.error) return out;
  static const std::set<std::string> kIndexed = {"hash", "btree", "lmdb", "cdb", "dbm", "sdbm",
                                                 "texthash"};
  for (const compiler::ListItem& item : compiler::SplitListItems(r.text)) {
    compiler::TableSpec spec;
    compiler::ParseTableSpec(item.text, &spec);
    if (!kIndexed.count(spec.type)) continue;
    if (access(spec.name.c_str(), R_OK) == 0) {
      out.insert(item.text);
    } else {
      std::fprintf(stderr,
                   "phc build: warning: alias_maps (default) %s: cannot read %s; local delivery "
                   "will defer until the bundle is rebuilt with it\n",
                   item.text.c_str(), spec.name.c_str());
    }
  }
  return out;
}

absl::Status WriteFileBytes(const std::string& path, const std::string& bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return absl::UnavailableError("create " + path);
  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  ok = std::fclose(f) == 0 && ok;
  return ok ? absl::OkStatus() : absl::UnavailableError("write " + path);
}

std::optional<tables::Program> ProgramOf(const compiler::MasterService& svc) {
  std::string program = svc.process_name();
  for (int p = 0; p < static_cast<int>(tables::kProgramCount); ++p)
    if (tables::ProgramName(static_cast<tables::Program>(p)) == program)
      return static_cast<tables::Program>(p);
  return std::nullopt;
}

}  // namespace

int BuildCommand(const std::vector<std::string>& argv) {
  std::string dir = "/etc/postfix", out;
  for (size_t i = 1; i < argv.size(); ++i) {
    if (argv[i] == "-c" && i + 1 < argv.size()) {
      dir = argv[++i];
    } else if (argv[i] == "-o" && i + 1 < argv.size()) {
      out = argv[++i];
    } else {
      std::fputs("usage: phc build [-c DIR] -o BUNDLE_DIR\n", stderr);
      return 2;
    }
  }
  if (out.empty()) {
    std::fputs("usage: phc build [-c DIR] -o BUNDLE_DIR\n", stderr);
    return 2;
  }
  auto cs = compiler::LoadConfig(dir, {}, true);
  compiler::DiagnosticSink sink(&cs->sources);
  compiler::Validate(*cs, {}, &sink);
  std::cerr << sink.RenderText();
  if (!cs->main_cf) return 2;
  if (sink.HasErrors()) {
    std::cerr << dir << ": " << sink.errors() << " errors; nothing written\n";
    return 1;
  }
  bool utf8 = compiler::FoldCase(cs->params->ExpandValue(
                  cs->params->Value("smtputf8_enable", compiler::ValueMode::kEffective)
                      .value_or("no"),
                  compiler::ValueMode::kEffective).text) == "yes";

  compiler::GenerationWriter writer;
  writer.SetCompilerVersion("posthaste-" POSTHASTE_VERSION);
  if (absl::Status s = writer.Begin(out); !s.ok()) {
    std::fprintf(stderr, "phc build: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  auto fail = [&](const std::string& msg) {
    std::fprintf(stderr, "phc build: %s\n", msg.c_str());
    writer.Abort();
    return 1;
  };
  for (int f = 0; f < cs->sources.size(); ++f) {
    const compiler::SourceFile& file = cs->sources.file(f);
    if (absl::Status s = writer.AddSourceContents(file.path, file.text); !s.ok())
      return fail(std::string(s.message()));
  }
  struct Summary {
    std::string spec;
    size_t keys;
    uint64_t bytes;
  };
  std::vector<Summary> summary;
  std::set<std::string> recorded_sources;
  for (int f = 0; f < cs->sources.size(); ++f) recorded_sources.insert(cs->sources.file(f).path);
  // Reads a table's source file and records it (once) in the manifest.
  auto read_source = [&](const std::string& path, std::string* text, std::string* error) {
    if (!compiler::ReadFile(path, text, error)) {
      *error = "open " + path + ": " + *error;
      return false;
    }
    if (recorded_sources.insert(path).second)
      if (absl::Status s = writer.AddSourceContents(path, *text); !s.ok()) {
        *error = std::string(s.message());
        return false;
      }
    return true;
  };
  std::set<std::string> alias_specs;
  std::set<std::string> specs = ReferencedTables(*cs, &alias_specs);
  for (const std::string& spec_text : DefaultAliasSpecs(*cs)) {
    specs.insert(spec_text);
    alias_specs.insert(spec_text);
  }
  for (const std::string& spec_text : specs) {
    compiler::TableSpec spec;
    compiler::ParseTableSpec(spec_text, &spec);
    std::vector<std::pair<std::string, std::string>> records;
    if (spec.type == "static" || spec.type == "unionmap" || spec.type == "pipemap") {
      std::string body;
      if (spec.type == "static") {
        compiler::OpenedTable t = compiler::OpenTable(spec_text, {});
        if (!t.table) return fail(t.fatal);
        body = "static\n" + t.table->Lookup("").value;
      } else {
        body = spec.type + "\n";
        for (const std::string& m : CompositeMembers(spec)) body += m + "\n";
      }
      std::string file = "composite-" + tables::Sha256Hex(spec_text).substr(0, 16);
      if (absl::Status s = WriteFileBytes(writer.TempDir() + "/" + file, body); !s.ok())
        return fail(std::string(s.message()));
      if (absl::Status s = writer.AddArtifactFile(tables::ArtifactKind::kComposite, spec_text, file);
          !s.ok())
        return fail(std::string(s.message()));
      continue;
    }
    if (spec.type == "regexp" || spec.type == "pcre") {
      std::string text, error;
      if (!read_source(spec.name, &text, &error)) return fail(error);
      // The rules Postfix keeps, in compact form; `phc check` above has
      // already reported the ones it skips.
      compiler::SourceSet sources;
      compiler::ParsedPatternTable parsed =
          compiler::ParsePatternRules(sources, sources.Add(spec.name, text), spec.type == "pcre");
      std::string file = "patterns-" + tables::Sha256Hex(spec_text).substr(0, 16);
      if (absl::Status s = WriteFileBytes(
              writer.TempDir() + "/" + file,
              tables::SerializePatternTable(spec.name,
                                            spec.type == "pcre" ? tables::PatternSyntax::kPcre
                                                                : tables::PatternSyntax::kPosix,
                                            parsed.rules));
          !s.ok())
        return fail(std::string(s.message()));
      if (absl::Status s =
              writer.AddArtifactFile(tables::ArtifactKind::kPatterns, spec_text, file);
          !s.ok())
        return fail(std::string(s.message()));
      summary.push_back({spec_text, parsed.rules.size(), 0});
      continue;
    }
    if (spec.type == "cidr") {
      std::string text, error;
      if (!read_source(spec.name, &text, &error)) return fail(error);
      std::vector<std::string> warnings;
      std::vector<tables::CidrRule> rules = compiler::ParseCidrRules(spec.name, text, &warnings);
      for (const std::string& w : warnings) std::fprintf(stderr, "phc build: warning: %s\n", w.c_str());
      std::string file = "cidr-" + tables::Sha256Hex(spec_text).substr(0, 16) + ".cdb";
      if (absl::Status s = tables::WriteCidrTable(rules, writer.TempDir() + "/" + file); !s.ok())
        return fail(std::string(s.message()));
      if (absl::Status s = writer.AddArtifactFile(tables::ArtifactKind::kCidr, spec_text, file);
          !s.ok())
        return fail(std::string(s.message()));
      summary.push_back({spec_text, rules.size(), 0});
      continue;
    }
    if (spec.type == "inline") {
      compiler::OpenOptions options;
      options.utf8 = utf8;
      compiler::OpenedTable t = compiler::OpenTable(spec_text, options);
      if (!t.table) return fail(t.fatal);
      t.table->ForEach([&](std::string_view k, std::string_view v) {
        records.emplace_back(std::string(k), std::string(v));
      });
    } else {
      std::string text, error;
      if (!read_source(spec.name, &text, &error)) return fail(error);
      compiler::TableSourceOptions options;
      options.utf8 = utf8;
      if (alias_specs.count(spec_text)) options.syntax = compiler::TableSyntax::kAlias;
      compiler::ParsedTable parsed = compiler::ParseTableSource(spec.name, text, options);
      for (const compiler::TableWarning& w : parsed.warnings)
        std::fprintf(stderr, "phc build: warning: %s\n", w.text.c_str());
      std::set<std::string> seen;
      for (compiler::TableRecord& r : parsed.records) {
        if (!seen.insert(r.key).second) {
          std::fprintf(stderr, "phc build: warning: %s, line %d: duplicate entry: \"%s\"\n",
                       spec.name.c_str(), r.line, r.key.c_str());
          continue;
        }
        records.emplace_back(std::move(r.key), std::move(r.value));
      }
    }
    std::string file = "table-" + tables::Sha256Hex(spec_text).substr(0, 16) + ".cdb";
    auto builder = tables::CdbBuilder::Create(writer.TempDir() + "/" + file);
    if (!builder.ok()) return fail(std::string(builder.status().message()));
    for (const auto& [k, v] : records)
      if (absl::Status s = (*builder)->Add(k, v); !s.ok()) return fail(std::string(s.message()));
    if (absl::Status s = (*builder)->Finish(); !s.ok()) return fail(std::string(s.message()));
    if (absl::Status s = writer.AddArtifactFile(tables::ArtifactKind::kTable, spec_text, file);
        !s.ok())
      return fail(std::string(s.message()));
    summary.push_back({spec_text, records.size(), 0});
  }
  // The routing program (tables/route_format.md), when every table it names
  // is in the bundle; otherwise the loader would refuse the whole generation.
  {
    compiler::RouteModel model = compiler::BuildRouteModel(*cs, nullptr);
    tables::RouteProgram program = compiler::GenerateRouteProgram(model);
    std::string missing;  // `specs` is every table compiled above
    for (const std::string& name : program.table_names)
      if (!specs.count(name) && missing.empty()) missing = name;
    if (absl::Status s = tables::VerifyRouteProgram(program); !s.ok())
      return fail(std::string(s.message()));
    if (!missing.empty()) {
      std::fprintf(stderr, "phc build: warning: no routing program: table %s cannot be bundled yet\n",
                   missing.c_str());
    } else {
      if (absl::Status s = WriteFileBytes(writer.TempDir() + "/route.bin", program.Encode());
          !s.ok())
        return fail(std::string(s.message()));
      if (absl::Status s = writer.AddArtifactFile(tables::ArtifactKind::kRoute, "route", "route.bin");
          !s.ok())
        return fail(std::string(s.message()));
    }
  }
  // Resolved parameters of every service: what its program reads, plus its -o.
  if (cs->master_cf) {
    // The queue manager also reads the per-transport knobs of every delivery
    // service (<transport>_destination_concurrency_limit ...): the ones whose
    // default_* parameter it reads itself.
    std::set<std::string> qmgr_transport_params;
    for (const compiler::MasterService& svc : cs->master_cf->services) {
      if (!svc.complete()) continue;
      for (const tables::ServiceParamTemplate& t : tables::ServiceParamTemplates()) {
        const tables::ParamInfo* d = tables::FindParam(t.default_param);
        if (d && (d->programs & tables::ProgramBit(tables::Program::kQmgr)))
          qmgr_transport_params.insert(svc.name() + std::string(t.suffix));
      }
    }
    for (const compiler::MasterService& svc : cs->master_cf->services) {
      if (!svc.complete()) continue;
      std::optional<tables::Program> prog = ProgramOf(svc);
      std::map<std::string, std::string> params;
      for (const auto& [name, p] : cs->params->known()) {
        bool reads = prog && p.info && (p.info->programs & tables::ProgramBit(*prog));
        // smtpd also reads the restriction classes its lists name, and
        // computes $mynetworks from mynetworks_style when it is left to the host.
        // ETRN asks the flush service, whose fast_flush_domains posthasted's
        // smtpd checks itself.
        if (prog == tables::Program::kSmtpd &&
            (cs->params->restriction_classes().count(name) || name == "mynetworks_style" ||
             name == "fast_flush_domains"))
          reads = true;
        if ((prog == tables::Program::kQmgr || prog == tables::Program::kOqmgr) &&
            qmgr_transport_params.count(name))
          reads = true;
        // trivial-rewrite's resolve() reads the address-class settings that
        // its manual page does not list.
        if (prog == tables::Program::kTrivialRewrite &&
            (name == "mydestination" || name == "relay_domains" || name == "inet_interfaces" ||
             name == "proxy_interfaces" || name == "virtual_alias_domains" ||
             name == "virtual_mailbox_domains" || name == "myhostname" || name == "mydomain"))
          reads = true;
        bool set_here = svc.FindOption(name) != nullptr;
        if (!reads && !set_here) continue;
        if (p.info && p.info->legacy) continue;
        // A host-dependent default (myhostname, mynetworks ...) is computed
        // where posthasted runs, not where the bundle was built.
        if (p.info && p.info->host_dependent && !set_here && !cs->params->ExplicitValue(name))
          continue;
        std::optional<std::string> v =
            cs->params->Value(name, compiler::ValueMode::kEffective, &svc);
        if (!v) continue;
        compiler::ExpandResult r =
            cs->params->ExpandValue(*v, compiler::ValueMode::kEffective, &svc);
        params[name] = (p.info && p.info->raw) || r.error ? *v : r.text;
      }
      // Names the service defines for itself with -o (a restriction class
      // declared by -o smtpd_restriction_classes) are no main.cf parameters.
      for (const compiler::MasterOption& o : svc.options) {
        if (params.count(o.name) || svc.FindOption(o.name) != &o) continue;
        compiler::ExpandResult r =
            cs->params->ExpandValue(o.value, compiler::ValueMode::kEffective, &svc);
        params[o.name] = r.error ? o.value : r.text;
      }
      // The command the service runs (Postfix's read-only process_name):
      // the runtime picks the delivery agent by it.
      params["process_name"] = svc.process_name();
      for (const auto& [name, value] : params)
        if (absl::Status s = writer.AddServiceParam(svc.id(), name, value); !s.ok())
          return fail(std::string(s.message()));
    }
  }
  absl::StatusOr<compiler::GenerationWriter::Result> result = writer.Commit();
  if (!result.ok()) return fail(std::string(result.status().message()));
  for (const tables::ManifestArtifact& a : result->manifest.artifacts)
    for (Summary& s : summary)
      if (s.spec == a.name) s.bytes = a.size;
  for (const Summary& s : summary)
    std::printf("table %s: %zu %s, %llu bytes\n", s.spec.c_str(), s.keys,
                s.spec.rfind("cidr:", 0) == 0 || s.spec.rfind("regexp:", 0) == 0 ||
                        s.spec.rfind("pcre:", 0) == 0
                    ? "rules"
                    : "keys",
                static_cast<unsigned long long>(s.bytes));
  std::printf("bundle %s (%s)%s\n", result->manifest_sha256.c_str(), result->generation.c_str(),
              result->reused ? ", unchanged" : "");
  std::printf("published %s, CURRENT -> %s\n", result->directory.c_str(),
              result->generation.c_str());
  return 0;
}

}  // namespace posthaste::tools
