// log_address.h: addresses as Postfix logs them.
//
// With info_log_address_format = external (the default), Postfix logs an
// address in its RFC 5321 form: a local part that is not a dot-atom (empty,
// with specials or blanks, a leading, trailing or doubled dot) is quoted,
// with '"' and '\\' escaped: ""@example.com, "john smith"@example.com.
// smtpd, cleanup and the queue manager use it for from=, to= and orig_to=,
// and cleanup for the From: header it adds (Postfix's quote_822_local).
#pragma once

#include <string>
#include <string_view>

namespace posthaste::runtime {

// The external form of an internal (unquoted) address; "" stays "".
std::string ExternalLogForm(std::string_view addr);

}  // namespace posthaste::runtime
