// smtpd_restrictions.cc: the restriction rows and the restriction lists.
#include "tables/smtpd_restrictions.h"

#include <strings.h>

namespace posthaste::tables {
namespace {

using Arg = SmtpdRestrictionArg;
using Input = SmtpdRestrictionInput;

constexpr SmtpdRestrictionInfo kRows[] = {
#define POSTHASTE_SMTPD_RESTRICTION(id, name, arg, input, stages, implemented, description) \
  {SmtpdRestriction::id, name, Arg::arg, Input::input, stages, implemented, description},
#include "tables/smtpd_restrictions.def"
#undef POSTHASTE_SMTPD_RESTRICTION
};

const SmtpdRestrictionList kLists[] = {
    {"smtpd_client_restrictions", kStageClient, SmtpdRestriction::kCheckClientAccess},
    {"smtpd_helo_restrictions", kStageHelo, SmtpdRestriction::kCheckHeloAccess},
    {"smtpd_sender_restrictions", kStageSender, SmtpdRestriction::kCheckSenderAccess},
    {"smtpd_relay_restrictions", kStageRecipient, SmtpdRestriction::kCheckRecipientAccess},
    {"smtpd_recipient_restrictions", kStageRecipient, SmtpdRestriction::kCheckRecipientAccess},
    {"smtpd_data_restrictions", kStageData, std::nullopt},
    {"smtpd_end_of_data_restrictions", kStageEndOfData, std::nullopt},
    {"smtpd_etrn_restrictions", kStageEtrn, SmtpdRestriction::kCheckEtrnAccess},
};

}  // namespace

absl::Span<const SmtpdRestrictionInfo> AllSmtpdRestrictions() { return kRows; }

const SmtpdRestrictionInfo* FindSmtpdRestriction(std::string_view name) {
  for (const SmtpdRestrictionInfo& row : kRows)
    if (row.name.size() == name.size() &&
        strncasecmp(row.name.data(), name.data(), name.size()) == 0)
      return &row;
  return nullptr;
}

const SmtpdRestrictionInfo& SmtpdRestrictionOf(SmtpdRestriction id) {
  return kRows[static_cast<size_t>(id)];
}

absl::Span<const SmtpdRestrictionList> SmtpdRestrictionLists() { return kLists; }

const SmtpdRestrictionList* FindSmtpdRestrictionList(std::string_view param) {
  for (const SmtpdRestrictionList& list : kLists)
    if (list.param == param) return &list;
  return nullptr;
}

}  // namespace posthaste::tables
