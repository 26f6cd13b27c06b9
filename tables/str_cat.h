// str_cat.h: Cat(), concatenation of strings and integers.
//
// absl::StrCat takes absl::string_view, which in Debian's Abseil build is a
// separate type from std::string_view; this small helper is used instead
// wherever messages and paths are assembled from std::string_view pieces.
#pragma once

#include <string>
#include <string_view>
#include <type_traits>

namespace posthaste::tables {

namespace internal {
inline void AppendPiece(std::string* out, std::string_view s) { out->append(s); }
template <typename T>
requires std::is_integral_v<T>
void AppendPiece(std::string* out, T v) { out->append(std::to_string(v)); }
}  // namespace internal

template <typename... Args>
std::string Cat(const Args&... args) {
  std::string out;
  (internal::AppendPiece(&out, args), ...);
  return out;
}

}  // namespace posthaste::tables
