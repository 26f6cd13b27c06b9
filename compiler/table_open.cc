// table_open.cc: table specifications to Table objects.
#include "compiler/table_open.h"

#include <sys/stat.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <set>

#include "compiler/cidr_table.h"
#include "compiler/config_set.h"
#include "compiler/master_cf.h"
#include "compiler/regexp_table.h"
#include "compiler/table_source.h"
#include "compiler/text.h"
#include "compiler/validate.h"
#include "tables/cdb_table.h"
#include "tables/memory_table.h"

namespace posthaste::compiler {
namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}


// Reads and parses a postmap/postalias source into memory (texthash:, or
// an indexed table whose database was built by Postfix itself).
OpenedTable FromSource(const std::string& path, const OpenOptions& options, bool texthash) {
  OpenedTable out;
  std::string text, error;
  if (!ReadFile(path, &text, &error)) {
    out.fatal = "open database " + path + ": " + error;
    return out;
  }
  TableSourceOptions source_options;
  // texthash: always reads postmap syntax, even for postalias.
  source_options.syntax = options.alias && !texthash ? TableSyntax::kAlias : TableSyntax::kMap;
  source_options.fold_case = options.fold_case;
  source_options.utf8 = options.utf8;
  source_options.texthash = texthash;
  ParsedTable parsed = ParseTableSource(path, text, source_options);
  auto table = std::make_unique<tables::MemoryTable>(options.fold_case);
  std::vector<TableWarning> warnings = parsed.warnings;
  for (TableRecord& r : parsed.records) {
    std::string key = r.key;
    if (!table->Add(std::move(r.key), std::move(r.value)))
      warnings.push_back({r.line, path + ", line " + std::to_string(r.line) +
                                      ": duplicate entry: \"" + key + "\""});
  }
  std::stable_sort(warnings.begin(), warnings.end(),
                   [](const TableWarning& a, const TableWarning& b) { return a.line < b.line; });
  for (TableWarning& w : warnings) out.warnings.push_back(std::move(w.text));
  out.table = std::move(table);
  return out;
}

OpenedTable Inline(const std::string& spec, const std::string& name, const OpenOptions& options) {
  OpenedTable out;
  const std::string need = "; need \"inline:{name=value...}\"";
  std::string error;
  std::optional<std::string> inner = ExtractBraced(name, &error);
  std::string trimmed = Trim(name);
  if (!inner || trimmed.empty() || trimmed[0] != '{' || trimmed == "{}") {
    out.fatal = "bad syntax: \"" + spec + "\"" + need;
    return out;
  }
  if (inner->empty()) {
    out.fatal = "empty table: \"" + spec + "\"" + need;
    return out;
  }
  auto table = std::make_unique<tables::MemoryTable>(options.fold_case);
  for (const ListItem& item : SplitListItems(*inner)) {
    std::string text = item.text;
    if (!text.empty() && text[0] == '{') {
      std::optional<std::string> braced = ExtractBraced(text, &error);
      if (!braced) {
        out.fatal = "bad syntax: \"" + spec + "\"" + need;
        return out;
      }
      text = *braced;
    }
    std::string key, value;
    if (!text.empty() && text[0] == '=') {  // an empty name is accepted
      value = Trim(text.substr(1));
    } else if (std::optional<std::string> err = SplitNameValue(text, &key, &value)) {
      out.fatal = *err + ": \"" + spec + "\"" + need;
      return out;
    }
    if (options.fold_case) key = FoldKey(key, options.utf8);
    table->Add(std::move(key), std::move(value));
  }
  out.table = std::move(table);
  return out;
}

OpenedTable Composite(const std::string& spec, const std::string& type, const std::string& name,
                      const OpenOptions& options) {
  OpenedTable out;
  std::string error;
  std::optional<std::string> inner = ExtractBraced(name, &error);
  if (!inner || Trim(name).empty() || Trim(name)[0] != '{' || Trim(*inner).empty()) {
    out.fatal = "bad syntax: \"" + spec + "\"; need \"" + type + ":{type:name...}\"";
    return out;
  }
  std::vector<std::unique_ptr<tables::Table>> members;
  for (const ListItem& item : SplitListItems(*inner)) {
    TableSpec member_spec;
    if (!ParseTableSpec(item.text, &member_spec)) {
      out.fatal = "bad syntax: \"" + spec + "\"; need \"" + type + ":{type:name...}\"";
      return out;
    }
    OpenedTable member = OpenTable(item.text, options);
    for (std::string& w : member.warnings) out.warnings.push_back(std::move(w));
    if (!member.table) {
      out.fatal = member.fatal;
      return out;
    }
    members.push_back(std::move(member.table));
  }
  if (type == "unionmap") {
    out.table = std::make_unique<tables::UnionTable>(std::move(members), options.utf8);
  } else {
    out.table = std::make_unique<tables::PipeTable>(std::move(members), options.utf8);
  }
  return out;
}

}  // namespace

bool ParseTableSpec(std::string_view text, TableSpec* spec) {
  size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  spec->type = std::string(text.substr(0, colon));
  spec->name = std::string(text.substr(colon + 1));
  return true;
}

bool IsIndexedType(const std::string& type) {
  static const std::set<std::string> k = {"hash", "btree", "lmdb", "cdb", "dbm", "sdbm"};
  return k.count(type) > 0;
}

std::string CompiledPath(const TableSpec& spec) {
  if (spec.type == "cdb") return spec.name + ".cdb";
  return spec.name + "." + spec.type + ".cdb";
}

std::string PostfixSuffix(const std::string& type) {
  if (type == "cdb") return ".cdb";
  if (type == "lmdb") return ".lmdb";
  if (type == "dbm" || type == "sdbm") return ".pag";
  return ".db";
}

OpenedTable OpenTable(const std::string& spec, const OpenOptions& options) {
  OpenedTable out;
  TableSpec ts;
  if (!ParseTableSpec(spec, &ts) || ts.name.empty()) {
    out.fatal = "open dictionary: expecting \"type:name\" form instead of \"" + spec + "\"";
    return out;
  }
  if (IsIndexedType(ts.type)) {
    std::string cdb = CompiledPath(ts);
    if (Exists(cdb)) {
      auto t = tables::CdbTable::Open(cdb, options.fold_case, options.nul);
      if (!t.ok()) {
        out.fatal = std::string(t.status().message());
        return out;
      }
      out.table = std::move(*t);
      return out;
    }
    if (ts.type != "cdb" && Exists(ts.name + PostfixSuffix(ts.type)) && Exists(ts.name))
      return FromSource(ts.name, options, false);  // a Postfix-built database: read its source
    out.fatal = "open database " + ts.name + PostfixSuffix(ts.type) + ": " +
                std::strerror(ENOENT);
    return out;
  }
  if (ts.type == "texthash") return FromSource(ts.name, options, true);
  if (ts.type == "inline") return Inline(spec, ts.name, options);
  if (ts.type == "static") {
    std::string value = ts.name;
    std::string t = Trim(value);
    if (!t.empty() && t[0] == '{') {
      std::string error;
      std::optional<std::string> inner = ExtractBraced(t, &error);
      if (!inner) {
        out.fatal = "bad static:name syntax: " + error;
        return out;
      }
      value = *inner;
    }
    out.table = std::make_unique<tables::StaticTable>(value);
    return out;
  }
  if (ts.type == "unionmap" || ts.type == "pipemap") return Composite(spec, ts.type, ts.name, options);
  if (ts.type == "fail") {
    out.table = std::make_unique<tables::FailTable>(ts.name);
    return out;
  }
  if (ts.type == "cidr") return OpenCidrTable(ts.name);
  if (ts.type == "regexp" || ts.type == "pcre") return OpenRegexpTable(ts.name, ts.type == "pcre");
  out.fatal = "unsupported dictionary type: " + ts.type;
  return out;
}

}  // namespace posthaste::compiler
