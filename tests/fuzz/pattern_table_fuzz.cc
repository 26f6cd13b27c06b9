// pattern_table_fuzz.cc: libFuzzer target for regexp:/pcre: tables and the RE2 translation.
//
// The input is split at its first 0xff byte: before it, a table source; after
// it, lookup keys separated by newlines. The table is built twice for each
// engine, with the RE2::Set path and rule by rule, and every key must get the
// same answer from both: a wrong translation to RE2 is a crash here.
#include <cstddef>
#include <cstdint>
#include <string>

#include "compiler/regexp_table.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace posthaste::compiler;
  std::string input(reinterpret_cast<const char*>(data), size);
  size_t split = input.find('\xff');
  std::string table = input.substr(0, split);
  std::string keys = split == std::string::npos ? "" : input.substr(split + 1);
  if (table.size() > 4096 || keys.size() > 4096) return 0;
  for (bool pcre : {false, true}) {
    OpenedTable fast = ParseRegexpTable("fuzz", table, pcre, true);
    OpenedTable slow = ParseRegexpTable("fuzz", table, pcre, false);
    if (!fast.table || !slow.table) __builtin_trap();
    size_t start = 0;
    while (start <= keys.size()) {
      size_t end = keys.find('\n', start);
      if (end == std::string::npos) end = keys.size();
      std::string key = keys.substr(start, end - start);
      posthaste::tables::LookupResult a = fast.table->Lookup(key), b = slow.table->Lookup(key);
      if (a.status != b.status || a.value != b.value) __builtin_trap();
      start = end + 1;
    }
  }
  return 0;
}
