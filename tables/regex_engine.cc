// regex_engine.cc: regcomp and PCRE2 behind one interface.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "tables/regex_engine.h"

#include <pcre2.h>
#include <regex.h>

namespace posthaste::tables {
namespace {

class PosixRegex : public Regex {
 public:
  ~PosixRegex() override {
    if (ok_) regfree(&re_);
  }
  bool Compile(const std::string& pattern, int cflags, std::string* error) {
    // glibc duplicates the parse tree for every stacked repetition operator
    // ("a+++++...") and runs out of memory; nobody writes such a pattern on
    // purpose, so it is refused instead of letting regcomp fall over.
    int run = 0;
    for (char c : pattern) {
      run = (c == '*' || c == '+' || c == '?') ? run + 1 : 0;
      if (run > 4) {
        *error = "too many repetition operators in a row";
        return false;
      }
    }
    int err = regcomp(&re_, pattern.c_str(), cflags);
    if (err != 0) {
      char buf[256];
      regerror(err, &re_, buf, sizeof buf);
      *error = buf;
      return false;
    }
    ok_ = true;
    return true;
  }
  bool Match(std::string_view subject, std::vector<std::string>* groups) const override {
    std::string s(subject.substr(0, subject.find('\0')));
    if (!groups) return regexec(&re_, s.c_str(), 0, nullptr, 0) == 0;
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

class PcreRegex : public Regex {
 public:
  ~PcreRegex() override {
    if (code_) pcre2_code_free(code_);
  }
  bool Compile(const std::string& pattern, uint32_t options, std::string* error) {
    int err;
    PCRE2_SIZE offset;
    code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options,
                          &err, &offset, nullptr);
    if (!code_) {
      PCRE2_UCHAR buf[256];
      pcre2_get_error_message(err, buf, sizeof buf);
      *error = "error in regex at offset " + std::to_string(offset) + ": " +
               reinterpret_cast<char*>(buf);
      return false;
    }
    uint32_t count = 0;
    pcre2_pattern_info(code_, PCRE2_INFO_CAPTURECOUNT, &count);
    groups_ = static_cast<int>(count);
    return true;
  }
  bool Match(std::string_view subject, std::vector<std::string>* groups) const override {
    subject = subject.substr(0, subject.find('\0'));
    std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> md(
        pcre2_match_data_create_from_pattern(code_, nullptr), pcre2_match_data_free);
    if (!md) return false;
    int rc = pcre2_match(code_, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), 0,
                         0, md.get(), nullptr);
    if (rc < 0) return false;
    if (!groups) return true;
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

}  // namespace

std::string_view PatternSyntaxName(PatternSyntax syntax) {
  return syntax == PatternSyntax::kPcre ? "pcre" : "regexp";
}

std::optional<char> UnknownFlag(PatternSyntax syntax, std::string_view flags) {
  std::string_view known = syntax == PatternSyntax::kPcre ? "imsxAEUX" : "ixm";
  for (char f : flags)
    if (known.find(f) == std::string_view::npos) return f;
  return std::nullopt;
}

int PosixCflags(std::string_view flags) {
  int cflags = REG_EXTENDED | REG_ICASE;
  for (char f : flags) {
    switch (f) {
      case 'i': cflags ^= REG_ICASE; break;
      case 'x': cflags ^= REG_EXTENDED; break;
      case 'm': cflags ^= REG_NEWLINE; break;
      default: break;
    }
  }
  return cflags;
}

uint32_t PcreOptions(std::string_view flags) {
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
      default: break;  // 'X': obsolete, no effect
    }
  }
  return options;
}

std::unique_ptr<Regex> CompileRegex(PatternSyntax syntax, const std::string& pattern,
                                    std::string_view flags, std::string* error) {
  if (std::optional<char> bad = UnknownFlag(syntax, flags)) {
    *error = std::string("unknown regexp option \"") + *bad + "\"";
    return nullptr;
  }
  if (syntax == PatternSyntax::kPcre) {
    auto re = std::make_unique<PcreRegex>();
    if (!re->Compile(pattern, PcreOptions(flags), error)) return nullptr;
    return re;
  }
  auto re = std::make_unique<PosixRegex>();
  if (!re->Compile(pattern, PosixCflags(flags), error)) return nullptr;
  return re;
}

}  // namespace posthaste::tables
