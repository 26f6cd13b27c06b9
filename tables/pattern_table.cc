// pattern_table.cc: RE2::Set scan plus an ordered walk; captures from the rule's own engine.
#include "tables/pattern_table.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "tables/pattern_set.h"
#include "tables/str_cat.h"

namespace posthaste::tables {

struct PatternTable::Compiled {
  struct Rule {
    std::unique_ptr<Regex> regex;  // null for kEndif
    int endif_index = -1;          // kIf: index of its ENDIF (or rules.size())
    int set_index = -1;            // index in `set`, or -1: evaluated on its own
    bool needs_groups = false;     // the result uses $
  };
  std::vector<Rule> rules;
  PatternSet set;
  // The next rule at or after i that must be looked at even without a set
  // hit: untranslated or negated match rules, and IF rules (whose block may
  // have to be skipped).
  std::vector<size_t> next_interesting;
  std::vector<size_t> rule_of_set;  // set index -> rule index
};

PatternTable::~PatternTable() = default;

absl::StatusOr<std::unique_ptr<PatternTable>> PatternTable::Build(std::string source,
                                                                  PatternSyntax syntax,
                                                                  std::vector<PatternRule> rules,
                                                                  bool use_pattern_set) {
  std::unique_ptr<PatternTable> table(new PatternTable());
  table->source_ = std::move(source);
  table->syntax_ = syntax;
  table->rules_ = std::move(rules);
  table->compiled_ = std::make_unique<Compiled>();
  Compiled& c = *table->compiled_;
  const std::vector<PatternRule>& rs = table->rules_;
  size_t n = rs.size();
  c.rules.resize(n);
  std::vector<size_t> open_ifs;
  for (size_t i = 0; i < n; ++i) {
    const PatternRule& r = rs[i];
    Compiled::Rule& cr = c.rules[i];
    if (r.kind == PatternRule::Kind::kEndif) {
      if (open_ifs.empty())
        return absl::InvalidArgumentError(
            Cat(table->source_, ", line ", r.line, ": ENDIF without matching IF"));
      c.rules[open_ifs.back()].endif_index = static_cast<int>(i);
      open_ifs.pop_back();
      continue;
    }
    std::string error;
    cr.regex = CompileRegex(syntax, r.pattern, r.flags, &error);
    if (!cr.regex)
      return absl::InvalidArgumentError(Cat(table->source_, ", line ", r.line, ": ", error));
    if (r.kind == PatternRule::Kind::kIf) open_ifs.push_back(i);
    cr.needs_groups = r.result.find('$') != std::string::npos;
    if (use_pattern_set) {
      std::optional<std::string> re2 = syntax == PatternSyntax::kPcre
                                           ? TranslatePcre(r.pattern, r.flags)
                                           : TranslatePosix(r.pattern, r.flags);
      if (re2) cr.set_index = c.set.Add(*re2);
    }
  }
  for (size_t i : open_ifs) c.rules[i].endif_index = static_cast<int>(n);
  if (use_pattern_set && c.set.size() > 0 && !c.set.Compile())
    for (Compiled::Rule& cr : c.rules) cr.set_index = -1;  // RE2 gave up: one by one
  c.next_interesting.assign(n + 1, n);
  for (size_t i = n; i-- > 0;) {
    const PatternRule& r = rs[i];
    bool interesting = r.kind == PatternRule::Kind::kIf ||
                       (r.kind == PatternRule::Kind::kMatch && (r.negate || c.rules[i].set_index < 0));
    c.next_interesting[i] = interesting ? i : c.next_interesting[i + 1];
  }
  for (size_t i = 0; i < n; ++i)
    if (c.rules[i].set_index >= 0) {
      size_t s = static_cast<size_t>(c.rules[i].set_index);
      if (c.rule_of_set.size() <= s) c.rule_of_set.resize(s + 1, n);
      c.rule_of_set[s] = i;
    }
  return table;
}

size_t PatternTable::translated() const {
  size_t count = 0;
  for (const Compiled::Rule& r : compiled_->rules) count += r.set_index >= 0;
  return count;
}

// One RE2::Set scan finds every translated rule that matches. The walk then
// visits, in rule order, only the rules that can matter: those the scan hit,
// untranslated or negated rules, and IF rules (whose blocks are skipped when
// false). A rule's own engine runs only when it is untranslated, and for the
// captures of the rule that wins.
std::optional<PatternTable::Hit> PatternTable::Find(std::string_view key) const {
  // Postfix hands both engines a C string: a key ends at its first NUL.
  key = key.substr(0, key.find('\0'));
  const Compiled& c = *compiled_;
  std::vector<int> hits = c.set.size() > 0 ? c.set.Match(key) : std::vector<int>();
  std::vector<size_t> hit_rules;
  hit_rules.reserve(hits.size());
  for (int h : hits) hit_rules.push_back(c.rule_of_set[h]);  // ascending with h
  auto in_set = [&](int index) { return std::binary_search(hits.begin(), hits.end(), index); };
  std::vector<std::string> groups;
  size_t n = rules_.size();
  size_t next_hit = 0;
  size_t i = 0;
  while (i < n) {
    while (next_hit < hit_rules.size() && hit_rules[next_hit] < i) ++next_hit;
    size_t j = c.next_interesting[i];
    if (next_hit < hit_rules.size()) j = std::min(j, hit_rules[next_hit]);
    if (j >= n) break;
    const PatternRule& r = rules_[j];
    const Compiled::Rule& cr = c.rules[j];
    bool matched = cr.set_index >= 0 ? in_set(cr.set_index)
                                     : cr.regex->Match(key, cr.needs_groups ? &groups : nullptr);
    if (r.kind == PatternRule::Kind::kIf) {
      // A false condition skips the block (endif_index is its ENDIF).
      i = matched == r.negate ? static_cast<size_t>(cr.endif_index) + 1 : j + 1;
      continue;
    }
    i = j + 1;
    if (r.kind != PatternRule::Kind::kMatch || matched == r.negate) continue;
    if (r.negate || !cr.needs_groups) return Hit{j, ExpandPatternResult(r.result, {})};
    if (cr.set_index >= 0) cr.regex->Match(key, &groups);
    return Hit{j, ExpandPatternResult(r.result, groups)};
  }
  return std::nullopt;
}

LookupResult PatternTable::Lookup(std::string_view key) const {
  std::optional<Hit> hit = Find(key);
  if (!hit) return LookupResult::NotFound();
  return LookupResult::Found(std::move(hit->result));
}

std::string ExpandPatternResult(std::string_view result, const std::vector<std::string>& groups) {
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
      if (end == std::string_view::npos) end = result.size();
    } else {
      while (end < result.size() && isdigit(static_cast<unsigned char>(result[end]))) ++end;
    }
    std::string_view digits = result.substr(start, end - start);
    if (!digits.empty() && digits.size() < 6 &&
        digits.find_first_not_of("0123456789") == std::string_view::npos) {
      size_t index = 0;
      std::from_chars(digits.data(), digits.data() + digits.size(), index);
      if (index < groups.size()) out += groups[index];
    }
    i = close ? end : end - 1;
  }
  return out;
}

// ---- compact form ---------------------------------------------------------
// "posthaste-patterns 1\n", then netstrings ("<length>:<bytes>,"): source,
// syntax name, rule count, and per rule kind, negate, line, pattern, flags,
// result.

namespace {

constexpr std::string_view kPatternMagic = "posthaste-patterns 1\n";
constexpr size_t kMaxRules = 10'000'000;

void PutField(std::string* out, std::string_view field) {
  out->append(std::to_string(field.size()));
  out->push_back(':');
  out->append(field);
  out->push_back(',');
}

class FieldReader {
 public:
  explicit FieldReader(std::string_view in) : in_(in) {}
  bool Next(std::string_view* field) {
    size_t colon = in_.find(':', pos_);
    if (colon == std::string_view::npos || colon == pos_ || colon - pos_ > 12) return false;
    uint64_t length = 0;
    auto [p, ec] = std::from_chars(in_.data() + pos_, in_.data() + colon, length);
    if (ec != std::errc() || p != in_.data() + colon) return false;
    size_t start = colon + 1;
    if (length > in_.size() - start || start + length >= in_.size() || in_[start + length] != ',')
      return false;
    *field = in_.substr(start, length);
    pos_ = start + length + 1;
    return true;
  }
  bool NextNumber(uint64_t* value, uint64_t max) {
    std::string_view f;
    if (!Next(&f) || f.empty()) return false;
    auto [p, ec] = std::from_chars(f.data(), f.data() + f.size(), *value);
    return ec == std::errc() && p == f.data() + f.size() && *value <= max;
  }
  bool AtEnd() const { return pos_ == in_.size(); }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace

std::string SerializePatternTable(const std::string& source, PatternSyntax syntax,
                                  const std::vector<PatternRule>& rules) {
  std::string out(kPatternMagic);
  PutField(&out, source);
  PutField(&out, PatternSyntaxName(syntax));
  PutField(&out, std::to_string(rules.size()));
  for (const PatternRule& r : rules) {
    PutField(&out, std::to_string(static_cast<int>(r.kind)));
    PutField(&out, r.negate ? "1" : "0");
    PutField(&out, std::to_string(r.line));
    PutField(&out, r.pattern);
    PutField(&out, r.flags);
    PutField(&out, r.result);
  }
  return out;
}

absl::StatusOr<std::unique_ptr<PatternTable>> ReadPatternTable(std::string_view bytes) {
  auto damaged = [](std::string_view what) {
    return absl::DataLossError(Cat("pattern table artifact: ", what));
  };
  if (bytes.substr(0, kPatternMagic.size()) != kPatternMagic)
    return damaged("bad magic or unsupported version");
  FieldReader in(bytes.substr(kPatternMagic.size()));
  std::string_view source, syntax_name;
  uint64_t count = 0;
  if (!in.Next(&source) || !in.Next(&syntax_name) || !in.NextNumber(&count, kMaxRules))
    return damaged("bad header");
  PatternSyntax syntax;
  if (syntax_name == "regexp") {
    syntax = PatternSyntax::kPosix;
  } else if (syntax_name == "pcre") {
    syntax = PatternSyntax::kPcre;
  } else {
    return damaged(Cat("unknown syntax \"", syntax_name, "\""));
  }
  std::vector<PatternRule> rules;
  rules.reserve(std::min<uint64_t>(count, bytes.size() / 12));
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t kind, negate, line;
    std::string_view pattern, flags, result;
    if (!in.NextNumber(&kind, 2) || !in.NextNumber(&negate, 1) ||
        !in.NextNumber(&line, 1u << 30) || !in.Next(&pattern) || !in.Next(&flags) ||
        !in.Next(&result))
      return damaged(Cat("rule ", i + 1, " truncated or malformed"));
    PatternRule r;
    r.kind = static_cast<PatternRule::Kind>(kind);
    r.negate = negate != 0;
    r.line = static_cast<int>(line);
    r.pattern = std::string(pattern);
    r.flags = std::string(flags);
    r.result = std::string(result);
    rules.push_back(std::move(r));
  }
  if (!in.AtEnd()) return damaged("trailing bytes");
  absl::StatusOr<std::unique_ptr<PatternTable>> table =
      PatternTable::Build(std::string(source), syntax, std::move(rules));
  if (!table.ok()) return damaged(std::string(table.status().message()));
  return table;
}

}  // namespace posthaste::tables
