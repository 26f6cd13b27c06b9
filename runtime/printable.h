// printable.h: Postfix's printable(), which the mail system applies to text
// it shows (reject replies, queue listings): control characters, and bytes
// the character set in force cannot show, become a replacement character.
#pragma once

#include <string>

namespace posthaste::runtime {

// Replaces in place every control character (and DEL) by `repl`, and every
// non-ASCII byte too unless `utf8` (smtputf8_enable) is set, in which case
// only the bytes of malformed UTF-8 sequences are replaced.
void Printable(std::string* s, bool utf8, char repl);

}  // namespace posthaste::runtime
