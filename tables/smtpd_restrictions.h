// smtpd_restrictions.h: the SMTP server's restriction names as data.
//
// One vocabulary for both sides: `phc check` uses it to refuse restriction
// lists naming something posthasted cannot do (unknown names, and names
// Postfix knows but our runtime does not implement), and the runtime's
// access evaluator (runtime/smtpd_access.h) uses it to parse the same
// lists. The rows live in smtpd_restrictions.def; this header also names the
// smtpd_*_restrictions parameters and the restriction each list applies to
// a bare "type:table" item. Pure data and lookups; no state, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "absl/types/span.h"

namespace posthaste::tables {

// The restriction lists (and so the SMTP stages) a restriction is useful in.
enum SmtpdStageBit : uint16_t {
  kStageClient = 1 << 0,    // smtpd_client_restrictions (connect)
  kStageHelo = 1 << 1,      // smtpd_helo_restrictions
  kStageSender = 1 << 2,    // smtpd_sender_restrictions (MAIL)
  kStageRecipient = 1 << 3,  // smtpd_relay_restrictions, smtpd_recipient_restrictions (RCPT, VRFY)
  kStageData = 1 << 4,      // smtpd_data_restrictions
  kStageEndOfData = 1 << 5,  // smtpd_end_of_data_restrictions
  kStageEtrn = 1 << 6,      // smtpd_etrn_restrictions
  kStageAll = 0x7f,
  kStageFromHelo = kStageHelo | kStageSender | kStageRecipient | kStageData | kStageEndOfData |
                   kStageEtrn,
  kStageFromMail = kStageSender | kStageRecipient | kStageData | kStageEndOfData,
  kStageFromRcpt = kStageRecipient | kStageData | kStageEndOfData,
};

// What the list item after the restriction name is.
enum class SmtpdRestrictionArg : uint8_t { kNone, kTable, kDomain, kServer, kSeconds };
// Which session fact the restriction looks at.
enum class SmtpdRestrictionInput : uint8_t {
  kNone, kClient, kHelo, kSender, kRecipient, kEtrn, kTransaction
};

enum class SmtpdRestriction : uint8_t {
#define POSTHASTE_SMTPD_RESTRICTION(id, name, arg, input, stages, implemented, description) id,
#include "tables/smtpd_restrictions.def"
#undef POSTHASTE_SMTPD_RESTRICTION
};

struct SmtpdRestrictionInfo {
  SmtpdRestriction id;
  std::string_view name;  // lower case, as documented
  SmtpdRestrictionArg arg;
  SmtpdRestrictionInput input;
  uint16_t stages;        // SmtpdStageBit mask
  bool implemented;       // posthasted carries it out
  std::string_view description;
};

// Every row, in .def order.
absl::Span<const SmtpdRestrictionInfo> AllSmtpdRestrictions();
// Case-insensitive lookup (smtpd compares restriction names with
// strcasecmp); nullptr for a name Postfix does not know.
const SmtpdRestrictionInfo* FindSmtpdRestriction(std::string_view name);
const SmtpdRestrictionInfo& SmtpdRestrictionOf(SmtpdRestriction id);

// One smtpd_*_restrictions parameter.
struct SmtpdRestrictionList {
  std::string_view param;     // "smtpd_client_restrictions"
  uint16_t stage;             // its SmtpdStageBit
  // The restriction a bare "type:table" item stands for (check_client_access
  // in the client list ...); none in the DATA and END-OF-DATA lists, where
  // smtpd answers such an item with a server configuration error.
  std::optional<SmtpdRestriction> default_access;
};
absl::Span<const SmtpdRestrictionList> SmtpdRestrictionLists();
// The list `param` names, or nullptr when it is not a restriction list.
const SmtpdRestrictionList* FindSmtpdRestrictionList(std::string_view param);

}  // namespace posthaste::tables
