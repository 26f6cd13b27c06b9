// translate_fuzz_input.h: input layout shared by the RE2 translator fuzz targets.
//
// posix_translate_fuzz and pcre_translate_fuzz read the same layout, so the
// seeds stay readable text:
//
//   line 1   flag letters, as written after a table pattern (letters the
//            table type does not know are dropped)
//   line 2   the pattern (a table pattern never holds a raw newline)
//   rest     the subject, newlines included; it ends at its first NUL, as
//            the tables hand both libraries a C string (SubjectVariants
//            adds a few more)
//
// Inputs that would only measure how glibc or PCRE2 cope with huge
// repetition counts are skipped (RejectCostly): the translators are the code
// under test, not the libraries' memory use.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace posthaste::fuzz {

struct TranslateInput {
  std::string flags;
  std::string pattern;
  std::string subject;
};

// Splits `data`; false when the layout is not there or the input is too big
// to be interesting.
inline bool SplitTranslateInput(const uint8_t* data, size_t size, std::string_view known_flags,
                                TranslateInput* out) {
  if (size > 2048) return false;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t a = in.find('\n');
  if (a == std::string_view::npos) return false;
  size_t b = in.find('\n', a + 1);
  if (b == std::string_view::npos) return false;
  out->flags.clear();
  for (char c : in.substr(0, a))
    if (known_flags.find(c) != std::string_view::npos && out->flags.size() < 8) out->flags += c;
  out->pattern = std::string(in.substr(a + 1, b - a - 1));
  if (out->pattern.size() > 256 || out->pattern.find('\0') != std::string::npos) return false;
  std::string_view subject = in.substr(b + 1);
  out->subject = std::string(subject.substr(0, subject.find('\0')));
  return true;
}

// True when the repetition counts multiply up to more than either library
// should be asked to expand ("(a{99}){99}"): every number right after a '{'
// or a ',' counts, whether or not it really is a bound. Also true for many
// alternatives: glibc's submatch recovery backtracks for minutes over a
// repeated group of dozens of empty ones ("(||T||...||)+").
inline bool RejectCostly(std::string_view pattern) {
  if (std::count(pattern.begin(), pattern.end(), '|') > 16) return true;
  double product = 1;
  for (size_t i = 1; i < pattern.size(); ++i) {
    if (pattern[i - 1] != '{' && pattern[i - 1] != ',') continue;
    double n = 0;
    size_t j = i;
    while (j < pattern.size() && pattern[j] >= '0' && pattern[j] <= '9')
      n = n * 10 + (pattern[j++] - '0');
    product *= n + 1;
  }
  return product > 4096;
}

// The subject and a few neighbours that stress newline handling (a final
// newline, a leading one, the last byte dropped), plus the pattern's own
// text without its operators (likely to match, which random bytes seldom
// do): compiling costs far more than matching, so every pattern is tried
// on all of them.
inline std::vector<std::string> SubjectVariants(const std::string& subject,
                                                const std::string& pattern) {
  std::vector<std::string> v = {subject, subject + "\n", "\n" + subject};
  if (!subject.empty()) v.push_back(subject.substr(0, subject.size() - 1));
  std::string literal;
  for (char c : pattern)
    if (std::string_view("\\^$.*+?()[]{}|").find(c) == std::string_view::npos) literal += c;
  v.push_back(literal);
  v.push_back(literal + "\n");
  return v;
}

// Prints `label "text"` to stderr with C escapes for '\\', '"' and
// non-printable bytes, so a reproducer can be read off the report.
inline void PrintQuoted(const char* label, const std::string& s) {
  std::fprintf(stderr, "%s \"", label);
  for (unsigned char c : s) {
    if (c == '\\' || c == '"') {
      std::fprintf(stderr, "\\%c", c);
    } else if (c < 0x20 || c >= 0x7f) {
      std::fprintf(stderr, "\\x%02x", c);
    } else {
      std::fputc(c, stderr);
    }
  }
  std::fprintf(stderr, "\"\n");
}

}  // namespace posthaste::fuzz
