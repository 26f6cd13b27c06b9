// idna.h: a UTF-8 domain name in its ASCII (IDNA, "xn--") form.
//
// Postfix converts a non-ASCII domain before it asks DNS about it (the
// unknown-domain checks, DNS domain lists); this is that conversion:
// UTS #46 with nontransitional processing, ICU's implementation.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace posthaste::tables {

// The ASCII form of `domain`; nullopt when it has none (invalid labels,
// not UTF-8). An all-ASCII name comes back unchanged.
std::optional<std::string> DomainToAscii(std::string_view domain);

}  // namespace posthaste::tables
