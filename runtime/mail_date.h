// mail_date.h: dates in message headers as Postfix writes them.
#pragma once

#include <cstdint>
#include <string>

namespace posthaste::runtime {

// RFC 5322 date in the local time zone, in Postfix 3.7's mail_date form: the
// day of the month padded with a blank, not a zero ("Tue,  3 Mar 2026
// 10:15:03 +0100 (CET)"). Used for Received:, Date:, notices and forwarded
// copies.
std::string FormatMailDate(int64_t micros);

}  // namespace posthaste::runtime
