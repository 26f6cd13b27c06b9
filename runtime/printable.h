// printable.h: Postfix's printable(), which the mail system applies to text
// it shows (reject replies, queue listings): control characters, and bytes
// the character set in force cannot show, become a replacement character.
// Also the C-style escaping Postfix logs raw client input with.
#pragma once

#include <string>
#include <string_view>

namespace posthaste::runtime {

// Replaces in place every control character (and DEL) by `repl`, and every
// non-ASCII byte too unless `utf8` (smtputf8_enable) is set, in which case
// only the bytes of malformed UTF-8 sequences are replaced.
void Printable(std::string* s, bool utf8, char repl);

// Raw bytes as Postfix's escape() logs them: printable ASCII as is, a
// backslash doubled, \a \b \f \n \r \t \v by name, every other byte as
// a three-digit octal escape ("\001", "\351").
std::string EscapeBytes(std::string_view raw);

}  // namespace posthaste::runtime
