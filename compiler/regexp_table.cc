// regexp_table.cc: regcomp/PCRE2 backed sequential pattern tables.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "compiler/regexp_table.h"
#include "compiler/text.h"

#include <pcre2.h>
#include <regex.h>
#include <strings.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "compiler/config_set.h"
#include "compiler/logical_lines.h"
#include "tables/pattern_set.h"

namespace posthaste::compiler {
namespace {

// One compiled pattern, either engine.
class Pattern {
 public:
  virtual ~Pattern() = default;
  // Matches `subject`; fills `groups` (index 0 = whole match) with the
  // captured text, empty for groups that did not take part.
  virtual bool Match(std::string_view subject, std::vector<std::string>* groups) const = 0;
  virtual int group_count() const = 0;
};

class PosixPattern : public Pattern {
 public:
  ~PosixPattern() override {
    if (ok_) regfree(&re_);
  }
  std::optional<std::string> Compile(const std::string& pattern, int cflags) {
    // glibc duplicates the parse tree for every stacked repetition operator
    // ("a+++++...") and runs out of memory; nobody writes such a pattern on
    // purpose, so refuse it instead of letting the compiler fall over.
    int run = 0;
    for (char c : pattern) {
      run = (c == '*' || c == '+' || c == '?') ? run + 1 : 0;
      if (run > 4) return std::string("too many repetition operators in a row");
    }
    int err = regcomp(&re_, pattern.c_str(), cflags);
    if (err != 0) {
      char buf[256];
      regerror(err, &re_, buf, sizeof buf);
      return std::string(buf);
    }
    ok_ = true;
    return std::nullopt;
  }
  bool Match(std::string_view subject, std::vector<std::string>* groups) const override {
    std::string s(subject);
    std::vector<regmatch_t> m(re_.re_nsub + 1);
    if (regexec(&re_, s.c_str(), m.size(), m.data(), 0) != 0) return false;
    groups->clear();
    for (const regmatch_t& g : m)
      groups->push_back(g.rm_so < 0 ? std::string() : s.substr(g.rm_so, g.rm_eo - g.rm_so));
    return true;
  }
  int group_count() const override { return static_cast<int>(re_.re_nsub); }

 private:
  regex_t re_;
  bool ok_ = false;
};

class PcrePattern : public Pattern {
 public:
  ~PcrePattern() override {
    if (code_) pcre2_code_free(code_);
  }
  std::optional<std::string> Compile(const std::string& pattern, uint32_t options) {
    int err;
    PCRE2_SIZE offset;
    code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options,
                          &err, &offset, nullptr);
    if (!code_) {
      PCRE2_UCHAR buf[256];
      pcre2_get_error_message(err, buf, sizeof buf);
      return "error in regex at offset " + std::to_string(offset) + ": " +
             reinterpret_cast<char*>(buf);
    }
    uint32_t count = 0;
    pcre2_pattern_info(code_, PCRE2_INFO_CAPTURECOUNT, &count);
    groups_ = static_cast<int>(count);
    return std::nullopt;
  }
  bool Match(std::string_view subject, std::vector<std::string>* groups) const override {
    std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> md(
        pcre2_match_data_create_from_pattern(code_, nullptr), pcre2_match_data_free);
    int rc = pcre2_match(code_, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), 0,
                         0, md.get(), nullptr);
    if (rc < 0) return false;
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.get());
    groups->clear();
    for (int i = 0; i <= groups_; ++i) {
      if (i >= rc || ov[2 * i] == PCRE2_UNSET) {
        groups->emplace_back();
      } else {
        groups->emplace_back(subject.substr(ov[2 * i], ov[2 * i + 1] - ov[2 * i]));
      }
    }
    return true;
  }
  int group_count() const override { return groups_; }

 private:
  pcre2_code* code_ = nullptr;
  int groups_ = 0;
};

struct Rule {
  enum Kind { kMatch, kIf, kEndif } kind = kMatch;
  std::unique_ptr<Pattern> pattern;
  bool negate = false;
  std::string result;
  int line = 0;
  int endif_index = -1;  // kIf: index of its endif (or end)
  std::optional<std::string> re2;  // exact RE2 form, when there is one
  int set_index = -1;              // its index in the table's PatternSet
  bool needs_groups = false;       // the result uses $n
};

class RegexpTable : public tables::Table {
 public:
  RegexpTable(std::vector<Rule> rules, bool use_set) : rules_(std::move(rules)) {
    if (use_set) {
      for (Rule& r : rules_)
        if (r.re2) r.set_index = set_.Add(*r.re2);
      if (!set_.Compile())
        for (Rule& r : rules_) r.set_index = -1;  // RE2 gave up: evaluate one by one
    }
    // Skip lists for the walk: the next rule at or after i that must be
    // looked at even without a set hit (untranslated or negated rules, and
    // if-rules, whose block may have to be skipped), and each set index's rule.
    size_t n = rules_.size();
    next_interesting_.assign(n + 1, n);
    for (size_t i = n; i-- > 0;) {
      const Rule& r = rules_[i];
      bool interesting = r.kind == Rule::kIf || (r.kind == Rule::kMatch && (r.negate || r.set_index < 0));
      next_interesting_[i] = interesting ? i : next_interesting_[i + 1];
    }
    for (size_t i = 0; i < n; ++i)
      if (rules_[i].set_index >= 0) {
        if (rule_of_set_.size() <= static_cast<size_t>(rules_[i].set_index))
          rule_of_set_.resize(rules_[i].set_index + 1, n);
        rule_of_set_[rules_[i].set_index] = i;
      }
  }

  // One RE2::Set scan finds every translated rule that matches. The walk
  // then visits, in rule order, only the rules that can matter: those the
  // scan hit, untranslated or negated rules, and if-rules (whose blocks are
  // skipped when false). The rule's own engine runs only for untranslated
  // rules and for the captures of the rule that wins.
  tables::LookupResult Lookup(std::string_view key) const override {
    // Postfix hands both engines a C string: a key ends at its first NUL.
    key = key.substr(0, key.find('\0'));
    std::vector<int> hits = set_.Match(key);
    std::vector<size_t> hit_rules;
    hit_rules.reserve(hits.size());
    for (int h : hits) hit_rules.push_back(rule_of_set_[h]);  // ascending with h
    auto in_set = [&](int index) { return std::binary_search(hits.begin(), hits.end(), index); };
    std::vector<std::string> groups;
    size_t n = rules_.size();
    size_t next_hit = 0;
    size_t i = 0;
    while (i < n) {
      while (next_hit < hit_rules.size() && hit_rules[next_hit] < i) ++next_hit;
      size_t j = next_interesting_[i];
      if (next_hit < hit_rules.size()) j = std::min(j, hit_rules[next_hit]);
      if (j >= n) break;
      const Rule& r = rules_[j];
      bool matched = r.set_index >= 0 ? in_set(r.set_index) : r.pattern->Match(key, &groups);
      if (r.kind == Rule::kIf) {
        // A false condition skips the block (endif_index is its endif).
        i = matched == r.negate ? static_cast<size_t>(r.endif_index) + 1 : j + 1;
        continue;
      }
      i = j + 1;
      if (r.kind != Rule::kMatch || matched == r.negate) continue;
      if (r.negate) return tables::LookupResult::Found(Expand(r.result, {}));
      if (r.set_index >= 0 && r.needs_groups) r.pattern->Match(key, &groups);
      return tables::LookupResult::Found(Expand(r.result, groups));
    }
    return tables::LookupResult::NotFound();
  }
  bool FoldsCase() const override { return false; }
  bool IsPatternTable() const override { return true; }
  size_t translated() const { return set_.size(); }

 private:
  tables::PatternSet set_;
  std::vector<size_t> next_interesting_;  // see the constructor
  std::vector<size_t> rule_of_set_;       // set index -> rule index
  static std::string Expand(const std::string& result, const std::vector<std::string>& groups) {
    std::string out;
    for (size_t i = 0; i < result.size(); ++i) {
      char c = result[i];
      if (c != '$' || i + 1 >= result.size()) {
        out.push_back(c);
        continue;
      }
      char n = result[i + 1];
      if (n == '$') {
        out.push_back('$');
        ++i;
        continue;
      }
      size_t start = i + 1, end = start;
      char close = 0;
      if (n == '{' || n == '(') {
        close = n == '{' ? '}' : ')';
        ++start;
        end = result.find(close, start);
      } else {
        while (end < result.size() && isdigit(static_cast<unsigned char>(result[end]))) ++end;
      }
      std::string digits = result.substr(start, std::min(end, result.size()) - start);
      if (!digits.empty() && digits.size() < 6 &&
          digits.find_first_not_of("0123456789") == std::string::npos) {
        size_t index = std::stoul(digits);
        if (index < groups.size()) out += groups[index];
      }
      i = close ? end : end - 1;
    }
    return out;
  }
  std::vector<Rule> rules_;
};

// Parses "/pattern/flags" with any delimiter. Sets *rest to what follows.
bool SplitPattern(std::string_view t, std::string* pattern, std::string* flags,
                  std::string_view* rest) {
  if (t.empty()) return false;
  char delim = t[0];
  size_t close = std::string_view::npos;
  for (size_t i = 1; i < t.size(); ++i) {
    if (t[i] == '\\' && i + 1 < t.size()) {
      ++i;
      continue;
    }
    if (t[i] == delim) {
      close = i;
      break;
    }
  }
  if (close == std::string_view::npos) return false;
  *pattern = std::string(t.substr(1, close - 1));
  size_t f = close + 1;
  while (f < t.size() && !IsSpace(t[f])) ++f;
  *flags = std::string(t.substr(close + 1, f - close - 1));
  *rest = TrimView(t.substr(f));
  return true;
}

// Checks $n references in `result` the way Postfix does: the text is parsed
// like a $-expression (truncated ${ or a bare $ are syntax errors), $0 is
// out of range, and the highest index must exist in the pattern. Adds
// Postfix's warnings; returns false when the rule must be skipped.
bool CheckReplacement(const std::string& result, int groups, bool negate, bool pcre,
                      std::vector<std::string>* warnings, const std::string& where) {
  int max_index = 0;
  bool syntax_error = false;
  size_t i = 0;
  while (i < result.size()) {
    if (result[i] != '$') {
      ++i;
      continue;
    }
    if (i + 1 < result.size() && result[i + 1] == '$') {
      i += 2;
      continue;
    }
    std::string name;
    size_t j = i + 1;
    bool braced = j < result.size() && (result[j] == '{' || result[j] == '(');
    if (braced) {
      char close = result[j] == '{' ? '}' : ')';
      size_t end = result.find(close, j + 1);
      if (end == std::string::npos) {
        warnings->push_back("truncated macro reference: \"" + result + "\"");
        syntax_error = true;
        break;
      }
      name = result.substr(j + 1, end - j - 1);
      i = end + 1;
    } else {
      while (j < result.size() && (isalnum(static_cast<unsigned char>(result[j])) || result[j] == '_'))
        name.push_back(result[j++]);
      i = j;
    }
    if (name.empty()) {
      if (braced) continue;  // "${}": nothing to substitute
      warnings->push_back("empty macro name: \"" + result + "\"");
      syntax_error = true;
      break;
    }
    if (name.find_first_not_of("0123456789") != std::string::npos) {
      // Every non-numeric name is reported; the rule is then skipped.
      warnings->push_back(where + "non-numeric replacement index \"" + name + "\"");
      syntax_error = true;
      continue;
    }
    if (negate) {
      warnings->push_back(where + "$number found in negative match replacement text: skipping this rule");
      return false;
    }
    int index = name.size() > 6 ? 1000000 : std::stoi(name);
    if (index == 0) {
      warnings->push_back(where + (pcre ? "out of range" : "out-of-range") +
                          " replacement index \"" + name + "\"");
      syntax_error = true;
      break;
    }
    max_index = std::max(max_index, index);
  }
  if (syntax_error) {
    warnings->push_back(where + "bad replacement syntax: skipping this rule");
    return false;
  }
  if (max_index > groups) {
    warnings->push_back(where + "out of range replacement index \"" + std::to_string(max_index) +
                        "\": skipping this rule");
    return false;
  }
  return true;
}

}  // namespace

OpenedTable OpenRegexpTable(const std::string& path, bool pcre, bool use_pattern_set) {
  std::string text, error;
  if (!ReadFile(path, &text, &error)) {
    OpenedTable out;
    out.fatal = "open " + path + ": " + error;
    return out;
  }
  return ParseRegexpTable(path, text, pcre, use_pattern_set);
}

OpenedTable ParseRegexpTable(const std::string& path, const std::string& text, bool pcre,
                             bool use_pattern_set) {
  OpenedTable out;
  SourceSet sources;
  int id = sources.Add(path, text);
  LineStructure lines = ReadLogicalLines(sources, id, ConfigGrammar::kTableSource);
  std::string map = std::string(pcre ? "pcre" : "regexp") + " map " + path + ", line ";
  for (const LogicalLine& stray : lines.strays)
    out.warnings.push_back(path + ": logical line must not start with whitespace: \"" +
                           stray.text() + "\"");
  std::vector<Rule> rules;
  std::vector<size_t> open_ifs;
  for (const LogicalLine& line : lines.entries) {
    std::string where = map + std::to_string(line.first_line()) + ": ";
    std::string_view t = TrimView(line.text());
    auto word = [&](std::string_view w) {
      return t.size() >= w.size() && strncasecmp(t.data(), w.data(), w.size()) == 0 &&
             (t.size() == w.size() || !isalnum(static_cast<unsigned char>(t[w.size()])));
    };
    if (word("endif")) {
      if (!TrimView(t.substr(5)).empty())
        out.warnings.push_back(where + "ignoring extra text after ENDIF");
      if (open_ifs.empty()) {
        out.warnings.push_back(where + "ignoring ENDIF without matching IF");
        continue;
      }
      rules[open_ifs.back()].endif_index = static_cast<int>(rules.size());
      open_ifs.pop_back();
      Rule r;
      r.kind = Rule::kEndif;
      r.line = line.first_line();
      rules.push_back(std::move(r));
      continue;
    }
    Rule rule;
    rule.line = line.first_line();
    if (word("if")) {
      rule.kind = Rule::kIf;
      t = TrimView(t.substr(2));
    }
    // Each leading '!' toggles the negation.
    while (!t.empty() && t[0] == '!') {
      rule.negate = !rule.negate;
      t = TrimView(t.substr(1));
    }
    if (t.empty()) {
      out.warnings.push_back(where + "no regexp: skipping this rule");
      continue;
    }
    // A rule starts with its delimiter: a letter or digit is not one.
    if (isalnum(static_cast<unsigned char>(t[0]))) {
      out.warnings.push_back(where + "ignoring unrecognized request");
      continue;
    }
    std::string pattern, flags;
    std::string_view rest;
    if (!SplitPattern(t, &pattern, &flags, &rest)) {
      out.warnings.push_back(where + "no closing regexp delimiter \"" +
                             std::string(t.empty() ? "" : t.substr(0, 1)) + "\": " +
                             (pcre ? "ignoring" : "skipping") + " this rule");
      continue;
    }
    if (rule.kind == Rule::kMatch && rest.empty()) {
      out.warnings.push_back(where + "no replacement text: using empty string");
    }
    if (rule.kind == Rule::kIf && !rest.empty()) {
      out.warnings.push_back(where + "ignoring extra text after IF statement: \"" +
                             std::string(rest) + "\"");
      out.warnings.push_back(where +
                             "do not prepend whitespace to statements between IF and ENDIF");
      rest = {};
    }
    rule.result = std::string(rest);
    std::optional<std::string> err;
    bool bad_flag = false;
    if (pcre) {
      uint32_t options = PCRE2_CASELESS | PCRE2_DOTALL;
      for (char f : flags) {
        switch (f) {
          case 'i': options ^= PCRE2_CASELESS; break;
          case 'm': options ^= PCRE2_MULTILINE; break;
          case 's': options ^= PCRE2_DOTALL; break;
          case 'x': options ^= PCRE2_EXTENDED; break;
          case 'A': options ^= PCRE2_ANCHORED; break;
          case 'E': options ^= PCRE2_DOLLAR_ENDONLY; break;
          case 'U': options ^= PCRE2_UNGREEDY; break;
          case 'X':
            out.warnings.push_back(where + "ignoring obsolete regexp option \"X\"");
            break;
          default:
            out.warnings.push_back(where + "unknown regexp option \"" + std::string(1, f) +
                                   "\": skipping this rule");
            bad_flag = true;
        }
      }
      if (bad_flag) continue;
      auto p = std::make_unique<PcrePattern>();
      err = p->Compile(pattern, options);
      rule.pattern = std::move(p);
    } else {
      int cflags = REG_EXTENDED | REG_ICASE;
      for (char f : flags) {
        switch (f) {
          case 'i': cflags ^= REG_ICASE; break;
          case 'x': cflags ^= REG_EXTENDED; break;
          case 'm': cflags ^= REG_NEWLINE; break;
          default:
            out.warnings.push_back(where + "unknown regexp option \"" + std::string(1, f) +
                                   "\": skipping this rule");
            bad_flag = true;
        }
      }
      if (bad_flag) continue;
      auto p = std::make_unique<PosixPattern>();
      err = p->Compile(pattern, cflags);
      rule.pattern = std::move(p);
    }
    if (err) {
      out.warnings.push_back(where + *err);
      continue;
    }
    if (rule.kind == Rule::kMatch &&
        !CheckReplacement(rule.result, rule.pattern->group_count(), rule.negate, pcre,
                          &out.warnings, where))
      continue;
    rule.re2 = pcre ? tables::TranslatePcre(pattern, flags) : tables::TranslatePosix(pattern, flags);
    rule.needs_groups = rule.result.find('$') != std::string::npos;
    if (rule.kind == Rule::kIf) open_ifs.push_back(rules.size());
    rules.push_back(std::move(rule));
  }
  for (auto it = open_ifs.rbegin(); it != open_ifs.rend(); ++it) {
    size_t i = *it;
    out.warnings.push_back(map + std::to_string(rules[i].line) + ": IF has no matching ENDIF");
    rules[i].endif_index = static_cast<int>(rules.size());
  }
  out.table = std::make_unique<RegexpTable>(std::move(rules), use_pattern_set);
  return out;
}

}  // namespace posthaste::compiler
