// pattern_table.h: a compiled regexp: or pcre: table (header_checks, body_checks, lookups).
//
// Built by the compiler from rules it has parsed and validated, or by the
// loader from a bundle's `patterns` artifact (the compact form below; the
// regex programs are rebuilt at load, as neither RE2 nor PCRE2 nor regcomp
// can map a compiled program from disk). Lookups give Postfix's answer:
// rules in file order, if/endif honoured, negation, first match wins, the
// result's $n replaced by the winning rule's captures. Every rule RE2 can
// express exactly goes into one RE2::Set (pattern_set.h), so a lookup costs
// one scan plus a walk over the rules that can matter; the rule's own engine
// (regex_engine.h) runs only for untranslatable rules and for captures.
// Immutable after construction; safe for concurrent lookups.
// The serialized form is specified in tables/bundle_format.md ("patterns").
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "tables/lookup.h"
#include "tables/regex_engine.h"

namespace posthaste::tables {

// One rule as written: the compiler drops rules Postfix would skip before
// building, so every rule here compiles.
struct PatternRule {
  enum class Kind : uint8_t { kMatch = 0, kIf = 1, kEndif = 2 };
  Kind kind = Kind::kMatch;
  bool negate = false;
  std::string pattern;  // between the delimiters, as written
  std::string flags;
  std::string result;   // kMatch: the result text ($n not yet replaced)
  int line = 0;         // 1-based line in the source file (0: unknown)
};

class PatternTable : public Table {
 public:
  // Compiles every rule. An IF without ENDIF extends to the end; an ENDIF
  // without IF is an error (the compiler drops those). `use_pattern_set`
  // false evaluates every rule on its own: the reference the fast path is
  // tested against.
  static absl::StatusOr<std::unique_ptr<PatternTable>> Build(std::string source,
                                                             PatternSyntax syntax,
                                                             std::vector<PatternRule> rules,
                                                             bool use_pattern_set = true);
  ~PatternTable() override;

  // The rule that answers `key` (index into rules()) and its expanded result.
  struct Hit {
    size_t rule = 0;
    std::string result;
  };
  std::optional<Hit> Find(std::string_view key) const;

  LookupResult Lookup(std::string_view key) const override;
  bool FoldsCase() const override { return false; }
  bool IsPatternTable() const override { return true; }

  const std::string& source() const { return source_; }  // the file, as configured
  PatternSyntax syntax() const { return syntax_; }
  const std::vector<PatternRule>& rules() const { return rules_; }
  // How many rules went into the RE2::Set.
  size_t translated() const;

 private:
  PatternTable() = default;
  struct Compiled;
  std::string source_;
  PatternSyntax syntax_ = PatternSyntax::kPosix;
  std::vector<PatternRule> rules_;
  std::unique_ptr<Compiled> compiled_;
};

// The compact form of a table (bundle artifact), and back. The reader
// treats its input as untrusted: every length is checked, any damage is a
// DataLossError, and patterns that no longer compile are refused.
std::string SerializePatternTable(const std::string& source, PatternSyntax syntax,
                                  const std::vector<PatternRule>& rules);
absl::StatusOr<std::unique_ptr<PatternTable>> ReadPatternTable(std::string_view bytes);

// Replaces $n, ${n}, $(n) in `result` with `groups[n]` and $$ with $.
std::string ExpandPatternResult(std::string_view result, const std::vector<std::string>& groups);

}  // namespace posthaste::tables
