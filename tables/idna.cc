// idna.cc: see idna.h.
#include "tables/idna.h"

#include <unicode/uidna.h>

#include <memory>

namespace posthaste::tables {

std::optional<std::string> DomainToAscii(std::string_view domain) {
  bool ascii = true;
  for (char c : domain) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
  if (ascii) return std::string(domain);
  UErrorCode status = U_ZERO_ERROR;
  // One converter per thread: ICU's UIDNA is thread-safe to use but costly to open.
  thread_local std::unique_ptr<UIDNA, void (*)(UIDNA*)> idna(
      uidna_openUTS46(UIDNA_NONTRANSITIONAL_TO_ASCII, &status), uidna_close);
  if (!idna || U_FAILURE(status)) return std::nullopt;
  char out[256];
  UIDNAInfo info = UIDNA_INFO_INITIALIZER;
  status = U_ZERO_ERROR;
  int32_t n = uidna_nameToASCII_UTF8(idna.get(), domain.data(), static_cast<int32_t>(domain.size()),
                                     out, sizeof(out), &info, &status);
  if (U_FAILURE(status) || info.errors != 0 || n <= 0 || n >= static_cast<int32_t>(sizeof(out)))
    return std::nullopt;
  return std::string(out, static_cast<size_t>(n));
}

}  // namespace posthaste::tables
