// pattern_bench.cc: header_checks scanning, RE2::Set path against rule by rule.
//
//   pattern_bench TYPE RULES_FILE HEADERS_FILE ROUNDS
// TYPE is regexp or pcre. Loads the table twice (pattern set on / off) and
// times the load, then looks every header line up ROUNDS times with each,
// alternating which goes first; prints medians, headers/s and the ratio.
// Answers are compared: a mismatch is an error (exit 1).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "compiler/regexp_table.h"
#include "tables/pattern_table.h"

namespace {
using Clock = std::chrono::steady_clock;
double Seconds(Clock::time_point a) { return std::chrono::duration<double>(Clock::now() - a).count(); }
double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s regexp|pcre RULES HEADERS ROUNDS\n", argv[0]);
    return 2;
  }
  bool pcre = std::string(argv[1]) == "pcre";
  std::vector<std::string> headers;
  std::ifstream in(argv[3]);
  for (std::string line; std::getline(in, line);) headers.push_back(line);
  int rounds = std::stoi(argv[4]);
  auto t0 = Clock::now();
  auto fast = posthaste::compiler::OpenRegexpTable(argv[2], pcre, true);
  double load_fast = Seconds(t0);
  t0 = Clock::now();
  auto slow = posthaste::compiler::OpenRegexpTable(argv[2], pcre, false);
  double load_slow = Seconds(t0);
  if (!fast.table || !slow.table) {
    std::fprintf(stderr, "cannot open %s\n", argv[2]);
    return 1;
  }
  std::vector<double> fast_rate, slow_rate;
  size_t hits = 0;
  for (int r = 0; r < rounds; ++r) {
    auto run = [&](const posthaste::tables::Table& t, std::vector<double>* rate) {
      auto start = Clock::now();
      for (const std::string& h : headers) hits += t.Lookup(h).found();
      rate->push_back(headers.size() / Seconds(start));
    };
    if (r % 2 == 0) {
      run(*fast.table, &fast_rate);
      run(*slow.table, &slow_rate);
    } else {
      run(*slow.table, &slow_rate);
      run(*fast.table, &fast_rate);
    }
  }
  for (const std::string& h : headers)
    if (fast.table->Lookup(h).value != slow.table->Lookup(h).value) {
      std::fprintf(stderr, "answers differ for: %s\n", h.c_str());
      return 1;
    }
  std::printf("%s: %zu headers, load %.3f s (set) / %.3f s (rule by rule)\n", argv[1],
              headers.size(), load_fast, load_slow);
  // The runtime's load path: the bundle's compact form, compiled at load
  // (median of 5), against the compiler's parse of the source above.
  const auto* patterns = dynamic_cast<const posthaste::tables::PatternTable*>(fast.table.get());
  std::string compact = posthaste::tables::SerializePatternTable(
      patterns->source(), patterns->syntax(), patterns->rules());
  std::vector<double> artifact_loads;
  for (int i = 0; i < 5; ++i) {
    t0 = Clock::now();
    auto loaded = posthaste::tables::ReadPatternTable(compact);
    artifact_loads.push_back(Seconds(t0));
    if (!loaded.ok()) return 1;
  }
  std::printf("  bundle artifact: %zu rules, %zu bytes, load %.3f s (median of 5)\n",
              patterns->rules().size(), compact.size(), Median(artifact_loads));
  std::printf("  pattern set   %12.0f headers/s\n", Median(fast_rate));
  std::printf("  rule by rule  %12.0f headers/s\n", Median(slow_rate));
  std::printf("  ratio         %12.1fx\n", Median(fast_rate) / Median(slow_rate));
  std::fprintf(stderr, "(%zu hits)\n", hits);
  return 0;
}
