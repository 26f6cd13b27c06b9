// smtpd_command_counts.h: the per-command tallies of smtpd's disconnect line.
//
// Postfix's smtpd ends every session with
//
//   disconnect from host[addr] ehlo=1 mail=1 rcpt=0/1 data=0/1 quit=1 commands=3/5
//
// one "name=N" per command the client used (all N succeeded) or
// "name=OK/TOTAL" (some failed), in the order of smtpd's command table, then
// the sum as "commands=" (written OK/TOTAL also when the session had no
// commands: "commands=0/0"). Unrecognized commands, forbidden ones
// included, count as "unknown"; empty and unparsable lines and
// smtpd_noop_commands are not counted. A command fails when its (last)
// reply is 4xx or 5xx, except a "too many recipients" that smtpd lets pass
// (smtpd_recipient_overshoot_limit). Seen against Postfix 3.7.11.
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace posthaste::runtime {

class SmtpdCommandCounts {
 public:
  // Counts one command by its counter name (CounterName); names outside
  // the table are ignored.
  void Add(std::string_view name, bool ok);
  // " ehlo=1 mail=1 ... commands=3/5" (with the leading blank).
  std::string Summary() const;

  // The counter for a command verb as the client wrote it: "ehlo", "mail",
  // ... for smtpd's commands (any case), "unknown" for anything else.
  static std::string_view CounterName(std::string_view verb);

 private:
  struct Tally {
    int ok = 0;
    int total = 0;
  };
  static constexpr size_t kCounters = 16;
  std::array<Tally, kCounters> tallies_{};
};

}  // namespace posthaste::runtime
