// message_walker.h: a message as the sequence of keys header/body checks see.
//
// Shared by the compiler's tools (`phc map -h/-b/-m`, `phc checks`) and, later,
// the runtime's cleanup: one definition of what a "header" and a "body line"
// are. Headers are logical (continuation lines joined with "\n", the leading
// white space of each continuation kept); a header name written with blanks
// before the colon is presented without them; a header longer than
// header_size_limit loses the continuation lines after the one that crossed
// the limit. The primary header ends at the first line that is neither a
// header nor a continuation; the empty line that separates header and body
// is the first body line (and one is supplied when the message has no
// header at all). Line terminators are removed, a CR before them is kept.
// With `mime` the walker also reports MIME part headers and the headers of
// attached messages as headers (see spec §4). Input is untrusted bytes;
// nothing here allocates per byte or recurses without bound.
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>

namespace posthaste::tables {

// Length of the header name when `line` starts a header ("Name:" or
// "Name :"), else 0 (Postfix's is_header()). Name characters: printable
// ASCII except ':' and space.
size_t HeaderNameLength(std::string_view line);

enum class MessagePart {
  kPrimaryHeader,  // header of the message itself
  kMimeHeader,     // header of a MIME part
  kNestedHeader,   // header of an attached message/rfc822
  kBody,           // a body line (including MIME boundaries and blank lines)
};

struct WalkOptions {
  bool headers = true;  // report headers (postmap -h)
  bool body = true;     // report body lines (postmap -b)
  bool mime = false;    // parse MIME structure (postmap -m)
  size_t header_size_limit = 102400;
  int max_nesting = 100;  // MIME nesting the walker follows at most
  // Called before the body lines of each leaf part (and of the message body
  // without MIME), so a caller can count bytes per part.
  std::function<void()> on_part_body;
};

// Calls `visit` for every key in message order. Stops early when `visit`
// returns false.
void WalkMessage(std::string_view message, const WalkOptions& options,
                 const std::function<bool(MessagePart part, std::string_view text)>& visit);

}  // namespace posthaste::tables
