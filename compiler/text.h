// text.h: the small text helpers every parser in compiler/ shares.
//
// Postfix's notion of white space (isspace in the C locale), trimming, and
// the '?' substitution Postfix applies when it quotes input in a message.
#pragma once

#include <string>
#include <string_view>

namespace posthaste::compiler {

inline bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

inline std::string_view TrimView(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

inline std::string Trim(std::string_view s) { return std::string(TrimView(s)); }

// Control characters (and, with `high_bytes`, bytes >= 0x7f) become '?'.
inline std::string Printable(std::string_view s, bool high_bytes) {
  std::string out(s);
  for (char& c : out) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || (high_bytes && u >= 0x80)) c = '?';
  }
  return out;
}

}  // namespace posthaste::compiler
