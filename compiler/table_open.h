// table_open.h: opens a `type:name` lookup table for querying from the compiler side.
//
// Used by `phc map -q`, `phc alias -q` and validation. Indexed types
// (hash, btree, lmdb, cdb, dbm, sdbm) read the CDB file that `phc map`
// builds (<name>.cdb), falling back to the source file when only a
// Postfix-built database exists; texthash, cidr, regexp and pcre read their
// source; inline:, static:, unionmap:, pipemap: and fail: are parsed from
// the name itself. Failures come back as postmap would word them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tables/cdb_table.h"
#include "tables/lookup.h"

namespace posthaste::compiler {

struct TableSpec {
  std::string type;
  std::string name;
};

// Splits "type:name". False when there is no ':' or the type is empty.
bool ParseTableSpec(std::string_view text, TableSpec* spec);

// True for the types whose `name` is a source file compiled to <name>.cdb.
bool IsIndexedType(const std::string& type);
// The file suffix Postfix uses for an indexed type's database (".db", ...).
std::string PostfixSuffix(const std::string& type);

struct OpenOptions {
  bool fold_case = true;  // postmap/postalias -f turns folding off
  bool alias = false;     // postalias syntax when reading a source file
  bool utf8 = false;      // smtputf8_enable: Unicode folding, UTF-8 only
  tables::NulMode nul = tables::NulMode::kTryBoth;  // postmap -N / -n
};

// The CDB file `phc map` writes for an indexed table: <name>.cdb for cdb:
// (the file Postfix itself reads), <name>.<type>.cdb for the other types so
// that tables of different types built from one source do not collide.
std::string CompiledPath(const TableSpec& spec);

struct OpenedTable {
  std::unique_ptr<tables::Table> table;  // null on failure
  std::vector<std::string> warnings;     // postmap-worded, no prefix
  std::string fatal;                     // set on failure
};

OpenedTable OpenTable(const std::string& spec, const OpenOptions& options);

}  // namespace posthaste::compiler
