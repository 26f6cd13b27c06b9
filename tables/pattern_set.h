// pattern_set.h: many regexp:/pcre: patterns matched in one pass with RE2::Set.
//
// Postfix tries pattern rules one by one. Here every pattern that can be
// expressed exactly in RE2 syntax is put into one RE2::Set, so one scan of a
// header or body line yields all the rules that match it; the caller then
// walks its rules in order over that answer (if/endif, negation, first match
// wins). Patterns RE2 cannot express exactly (back-references, look-around,
// POSIX quirks, extended syntax, ...) are reported as not translated and the
// caller evaluates them itself with PCRE2 or regcomp, in their place.
//
// The translators accept only syntax whose meaning is the same in both
// engines and refuse everything else: correctness never depends on a guess.
// Subjects are bytes (RE2's Latin-1 mode, as Postfix matches bytes).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace posthaste::tables {

// The RE2 (Perl syntax, Latin-1) form of a pcre: pattern, or nullopt.
std::optional<std::string> TranslatePcre(std::string_view pattern, std::string_view flags);
// The RE2 form of a regexp: (POSIX ERE as glibc implements it), or nullopt.
std::optional<std::string> TranslatePosix(std::string_view pattern, std::string_view flags);

class PatternSet {
 public:
  PatternSet();
  ~PatternSet();
  // Adds a translated pattern; returns its index in the set, or -1 when RE2
  // refuses it (the caller then falls back for that rule).
  int Add(const std::string& re2_pattern);
  // Builds the matcher; false when RE2 cannot (then nothing is in the set).
  bool Compile();
  // Indexes of every pattern that matches `text`, ascending.
  std::vector<int> Match(std::string_view text) const;
  size_t size() const { return count_; }

 private:
  struct Impl;  // holds the RE2::Set
  std::unique_ptr<Impl> impl_;
  size_t count_ = 0;
  bool compiled_ = false;
};

}  // namespace posthaste::tables
