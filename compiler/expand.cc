// expand.cc: the expansion engine (a byte-for-byte model of Postfix's macro
// parser and expander, written from its documented behaviour).
#include "compiler/expand.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace posthaste::compiler {
namespace {

constexpr std::string_view kWhitespace = " \t\r\n";
constexpr int kMaxNesting = 100;

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}
size_t SpanOf(std::string_view s, size_t from, std::string_view set) {
  size_t i = from;
  while (i < s.size() && set.find(s[i]) != std::string_view::npos) ++i;
  return i - from;
}
std::string First20(std::string_view s) { return std::string(s.substr(0, 20)); }

enum RelOp { kNone, kEq, kNe, kLt, kLe, kGe, kGt };

RelOp ParseOp(std::string_view op) {
  if (op == "==") return kEq;
  if (op == "!=") return kNe;
  if (op == "<") return kLt;
  if (op == "<=") return kLe;
  if (op == ">=") return kGe;
  if (op == ">") return kGt;
  return kNone;
}

bool Apply(RelOp op, long delta) {
  switch (op) {
    case kEq: return delta == 0;
    case kNe: return delta != 0;
    case kLt: return delta < 0;
    case kLe: return delta <= 0;
    case kGe: return delta >= 0;
    case kGt: return delta > 0;
    case kNone: break;
  }
  return false;
}

class Expander {
 public:
  Expander(std::string_view top, unsigned flags, const LookupFn& lookup, const VisitFn& visit)
      : top_(top), flags_(flags), lookup_(lookup), visit_(visit) {}

  ExpandResult Run() {
    Parse(top_);
    return std::move(result_);
  }

 private:
  bool scan() const { return flags_ & kExpandScan; }

  size_t OffsetOf(std::string_view piece) const {
    const char* p = piece.data();
    if (p >= top_.data() && p <= top_.data() + top_.size()) return p - top_.data();
    return std::string::npos;
  }

  void Error(std::string message, size_t offset) {
    result_.error = true;
    result_.errors.push_back({std::move(message), offset, false, {}});
  }

  // Postfix's mac_parse: splits text into literals and $-expressions.
  void Parse(std::string_view value) {
    std::string literal;
    size_t i = 0;
    while (i < value.size()) {
      if (value[i] != '$') {
        literal.push_back(value[i++]);
        continue;
      }
      if (i + 1 < value.size() && value[i + 1] == '$') {
        literal.push_back('$');
        i += 2;
        continue;
      }
      if (!literal.empty()) {
        Literal(literal);
        literal.clear();
      }
      size_t dollar = i++;
      std::string_view name_text;
      if (i < value.size() && (value[i] == '{' || value[i] == '(')) {
        char open = value[i], close = open == '{' ? '}' : ')';
        int level = 1;
        size_t j = i + 1;
        for (; j < value.size(); ++j) {
          if (value[j] == open) ++level;
          if (value[j] == close && --level == 0) break;
        }
        if (j >= value.size()) {
          Error("truncated macro reference: \"" + std::string(value) + "\"",
                OffsetOf(value.substr(dollar)));
          return;
        }
        name_text = value.substr(i + 1, j - i - 1);
        i = j + 1;
      } else {
        size_t j = i;
        while (j < value.size() && (IsAlnum(value[j]) || value[j] == '_')) ++j;
        name_text = value.substr(i, j - i);
        i = j;
      }
      if (name_text.empty()) {
        Error("empty macro name: \"" + std::string(value) + "\"", OffsetOf(value.substr(dollar)));
        return;
      }
      Expression(name_text, OffsetOf(value.substr(dollar)));
    }
    if (!literal.empty() && !result_.error) Literal(literal);
  }

  // Postfix's callback accounting: the nesting level goes up on entry and
  // only comes down on success, and after an error every later token still
  // passes through here (so a loop can print more than one warning).
  void Literal(const std::string& text) {
    if (level_++ > kMaxNesting) {
      result_.error = true;
      result_.errors.push_back(
          {"unreasonable macro call nesting: \"" + text + "\"", std::string::npos, true, text});
    }
    if (result_.error) return;
    if (!scan()) result_.text += text;
    --level_;
  }

  // Extracts a balanced {payload} at text[*pos] == '{'; advances past it and
  // following whitespace.
  std::optional<std::string_view> CurlyPayload(std::string_view text, size_t* pos,
                                               size_t dollar) {
    int level = 1;
    size_t start = *pos + 1;
    for (size_t j = start; j < text.size(); ++j) {
      if (text[j] == '{') ++level;
      if (text[j] == '}' && --level <= 0) {
        std::string_view payload = text.substr(start, j - start);
        *pos = j + 1 + SpanOf(text, j + 1, kWhitespace);
        return payload;
      }
    }
    Error("unbalanced {} in attribute expression: \"" + std::string(text.substr(*pos)) + "\"",
          dollar);
    return std::nullopt;
  }

  bool FindLeftCurly(std::string_view text, size_t* pos) {
    size_t skip = SpanOf(text, *pos, kWhitespace);
    if (*pos + skip < text.size() && text[*pos + skip] == '{') {
      *pos += skip;
      return true;
    }
    return false;
  }

  std::string SubExpand(std::string_view text) {
    // Postfix expands relational operands with a fresh nesting count; our
    // own depth guard still bounds the recursion so a loop cannot overflow.
    Expander sub(top_, flags_, lookup_, visit_);
    sub.depth_ = depth_ + 1;
    if (sub.depth_ > kMaxNesting) {
      result_.error = true;
      result_.errors.push_back({"unreasonable macro call nesting: \"" + std::string(text) + "\"",
                                std::string::npos, true, std::string(text)});
      return {};
    }
    sub.Parse(text);
    for (ExpandError& e : sub.result_.errors) result_.errors.push_back(std::move(e));
    result_.error |= sub.result_.error;
    result_.undefined |= sub.result_.undefined;
    return std::move(sub.result_.text);
  }

  // Relational expression starting at text[*pos] == '{'. Sets *truth.
  bool Relational(std::string_view text, size_t* pos, std::optional<bool>* truth, size_t dollar) {
    std::optional<std::string_view> left = CurlyPayload(text, pos, dollar);
    if (!left) return false;
    size_t op_pos = *pos;
    size_t op_len = SpanOf(text, *pos, "<>!=?+-*/~&|%");
    RelOp op = ParseOp(text.substr(op_pos, op_len));
    if (op == kNone) {
      Error("\"==\" or \"!=\"\" or \"<\"\" or \"<=\"\" or \">=\"\" or \">\" expected at: \"..." +
                std::string(*left) + "}>>>" + First20(text.substr(*pos)) + "\"",
            dollar);
      return false;
    }
    *pos += op_len;
    bool level_op = false;
    if (*pos < text.size() && IsAlnum(text[*pos])) {
      size_t type_len = 0;
      while (*pos + type_len < text.size() && IsAlnum(text[*pos + type_len])) ++type_len;
      std::string_view suffix = text.substr(*pos, type_len);
      if (suffix != "level") {
        Error("bad operator suffix at: \"..." + std::string(text.substr(op_pos, op_len)) +
                  ">>>" + std::string(suffix) + "\"",
              dollar);
        return false;
      }
      level_op = true;
      *pos += type_len;
    }
    if (!FindLeftCurly(text, pos)) {
      Error("\"{expression}\" expected at: \"...{" + std::string(*left) + "} " +
                std::string(text.substr(op_pos, op_len)) + ">>>" + First20(text.substr(*pos)) +
                "\"",
            dollar);
      return false;
    }
    std::optional<std::string_view> right = CurlyPayload(text, pos, dollar);
    if (!right) return false;
    std::string l = SubExpand(*left);
    std::string r = SubExpand(*right);
    if (result_.error) return false;
    if (scan()) {
      *truth = std::nullopt;
      return true;
    }
    long delta;
    if (level_op) {
      std::optional<int> cmp = CompareLevels(l, r);
      if (!cmp) {
        Error("bad compatibility level: \"" + (CompareLevels(l, l) ? r : l) + "\"", dollar);
        return false;
      }
      delta = *cmp;
    } else if (AllDigits(l) && AllDigits(r)) {
      errno = 0;
      delta = std::strtol(l.c_str(), nullptr, 10) - std::strtol(r.c_str(), nullptr, 10);
    } else {
      delta = std::strcmp(l.c_str(), r.c_str());
    }
    *truth = Apply(op, delta);
    return true;
  }

  void Expression(std::string_view buf, size_t dollar) {
    if (level_++ > kMaxNesting) {
      result_.error = true;
      result_.errors.push_back({"unreasonable macro call nesting: \"" + std::string(buf) + "\"",
                                dollar, true, std::string(buf)});
    }
    if (result_.error) return;

    std::optional<std::string> lookup;
    bool have_lookup = false;  // lookup engaged (defined)
    char ch = 0;
    size_t pos = 0;
    if (FindLeftCurly(buf, &pos)) {
      std::optional<bool> truth;
      if (!Relational(buf, &pos, &truth, dollar)) return;
      if (truth.has_value()) {
        lookup = *truth ? std::string("true") : std::string();
        have_lookup = true;
      }
      if (pos < buf.size()) {
        ch = buf[pos];
        if (ch != '?' && ch != ':') {
          Error("\"?\" or \":\" expected at: \"...}>>>" + First20(buf.substr(pos)) + "\"", dollar);
          return;
        }
        ++pos;
      }
    } else {
      pos = SpanOf(buf, 0, kWhitespace);
      size_t start = pos;
      size_t name_end;
      bool test = false;
      for (;; ++pos) {
        size_t ws = SpanOf(buf, pos, kWhitespace);
        if (pos + ws >= buf.size()) {
          name_end = pos;
          pos = buf.size();
          ch = 0;
          break;
        }
        char c = buf[pos + ws];
        if (c == '?' || c == ':') {
          name_end = pos;
          ch = c;
          pos += ws + 1;
          test = true;
          break;
        }
        if (!IsAlnum(buf[pos]) && buf[pos] != '_') {
          Error("attribute name syntax error at: \"..." + std::string(buf.substr(0, pos)) + ">>>" +
                    First20(buf.substr(pos)) + "\"",
                dollar);
          return;
        }
      }
      std::string name(buf.substr(start, name_end - start));
      if (visit_) visit_(Reference{name, test, dollar});
      lookup = lookup_ ? lookup_(name, test) : std::nullopt;
      have_lookup = lookup.has_value();
    }
    bool non_empty = have_lookup && !lookup->empty();
    switch (ch) {
      case '?': {
        std::string_view iftrue;
        if (FindLeftCurly(buf, &pos)) {
          std::optional<std::string_view> p = CurlyPayload(buf, &pos, dollar);
          if (!p) return;
          iftrue = *p;
        } else {
          iftrue = buf.substr(pos);
          pos = buf.size();
        }
        if (non_empty || scan()) {
          Parse(iftrue);
          if (result_.error) return;
        }
        if (pos >= buf.size()) break;
        if (buf[pos] != ':') {
          Error("\":\" expected at: \"..." + std::string(iftrue) + "}>>>" +
                    First20(buf.substr(pos)) + "\"",
                dollar);
          return;
        }
        ++pos;
        [[fallthrough]];
      }
      case ':': {
        std::string_view iffalse;
        if (FindLeftCurly(buf, &pos)) {
          std::optional<std::string_view> p = CurlyPayload(buf, &pos, dollar);
          if (!p) return;
          iffalse = *p;
        } else {
          iffalse = buf.substr(pos);
          pos = buf.size();
        }
        if (!non_empty || scan()) {
          Parse(iffalse);
          if (result_.error) return;
        }
        if (pos < buf.size()) {
          Error("unexpected input at: \"..." + std::string(iffalse) + "}>>>" +
                    First20(buf.substr(pos)) + "\"",
                dollar);
          return;
        }
        break;
      }
      default:
        if (!have_lookup) {
          result_.undefined = true;
        } else if (lookup->empty() || scan()) {
        } else if (flags_ & kExpandRecurse) {
          std::string nested = *lookup;  // keep alive: offsets are not in top_
          Parse(nested);
          if (result_.error) return;
        } else {
          result_.text += *lookup;
        }
    }
    --level_;
  }

  std::string_view top_;
  unsigned flags_;
  const LookupFn& lookup_;
  const VisitFn& visit_;
  int level_ = 0;
  int depth_ = 0;  // nesting of relational sub-expansions
  ExpandResult result_;
};

}  // namespace

ExpandResult Expand(std::string_view value, unsigned flags, const LookupFn& lookup,
                    const VisitFn& visit) {
  Expander e(value, flags, lookup, visit);
  return e.Run();
}

ExpandResult ScanReferences(std::string_view value, std::vector<Reference>* refs) {
  LookupFn none = [](std::string_view, bool) { return std::optional<std::string>(); };
  VisitFn collect = [refs](const Reference& r) { refs->push_back(r); };
  return Expand(value, kExpandScan, none, collect);
}

std::optional<int> CompareLevels(std::string_view a, std::string_view b) {
  auto parse = [](std::string_view s, long out[3]) {
    out[0] = out[1] = out[2] = 0;
    int part = 0;
    size_t i = 0;
    if (s.empty()) return false;
    while (true) {
      size_t j = i;
      while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
      if (j == i || j - i > 9) return false;
      out[part] = std::strtol(std::string(s.substr(i, j - i)).c_str(), nullptr, 10);
      if (j == s.size()) return true;
      if (s[j] != '.' || ++part > 2) return false;
      i = j + 1;
    }
  };
  long x[3], y[3];
  if (!parse(a, x) || !parse(b, y)) return std::nullopt;
  for (int i = 0; i < 3; ++i)
    if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
  return 0;
}

}  // namespace posthaste::compiler
