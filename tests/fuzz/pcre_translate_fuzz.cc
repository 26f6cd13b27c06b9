// pcre_translate_fuzz.cc: libFuzzer target, TranslatePcre against PCRE2.
//
// Input layout: translate_fuzz_input.h (flags line, pattern line, subject).
// When TranslatePcre gives an RE2 form for the pattern, the pattern is
// compiled with pcre2_compile using the options a pcre: table derives from
// the same flags (CASELESS|DOTALL, `i m s x A E U` toggling CASELESS,
// MULTILINE, DOTALL, EXTENDED, ANCHORED, DOLLAR_ENDONLY, UNGREEDY; `X`
// ignored) and the RE2 form goes into a PatternSet, the matcher the tables
// use. Both must agree on whether the subject matches; any disagreement is
// a translator bug and aborts with the pattern, flags and subject printed.
// Patterns PCRE2 or RE2 refuse are skipped, and so are matches PCRE2 gives
// up on (match or depth limit): there is no answer to compare. Each pattern
// is matched against the subject and a few more subjects (SubjectVariants).
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <memory>
#include <string>

#include "tables/pattern_set.h"
#include "tables/regex_engine.h"
#include "tests/fuzz/translate_fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  posthaste::fuzz::TranslateInput in;
  if (!posthaste::fuzz::SplitTranslateInput(data, size, "imsxAEUX", &in)) return 0;
  if (posthaste::fuzz::RejectCostly(in.pattern)) return 0;
  std::optional<std::string> re2 = posthaste::tables::TranslatePcre(in.pattern, in.flags);
  if (!re2) return 0;

  int error;
  PCRE2_SIZE offset;
  std::unique_ptr<pcre2_code, decltype(&pcre2_code_free)> code(
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(in.pattern.data()), in.pattern.size(),
                    posthaste::tables::PcreOptions(in.flags), &error, &offset, nullptr),
      pcre2_code_free);
  if (!code) return 0;
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> md(
      pcre2_match_data_create_from_pattern(code.get(), nullptr), pcre2_match_data_free);
  // Lower limits than the tables' defaults keep each run short; hitting one
  // only skips the input.
  std::unique_ptr<pcre2_match_context, decltype(&pcre2_match_context_free)> mc(
      pcre2_match_context_create(nullptr), pcre2_match_context_free);
  pcre2_set_match_limit(mc.get(), 200000);
  pcre2_set_depth_limit(mc.get(), 10000);
  posthaste::tables::PatternSet set;
  if (set.Add(*re2) < 0 || !set.Compile()) return 0;
  for (const std::string& subject : posthaste::fuzz::SubjectVariants(in.subject, in.pattern)) {
    // The subject as the table passes it: cut at its first NUL, with length.
    int rc = pcre2_match(code.get(), reinterpret_cast<PCRE2_SPTR>(subject.data()),
                         subject.size(), 0, 0, md.get(), mc.get());
    if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) continue;  // a limit: no answer to compare
    bool pcre_match = rc >= 0;
    bool re2_match = !set.Match(subject).empty();
    if (pcre_match != re2_match) {
      std::fprintf(stderr, "TranslatePcre disagrees with PCRE2\n");
      posthaste::fuzz::PrintQuoted("flags:  ", in.flags);
      posthaste::fuzz::PrintQuoted("pattern:", in.pattern);
      posthaste::fuzz::PrintQuoted("re2:    ", *re2);
      posthaste::fuzz::PrintQuoted("subject:", subject);
      std::fprintf(stderr, "PCRE2: %s, RE2: %s\n", pcre_match ? "match" : "no match",
                   re2_match ? "match" : "no match");
      std::abort();
    }
  }
  return 0;
}
