// regex_engine.h: one regexp: (glibc regcomp) or pcre: (PCRE2) pattern, compiled with Postfix's flags.
//
// The sequential engine under pattern tables: a rule whose pattern RE2 cannot
// express exactly, and the captures of a rule that won, are evaluated here.
// Flag letters follow spec §3.5: regexp: starts case-insensitive ERE and
// `i`, `x`, `m` toggle REG_ICASE, REG_EXTENDED, REG_NEWLINE; pcre: starts
// CASELESS|DOTALL and `i m s x A E U` toggle the matching PCRE2 options, `X`
// is accepted and ignored. Patterns and subjects are untrusted text; the
// libraries bound their own work, and glibc's known blow-up on stacked
// repetition operators is refused up front. Matching is thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace posthaste::tables {

enum class PatternSyntax { kPosix, kPcre };

// "regexp" or "pcre".
std::string_view PatternSyntaxName(PatternSyntax syntax);

class Regex {
 public:
  virtual ~Regex() = default;
  // Matches `subject` (a C string for both libraries: callers cut it at
  // its first NUL). When `groups` is not null it receives the captured
  // text, index 0 the whole match, empty for groups that took no part.
  virtual bool Match(std::string_view subject, std::vector<std::string>* groups) const = 0;
  // Number of capturing groups.
  virtual int group_count() const = 0;
};

// The first flag letter `syntax` does not know, or nullopt.
std::optional<char> UnknownFlag(PatternSyntax syntax, std::string_view flags);

// The regcomp cflags and the pcre2_compile options a table derives from
// its flag letters (letters the syntax does not know are ignored here).
// Exposed so tests that drive the libraries directly use the same options.
int PosixCflags(std::string_view flags);
uint32_t PcreOptions(std::string_view flags);

// Compiles `pattern`; on failure returns null and sets *error to the text
// Postfix logs (glibc's regerror text, or PCRE2's "error in regex at
// offset N: ..."). Unknown flags are an error here: callers check them
// first with UnknownFlag() to word Postfix's warning.
std::unique_ptr<Regex> CompileRegex(PatternSyntax syntax, const std::string& pattern,
                                    std::string_view flags, std::string* error);

}  // namespace posthaste::tables
