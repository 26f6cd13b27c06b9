#include "runtime/smtpd_command_counts.h"

#include "absl/strings/ascii.h"

namespace posthaste::runtime {
namespace {

// smtpd's command table order; "unknown" last.
constexpr std::array<std::string_view, 16> kNames = {
    "helo", "ehlo", "xclient", "xforward", "starttls", "auth", "mail", "rcpt",
    "data", "bdat", "rset",    "noop",     "vrfy",     "etrn", "quit", "unknown"};

bool SameIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (absl::ascii_tolower(static_cast<unsigned char>(a[i])) !=
        absl::ascii_tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

void AppendTally(std::string* out, std::string_view name, int ok, int total) {
  out->append(" ").append(name).append("=").append(std::to_string(ok));
  if (ok != total || total == 0) out->append("/").append(std::to_string(total));
}

}  // namespace

std::string_view SmtpdCommandCounts::CounterName(std::string_view verb) {
  for (std::string_view name : kNames) {
    if (name != "unknown" && SameIgnoringCase(name, verb)) return name;
  }
  return "unknown";
}

void SmtpdCommandCounts::Add(std::string_view name, bool ok) {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] != name) continue;
    ++tallies_[i].total;
    if (ok) ++tallies_[i].ok;
    return;
  }
}

std::string SmtpdCommandCounts::Summary() const {
  std::string out;
  int ok = 0, total = 0;
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (tallies_[i].total == 0) continue;
    AppendTally(&out, kNames[i], tallies_[i].ok, tallies_[i].total);
    ok += tallies_[i].ok;
    total += tallies_[i].total;
  }
  AppendTally(&out, "commands", ok, total);
  return out;
}

}  // namespace posthaste::runtime
