// pattern_set.cc: exact-subset translation to RE2 and the RE2::Set wrapper.
#include "tables/pattern_set.h"

#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <cctype>

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

// Copies a bracket expression starting at p[i] == '['. `posix`: backslash is
// a literal inside brackets (POSIX); otherwise Perl escapes apply. Appends
// the RE2 form to *out and advances *i past ']'. False when unsure.
bool Bracket(std::string_view p, size_t* i, bool posix, bool exclude_newline, std::string* out) {
  size_t j = *i + 1;
  std::string body;
  bool negated = false;
  if (j < p.size() && p[j] == '^') {
    negated = true;
    ++j;
  }
  bool first = true;
  while (j < p.size()) {
    char c = p[j];
    if (c == ']' && !first) break;
    first = false;
    if (c == '[') {
      if (j + 1 < p.size() && p[j + 1] == ':') {
        size_t end = p.find(":]", j + 2);
        if (end == std::string_view::npos) return false;
        std::string_view name = p.substr(j + 2, end - j - 2);
        static const char* kNames[] = {"alnum", "alpha", "blank", "cntrl", "digit", "graph",
                                       "lower", "print", "punct", "space", "upper", "xdigit"};
        bool known = false;
        for (const char* n : kNames) known |= name == n;
        if (!known) return false;
        body.append(p.substr(j, end + 2 - j));
        j = end + 2;
        continue;
      }
      if (j + 1 < p.size() && (p[j + 1] == '.' || p[j + 1] == '=')) return false;
      body += "\\[";
      ++j;
      continue;
    }
    if (c == '\\') {
      if (posix) {
        body += "\\\\";
        ++j;
        continue;
      }
      if (j + 1 >= p.size()) return false;
      char e = p[j + 1];
      if (e == 'd' || e == 'D' || e == 'w' || e == 'W') {
        body += '\\';
        body += e;
      } else if (!isalnum(static_cast<unsigned char>(e)) && static_cast<unsigned char>(e) < 0x80) {
        body += '\\';
        body += e;
      } else {
        return false;  // \b is a backspace here, \s differs (VT), ...
      }
      j += 2;
      continue;
    }
    if (c == '-' || c == ']') {
      body += c == ']' ? "\\]" : "-";
      ++j;
      continue;
    }
    if (static_cast<unsigned char>(c) >= 0x80) return false;
    if (!isalnum(static_cast<unsigned char>(c))) body += '\\';
    body += c;
    ++j;
  }
  if (j >= p.size()) return false;  // no closing ']'
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
        if (!Bracket(p, &i, false, false, &out)) return std::nullopt;
        can_quantify = true;
        break;
      case '^':
        out += '^';
        ++i;
        can_quantify = false;
        break;
      case '$': {
        // Only at the end of an alternative: then "end, or before a final
        // newline" is \n?\z (or \z with E); (?m)$ is the same in both.
        bool at_end = i + 1 == p.size() || p[i + 1] == ')' || p[i + 1] == '|';
        if (!at_end) return std::nullopt;
        out += multiline ? "$" : (dollar_end_only ? "\\z" : "(?:\\n?\\z)");
        ++i;
        can_quantify = false;
        break;
      }
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
        break;
      }
      case '(':
        if (i + 1 < p.size() && (p[i + 1] == ')' || p[i + 1] == '*' || p[i + 1] == '+' ||
                                 p[i + 1] == '?' || p[i + 1] == '{'))
          return std::nullopt;
        out += '(';
        ++i;
        can_quantify = false;
        break;
      case ')':
        out += ')';
        ++i;
        can_quantify = true;
        break;
      case '|':
        if (i + 1 < p.size() && (p[i + 1] == '*' || p[i + 1] == '+' || p[i + 1] == '?'))
          return std::nullopt;
        out += '|';
        ++i;
        can_quantify = false;
        break;
      case '[':
        if (!Bracket(p, &i, true, newline, &out)) return std::nullopt;
        can_quantify = true;
        break;
      case '^':
        out += '^';
        ++i;
        can_quantify = false;
        break;
      case '$':
        out += newline ? "$" : "\\z";
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
