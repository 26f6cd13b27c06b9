// dsn.h: RFC 3461 delivery status notification requests, as SMTP clients
// make them (MAIL FROM RET= / ENVID=, RCPT TO NOTIFY= / ORCPT=) and as the
// queue keeps them per message and per recipient.
//
// The SMTP parser (smtp_command.h) produces these values, cleanup and the
// queue store carry them (queue_record.h), the queue manager decides from
// them which notices to send (failure, delay, success) and the smtp client
// passes them on to a next hop that offers DSN.
#pragma once

#include <cstdint>

namespace posthaste::runtime {

// RET=: what a non-delivery notice returns of the original message.
enum class DsnRet : uint8_t { kUnspecified = 0, kFull = 1, kHeaders = 2 };

// NOTIFY= as a bit mask; 0 means "not given": failures and delays are
// reported, successes are not.
inline constexpr uint8_t kDsnNotifyNever = 1u << 0;
inline constexpr uint8_t kDsnNotifySuccess = 1u << 1;
inline constexpr uint8_t kDsnNotifyFailure = 1u << 2;
inline constexpr uint8_t kDsnNotifyDelay = 1u << 3;
inline constexpr uint8_t kDsnNotifyAll = 0x0f;

// Whether a recipient with NOTIFY bits `notify` wants to hear about a
// failure / a delay / a success.
inline bool DsnWantsFailure(uint8_t notify) { return notify == 0 || (notify & kDsnNotifyFailure); }
inline bool DsnWantsDelay(uint8_t notify) { return notify == 0 || (notify & kDsnNotifyDelay); }
inline bool DsnWantsSuccess(uint8_t notify) { return (notify & kDsnNotifySuccess) != 0; }

}  // namespace posthaste::runtime
