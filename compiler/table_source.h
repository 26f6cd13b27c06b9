// table_source.h: postmap and postalias input files, parsed as Postfix parses them.
//
// Lowering of grammar/TableSource.g4. postmap form: the key is the first
// whitespace-free token, the value the rest with surrounding blanks removed
// (inner blanks and continuation text kept); a line without a value is
// skipped with a warning, a key ending in ':' is kept but warned about.
// postalias form: `name: value`, where the name may be quoted
// ("quoted name": ...) and the value is the rest after the colon. Keys are
// folded to lower case unless told otherwise. Duplicate keys are kept here
// in file order; the table builder decides (first wins, with a warning).
// Input is an untrusted file: any bytes parse.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace posthaste::compiler {

struct TableRecord {
  std::string key;
  std::string value;
  int line = 0;  // first physical line of the record
};

struct TableWarning {
  int line = 0;  // for ordering against later (duplicate-key) warnings
  std::string text;  // Postfix's words, without program prefix
};

struct ParsedTable {
  std::vector<TableRecord> records;
  std::vector<TableWarning> warnings;  // file order
};

enum class TableSyntax { kMap, kAlias };

struct TableSourceOptions {
  TableSyntax syntax = TableSyntax::kMap;
  bool fold_case = true;  // postmap -f turns it off
  // smtputf8_enable: lines that are not valid UTF-8 are skipped with a
  // warning and keys are folded with Unicode case folding.
  bool utf8 = false;
  // texthash: reads the source at lookup time and words its warnings a
  // little differently (" -- ignoring this line").
  bool texthash = false;
};

// `path` is used in warnings; `text` is the file's contents.
ParsedTable ParseTableSource(const std::string& path, const std::string& text,
                             const TableSourceOptions& options);

// The streaming form behind ParseTableSource, for building large tables
// without holding every record: `record` gets each record in file order
// (views valid only during the call), `warning` each warning in file order.
struct TableSourceSink {
  std::function<void(std::string_view key, std::string_view value, int line)> record;
  std::function<void(int line, std::string text)> warning;
};
void ScanTableSource(const std::string& path, const std::string& text,
                     const TableSourceOptions& options, const TableSourceSink& sink);

// Folds a key the way the options say (ASCII or Unicode).
std::string FoldKey(std::string_view key, bool utf8);
// Postfix's lowercase(): ASCII letters only.
std::string FoldCase(std::string_view s);

}  // namespace posthaste::compiler
