// map_command.cc: `phc map` and `phc alias`, work-alikes of postmap and postalias.
//
// Same flags, same stdout and exit status as Postfix 3.7 on the same inputs:
// building (`phc map [type:]file...`), `-q KEY`, `-q -` (keys on stdin),
// `-s` (dump), `-f` (no case folding), `-N`/`-n` (with / without a NUL in
// stored keys and values), `-c DIR`. Every indexed type (hash, btree, lmdb,
// cdb, dbm) is written as a CDB file <file>.cdb in Postfix's cdb layout,
// which real Postfix reads as cdb:file. Warnings and fatal errors go to
// stderr in postmap's words, prefixed "phc: ".
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <iterator>
#include <map>
#include <optional>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"

#include <openssl/evp.h>

#include "compiler/config_set.h"
#include "compiler/host_defaults.h"
#include "compiler/table_open.h"
#include "compiler/table_source.h"
#include "compiler/text.h"
#include "tables/cdb_table.h"
#include "tables/casefold.h"
#include "tables/memory_table.h"
#include "tables/message_walker.h"
#include "tools/commands.h"

namespace posthaste::tools {
namespace {

using compiler::OpenedTable;
using compiler::TableSpec;

struct Fatal {
  std::string message;
};

std::string Base64Encode(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(n > 0 ? n : 0);
  return out;
}

std::string Base64Decode(std::string_view in) {
  if (in.empty() || in.size() % 4 != 0) return std::string(in);
  std::string out(in.size() / 4 * 3 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0) return std::string(in);
  size_t pad = (in.size() >= 1 && in.back() == '=') + (in.size() >= 2 && in[in.size() - 2] == '=');
  out.resize(n - pad);
  return out;
}

struct MapOptions {
  bool alias = false;       // postalias
  std::string config_dir = "/etc/postfix";
  bool fold = true;         // -f turns off
  int nul = 0;              // -N: 1, -n: -1, default 0
  bool dump = false;        // -s
  std::optional<std::string> query;  // -q KEY
  std::optional<std::string> remove;  // -d KEY
  bool incremental = false;  // -i
  bool values_are_files = false;  // -F: values name files, stored base64-encoded
  bool scan_headers = false;      // -h: keys are the headers of a message on stdin
  bool scan_body = false;         // -b: keys are its body lines
  bool scan_mime = false;         // -m: MIME structure is parsed
  bool utf8_checks_in_scans = false;  // -U: keep the UTF-8 key checks with -h/-b
  enum { kWarn, kReplace, kIgnore } duplicates = kWarn;  // default, -r, -w
  std::vector<std::string> maps;
};

class MapTool {
 public:
  explicit MapTool(const MapOptions& o) : o_(o) {}

  std::string out_, err_;

  void Warn(const std::string& msg) { err_ += "phc: warning: " + msg + "\n"; }
  [[noreturn]] void Die(const std::string& msg) { throw Fatal{msg}; }

  int Run() {
    if (o_.query) return Query();
    if (o_.dump) return Dump();
    if (o_.remove) return Delete();
    for (const std::string& m : o_.maps) {
      if (o_.incremental) {
        Incremental(m);
      } else {
        Build(m);
      }
    }
    return 0;
  }

 private:
  // A parameter's expanded value from the configuration directory.
  std::string Param(const std::string& name) {
    if (!config_) config_ = compiler::LoadConfig(o_.config_dir, {}, true);
    std::optional<std::string> v = config_->params->Value(name, compiler::ValueMode::kEffective);
    if (!v) return "";
    return config_->params->ExpandValue(*v, compiler::ValueMode::kEffective).text;
  }
  std::string DefaultType() { return Param("default_database_type"); }
  // smtputf8_enable, read once (it is asked for every key).
  bool Utf8() {
    if (!utf8_) utf8_ = compiler::FoldCase(Param("smtputf8_enable")) == "yes";
    return *utf8_;
  }

  TableSpec Spec(const std::string& text) {
    TableSpec spec;
    if (compiler::ParseTableSpec(text, &spec) && spec.name.empty())
      Die("open dictionary: expecting \"type:name\" form instead of \"" + text + "\"");
    if (!compiler::ParseTableSpec(text, &spec)) {
      spec.type = default_type_ ? *default_type_ : *(default_type_ = DefaultType());
      spec.name = text;
    }
    return spec;
  }

  // Where postmap reports duplicate keys for each database type.
  static std::string DuplicateWhere(const TableSpec& s) {
    if (s.type == "cdb") return s.name;
    if (s.type == "lmdb") return "lmdb:" + s.name;
    return s.name + compiler::PostfixSuffix(s.type);
  }

  void Build(const std::string& text) {
    TableSpec spec = Spec(text);
    // postmap opens the source first, then the database for writing.
    std::string source, error;
    if (!compiler::ReadFile(spec.name, &source, &error)) Die("open " + spec.name + ": " + error);
    static const std::set<std::string> kReadOnlyTypes = {
        "texthash", "cidr", "regexp", "pcre", "inline", "static", "unionmap", "pipemap",
        "environ", "fail", "internal"};
    if (kReadOnlyTypes.count(spec.type))
      Die("unsupported dictionary type: " + spec.type + " does not support bulk-mode creation.");
    if (!compiler::IsIndexedType(spec.type))
      Die("unsupported dictionary type: " + spec.type + ". Is the postfix-" + spec.type +
          " package installed?");
    compiler::TableSourceOptions source_options;
    source_options.syntax = o_.alias ? compiler::TableSyntax::kAlias : compiler::TableSyntax::kMap;
    source_options.fold_case = o_.fold;
    source_options.utf8 = Utf8();
    std::string out_path = compiler::CompiledPath(spec);
    auto builder = tables::CdbBuilder::Create(out_path);
    if (!builder.ok())
      Die("open database " + spec.name + compiler::PostfixSuffix(spec.type) + ": " +
          std::string(builder.status().message()));
    // Postfix stores keys and values with a terminating NUL in hash, btree
    // and lmdb files unless -n says otherwise, and without one in cdb files
    // unless -N says otherwise.
    bool with_nul = o_.nul > 0 || (o_.nul == 0 && spec.type != "cdb");
    std::string key, value;  // reused buffers
    auto stored = [&](std::string_view k, std::string_view v) {
      key.assign(k);
      value.assign(v);
      if (with_nul) {
        key.push_back('\0');
        value.push_back('\0');
      }
    };
    // Duplicates: the first record wins (with a warning, or silently with
    // -w); with -r the last one wins. Keys are remembered by hash only; a
    // repeated hash is confirmed against what the builder has written.
    absl::flat_hash_set<size_t> hashes;
    std::vector<std::pair<std::string, std::string>> replace_mode_records;
    absl::flat_hash_map<std::string, size_t> replace_index;
    compiler::TableSourceSink sink;
    sink.warning = [&](int, std::string text) { Warn(text); };
    std::string file_value;
    sink.record = [&](std::string_view k, std::string_view v, int) {
      if (o_.values_are_files) {
        std::string content, error;
        if (!compiler::ReadFile(std::string(v), &content, &error))
          Die("open " + std::string(v) + ": " + error);
        file_value = Base64Encode(content);
        v = file_value;
      }
      // LMDB's own key size limit, which postmap runs into.
      if (spec.type == "lmdb" && k.size() + with_nul > 511) {
        // Postfix has created the database before it fails: it stays, empty.
        builder->reset();  // abandons the partial file first
        auto empty = tables::CdbBuilder::Create(out_path);
        if (empty.ok()) (void)(*empty)->Finish();
        Die("error updating lmdb:" + spec.name +
            ": MDB_BAD_VALSIZE: Unsupported size of key/DB name/data, or wrong DUPFIXED size");
      }
      if (o_.duplicates == MapOptions::kReplace) {
        auto [it, inserted] = replace_index.emplace(std::string(k), replace_mode_records.size());
        if (inserted) {
          replace_mode_records.emplace_back(std::string(k), std::string(v));
        } else {
          replace_mode_records[it->second].second = std::string(v);
        }
        return;
      }
      stored(k, v);
      if (!hashes.insert(absl::HashOf(k)).second) {
        absl::StatusOr<bool> dup = (*builder)->Contains(key);
        if (!dup.ok()) Die(std::string(dup.status().message()));
        if (*dup) {
          if (o_.duplicates == MapOptions::kWarn)
            Warn(DuplicateWhere(spec) + ": duplicate entry: \"" + std::string(k) + "\"");
          return;
        }
      }
      if (absl::Status st = (*builder)->Add(key, value); !st.ok()) Die(std::string(st.message()));
    };
    compiler::ScanTableSource(spec.name, source, source_options, sink);
    for (const auto& [k, v] : replace_mode_records) {
      stored(k, v);
      if (absl::Status st = (*builder)->Add(key, value); !st.ok()) Die(std::string(st.message()));
    }
    if (o_.alias) {
      // postalias adds the sendmail-compatible end marker and NIS entries.
      for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
               {"@", "@"},
               {"YP_LAST_MODIFIED", std::to_string(std::time(nullptr))},
               {"YP_MASTER_NAME", MyHostname()}}) {
        stored(k, v);
        if (absl::Status st = (*builder)->Add(key, value); !st.ok()) Die(std::string(st.message()));
      }
    }
    if (absl::Status st = (*builder)->Finish(); !st.ok()) Die(std::string(st.message()));
  }

  std::string MyHostname() { return Param("myhostname"); }

  // The records of an existing compiled table, in storage order (empty when
  // there is none yet).
  std::vector<std::pair<std::string, std::string>> Existing(const TableSpec& spec) {
    std::vector<std::pair<std::string, std::string>> records;
    auto table = tables::CdbTable::Open(compiler::CompiledPath(spec), o_.fold);
    if (!table.ok()) return records;
    (*table)->ForEach([&](std::string_view k, std::string_view v) {
      records.emplace_back(std::string(k), std::string(v));
    });
    return records;
  }

  // Writes `records` as the compiled table, NUL-terminated per the type.
  void Rewrite(const TableSpec& spec,
               const std::vector<std::pair<std::string, std::string>>& records) {
    auto builder = tables::CdbBuilder::Create(compiler::CompiledPath(spec));
    if (!builder.ok())
      Die("open database " + spec.name + compiler::PostfixSuffix(spec.type) + ": " +
          std::string(builder.status().message()));
    bool with_nul = o_.nul > 0 || (o_.nul == 0 && spec.type != "cdb");
    for (const auto& [k, v] : records) {
      std::string key = k, value = v;
      if (with_nul) {
        key.push_back('\0');
        value.push_back('\0');
      }
      if (absl::Status st = (*builder)->Add(key, value); !st.ok()) Die(std::string(st.message()));
    }
    if (absl::Status st = (*builder)->Finish(); !st.ok()) Die(std::string(st.message()));
  }

  // -i: records read from standard input are added to the existing table
  // (CDB files are immutable: the table is rewritten with them).
  void Incremental(const std::string& text) {
    TableSpec spec = Spec(text);
    if (!compiler::IsIndexedType(spec.type))
      Die("unsupported dictionary type: " + spec.type + " does not support bulk-mode creation.");
    std::vector<std::pair<std::string, std::string>> records = Existing(spec);
    absl::flat_hash_map<std::string, size_t> index;
    for (size_t i = 0; i < records.size(); ++i) index.emplace(records[i].first, i);
    std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    compiler::TableSourceOptions options;
    options.syntax = o_.alias ? compiler::TableSyntax::kAlias : compiler::TableSyntax::kMap;
    options.fold_case = o_.fold;
    options.utf8 = Utf8();
    compiler::TableSourceSink sink;
    sink.warning = [&](int, std::string w) { Warn(w); };
    sink.record = [&](std::string_view k, std::string_view v, int) {
      auto [it, inserted] = index.emplace(std::string(k), records.size());
      if (inserted) {
        records.emplace_back(std::string(k), std::string(v));
      } else if (o_.duplicates == MapOptions::kReplace) {
        records[it->second].second = std::string(v);
      } else if (o_.duplicates == MapOptions::kWarn) {
        Warn(DuplicateWhere(spec) + ": duplicate entry: \"" + std::string(k) + "\"");
      }
    };
    compiler::ScanTableSource("stdin", input, options, sink);
    Rewrite(spec, records);
  }

  // -d KEY / -d -: removes keys from each table; exit 0 when any was there.
  int Delete() {
    std::vector<std::string> keys;
    if (*o_.remove == "-") {
      std::string line;
      while (std::getline(std::cin, line)) keys.push_back(line);
    } else {
      keys.push_back(*o_.remove);
    }
    bool any = false;
    for (const std::string& m : o_.maps) {
      TableSpec spec = Spec(m);
      std::string compiled = compiler::CompiledPath(spec);
      if (!tables::CdbTable::Open(compiled).ok())
        Die("open database " + spec.name + compiler::PostfixSuffix(spec.type) +
            ": No such file or directory");
      std::vector<std::pair<std::string, std::string>> records = Existing(spec);
      size_t before = records.size();
      for (std::string key : keys) {
        if (o_.fold) key = compiler::FoldKey(key, Utf8());
        records.erase(std::remove_if(records.begin(), records.end(),
                                     [&](const auto& r) { return r.first == key; }),
                      records.end());
      }
      if (records.size() != before) {
        any = true;
        Rewrite(spec, records);
      }
    }
    return any ? 0 : 1;
  }

  std::unique_ptr<tables::Table> Open(const std::string& text) {
    TableSpec spec = Spec(text);
    compiler::OpenOptions options;
    options.fold_case = o_.fold;
    options.alias = o_.alias;
    options.utf8 = Utf8();
    options.nul = o_.nul > 0   ? tables::NulMode::kWithNul
                  : o_.nul < 0 ? tables::NulMode::kWithoutNul
                               : tables::NulMode::kTryBoth;
    OpenedTable t = compiler::OpenTable(spec.type + ":" + spec.name, options);
    for (const std::string& w : t.warnings) Warn(w);
    if (!t.table) Die(t.fatal);
    return std::move(t.table);
  }

  // `only` names the one table in `tables` when they are opened one by one.
  std::optional<std::string> Find(std::vector<std::unique_ptr<tables::Table>>& tables,
                                  const std::string& key, const std::string* only = nullptr) {
    // With SMTPUTF8, a key that is not valid UTF-8 is refused by every table
    // (message scans skip this check unless -U asks for it).
    bool scanning = o_.scan_headers || o_.scan_body;
    if (Utf8() && (!scanning || o_.utf8_checks_in_scans) && !tables::IsValidUtf8(key)) {
      for (size_t i = 0; i < tables.size(); ++i)
        Warn((only ? *only : o_.maps[i]) + ": non-UTF-8 key \"" + compiler::Printable(key, true) +
             "\": malformed UTF-8 or invalid codepoint");
      return std::nullopt;
    }
    for (size_t i = 0; i < tables.size(); ++i) {
      auto& t = tables[i];
      const std::string& name = only ? *only : o_.maps[i];
      tables::LookupResult r = o_.fold ? tables::LookupFolded(*t, key, Utf8()) : t->Lookup(key);
      if (r.status == tables::LookupStatus::kTryAgain) Die("table lookup problem: " + r.value);
      if (!r.found()) continue;
      if (o_.values_are_files) r.value = Base64Decode(r.value);
      if (r.value.empty()) {
        Warn("table " + name + ": key " + key + ": empty string result is not allowed");
        Warn("table " + name + " should return NO RESULT in case of NOT FOUND");
      }
      return r.value;
    }
    return std::nullopt;
  }

  int Query() {
    std::vector<std::unique_ptr<tables::Table>> tables;
    if (*o_.query != "-") {
      // One key: tables are opened one at a time, and only until one answers.
      for (const std::string& m : o_.maps) {
        tables.clear();
        tables.push_back(Open(m));
        std::optional<std::string> v = Find(tables, *o_.query, &m);
        if (!v) continue;
        out_ += *v + "\n";
        return 0;
      }
      return 1;
    }
    // Tables are opened at the first key: with no input even a missing
    // table is not an error.
    bool any = false;
    auto lookup = [&](std::string_view key) {
      if (tables.empty())
        for (const std::string& m : o_.maps) tables.push_back(Open(m));
      std::optional<std::string> v = Find(tables, std::string(key));
      if (!v) return;
      out_ += std::string(key) + (o_.alias ? ":" : "") + "\t" + *v + "\n";
      any = true;
    };
    if (o_.scan_headers || o_.scan_body) {
      // -h / -b (and -m): the keys are the message's headers and body lines.
      std::string message((std::istreambuf_iterator<char>(std::cin)),
                          std::istreambuf_iterator<char>());
      tables::WalkOptions walk;
      walk.headers = o_.scan_headers;
      walk.body = o_.scan_body;
      walk.mime = o_.scan_mime;
      std::string limit = Param("header_size_limit");
      if (!limit.empty() && limit.find_first_not_of("0123456789") == std::string::npos &&
          limit.size() < 12)
        walk.header_size_limit = std::stoul(limit);
      tables::WalkMessage(message, walk, [&](tables::MessagePart, std::string_view key) {
        lookup(key);
        return true;
      });
      return any ? 0 : 1;
    }
    std::string line;
    while (std::getline(std::cin, line)) lookup(line);
    return any ? 0 : 1;
  }

  int Dump() {
    // postmap -s lists the first table only.
    for (const std::string& m : {o_.maps.front()}) {
      TableSpec spec = Spec(m);
      if (spec.type == "cdb")
        Die("table cdb:" + spec.name + ".cdb: sequence operation is not supported");
      std::unique_ptr<tables::Table> t = Open(m);
      std::vector<std::pair<std::string, std::string>> rows;
      bool ok = t->ForEach([&](std::string_view k, std::string_view v) {
        rows.emplace_back(std::string(k), std::string(v));
      });
      if (!ok) Die("table " + m + ": sequence operation is not supported");
      // btree and lmdb keep keys in byte order; hash order is Berkeley DB's
      // own and is not reproduced (insertion order instead).
      if (spec.type == "btree" || spec.type == "lmdb") std::sort(rows.begin(), rows.end());
      for (const auto& [k, v] : rows)
        out_ += k + (o_.alias ? ":" : "") + "\t" + (o_.values_are_files ? Base64Decode(v) : v) +
                "\n";
    }
    return 0;
  }

  const MapOptions& o_;
  std::optional<std::string> default_type_;
  std::unique_ptr<compiler::ConfigSet> config_;
  std::optional<bool> utf8_;
};

int MapOrAlias(const std::vector<std::string>& argv, bool alias) {
  MapOptions o;
  o.alias = alias;
  if (const char* env = std::getenv("MAIL_CONFIG")) o.config_dir = env;
  MapTool tool(o);
  const std::string usage =
      alias ? "usage: postalias [-Nfinoprsuvw] [-c config_dir] [-d key] [-q key] [map_type:]file..."
            : "usage: postmap [-bfFhimnNoprsuUvw] [-c config_dir] [-d key] [-q key] [map_type:]file...";
  int status = 0;
  try {
    // Options end at the first operand (no permutation), or at "--".
    bool options_done = false;
    bool deleting = false;
    for (size_t i = 1; i < argv.size(); ++i) {
      const std::string& a = argv[i];
      if (options_done || a.size() < 2 || a[0] != '-') {
        o.maps.push_back(a);
        options_done = true;
        continue;
      }
      if (a == "--") {
        options_done = true;
        continue;
      }
      for (size_t k = 1; k < a.size(); ++k) {
        char c = a[k];
        auto value = [&]() -> std::string {
          if (k + 1 < a.size()) {
            std::string v = a.substr(k + 1);
            k = a.size();
            return v;
          }
          if (i + 1 >= argv.size()) {
            tool.err_ += std::string("phc: option requires an argument -- '") + c + "'\n";
            tool.Die(usage);
          }
          k = a.size();
          return argv[++i];
        };
        switch (c) {
          case 'c': o.config_dir = value(); break;
          case 'f': o.fold = false; break;
          case 'N': o.nul = 1; break;
          case 'n': o.nul = -1; break;
          case 'q':
            if (o.dump || deleting) tool.Die("specify only one of -s -q or -d");
            o.query = value();
            break;
          case 'd':
            if (o.dump || o.query) tool.Die("specify only one of -s -q or -d");
            o.remove = value();
            deleting = true;
            break;
          case 's':
            if (o.query || deleting) tool.Die("specify only one of -s or -q or -d");
            o.dump = true;
            break;
          case 'i': o.incremental = true; break;
          case 'r': o.duplicates = MapOptions::kReplace; break;
          case 'w': o.duplicates = MapOptions::kIgnore; break;
          case 'F': o.values_are_files = true; break;
          case 'h': o.scan_headers = true; break;
          case 'b': o.scan_body = true; break;
          case 'm': o.scan_mime = true; break;
          case 'U': o.utf8_checks_in_scans = true; break;
          case 'o': case 'p': case 'v': case 'u':
            break;
          default:
            tool.err_ += std::string("phc: invalid option -- '") + c + "'\n";
            tool.Die(usage);
        }
      }
    }
    if (o.maps.empty() && o.dump) throw Fatal{""};  // postmap -s alone: status 1, silent
    if (o.maps.empty()) tool.Die(usage);
    // postmap reads main.cf first.
    std::string text, error;
    if (!compiler::ReadFile(o.config_dir + "/main.cf", &text, &error))
      tool.Die("open " + o.config_dir + "/main.cf: " + error);
    (void)deleting;
    if ((o.scan_headers || o.scan_body || o.scan_mime) && (!o.query || *o.query != "-"))
      tool.Die("specify -b -h or -m only with \"-q -\"");
    if (o.scan_mime && !o.scan_headers && !o.scan_body)
      tool.Warn("ignoring -m option without -b or -h");
    status = tool.Run();
  } catch (const Fatal& f) {
    if (!f.message.empty()) tool.err_ += "phc: fatal: " + f.message + "\n";
    status = 1;
  }
  std::fwrite(tool.out_.data(), 1, tool.out_.size(), stdout);
  std::fflush(stdout);
  std::fwrite(tool.err_.data(), 1, tool.err_.size(), stderr);
  return status;
}

}  // namespace

int MapCommand(const std::vector<std::string>& argv) { return MapOrAlias(argv, false); }
int AliasCommand(const std::vector<std::string>& argv) { return MapOrAlias(argv, true); }

}  // namespace posthaste::tools
