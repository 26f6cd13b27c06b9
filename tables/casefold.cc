// casefold.cc: ASCII and ICU-based Unicode case folding.
#include "tables/casefold.h"

#include <unicode/ucasemap.h>
#include <unicode/utf8.h>

#include <memory>

namespace posthaste::tables {

std::string FoldAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool IsValidUtf8(std::string_view s) {
  int32_t i = 0, n = static_cast<int32_t>(s.size());
  const uint8_t* p = reinterpret_cast<const uint8_t*>(s.data());
  while (i < n) {
    UChar32 c;
    U8_NEXT(p, i, n, c);
    if (c < 0) return false;
  }
  return true;
}

std::optional<std::string> FoldUtf8(std::string_view s) {
  if (!IsValidUtf8(s)) return std::nullopt;
  bool ascii = true;
  for (unsigned char c : s) ascii &= c < 0x80;
  if (ascii) return FoldAscii(s);
  UErrorCode err = U_ZERO_ERROR;
  std::unique_ptr<UCaseMap, decltype(&ucasemap_close)> map(ucasemap_open("", 0, &err),
                                                           ucasemap_close);
  if (U_FAILURE(err)) return std::nullopt;
  std::string out(s.size() * 3 + 16, '\0');
  int32_t len = ucasemap_utf8FoldCase(map.get(), out.data(), static_cast<int32_t>(out.size()),
                                      s.data(), static_cast<int32_t>(s.size()), &err);
  if (err == U_BUFFER_OVERFLOW_ERROR) {
    err = U_ZERO_ERROR;
    out.resize(len);
    len = ucasemap_utf8FoldCase(map.get(), out.data(), len, s.data(),
                                static_cast<int32_t>(s.size()), &err);
  }
  if (U_FAILURE(err)) return std::nullopt;
  out.resize(len);
  return out;
}

}  // namespace posthaste::tables
