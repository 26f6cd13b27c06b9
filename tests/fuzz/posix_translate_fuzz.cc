// posix_translate_fuzz.cc: libFuzzer target, TranslatePosix against glibc regexec.
//
// Input layout: translate_fuzz_input.h (flags line, pattern line, subject).
// When TranslatePosix gives an RE2 form for the pattern, the pattern is
// compiled with regcomp using the cflags a regexp: table derives from the
// same flags (REG_EXTENDED|REG_ICASE, `i` `x` `m` toggling ICASE, EXTENDED,
// NEWLINE) and the RE2 form goes into a PatternSet, the matcher the tables
// use. Both must agree on whether the subject matches; any disagreement is
// a translator bug and aborts with the pattern, flags and subject printed.
// Patterns regcomp or RE2 refuse are skipped: the tables then never use
// the translation (regcomp failure skips the rule, RE2 failure falls back).
// Each pattern is matched against the subject and a few more subjects
// (SubjectVariants).
#include <regex.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "tables/pattern_set.h"
#include "tables/regex_engine.h"
#include "tests/fuzz/translate_fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  posthaste::fuzz::TranslateInput in;
  if (!posthaste::fuzz::SplitTranslateInput(data, size, "imx", &in)) return 0;
  if (posthaste::fuzz::RejectCostly(in.pattern)) return 0;
  std::optional<std::string> re2 = posthaste::tables::TranslatePosix(in.pattern, in.flags);
  if (!re2) return 0;

  regex_t re;
  if (regcomp(&re, in.pattern.c_str(), posthaste::tables::PosixCflags(in.flags)) != 0) return 0;
  posthaste::tables::PatternSet set;
  if (set.Add(*re2) < 0 || !set.Compile()) {
    regfree(&re);
    return 0;
  }
  // As the table does: room for every group, so glibc takes the same path.
  std::vector<regmatch_t> m(re.re_nsub + 1);
  for (const std::string& subject : posthaste::fuzz::SubjectVariants(in.subject, in.pattern)) {
    int rc = regexec(&re, subject.c_str(), m.size(), m.data(), 0);
    if (rc != 0 && rc != REG_NOMATCH) continue;  // REG_ESPACE: no answer to compare
    bool posix_match = rc == 0;
    bool re2_match = !set.Match(subject).empty();
    if (posix_match != re2_match) {
      std::fprintf(stderr, "TranslatePosix disagrees with regexec\n");
      posthaste::fuzz::PrintQuoted("flags:  ", in.flags);
      posthaste::fuzz::PrintQuoted("pattern:", in.pattern);
      posthaste::fuzz::PrintQuoted("re2:    ", *re2);
      posthaste::fuzz::PrintQuoted("subject:", subject);
      std::fprintf(stderr, "regexec: %s, RE2: %s\n", posix_match ? "match" : "no match",
                   re2_match ? "match" : "no match");
      std::abort();
    }
  }
  regfree(&re);
  return 0;
}
