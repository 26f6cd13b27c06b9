// pattern_set.cc: exact-subset translation to RE2 and the RE2::Set wrapper.
#include "tables/pattern_set.h"

#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <cctype>
#include <vector>

namespace posthaste::tables {
namespace {

bool HasFlag(std::string_view flags, char f) {
  // Postfix flags toggle: an odd count means "set".
  return std::count(flags.begin(), flags.end(), f) % 2 == 1;
}

bool AllAscii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

// One member of a bracket expression: its RE2 spelling and, when it is a
// single character (a possible range end), that byte.
struct BracketMember {
  std::string re2;
  int ch = -1;
};

// Reads the member at p[*j] (anything but the closing ']') and advances *j.
// `posix`: backslash is a literal inside brackets (POSIX); otherwise Perl
// escapes apply. False when unsure.
bool ReadBracketMember(std::string_view p, size_t* j, bool posix, BracketMember* m) {
  char c = p[*j];
  m->re2.clear();
  m->ch = -1;
  if (c == '[' && *j + 1 < p.size() && p[*j + 1] == ':') {
    size_t end = p.find(":]", *j + 2);
    if (end == std::string_view::npos) return false;
    std::string_view name = p.substr(*j + 2, end - *j - 2);
    static const char* kNames[] = {"alnum", "alpha", "blank", "cntrl", "digit", "graph",
                                   "lower", "print", "punct", "space", "upper", "xdigit"};
    bool known = false;
    for (const char* n : kNames) known |= name == n;
    if (!known) return false;
    m->re2 = std::string(p.substr(*j, end + 2 - *j));
    *j = end + 2;
    return true;
  }
  if (c == '[' && *j + 1 < p.size() && (p[*j + 1] == '.' || p[*j + 1] == '=')) return false;
  if (c == '\\' && !posix) {
    if (*j + 1 >= p.size()) return false;
    char e = p[*j + 1];
    if (e == 'd' || e == 'D' || e == 'w' || e == 'W') {
      m->re2 = {'\\', e};
    } else if (!isalnum(static_cast<unsigned char>(e)) && static_cast<unsigned char>(e) < 0x80) {
      m->re2 = {'\\', e};
      m->ch = static_cast<unsigned char>(e);
    } else {
      return false;  // \b is a backspace here, \s differs (VT), ...
    }
    *j += 2;
    return true;
  }
  if (static_cast<unsigned char>(c) >= 0x80) return false;
  if (!isalnum(static_cast<unsigned char>(c))) m->re2 += '\\';
  m->re2 += c;
  m->ch = static_cast<unsigned char>(c);
  ++*j;
  return true;
}

// glibc's REG_ICASE upper-cases the pattern and the subject before matching,
// so a range is compared on upper-case bytes: [0-z] becomes [0-Z] and no
// longer holds '_', while RE2's (?i)[0-z] does. The two agree when the range
// holds no lower-case letter, or only lower-case letters.
bool IcaseRangeAgrees(int lo, int hi) {
  bool has_lower = lo <= 'z' && hi >= 'a';
  return !has_lower || (lo >= 'a' && hi <= 'z');
}

// Copies a bracket expression starting at p[i] == '['. `posix`: POSIX
// bracket rules (backslash literal) and, with `icase`, glibc's case
// folding of ranges (see IcaseRangeAgrees). Appends the RE2 form to *out
// (every member spelled out, every literal '-' escaped) and advances *i
// past ']'. False when unsure.
bool Bracket(std::string_view p, size_t* i, bool posix, bool icase, bool exclude_newline,
             std::string* out) {
  size_t j = *i + 1;
  std::string body;
  bool negated = false;
  if (j < p.size() && p[j] == '^') {
    negated = true;
    ++j;
  }
  bool first = true;
  while (true) {
    if (j >= p.size()) return false;  // no closing ']'
    char c = p[j];
    if (c == ']' && !first) break;
    if (c == '-') {
      // A '-' is a literal only first or last; anywhere else (after a
      // range, after a class) the engines disagree or refuse.
      bool last = j + 1 < p.size() && p[j + 1] == ']';
      if (!first && !last) return false;
      body += "\\-";
      ++j;
      first = false;
      continue;
    }
    first = false;
    BracketMember lo;
    if (!ReadBracketMember(p, &j, posix, &lo)) return false;
    if (j + 1 < p.size() && p[j] == '-' && p[j + 1] != ']') {
      ++j;
      BracketMember hi;
      if (lo.ch < 0 || !ReadBracketMember(p, &j, posix, &hi) || hi.ch < 0) return false;
      if (hi.ch < lo.ch) return false;
      if (posix && icase && !IcaseRangeAgrees(lo.ch, hi.ch)) return false;
      body += lo.re2 + "-" + hi.re2;
    } else {
      body += lo.re2;
    }
  }
  *out += negated ? "[^" : "[";
  *out += body;
  if (negated && exclude_newline) *out += "\\n";
  *out += "]";
  *i = j + 1;
  return true;
}

// Appends a quantifier at p[*i] ('*', '+', '?', '{n,m}'); false when the
// form is one RE2 would read differently.
bool Quantifier(std::string_view p, size_t* i, bool allow_lazy, std::string* out) {
  char c = p[*i];
  if (c == '{') {
    size_t end = p.find('}', *i);
    if (end == std::string_view::npos) return false;
    std::string_view body = p.substr(*i + 1, end - *i - 1);
    if (body.empty() || body.find_first_not_of("0123456789,") != std::string_view::npos ||
        body[0] == ',' || std::count(body.begin(), body.end(), ',') > 1)
      return false;
    for (size_t k = 0; k < body.size();) {
      size_t e = body.find(',', k);
      if (e == std::string_view::npos) e = body.size();
      if (e - k > 3) return false;  // RE2 caps repetition at 1000
      // RE2 reads "{06}" as literal text; glibc and PCRE2 as a bound.
      if (e - k > 1 && body[k] == '0') return false;
      k = e + 1;
    }
    out->append(p.substr(*i, end + 1 - *i));
    *i = end + 1;
  } else {
    out->push_back(c);
    ++*i;
  }
  if (*i < p.size() && p[*i] == '?' && allow_lazy) {
    out->push_back('?');
    ++*i;
  }
  if (*i < p.size() && (p[*i] == '*' || p[*i] == '+' || p[*i] == '?' || p[*i] == '{'))
    return false;  // possessive or stacked quantifiers
  return true;
}

// PCRE2's multiline '^' does not match after a newline that ends the
// subject; RE2's (?m)^ does. The two agree when the atom after '^' must
// consume a character, for then nothing can match at the end anyway:
// "^Subject" is fine, "^$", "^x?" and "^(" are not.
bool NextAtomConsumes(std::string_view p, size_t j) {
  if (j >= p.size()) return false;
  char c = p[j];
  size_t end;
  if (c == '\\') {
    if (j + 1 >= p.size()) return false;
    unsigned char e = p[j + 1];
    bool one_char = e == 'd' || e == 'D' || e == 'w' || e == 'W' || e == 'n' || e == 't' ||
                    e == 'r' || e == 'f' || (!isalnum(e) && e < 0x80);
    if (!one_char) return false;
    end = j + 2;
  } else if (c == '[') {
    std::string ignored;
    end = j;
    if (!Bracket(p, &end, false, false, false, &ignored)) return false;
  } else if (std::string_view("()|^$*+?{").find(c) != std::string_view::npos) {
    return false;
  } else {
    end = j + 1;
  }
  return end >= p.size() || (p[end] != '*' && p[end] != '?' && p[end] != '{');
}

// True when p[i] == '$' is followed only by the ends of its groups (no
// quantifier on them) and alternatives that are skipped once it matched:
// "a$", "(a$|b)" and "a$|b" qualify, "(a$|b)\n", "(a$){2}" and "a$.*" do
// not. `posix` selects the bracket rules used to skip alternatives. Where
// it holds, nothing has to match after the '$', which makes two otherwise
// inexact translations exact:
//  - PCRE's '$' (no multiline, no DOLLAR_ENDONLY) also matches before a
//    final newline. RE2 has no look-ahead, so the translation \n?\z
//    consumes that newline.
//  - glibc (without REG_NEWLINE) lets a '$' directly followed by a
//    character match before a newline: "$." matches "\n" while RE2's
//    \z. never matches.
bool DollarEndsPattern(std::string_view p, size_t i, bool posix) {
  bool skipping = false;  // inside alternatives after the '$''s own
  int depth = 0;          // groups opened while skipping
  size_t j = i + 1;
  while (j < p.size()) {
    char c = p[j];
    if (!skipping) {
      if (c == '|') {
        skipping = true;
        ++j;
        continue;
      }
      if (c != ')') return false;
      ++j;
      if (j < p.size() && (p[j] == '*' || p[j] == '+' || p[j] == '?' || p[j] == '{')) return false;
      continue;
    }
    if (c == '\\') {
      j += 2;
    } else if (c == '[') {
      std::string ignored;
      if (!Bracket(p, &j, posix, false, false, &ignored)) return false;
    } else if (c == '(') {
      ++depth;
      ++j;
    } else if (c == ')' && depth == 0) {
      skipping = false;  // the group holding the '$' ends here
    } else {
      if (c == ')') --depth;
      ++j;
    }
  }
  return true;
}

std::string Wrap(const std::string& body, bool icase, bool dotall, bool multiline, bool ungreedy,
                 bool anchored) {
  std::string flags;
  if (icase) flags += 'i';
  if (dotall) flags += 's';
  if (multiline) flags += 'm';
  if (ungreedy) flags += 'U';
  std::string out = flags.empty() ? "" : "(?" + flags + ")";
  if (anchored) return out + "\\A(?:" + body + ")";
  return out + "(?:" + body + ")";
}

}  // namespace

std::optional<std::string> TranslatePcre(std::string_view p, std::string_view flags) {
  bool icase = !HasFlag(flags, 'i');  // Postfix: case-insensitive unless i
  bool dotall = !HasFlag(flags, 's');
  bool multiline = HasFlag(flags, 'm');
  if (HasFlag(flags, 'x')) return std::nullopt;  // extended syntax: not translated
  bool anchored = HasFlag(flags, 'A');
  bool dollar_end_only = HasFlag(flags, 'E');
  bool ungreedy = HasFlag(flags, 'U');
  if (icase && !AllAscii(p)) return std::nullopt;
  std::string out;
  bool can_quantify = false;
  size_t i = 0;
  while (i < p.size()) {
    char c = p[i];
    switch (c) {
      case '\\': {
        if (i + 1 >= p.size()) return std::nullopt;
        char e = p[i + 1];
        if (e == 'd' || e == 'D' || e == 'w' || e == 'W' || e == 'b' || e == 'B' || e == 'n' ||
            e == 't' || e == 'r' || e == 'f') {
          out += '\\';
          out += e;
        } else if (!isalnum(static_cast<unsigned char>(e)) &&
                   static_cast<unsigned char>(e) < 0x80) {
          out += '\\';
          out += e;
        } else {
          return std::nullopt;
        }
        i += 2;
        can_quantify = e != 'b' && e != 'B';
        break;
      }
      case '(':
        if (i + 1 < p.size() && p[i + 1] == '?') {
          if (i + 2 < p.size() && p[i + 2] == ':') {
            out += "(?:";
            i += 3;
          } else {
            return std::nullopt;  // look-around, named groups, inline flags
          }
        } else {
          out += '(';
          ++i;
        }
        can_quantify = false;
        break;
      case ')':
        out += ')';
        ++i;
        can_quantify = true;
        break;
      case '|':
        out += '|';
        ++i;
        can_quantify = false;
        break;
      case '[':
        if (!Bracket(p, &i, false, false, false, &out)) return std::nullopt;
        can_quantify = true;
        break;
      case '^':
        if (multiline && !NextAtomConsumes(p, i + 1)) return std::nullopt;
        out += '^';
        ++i;
        can_quantify = false;
        break;
      case '$':
        // (?m)$ and E's \z are exact anywhere; otherwise see DollarEndsPattern.
        if (multiline) {
          out += '$';
        } else if (dollar_end_only) {
          out += "\\z";
        } else if (DollarEndsPattern(p, i, false)) {
          out += "(?:\\n?\\z)";
        } else {
          return std::nullopt;
        }
        ++i;
        can_quantify = false;
        break;
      case '.':
        out += '.';
        ++i;
        can_quantify = true;
        break;
      case '*':
      case '+':
      case '?':
      case '{':
        if (!can_quantify) return std::nullopt;
        if (!Quantifier(p, &i, true, &out)) return std::nullopt;
        can_quantify = false;
        break;
      default:
        if (c == '}' || c == ']') {
          out += '\\';
          out += c;
        } else if (static_cast<unsigned char>(c) < 0x20 && c != '\t') {
          return std::nullopt;
        } else {
          if (!isalnum(static_cast<unsigned char>(c)) && static_cast<unsigned char>(c) < 0x80 &&
              c != ' ' && c != '\t')
            out += '\\';
          out += c;
        }
        ++i;
        can_quantify = true;
    }
  }
  return Wrap(out, icase, dotall, multiline, ungreedy, anchored);
}

std::optional<std::string> TranslatePosix(std::string_view p, std::string_view flags) {
  bool icase = !HasFlag(flags, 'i');
  if (HasFlag(flags, 'x')) return std::nullopt;  // basic syntax: not translated
  bool newline = HasFlag(flags, 'm');           // REG_NEWLINE
  if (icase && !AllAscii(p)) return std::nullopt;
  std::string out;
  bool can_quantify = false;
  // glibc (without REG_NEWLINE) lets a '^' right after a character match
  // after a newline: ".^a" matches "\na". A '^' is translated only where
  // nothing can have been matched before it in its alternative: at_start
  // tracks that, group_start keeps its value at each open group.
  bool at_start = true;
  std::vector<bool> group_start;
  size_t i = 0;
  while (i < p.size()) {
    char c = p[i];
    switch (c) {
      case '\\': {
        if (i + 1 >= p.size()) return std::nullopt;
        char e = p[i + 1];
        // glibc gives letters and digits after '\' other meanings (\1, \w,
        // \<, and "\d" is a plain d): only escaped punctuation is exact.
        if (isalnum(static_cast<unsigned char>(e)) || static_cast<unsigned char>(e) >= 0x80 ||
            e == '<' || e == '>' || e == '`' || e == '\'')
          return std::nullopt;
        out += '\\';
        out += e;
        i += 2;
        can_quantify = true;
        at_start = false;
        break;
      }
      case '(':
        if (i + 1 < p.size() && (p[i + 1] == ')' || p[i + 1] == '*' || p[i + 1] == '+' ||
                                 p[i + 1] == '?' || p[i + 1] == '{'))
          return std::nullopt;
        out += '(';
        ++i;
        can_quantify = false;
        group_start.push_back(at_start);
        break;
      case ')':
        if (group_start.empty()) return std::nullopt;
        group_start.pop_back();
        out += ')';
        ++i;
        can_quantify = true;
        at_start = false;
        break;
      case '|':
        if (i + 1 < p.size() && (p[i + 1] == '*' || p[i + 1] == '+' || p[i + 1] == '?'))
          return std::nullopt;
        out += '|';
        ++i;
        can_quantify = false;
        at_start = group_start.empty() || group_start.back();
        break;
      case '[':
        if (!Bracket(p, &i, true, icase, newline, &out)) return std::nullopt;
        can_quantify = true;
        at_start = false;
        break;
      case '^':
        if (!newline && !at_start) return std::nullopt;
        out += '^';
        ++i;
        can_quantify = false;
        break;
      case '$':
        if (!newline && !DollarEndsPattern(p, i, true)) return std::nullopt;
        out += newline ? "$" : "\\z";
        ++i;
        can_quantify = false;
        break;
      case '.':
        out += '.';
        ++i;
        can_quantify = true;
        at_start = false;
        break;
      case '*':
      case '+':
      case '?':
      case '{':
        if (!can_quantify) return std::nullopt;  // glibc: a leading '*' is literal
        if (!Quantifier(p, &i, false, &out)) return std::nullopt;
        can_quantify = false;
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t') return std::nullopt;
        if (!isalnum(static_cast<unsigned char>(c)) && static_cast<unsigned char>(c) < 0x80 &&
            c != ' ' && c != '\t')
          out += '\\';
        out += c;
        ++i;
        can_quantify = true;
        at_start = false;
    }
  }
  // POSIX '.' matches newline unless REG_NEWLINE; ^ $ at newlines only then.
  return Wrap(out, icase, !newline, newline, false, false);
}

struct PatternSet::Impl {
  static RE2::Options Options() {
    RE2::Options options;
    options.set_encoding(RE2::Options::EncodingLatin1);
    options.set_log_errors(false);
    options.set_max_mem(256 << 20);
    return options;
  }
  RE2::Set set{Options(), RE2::UNANCHORED};
};

PatternSet::PatternSet() : impl_(std::make_unique<Impl>()) {}

PatternSet::~PatternSet() = default;

int PatternSet::Add(const std::string& re2_pattern) {
  if (compiled_) return -1;
  std::string error;
  int index = impl_->set.Add(re2_pattern, &error);
  if (index >= 0) ++count_;
  return index;
}

bool PatternSet::Compile() {
  compiled_ = true;
  if (count_ == 0) return true;
  return impl_->set.Compile();
}

std::vector<int> PatternSet::Match(std::string_view text) const {
  std::vector<int> hits;
  if (count_ == 0) return hits;
  impl_->set.Match(re2::StringPiece(text.data(), text.size()), &hits);
  std::sort(hits.begin(), hits.end());
  return hits;
}

}  // namespace posthaste::tables
