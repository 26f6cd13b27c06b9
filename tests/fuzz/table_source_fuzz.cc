// table_source_fuzz.cc: libFuzzer target for table sources.
//
// Checks the fast line splitter against the grammar, feeds the input to the postmap and postalias source parsers (ASCII and
// UTF-8 modes), to the cidr rule parser (then queries the compiled index),
// and as the body of an inline: table. Any input must be accepted without
// crashing; problems become warnings.
#include <cstddef>
#include <cstdint>
#include <string>

#include "compiler/cidr_table.h"
#include "compiler/logical_lines.h"
#include "compiler/table_open.h"
#include "compiler/table_source.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace posthaste::compiler;
  std::string text(reinterpret_cast<const char*>(data), size);
  // The fast line splitter used for large tables must agree with the grammar.
  {
    SourceSet s;
    int id = s.Add("fuzz", text);
    LineStructure fast = SplitLogicalLines(s, id);
    LineStructure slow = ReadLogicalLinesWithGrammar(s, id, ConfigGrammar::kTableSource);
    if (fast.entries.size() != slow.entries.size() || fast.strays.size() != slow.strays.size())
      __builtin_trap();
    for (size_t i = 0; i < fast.entries.size(); ++i)
      if (fast.entries[i].text() != slow.entries[i].text() ||
          fast.entries[i].first_line() != slow.entries[i].first_line())
        __builtin_trap();
  }
  for (TableSyntax syntax : {TableSyntax::kMap, TableSyntax::kAlias}) {
    for (bool utf8 : {false, true}) {
      TableSourceOptions options;
      options.syntax = syntax;
      options.utf8 = utf8;
      ParsedTable parsed = ParseTableSource("fuzz", text, options);
      for (const TableRecord& r : parsed.records)
        if (r.key.empty() && syntax == TableSyntax::kMap) __builtin_trap();
    }
  }
  std::vector<std::string> warnings;
  posthaste::tables::CidrTable cidr(ParseCidrRules("fuzz", text, &warnings));
  (void)cidr.Lookup("192.0.2.1");
  (void)cidr.Lookup("2001:db8::1");
  if (size < 512) {
    OpenedTable t = OpenTable("inline:{" + text + "}", OpenOptions{});
    if (t.table) (void)t.table->Lookup("key");
  }
  return 0;
}
