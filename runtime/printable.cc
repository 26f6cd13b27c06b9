// printable.cc: see printable.h.
#include "runtime/printable.h"

#include <cstdio>

namespace posthaste::runtime {

void Printable(std::string* s, bool utf8, char repl) {
  for (size_t i = 0; i < s->size();) {
    unsigned char c = static_cast<unsigned char>((*s)[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f) (*s)[i] = repl;
      ++i;
      continue;
    }
    size_t len = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
    bool ok = utf8 && len > 0 && i + len <= s->size();
    for (size_t k = 1; ok && k < len; ++k)
      ok = (static_cast<unsigned char>((*s)[i + k]) & 0xc0) == 0x80;
    if (ok) {
      i += len;
    } else {
      (*s)[i] = repl;
      ++i;
    }
  }
}

std::string EscapeBytes(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (char c : raw) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '\\': out += "\\\\"; continue;
      case '\a': out += "\\a"; continue;
      case '\b': out += "\\b"; continue;
      case '\f': out += "\\f"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      case '\v': out += "\\v"; continue;
      default: break;
    }
    if (u >= 0x20 && u < 0x7f) {
      out.push_back(c);
    } else {
      char buf[5];
      std::snprintf(buf, sizeof(buf), "\\%03o", u);
      out += buf;
    }
  }
  return out;
}

}  // namespace posthaste::runtime
