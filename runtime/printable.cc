// printable.cc: see printable.h.
#include "runtime/printable.h"

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

}  // namespace posthaste::runtime
