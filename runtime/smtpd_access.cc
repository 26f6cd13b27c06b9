// smtpd_access.cc: parsing the restriction lists once, evaluating them per command.
//
// Evaluation follows Postfix 3.7 smtpd's order of decisions closely, because
// the observable behaviour (which list decides, which reply, which log
// lines, in which order) depends on it: a walk over one restriction list
// that stops at the first permit or reject, warn_if_reject scoped to the
// next restriction at the same nesting level, defer_if_permit and
// defer_if_reject remembered per stage, and configuration or lookup errors
// that abandon the whole stage with a 451 reply. Per call, all state lives
// in one Eval object on the caller's stack.
#include "runtime/smtpd_access.h"

#include <pwd.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <deque>
#include <map>

#include "runtime/log_address.h"
#include "runtime/macro_expand.h"
#include "runtime/match_list.h"
#include "runtime/printable.h"
#include "runtime/service_params.h"
#include "tables/address_lookup.h"
#include "tables/casefold.h"
#include "tables/dnsxl_pattern.h"
#include "tables/idna.h"
#include "tables/memory_table.h"
#include "tables/message_walker.h"
#include "tables/route_rules.h"
#include "tables/route_vm.h"
#include "tables/smtpd_restrictions.h"
#include "tables/str_cat.h"

namespace posthaste::runtime {
namespace {

using tables::Cat;
using R = tables::SmtpdRestriction;

// Restriction results (Postfix's SMTPD_CHECK_*).
enum Status { kDunno = 0, kOk = 1, kReject = 2 };
// Postfix's MAIL_ERROR_* classes: which rejections warn_if_reject may soften.
enum ErrorClass { kPolicy = 1, kProtocol, kBounce, kSoftware, kResource, kData };

constexpr std::string_view kClientClass = "Client host";
constexpr std::string_view kRevClientClass = "Unverified Client host";
constexpr std::string_view kHeloClass = "Helo command";
constexpr std::string_view kSenderClass = "Sender address";
constexpr std::string_view kRecipientClass = "Recipient address";
constexpr std::string_view kDataClass = "Data command";
constexpr std::string_view kEodClass = "End-of-data";
constexpr std::string_view kEtrnClass = "Etrn command";
constexpr int kMaxRecursion = 100;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

// Restriction list words: commas and white space separate, {...} stays whole.
std::vector<std::string> Words(std::string_view value) { return SplitPostfixList(value); }

// One step of a pre-parsed restriction list.
struct Step {
  enum Kind : uint8_t {
    kRestriction,   // `id`, with `arg`/`table` for table restrictions
    kClass,         // `class_index`
    kBadArgument,   // "check_x_access" without type:table (server error)
    kBareTable,     // a bare type:table: the list's default access check
  } kind = kRestriction;
  R id = R::kPermit;
  std::string name;  // as written
  std::string arg;   // the table name, or the bad argument
  const tables::Table* table = nullptr;
  size_t class_index = 0;
};
using StepList = std::vector<Step>;

// unix:passwd.byname: getpwnam_r on the key (a local part).
class UnixPasswdTable : public tables::Table {
 public:
  tables::LookupResult Lookup(std::string_view key) const override {
    if (key.empty() || key.find('@') != std::string_view::npos || key.size() > 256)
      return tables::LookupResult::NotFound();
    std::string name(key);
    passwd pw{};
    passwd* result = nullptr;
    long size = sysconf(_SC_GETPW_R_SIZE_MAX);
    std::vector<char> buf(size > 0 ? static_cast<size_t>(size) : 16384);
    for (;;) {
      int rc = getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &result);
      if (rc == ERANGE && buf.size() < (1u << 20)) {
        buf.resize(buf.size() * 2);
        continue;
      }
      if (rc != 0 && rc != ENOENT && rc != ESRCH && rc != EBADF && rc != EPERM)
        return tables::LookupResult::TryAgain(Cat("getpwnam_r: ", strerror(rc)));
      break;
    }
    if (!result) return tables::LookupResult::NotFound();
    return tables::LookupResult::Found(Cat(pw.pw_name, ":", pw.pw_uid, ":", pw.pw_gid, ":",
                                           pw.pw_dir, ":", pw.pw_shell));
  }
  bool FoldsCase() const override { return false; }
};

// A table list parameter (local_recipient_maps, virtual_alias_maps ...);
// a null entry is a table the bundle lacks.
struct TableList {
  std::vector<const tables::Table*> tables;
  std::vector<std::string> names;
  bool empty() const { return tables.empty(); }
};

// A deferral remembered for later (defer_if_permit / defer_if_reject).
struct Deferral {
  bool active = false;
  int error_class = 0;
  int code = 0;
  std::string dsn;
  std::string reason;
};

// Postfix's dsn_valid(): "d.ddd.ddd" followed by the end or white space.
size_t DsnValid(std::string_view t) {
  if (t.size() < 5 || (t[0] != '2' && t[0] != '4' && t[0] != '5') || t[1] != '.') return 0;
  size_t i = 2, n = 0;
  while (i < t.size() && isdigit(static_cast<unsigned char>(t[i]))) ++i, ++n;
  if (n < 1 || n > 3 || i >= t.size() || t[i] != '.') return 0;
  ++i;
  n = 0;
  while (i < t.size() && isdigit(static_cast<unsigned char>(t[i]))) ++i, ++n;
  if (n < 1 || n > 3 || (i < t.size() && !isspace(static_cast<unsigned char>(t[i])))) return 0;
  return i;
}

// Postfix's dsn_split(): an optional enhanced status code, then the text.
void DsnSplit(std::string_view def_dsn, std::string_view text, std::string* dsn,
              std::string_view* rest) {
  while (!text.empty() && isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  if (size_t len = DsnValid(text)) {
    *dsn = std::string(text.substr(0, len));
    text.remove_prefix(std::min(text.size(), len + 1));
  } else {
    *dsn = std::string(def_dsn);
  }
  while (!text.empty() && isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  *rest = text;
}

// Postfix's smtpd_dsn_fix(): address DSNs follow what is being rejected.
std::string DsnFix(const std::string& status, std::string_view reply_class) {
  if (status.size() < 5 || !isdigit(static_cast<unsigned char>(status[0])) ||
      status.compare(1, 3, ".1.") != 0)
    return status;
  struct Map {
    const char* micro;
    const char* sender;
    const char* rcpt;
  };
  static const Map kMap[] = {{"1", "4.1.0", "4.1.1"}, {"2", "4.1.8", "4.1.2"},
                             {"3", "4.1.7", "4.1.3"}, {"4", "4.1.0", "4.1.4"},
                             {"5", "4.1.0", "4.1.5"}, {"6", "4.1.0", "4.1.6"},
                             {"7", "4.1.7", "4.1.3"}, {"8", "4.1.8", "4.1.2"}};
  std::string_view micro = std::string_view(status).substr(4);
  const char* sender = "4.1.0";
  const char* rcpt = "4.1.0";
  for (const Map& m : kMap)
    if (micro == m.micro) {
      sender = m.sender;
      rcpt = m.rcpt;
    }
  if (reply_class == kSenderClass) return sender;
  if (reply_class == kRecipientClass) return rcpt;
  return "4.0.0";
}

// Postfix's valid_hostname().
bool ValidHostname(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  size_t label = 0;
  bool non_numeric = false;
  for (size_t i = 0; i < name.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(name[i]);
    if (isalnum(c) || c == '_') {
      ++label;
      if (label > 63) return false;
      if (!isdigit(c)) non_numeric = true;
    } else if (c == '.') {
      if (label == 0 || i + 1 == name.size()) return false;
      label = 0;
    } else if (c == '-') {
      ++label;
      if (label == 1 || i + 1 == name.size() || name[i + 1] == '.') return false;
    } else {
      return false;
    }
  }
  return non_numeric;
}

bool ValidIpv4(std::string_view a) {
  int bytes = 0, value = 0;
  bool in_byte = false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (isdigit(static_cast<unsigned char>(c))) {
      if (!in_byte) {
        in_byte = true;
        value = 0;
        ++bytes;
      }
      value = value * 10 + (c - '0');
      if (value > 255) return false;
    } else if (c == '.') {
      if (!in_byte || i + 1 == a.size()) return false;
      if (bytes == 1 && value == 0 && a.find_first_not_of("0.") != std::string_view::npos)
        return false;
      in_byte = false;
    } else {
      return false;
    }
  }
  return bytes == 4;
}

bool ValidIpv6(std::string_view a) {
  int null_field = 0, field = 0;
  size_t len = 0, i = 0;
  for (;;) {
    if (i >= a.size()) {
      if (field < 2) return false;
      if (len == 0 && null_field != field - 1) return false;
      return true;
    }
    char c = a[i];
    if (c == '.') {
      if (field < 2 || field > 6) return false;
      return ValidIpv4(a.substr(i - len));
    }
    if (c == ':') {
      if (field == 0 && len == 0 && i + 1 < a.size() && isalnum(static_cast<unsigned char>(a[i + 1])))
        return false;
      if (++field > 7) return false;
      ++i;
      len = 0;
      if (i < a.size() && a[i] == ':') {
        if (null_field > 0) return false;
        null_field = field;
      }
      continue;
    }
    len = 0;
    while (i + len < a.size() && isxdigit(static_cast<unsigned char>(a[i + len]))) ++len;
    if (len == 0 || len > 4) return false;
    i += len;
  }
}

bool ValidHostaddr(std::string_view a) {
  if (a.empty()) return false;
  return a.find(':') != std::string_view::npos ? ValidIpv6(a) : ValidIpv4(a);
}

// valid_mailhost_addr(): an IPv4 address or "IPv6:" plus an IPv6 address.
bool ValidMailhostAddr(std::string_view a) {
  if (a.size() > 5 && IEquals(a.substr(0, 5), "ipv6:")) return ValidIpv6(a.substr(5));
  return ValidIpv4(a);
}

// Postfix's dup_if_truncate(): one trailing dot (not two) goes.
std::string_view TruncateDot(std::string_view s) {
  if (s.size() > 1 && s.back() == '.' && s[s.size() - 2] != '.') s.remove_suffix(1);
  return s;
}

// valid_utf8_hostname(): with SMTPUTF8, a name with non-ASCII labels passes
// when its ASCII parts do (IDNA conversion is approximated).
bool ValidUtf8Hostname(bool utf8, std::string_view name) {
  bool ascii = true;
  for (char c : name) ascii &= static_cast<unsigned char>(c) < 0x80;
  if (ascii || !utf8) return ValidHostname(name);
  std::string folded(name);
  for (char& c : folded)
    if (static_cast<unsigned char>(c) >= 0x80) c = 'x';
  return ValidHostname(folded);
}


}  // namespace

struct SmtpdAccess::Config {
  std::shared_ptr<const tables::Snapshot> snapshot;
  std::string service;

  StepList client, helo, sender, relay, recipient, data, eod, etrn;
  std::vector<StepList> classes;
  std::map<std::string, size_t, std::less<>> class_index;

  bool delay_reject = true;
  bool relay_before_rcpt = true;
  bool reject_unlisted_recipient = true;
  bool reject_unlisted_sender = false;
  bool no_unknown_recipient_checks = false;
  bool soft_bounce = false;
  bool client_port_logging = false;
  bool external_log_form = true;
  bool sasl_enable = false;
  bool smtputf8_enable = true;
  bool allow_untrusted_routing = false;
  bool show_unknown_table = true;
  bool proxy_filter = false;
  bool access_parent = true;
  bool percent_hack = true;
  bool swap_bangpath = true;

  int access_map_reject_code = 554, access_map_defer_code = 450, reject_code = 554,
      defer_code = 450, relay_code = 554, non_fqdn_code = 504, bad_name_code = 501,
      unknown_client_code = 450, plaintext_code = 450, local_rcpt_code = 550,
      relay_rcpt_code = 550, virt_alias_code = 550, virt_mailbox_code = 550,
      multi_rcpt_code = 550, unknown_address_code = 450, unknown_name_code = 450;
  // unknown_address_tempfail_action / unknown_helo_hostname_tempfail_action
  // is "defer" (else defer_if_permit).
  bool unknown_address_defer_all = false, unknown_name_defer_all = false;
  TableList sender_login_maps;  // smtpd_sender_login_maps
  bool ipv4 = true, ipv6 = true;  // inet_protocols (server address checks)
  // DNS lists: maps_rbl_reject_code ($rbl_code), the reply templates, the
  // characters a template value may carry, reject_maps_rbl's lists.
  int maps_rbl_code = 554;
  std::string default_rbl_reply;
  TableList rbl_reply_maps;
  std::string expand_filter;
  std::vector<std::string> maps_rbl_domains;

  std::string null_key = "<>";
  std::string recipient_delimiter;
  std::string double_bounce_sender = "double-bounce";
  std::string myorigin;
  tables::CanonicalFormOptions canon;

  MatchList mynetworks;
  std::string mynetworks_text;
  MatchList permit_log;
  MatchList smtpd_relay_domains;  // check_relay_domains: the client name
  std::vector<IpAddress> own_addresses, proxy_addresses;

  // Address classes (trivial-rewrite's view).
  MatchList mydestination, virtual_alias_domains, virtual_mailbox_domains, relay_domains;
  MatchList fast_flush_domains;  // ETRN
  TableList local_rcpt_maps, virtual_alias_maps, virtual_mailbox_maps, relay_rcpt_maps,
      canonical_maps, recipient_canonical_maps, sender_canonical_maps;

  std::unique_ptr<tables::RouteVm> route;
  std::vector<std::unique_ptr<tables::Table>> owned_tables;

  // A table by its configured name; nullptr when the bundle lacks it.
  // Served here: unix:passwd.byname (also through proxy:), static: tables
  // the bundle does not carry, and nis: (lookups disabled: never found).
  const tables::Table* FindTable(std::string_view name) {
    std::string_view n = name;
    if (n.substr(0, 6) == "proxy:") n.remove_prefix(6);
    if (n == "unix:passwd.byname") {
      owned_tables.push_back(std::make_unique<UnixPasswdTable>());
      return owned_tables.back().get();
    }
    if (const tables::Table* t = snapshot->FindTable(name)) return t;
    if (const tables::Table* t = snapshot->FindTable(n)) return t;
    if (n.substr(0, 4) == "nis:") {
      owned_tables.push_back(std::make_unique<tables::DisabledNisTable>());
      return owned_tables.back().get();
    }
    if (n.substr(0, 7) == "static:") {
      std::string_view text = n.substr(7);
      if (text.size() >= 2 && text.front() == '{' && text.back() == '}') {
        text = text.substr(1, text.size() - 2);
        while (!text.empty() && isspace(static_cast<unsigned char>(text.front())))
          text.remove_prefix(1);
        while (!text.empty() && isspace(static_cast<unsigned char>(text.back())))
          text.remove_suffix(1);
      }
      owned_tables.push_back(std::make_unique<tables::StaticTable>(std::string(text)));
      return owned_tables.back().get();
    }
    return nullptr;
  }
};

namespace {

using Config = SmtpdAccess::Config;

bool IsOwnAddress(const std::vector<IpAddress>& list, std::string_view text) {
  IpAddress a;
  if (!ParseIpAddress(text, &a)) return false;
  for (const IpAddress& b : list)
    if (a.family == b.family && std::memcmp(a.bytes, b.bytes, a.size()) == 0) return true;
  return false;
}

// The address classes of trivial-rewrite's resolve().
enum class AddrClass { kLocal, kAlias, kVirtual, kRelay, kDefault };

struct Resolved {
  std::string input;
  std::string address;  // canonical, case-folded
  std::string domain;
  bool has_at = false;
  bool routed = false;  // sender-specified routing left of a remote domain (user%host@relay)
  AddrClass cls = AddrClass::kDefault;
  bool fail = false;    // a class list could not be searched
  bool classified = false;
  std::string why;
};

class Eval {
 public:
  Eval(const Config& c, SmtpdStage stage, const SmtpdFacts& f)
      : c_(c), stage_(stage), f_(f), discard_(f.discard), hold_(f.hold) {
    v_.carry = f.carry;
    switch (stage) {
      case SmtpdStage::kConnect: where_ = "CONNECT"; break;
      case SmtpdStage::kHelo: where_ = f.ehlo ? "EHLO" : "HELO"; break;
      case SmtpdStage::kMail: where_ = "MAIL"; break;
      case SmtpdStage::kRcpt: where_ = "RCPT"; break;
      case SmtpdStage::kData: where_ = "DATA"; break;
      case SmtpdStage::kEndOfData: where_ = "END-OF-MESSAGE"; break;
      case SmtpdStage::kVrfy: where_ = "VRFY"; break;
      case SmtpdStage::kEtrn: where_ = "ETRN"; break;
    }
    namaddr_ = Cat(f.client_name, "[", f.client_addr, "]");
    if (c.client_port_logging) namaddr_ += Cat(":", static_cast<int>(f.client_port));
    if (!f.helo.empty()) helo_ = &f.helo;
    if (f.sender && stage != SmtpdStage::kConnect && stage != SmtpdStage::kHelo)
      sender_ = &*f.sender;
    if (stage == SmtpdStage::kRcpt || stage == SmtpdStage::kVrfy ||
        ((stage == SmtpdStage::kData || stage == SmtpdStage::kEndOfData) &&
         f.recipient_count == 1 && !f.recipient.empty()))
      recipient_ = &f.recipient;
  }

  AccessVerdict Run() {
    int status = kDunno;
    try {
      status = RunStage();
    } catch (NeedDns& need) {
      AccessVerdict v;
      v.dns_needed = std::move(need.query);
      return v;
    }
    if (status == kReject) {
      v_.reply = error_text_;
      v_.result = !error_text_.empty() && error_text_[0] == '4' ? AccessVerdict::Result::kDefer
                                                                : AccessVerdict::Result::kReject;
    } else if (status == kOk) {
      v_.result = AccessVerdict::Result::kPermit;
    }
    return std::move(v_);
  }

 private:
  // Thrown when a restriction needs a DNS answer the facts lack: the walk
  // stops at once, whatever it collected is dropped (Run answers with only
  // dns_needed), and the session asks again once it has the answer.
  struct NeedDns {
    SmtpdDnsQuery query;
  };

  int RunStage() {
    int status = kDunno;
    switch (stage_) {
      case SmtpdStage::kConnect:
        if (!c_.delay_reject) status = CheckClient();
        break;
      case SmtpdStage::kHelo:
        if (!c_.delay_reject) status = CheckHelo();
        break;
      case SmtpdStage::kMail:
        if (!c_.delay_reject) status = CheckMail();
        break;
      case SmtpdStage::kRcpt:
      case SmtpdStage::kVrfy:
        status = CheckRcpt();
        break;
      case SmtpdStage::kData:
        status = CheckData(c_.data, "DATA", kDataClass);
        break;
      case SmtpdStage::kEndOfData:
        status = CheckData(c_.eod, "END-OF-MESSAGE", kEodClass);
        break;
      case SmtpdStage::kEtrn:
        status = CheckEtrn();
        break;
    }
    return status;
  }

  // --- the per-stage drivers (Postfix's smtpd_check_client ... _eod) ---

  void ResetStage() {
    recursion_ = 0;
    warn_if_reject_ = 0;
    defer_if_reject_.active = false;
    aborted_ = false;
  }

  // defer_if_permit is shared by all stages; the carry records which stage
  // raised it.
  void RestoreDeferIfPermit(bool active) {
    defer_if_permit_.active = active;
    if (active && defer_if_permit_.code == 0) {
      defer_if_permit_.error_class = v_.carry.error_class;
      defer_if_permit_.code = v_.carry.code;
      defer_if_permit_.dsn = v_.carry.dsn;
      defer_if_permit_.reason = v_.carry.reason;
    }
  }
  void SaveDeferIfPermit(bool* flag) {
    *flag = defer_if_permit_.active;
    if (defer_if_permit_.active) {
      v_.carry.error_class = defer_if_permit_.error_class;
      v_.carry.code = defer_if_permit_.code;
      v_.carry.dsn = defer_if_permit_.dsn;
      v_.carry.reason = defer_if_permit_.reason;
    }
  }

  int CheckClient() {
    defer_if_permit_.active = false;
    ResetStage();
    int status = Generic(c_.client, namaddr_, kClientClass, R::kCheckClientAccess);
    SaveDeferIfPermit(&v_.carry.client);
    return status == kReject ? kReject : kDunno;
  }

  int CheckHelo() {
    if (!helo_) return kDunno;
    RestoreDeferIfPermit(v_.carry.client);
    ResetStage();
    int status = Generic(c_.helo, *helo_, kHeloClass, R::kCheckHeloAccess);
    SaveDeferIfPermit(&v_.carry.helo);
    return status == kReject ? kReject : kDunno;
  }

  int CheckMail() {
    if (!sender_) return kDunno;
    RestoreDeferIfPermit(v_.carry.client || v_.carry.helo);
    sender_rcptmap_checked_ = false;
    ResetStage();
    int status = Generic(c_.sender, *sender_, kSenderClass, R::kCheckSenderAccess);
    SaveDeferIfPermit(&v_.carry.sender);
    if (c_.reject_unlisted_sender && status != kReject && !sender_rcptmap_checked_ && !discard_ &&
        !sender_->empty())
      status = CheckSenderRcptMaps(*sender_);
    return status == kReject ? kReject : kDunno;
  }

  int CheckRcpt() {
    const std::string& rcpt = f_.recipient;
    if (IEquals(rcpt, "postmaster")) return kDunno;
    recipient_rcptmap_checked_ = false;
    if (c_.delay_reject)
      if (CheckClient() == kReject || CheckHelo() == kReject || CheckMail() == kReject)
        return kReject;
    RestoreDeferIfPermit(v_.carry.sender);
    ResetStage();
    const StepList* lists[2] = {&c_.recipient, &c_.relay};
    if (c_.relay_before_rcpt) std::swap(lists[0], lists[1]);
    int status = kDunno;
    for (const StepList* list : lists) {
      aborted_ = false;
      status = list->empty() ? kDunno
                              : Generic(*list, rcpt, kRecipientClass, R::kCheckRecipientAccess);
      if (status == kReject) break;
    }
    if (status != kReject && defer_if_permit_.active)
      status = CheckReject(defer_if_permit_.error_class, defer_if_permit_.code,
                           defer_if_permit_.dsn, defer_if_permit_.reason);
    if (c_.reject_unlisted_recipient && status != kReject && !recipient_rcptmap_checked_ &&
        !discard_)
      status = CheckRecipientRcptMaps(rcpt);
    return status;
  }

  // Postfix's smtpd_check_etrn(): the ETRN restrictions with the domain as
  // the name in replies; without delayed rejects the client ones first.
  int CheckEtrn() {
    defer_if_permit_.active = false;
    ResetStage();
    int status = kDunno;
    if (!c_.delay_reject && !c_.client.empty())
      status = Generic(c_.client, namaddr_, kClientClass, R::kCheckClientAccess);
    if (status != kReject && status != kOk && !c_.etrn.empty()) {
      ResetStage();
      status = Generic(c_.etrn, f_.etrn_domain, kEtrnClass, R::kCheckEtrnAccess);
    }
    if (status != kReject && defer_if_permit_.active)
      status = CheckReject(defer_if_permit_.error_class, defer_if_permit_.code,
                           defer_if_permit_.dsn, defer_if_permit_.reason);
    return status;
  }

  int CheckData(const StepList& list, std::string_view reply_name, std::string_view reply_class) {
    defer_if_permit_.active = false;
    ResetStage();
    int status = list.empty() ? kDunno : Generic(list, reply_name, reply_class, std::nullopt);
    if (status != kReject && defer_if_permit_.active)
      status = CheckReject(defer_if_permit_.error_class, defer_if_permit_.code,
                           defer_if_permit_.dsn, defer_if_permit_.reason);
    return status;
  }

  // --- logging and replies ---

  void Warn(std::string text) { v_.warnings.push_back(std::move(text)); }

  std::string LogAddress(const std::string& a) const {
    return c_.external_log_form ? ExternalLogForm(a) : a;
  }

  void LogWhatsup(std::string_view whatsup, std::string_view text) {
    std::string line = Cat(f_.queue_id.empty() ? std::string_view("NOQUEUE") : f_.queue_id, ": ",
                           whatsup, ": ", where_, " from ", namaddr_, ": ", text, ";");
    if (sender_) line += Cat(" from=<", LogAddress(*sender_), ">");
    if (recipient_) line += Cat(" to=<", LogAddress(*recipient_), ">");
    line += Cat(" proto=", f_.protocol);
    if (helo_) line += Cat(" helo=<", *helo_, ">");
    v_.log_lines.push_back(std::move(line));
  }

  // Postfix's smtpd_check_reject(): formats, validates and logs a
  // rejection; warn_if_reject turns it into a reject_warning (kDunno).
  int CheckReject(int error_class, int code, std::string_view dsn, std::string_view text) {
    bool warn = warn_if_reject_ != 0 && error_class != kSoftware && error_class != kResource &&
                error_class != kData;
    std::string reply = Cat(code, " ", dsn, " ", text);
    if (code < 400 || code > 599) {
      Warn(Cat("SMTP reply code configuration error: ", reply));
      reply = "450 4.7.1 Service unavailable";
    }
    if (reply.size() < 5 || !DsnValid(std::string_view(reply).substr(4))) {
      Warn(Cat("DSN detail code configuration error: ", reply));
      reply = "450 4.7.1 Service unavailable";
    }
    if (reply.size() > 510) reply.resize(510);
    Printable(&reply, c_.smtputf8_enable, ' ');
    if (!warn && defer_if_reject_.active && reply[0] == '5') {
      warn_if_reject_ = 0;
      defer_if_reject_.active = false;
      return CheckReject(defer_if_reject_.error_class, defer_if_reject_.code,
                         defer_if_reject_.dsn, defer_if_reject_.reason);
    }
    if (c_.soft_bounce && reply[0] == '5') reply[0] = '4';
    reply[4] = reply[0];
    LogWhatsup(warn ? "reject_warning" : "reject", reply);
    error_text_ = std::move(reply);
    return warn ? kDunno : kReject;
  }

  void DeferIf(Deferral* d, int error_class, int code, std::string_view dsn,
               std::string reason) {
    if (d->active) return;  // keep the first reason
    d->active = true;
    d->error_class = error_class;
    d->code = code;
    d->dsn = std::string(dsn);
    d->reason = std::move(reason);
  }

  // DEFER_IF_PERMIT2: with warn_if_reject in force, log a reject_warning
  // for it right away instead.
  int DeferIfPermit(int error_class, int code, std::string_view dsn, std::string reason) {
    if (warn_if_reject_ == 0) {
      DeferIf(&defer_if_permit_, error_class, code, dsn, std::move(reason));
      return kDunno;
    }
    return CheckReject(error_class, code, dsn, reason);
  }

  // Abandons the stage (Postfix longjmps out of the restriction walk).
  int RejectDictRetry(std::string_view reply_name) {
    int s = CheckReject(kData, 451, "4.3.0", Cat("<", reply_name, ">: Temporary lookup failure"));
    aborted_ = true;
    return s;
  }
  int RejectServerError() {
    int s = CheckReject(kSoftware, 451, "4.3.5", "Server configuration error");
    aborted_ = true;
    return s;
  }

  int AclPermit(std::string_view action, std::string_view reply_class,
                std::string_view reply_name, std::string_view extra) {
    if (!defer_if_permit_.active && !c_.permit_log.empty() &&
        c_.permit_log.MatchString(action) == MatchStatus::kMatch) {
      // Postfix always appends " " and the extra text, even an empty one.
      LogWhatsup("permit", Cat("action=", action, " for ", reply_class, "=", reply_name, " ", extra));
    }
    return kOk;
  }

  // --- the restriction walk (Postfix's generic_checks) ---

  int Generic(const StepList& list, std::string_view reply_name, std::string_view reply_class,
              std::optional<R> def_acl) {
    int saved_recursion = recursion_++;
    int status = kDunno;
    for (size_t i = 0; i < list.size(); ++i) {
      if (discard_) break;
      const Step& s = list[i];
      if (s.kind == Step::kRestriction && s.id == R::kWarnIfReject) {
        if (warn_if_reject_ == 0) warn_if_reject_ = recursion_;
        continue;
      }
      status = RunStep(list, i, reply_name, reply_class, def_acl);
      if (aborted_) {
        recursion_ = saved_recursion;
        return kReject;
      }
      if (warn_if_reject_ >= recursion_) warn_if_reject_ = 0;
      if (status != kDunno) break;
      if (defer_if_permit_.active && defer_if_reject_.active) break;
    }
    recursion_ = saved_recursion;
    if (warn_if_reject_ >= recursion_) warn_if_reject_ = 0;
    return status;
  }

  int RunStep(const StepList& list, size_t i, std::string_view reply_name,
              std::string_view reply_class, std::optional<R> def_acl) {
    const Step& s = list[i];
    bool more = i + 1 < list.size();
    switch (s.kind) {
      case Step::kClass:
        if (recursion_ > kMaxRecursion) {
          Warn(Cat("restriction class ", s.name, " causes unreasonable recursion"));
          return RejectServerError();
        }
        return Generic(c_.classes[s.class_index], reply_name, reply_class, def_acl);
      case Step::kBadArgument:
        Warn(Cat("restriction ", s.name, ": bad argument \"", s.arg,
                 "\": need maptype:mapname"));
        return RejectServerError();
      case Step::kBareTable:
        if (!def_acl) {
          Warn(Cat("specify one of (check_client_access, check_reverse_client_hostname_access, "
                   "check_helo_access, check_sender_access, check_recipient_access, "
                   "check_etrn_access) before ",
                   reply_class, " restriction \"", s.arg, "\""));
          return RejectServerError();
        }
        next_name_ = more ? list[i + 1].name : std::string();
        return RunRestriction(*def_acl, tables::SmtpdRestrictionOf(*def_acl).name, s.arg, s.table,
                              more, reply_name, reply_class, def_acl);
      case Step::kRestriction:
        break;
    }
    next_name_ = more ? list[i + 1].name : std::string();
    return RunRestriction(s.id, s.name, s.arg, s.table, more, reply_name, reply_class, def_acl);
  }

  int RunRestriction(R id, std::string_view name, std::string_view arg,
                     const tables::Table* table, bool more, std::string_view reply_name,
                     std::string_view reply_class, std::optional<R> def_acl) {
    const std::string* sender = sender_;
    const std::string* rcpt = recipient_;
    // A DNS list restriction without its list: Postfix warns and goes on.
    if (arg.empty() && tables::SmtpdRestrictionOf(id).arg == tables::SmtpdRestrictionArg::kDomain) {
      Warn(Cat("restriction ", name, " requires domain name argument"));
      return kDunno;
    }
    switch (id) {
      case R::kPermit: {
        int st = AclPermit(name, reply_class, reply_name, "");
        if (more) Warn(Cat("restriction `", NextName(), "' after `permit' is ignored"));
        return st;
      }
      case R::kReject: {
        int st = CheckReject(kPolicy, c_.reject_code, "5.7.1",
                             Cat("<", reply_name, ">: ", reply_class, " rejected: Access denied"));
        if (more && warn_if_reject_ == 0)
          Warn(Cat("restriction `", NextName(), "' after `reject' is ignored"));
        return st;
      }
      case R::kDefer: {
        int st = CheckReject(kPolicy, c_.defer_code, "4.3.2",
                             Cat("<", reply_name, ">: ", reply_class, " rejected: Try again later"));
        if (more && warn_if_reject_ == 0)
          Warn(Cat("restriction `", NextName(), "' after `defer' is ignored"));
        return st;
      }
      case R::kDeferIfPermit:
        return DeferIfPermit(kPolicy, 450, "4.7.0",
                             Cat("<", reply_name, ">: ", reply_class,
                                 " rejected: defer_if_permit requested"));
      case R::kDeferIfReject:
        DeferIf(&defer_if_reject_, kPolicy, 450, "4.7.0",
                Cat("<", reply_name, ">: ", reply_class, " rejected: defer_if_reject requested"));
        return kDunno;
      case R::kWarnIfReject:
        return kDunno;
      case R::kRejectUnauthPipelining:
        if (f_.improper_pipelining)
          return CheckReject(kProtocol, 503, "5.5.0",
                             Cat("<", reply_name, ">: ", reply_class,
                                 " rejected: Improper use of SMTP command pipelining"));
        return kDunno;
      case R::kRejectPlaintextSession:
        if (!f_.encrypted)
          return CheckReject(kPolicy, c_.plaintext_code, "4.7.1", "Session encryption is required");
        return kDunno;

      // client
      case R::kPermitMynetworks: {
        std::string why;
        MatchStatus m = c_.mynetworks.MatchHost(f_.client_name, f_.client_addr, &why);
        if (m == MatchStatus::kTryAgain) {
          Warn(Cat("mynetworks: ", why));
          return RejectDictRetry(reply_name);
        }
        if (m == MatchStatus::kMatch) return AclPermit(name, kClientClass, namaddr_, "");
        return kDunno;
      }
      case R::kPermitInetInterfaces:
        if (IsOwnAddress(c_.own_addresses, f_.client_addr))
          return AclPermit(name, kClientClass, namaddr_, "");
        return kDunno;
      case R::kPermitSaslAuthenticated:
        if (c_.sasl_enable && !f_.sasl_username.empty())
          return AclPermit(name, kClientClass, namaddr_, "");
        return kDunno;
      case R::kCheckClientAccess:
        return CheckNamadrAccess(arg, table, f_.client_name, f_.client_addr, namaddr_,
                                 kClientClass, def_acl);
      case R::kCheckReverseClientHostnameAccess: {
        int st = CheckNamadrAccess(arg, table, f_.reverse_client_name, f_.client_addr,
                                   f_.reverse_client_name, kRevClientClass, def_acl);
        if (aborted_) return st;
        return ForbidAllowlist(name, st, f_.reverse_client_name);
      }
      case R::kRejectUnknownClientHostname:
      case R::kRejectUnknownClient: {
        PeerNameStatus ns = NameStatus(f_.client_name_status, f_.client_name);
        if (ns != PeerNameStatus::kOk)
          return CheckReject(kPolicy, ns == PeerNameStatus::kPermFail ? c_.unknown_client_code : 450,
                             "4.7.25",
                             Cat("Client host rejected: cannot find your hostname, [",
                                 f_.client_addr, "]"));
        return kDunno;
      }
      case R::kRejectUnknownReverseClientHostname: {
        PeerNameStatus ns = NameStatus(f_.reverse_client_name_status, f_.reverse_client_name);
        if (ns != PeerNameStatus::kOk)
          return CheckReject(kPolicy, ns == PeerNameStatus::kPermFail ? c_.unknown_client_code : 450,
                             "4.7.1",
                             Cat("Client host rejected: cannot find your reverse hostname, [",
                                 f_.client_addr, "]"));
        return kDunno;
      }

      case R::kRejectRblClient:
      case R::kRejectRbl:
        return RejectRblAddr(arg, f_.client_addr, kClientClass);
      case R::kRejectMapsRbl: {
        Warn(Cat("support for restriction \"reject_maps_rbl\" will be removed from Postfix; "
                 "use \"reject_rbl_client domain-name\" instead"));
        for (const std::string& domain : c_.maps_rbl_domains) {
          int st = RejectRblAddr(domain, f_.client_addr, kClientClass);
          if (st != kDunno) return st;
        }
        return kDunno;
      }
      case R::kPermitDnswlClient:
        return PermitDnswl(name, arg, ReversedAddress(f_.client_addr), f_.client_addr, kClientClass);
      case R::kRejectRhsblClient:
        if (f_.client_name != "unknown") return RejectRblDomain(arg, f_.client_name, kClientClass);
        return kDunno;
      case R::kRejectRhsblReverseClient:
        if (f_.reverse_client_name != "unknown")
          return RejectRblDomain(arg, f_.reverse_client_name, kRevClientClass);
        return kDunno;
      case R::kPermitRhswlClient:
        if (f_.client_name != "unknown")
          return PermitDnswl(name, arg, DnsxlDomain(f_.client_name), f_.client_name, kClientClass);
        return kDunno;

      case R::kCheckClientMxAccess:
      case R::kCheckClientNsAccess:
      case R::kCheckClientAAccess:
        if (f_.client_name == "unknown") return kDunno;
        return ForbidAllowlist(name,
                               CheckServerAccess(arg, table, f_.client_name, ServerTypeOf(id),
                                                 namaddr_, kClientClass, def_acl),
                               f_.client_name);
      case R::kCheckReverseClientHostnameMxAccess:
      case R::kCheckReverseClientHostnameNsAccess:
      case R::kCheckReverseClientHostnameAAccess:
        if (f_.reverse_client_name == "unknown") return kDunno;
        return ForbidAllowlist(name,
                               CheckServerAccess(arg, table, f_.reverse_client_name,
                                                 ServerTypeOf(id), f_.reverse_client_name,
                                                 kRevClientClass, def_acl),
                               f_.reverse_client_name);

      // ETRN
      case R::kCheckEtrnAccess:
        if (stage_ == SmtpdStage::kEtrn && !f_.etrn_domain.empty()) {
          bool found = false;
          return CheckDomainAccess(arg, table, f_.etrn_domain, f_.etrn_domain, kEtrnClass, def_acl,
                                   &found);
        }
        return kDunno;

      // HELO
      case R::kCheckHeloAccess:
        if (helo_) {
          bool found = false;
          return CheckDomainAccess(arg, table, *helo_, *helo_, kHeloClass, def_acl, &found);
        }
        return kDunno;
      case R::kRejectInvalidHeloHostname:
      case R::kRejectInvalidHostname:
        if (!helo_) return kDunno;
        if (!helo_->empty() && (*helo_)[0] == '[') return RejectInvalidHostaddr(*helo_, *helo_, kHeloClass);
        if (!ValidHostname(TruncateDot(*helo_)) && !ValidHostaddr(TruncateDot(*helo_)))
          return CheckReject(kPolicy, c_.bad_name_code, "5.5.2",
                             Cat("<", *helo_, ">: ", kHeloClass, " rejected: Invalid name"));
        return kDunno;
      case R::kRejectNonFqdnHeloHostname:
      case R::kRejectNonFqdnHostname: {
        if (!helo_) return kDunno;
        if (!helo_->empty() && (*helo_)[0] == '[') return RejectInvalidHostaddr(*helo_, *helo_, kHeloClass);
        std::string_view h = TruncateDot(*helo_);
        if (!ValidUtf8Hostname(f_.smtputf8, h) || h.find('.') == std::string_view::npos)
          return CheckReject(kPolicy, c_.non_fqdn_code, "5.5.2",
                             Cat("<", *helo_, ">: ", kHeloClass,
                                 " rejected: need fully-qualified hostname"));
        return kDunno;
      }

      case R::kCheckHeloMxAccess:
      case R::kCheckHeloNsAccess:
      case R::kCheckHeloAAccess:
        if (!helo_) return kDunno;
        return ForbidAllowlist(name,
                               CheckServerAccess(arg, table, *helo_, ServerTypeOf(id), *helo_,
                                                 kHeloClass, def_acl),
                               *helo_);
      case R::kRejectRhsblHelo:
        if (helo_) return RejectRblDomain(arg, *helo_, kHeloClass);
        return kDunno;
      case R::kRejectUnknownHeloHostname:
      case R::kRejectUnknownHostname:
        if (!helo_) return kDunno;
        if (!helo_->empty() && (*helo_)[0] == '[') return RejectInvalidHostaddr(*helo_, *helo_, kHeloClass);
        return RejectUnknownHostname(*helo_, *helo_, kHeloClass);

      // sender
      case R::kCheckSenderMxAccess:
      case R::kCheckSenderNsAccess:
      case R::kCheckSenderAAccess:
        if (!sender || sender->empty()) return kDunno;
        return ForbidAllowlist(name,
                               CheckServerAccess(arg, table, *sender, ServerTypeOf(id), *sender,
                                                 kSenderClass, def_acl),
                               *sender);
      case R::kRejectRhsblSender:
        if (sender && !sender->empty()) return RejectRblDomain(arg, *sender, kSenderClass);
        return kDunno;
      case R::kRejectSenderLoginMismatch: {
        // Postfix defines it as the class "reject_authenticated_sender_login_mismatch
        // reject_unauthenticated_sender_login_mismatch".
        int st = SenderLoginMismatch("reject_authenticated_sender_login_mismatch", sender,
                                     LoginCheck::kAuthenticated);
        if (st != kDunno || aborted_) return st;
        return SenderLoginMismatch("reject_unauthenticated_sender_login_mismatch", sender,
                                   LoginCheck::kUnauthenticated);
      }
      case R::kRejectAuthenticatedSenderLoginMismatch:
        return SenderLoginMismatch(name, sender, LoginCheck::kAuthenticated);
      case R::kRejectKnownSenderLoginMismatch:
        return SenderLoginMismatch(name, sender, LoginCheck::kKnown);
      case R::kRejectUnauthenticatedSenderLoginMismatch:
        return SenderLoginMismatch(name, sender, LoginCheck::kUnauthenticated);
      case R::kRejectUnknownSenderDomain:
      case R::kRejectUnknownAddress:
        if (sender && !sender->empty()) return RejectUnknownAddress(*sender, kSenderClass);
        return kDunno;
      case R::kCheckSenderAccess:
        if (sender && !sender->empty()) {
          bool found = false;
          return CheckMailAccess(arg, table, *sender, *sender, kSenderClass, def_acl, &found);
        }
        if (sender && sender->empty()) return CheckNullAccess(arg, table, def_acl);
        return kDunno;
      case R::kRejectNonFqdnSender:
        if (sender && !sender->empty()) return RejectNonFqdnAddress(*sender, kSenderClass);
        return kDunno;
      case R::kRejectUnlistedSender:
        if (sender && !sender->empty()) return CheckSenderRcptMaps(*sender);
        return kDunno;

      // recipient
      case R::kCheckRecipientAccess:
        if (rcpt) {
          bool found = false;
          return CheckMailAccess(arg, table, *rcpt, *rcpt, kRecipientClass, def_acl, &found);
        }
        return kDunno;
      case R::kPermitAuthDestination:
        if (rcpt) {
          int st = PermitAuthDestination(*rcpt);
          if (st == kOk) return AclPermit(name, kRecipientClass, *rcpt, "");
          return st;
        }
        return kDunno;
      case R::kRejectUnauthDestination:
        if (rcpt) return RejectUnauthDestination(*rcpt, c_.relay_code, "5.7.1");
        return kDunno;
      case R::kDeferUnauthDestination:
        if (rcpt) return RejectUnauthDestination(*rcpt, c_.relay_code - 100, "4.7.1");
        return kDunno;
      case R::kCheckRelayDomains: {
        int st = kDunno;
        if (rcpt) st = CheckRelayDomains(*rcpt);
        if (st == kOk) st = AclPermit(name, kRecipientClass, *rcpt, "");
        if (more && warn_if_reject_ == 0)
          Warn(Cat("restriction `", NextName(), "' after `check_relay_domains' is ignored"));
        return st;
      }
      case R::kRejectNonFqdnRecipient:
        if (rcpt) return RejectNonFqdnAddress(*rcpt, kRecipientClass);
        return kDunno;
      case R::kCheckRecipientMxAccess:
      case R::kCheckRecipientNsAccess:
      case R::kCheckRecipientAAccess:
        if (!rcpt || rcpt->empty()) return kDunno;
        return ForbidAllowlist(name,
                               CheckServerAccess(arg, table, *rcpt, ServerTypeOf(id), *rcpt,
                                                 kRecipientClass, def_acl),
                               *rcpt);
      case R::kRejectRhsblRecipient:
        if (rcpt && !rcpt->empty()) return RejectRblDomain(arg, *rcpt, kRecipientClass);
        return kDunno;
      case R::kRejectUnknownRecipientDomain:
        if (rcpt && !rcpt->empty()) return RejectUnknownAddress(*rcpt, kRecipientClass);
        return kDunno;
      case R::kRejectUnlistedRecipient:
      case R::kCheckRecipientMaps:
        if (rcpt && !rcpt->empty()) return CheckRecipientRcptMaps(*rcpt);
        return kDunno;
      case R::kRejectMultiRecipientBounce:
        if (sender && sender->empty() &&
            f_.recipient_count > static_cast<size_t>(where_ != "RCPT"))
          return CheckReject(kPolicy, c_.multi_rcpt_code, "5.5.3",
                             Cat("<", reply_name, ">: ", reply_class,
                                 " rejected: Multi-recipient bounce"));
        return kDunno;

      default:
        // Build refuses lists with restrictions posthasted does not carry
        // out; this is a restriction named in an access table's result.
        Warn(Cat("restriction \"", name, "\" is not implemented by posthasted"));
        return RejectServerError();
    }
  }

  // The name of the step after the current one (for "is ignored" warnings).
  std::string NextName() const { return next_name_; }

  static PeerNameStatus NameStatus(PeerNameStatus s, const std::string& name) {
    if (s != PeerNameStatus::kDefault) return s;
    return name == "unknown" ? PeerNameStatus::kPermFail : PeerNameStatus::kOk;
  }

  int ForbidAllowlist(std::string_view name, int status, std::string_view target) {
    if (!discard_ && status == kOk) {
      Warn(Cat("restriction ", name, " returns OK for ", target));
      Warn("this is not allowed for security reasons");
      Warn("use DUNNO instead of OK if you want to make an exception");
      return RejectServerError();
    }
    return status;
  }

  int RejectInvalidHostaddr(std::string_view addr, std::string_view reply_name,
                            std::string_view reply_class) {
    std::string_view test = addr;
    if (test.size() > 2 && test.front() == '[' && test.back() == ']')
      test = test.substr(1, test.size() - 2);
    if (!ValidMailhostAddr(test))
      return CheckReject(kPolicy, c_.bad_name_code, "5.5.2",
                         Cat("<", reply_name, ">: ", reply_class, " rejected: invalid ip address"));
    return kDunno;
  }

  // --- smtpd_sender_login_maps (Postfix's reject_*_sender_login_mismatch) ---

  enum class LoginCheck {
    kAuthenticated,    // a logged-in client must own the sender; unowned senders too
    kKnown,            // logged in: must own it if anyone does; not logged in: see below
    kUnauthenticated,  // a sender that has an owner needs a logged-in client
  };

  int SenderLoginMismatch(std::string_view name, const std::string* sender, LoginCheck check) {
    if (!c_.sasl_enable) {
      Warn(Cat("restriction `", name, "' ignored: no SASL support"));
      return kDunno;
    }
    if (!sender || sender->empty() || c_.sender_login_maps.empty()) return kDunno;
    bool logged_in = !f_.sasl_username.empty();
    if (check == LoginCheck::kKnown)
      check = logged_in ? LoginCheck::kKnown : LoginCheck::kUnauthenticated;
    if (check == LoginCheck::kUnauthenticated && logged_in) return kDunno;
    if (check != LoginCheck::kUnauthenticated && !logged_in) return kDunno;
    const Resolved& r = Resolve(*sender);
    if (r.fail) {
      Warn(Cat("address resolution for ", *sender, ": ", r.why));
      return RejectDictRetry(*sender);
    }
    std::string why;
    tables::LookupStatus found = FindAddr(c_.sender_login_maps, r, &why);
    if (found == tables::LookupStatus::kTryAgain) {
      Warn(Cat("smtpd_sender_login_maps lookup error for ", *sender, ": ", why));
      return RejectDictRetry(*sender);
    }
    if (check == LoginCheck::kUnauthenticated) {
      if (found == tables::LookupStatus::kFound)
        return CheckReject(kPolicy, 553, "5.7.1",
                           Cat("<", *sender, ">: Sender address rejected: not logged in"));
      return kDunno;
    }
    if (found != tables::LookupStatus::kFound) {
      if (check == LoginCheck::kKnown) return kDunno;  // an unowned sender is fine
    } else {
      for (const std::string& owner : Words(value_))
        if (IEqualsUtf8(owner, f_.sasl_username)) return kDunno;
    }
    return CheckReject(kPolicy, 553, "5.7.1",
                       Cat("<", *sender, ">: Sender address rejected: not owned by user ",
                           f_.sasl_username));
  }

  static bool IEqualsUtf8(std::string_view a, std::string_view b) {
    if (IEquals(a, b)) return true;
    std::optional<std::string> fa = tables::FoldUtf8(a), fb = tables::FoldUtf8(b);
    return fa && fb && *fa == *fb;
  }

  // --- DNS (answers from the session, see SmtpdDnsQuery) ---

  const SmtpdDnsAnswer& Dns(SmtpdDnsKind kind, std::string_view name) {
    SmtpdDnsQuery query{kind, std::string(name)};
    if (f_.dns) {
      auto it = f_.dns->find(query);
      if (it != f_.dns->end()) return it->second;
    }
    throw NeedDns{std::move(query)};
  }

  // --- access by the domain's servers (Postfix's check_server_access) ---

  enum class ServerType { kMx, kNs, kA };

  static ServerType ServerTypeOf(R id) {
    switch (id) {
      case R::kCheckClientMxAccess:
      case R::kCheckReverseClientHostnameMxAccess:
      case R::kCheckHeloMxAccess:
      case R::kCheckSenderMxAccess:
      case R::kCheckRecipientMxAccess:
        return ServerType::kMx;
      case R::kCheckClientNsAccess:
      case R::kCheckReverseClientHostnameNsAccess:
      case R::kCheckHeloNsAccess:
      case R::kCheckSenderNsAccess:
      case R::kCheckRecipientNsAccess:
        return ServerType::kNs;
      default:
        return ServerType::kA;
    }
  }

  bool FamilyEnabled(std::string_view addr) const {
    return addr.find(':') == std::string_view::npos ? c_.ipv4 : c_.ipv6;
  }

  // The MX hosts (a domain without MX is its own), the name servers (of
  // the nearest parent that has some) or the domain itself (A), searched by
  // host name (not for A) and then by each of their addresses.
  int CheckServerAccess(std::string_view table_name, const tables::Table* table,
                        const std::string& name, ServerType type, std::string_view reply_name,
                        std::string_view reply_class, std::optional<R> def_acl) {
    std::string_view type_name = type == ServerType::kMx ? "MX" : type == ServerType::kNs ? "NS" : "A";
    size_t at = name.rfind('@');
    std::string domain = at == std::string::npos ? name : name.substr(at + 1);
    bool found = false;
    if (!domain.empty() && domain.front() == '[') {
      // An address literal is its own MX host; it has no name servers.
      if (type == ServerType::kNs || domain.back() != ']') return kDunno;
      std::string bare = domain.substr(1, domain.size() - 2);
      if (!ValidMailhostAddr(bare)) return kDunno;
      if (bare.size() > 5 && IEquals(std::string_view(bare).substr(0, 5), "ipv6:")) bare.erase(0, 5);
      return CheckAddrAccess(table_name, table, bare, reply_name, reply_class, def_acl, &found);
    }
    domain = tables::DomainToAscii(domain).value_or(domain);
    std::vector<std::string> servers;
    if (type == ServerType::kA) {
      servers.push_back(domain);
    } else {
      SmtpdDnsKind kind = type == ServerType::kMx ? SmtpdDnsKind::kMxHosts : SmtpdDnsKind::kNsHosts;
      const SmtpdDnsAnswer* answer = &Dns(kind, domain);
      std::string looked = domain;
      if (answer->status == SmtpdDnsStatus::kNullMx) return kDunno;
      if (answer->status == SmtpdDnsStatus::kNotFound && type == ServerType::kMx) {
        servers.push_back(domain);
      } else {
        if (answer->status == SmtpdDnsStatus::kNotFound) {
          // No NS records: the nearest parent domain that has some.
          std::string_view parent = domain;
          looked = name;
          for (size_t dot; (dot = parent.find('.')) != std::string_view::npos && dot + 1 < parent.size();) {
            parent.remove_prefix(dot + 1);
            answer = &Dns(kind, parent);
            if (answer->status != SmtpdDnsStatus::kNotFound) {
              looked = std::string(parent);
              break;
            }
          }
        }
        if (answer->status != SmtpdDnsStatus::kOk) {
          Warn(Cat("Unable to look up ", type_name, " host for ", looked, ": ",
                   answer->failure.empty() ? std::string("Host not found") : answer->failure));
          return kDunno;
        }
        servers = answer->names;
      }
    }
    for (const std::string& server : servers) {
      if (ValidHostaddr(server)) {
        int st = CheckAddrAccess(table_name, table, server, reply_name, reply_class, def_acl, &found);
        if (st != kDunno || found || aborted_) return st;
        continue;
      }
      if (type != ServerType::kA) {
        int st = CheckDomainAccess(table_name, table, server, reply_name, reply_class, def_acl, &found);
        if (st != kDunno || found || aborted_) return st;
      }
      const SmtpdDnsAnswer& addrs = Dns(SmtpdDnsKind::kAddresses, server);
      if (addrs.status != SmtpdDnsStatus::kOk) {
        if (type != ServerType::kA)
          Warn(Cat("Unable to look up ", type_name, " host ", server, " for ", reply_class, " ",
                   reply_name, ": ",
                   addrs.status == SmtpdDnsStatus::kTempFail ? "Temporary failure in name resolution"
                                                             : "Name or service not known"));
        continue;
      }
      for (const std::string& addr : addrs.addresses) {
        if (!FamilyEnabled(addr)) continue;
        int st = CheckAddrAccess(table_name, table, addr, reply_name, reply_class, def_acl, &found);
        if (st != kDunno || found || aborted_) return st;
      }
    }
    return kDunno;
  }

  // --- DNS block and allow lists (Postfix's find_dnsxl_addr/_domain) ---

  enum class Listed { kNo, kYes, kSoft };

  // Looks `prefix` up in the list `spec` ("domain" or "domain=filter").
  Listed FindDnsxl(std::string_view prefix, std::string_view spec,
                   const SmtpdDnsAnswer** answer) {
    tables::DnsxlSpec list = tables::SplitDnsxlSpec(spec);
    const SmtpdDnsAnswer& a = Dns(SmtpdDnsKind::kList, Cat(prefix, ".", list.domain));
    *answer = &a;
    if (a.status == SmtpdDnsStatus::kTempFail) return Listed::kSoft;
    if (a.status != SmtpdDnsStatus::kOk) return Listed::kNo;
    if (list.filter) {
      absl::StatusOr<tables::DnsxlPattern> pattern = tables::DnsxlPattern::Parse(*list.filter);
      if (!pattern.ok()) return Listed::kNo;  // Build refuses these
      bool any = false;
      for (const std::string& addr : a.addresses) any = any || pattern->Matches(addr);
      if (!any) return Listed::kNo;
    }
    return Listed::kYes;
  }

  // The query prefix for a client address: reversed octets, or reversed
  // nibbles for IPv6.
  static std::string ReversedAddress(const std::string& addr) {
    IpAddress a;
    if (!ParseIpAddress(addr, &a)) return "";
    std::string out;
    static const char kHex[] = "0123456789abcdef";
    if (a.family == AF_INET) {
      for (int i = 3; i >= 0; --i) out += Cat(static_cast<int>(a.bytes[i]), i ? "." : "");
    } else {
      for (int i = 15; i >= 0; --i) {
        out.push_back(kHex[a.bytes[i] & 0xf]);
        out.push_back('.');
        out.push_back(kHex[a.bytes[i] >> 4]);
        if (i) out.push_back('.');
      }
    }
    return out;
  }

  // The domain part a domain list looks up, or "" when Postfix skips the
  // query: address literals, names ending in a numeric label, bad names.
  static std::string DnsxlDomain(std::string_view what) {
    size_t at = what.rfind('@');
    std::string_view domain = at == std::string_view::npos ? what : what.substr(at + 1);
    if (domain.empty() || domain.front() == '[') return "";
    size_t dot = domain.rfind('.');
    std::string_view last = dot == std::string_view::npos ? domain : domain.substr(dot + 1);
    bool all_digits = true;
    for (char ch : last) all_digits = all_digits && isdigit(static_cast<unsigned char>(ch));
    if (all_digits) return "";
    std::string ascii = tables::DomainToAscii(domain).value_or(std::string(domain));
    if (ascii.empty() || !ValidHostname(ascii)) return "";
    return ascii;
  }

  // A block list: `prefix` is the reversed client address (reject_rbl_client)
  // or the domain of `what` (reject_rhsbl_*); "" when nothing is looked up.
  int RejectDnsxl(std::string_view spec, std::string_view prefix, std::string_view what,
                  std::string_view reply_class) {
    if (prefix.empty()) return kDunno;
    const SmtpdDnsAnswer* answer = nullptr;
    if (FindDnsxl(prefix, spec, &answer) != Listed::kYes) return kDunno;
    return RblRejectReply(*answer, spec, what, reply_class);
  }
  int RejectRblAddr(std::string_view spec, const std::string& addr, std::string_view reply_class) {
    return RejectDnsxl(spec, ReversedAddress(addr), addr, reply_class);
  }
  int RejectRblDomain(std::string_view spec, const std::string& what, std::string_view reply_class) {
    return RejectDnsxl(spec, DnsxlDomain(what), what, reply_class);
  }

  // permit_dnswl_client / permit_rhswl_client: never for a recipient we
  // would not relay to; a lookup failure defers a later reject.
  int PermitDnswl(std::string_view name, std::string_view spec, std::string_view prefix,
                  const std::string& what, std::string_view reply_class) {
    if (recipient_ && stage_ == SmtpdStage::kRcpt && PermitAuthDestination(*recipient_) != kOk)
      return kDunno;
    if (prefix.empty()) return kDunno;
    const SmtpdDnsAnswer* answer = nullptr;
    switch (FindDnsxl(prefix, spec, &answer)) {
      case Listed::kNo:
        return kDunno;
      case Listed::kSoft:
        DeferIf(&defer_if_reject_, kPolicy, 450, "4.7.1",
                Cat("<", what, ">: ", reply_class, " rejected: Service unavailable"));
        return kDunno;
      case Listed::kYes:
        break;
    }
    return AclPermit(name, reply_class, what, "");
  }

  // Postfix's rbl_reject_reply(): the reply template from rbl_reply_maps
  // (by the list as written) or default_rbl_reply, expanded.
  int RblRejectReply(const SmtpdDnsAnswer& answer, std::string_view spec, std::string_view what,
                     std::string_view reply_class) {
    std::optional<std::string> custom;
    for (size_t t = 0; t < c_.rbl_reply_maps.tables.size() && !custom; ++t) {
      const tables::Table* table = c_.rbl_reply_maps.tables[t];
      if (!table) {
        Warn(Cat(c_.rbl_reply_maps.names[t], " is unavailable: the bundle does not carry it"));
        return RejectServerError();
      }
      std::string key(spec);
      if (table->FoldsCase() && !table->IsPatternTable()) key = Lower(key);
      tables::LookupStatus st = table->LookupInto(key, &value_);
      if (st == tables::LookupStatus::kTryAgain) {
        Warn(Cat(c_.rbl_reply_maps.names[t], " lookup error for \"", spec, "\""));
        return RejectServerError();
      }
      if (st == tables::LookupStatus::kFound) custom = value_;
    }
    MacroVariables vars = ExpandVariables();
    vars["rbl_code"] = std::to_string(c_.maps_rbl_code);
    vars["rbl_domain"] = tables::SplitDnsxlSpec(spec).domain;
    vars["rbl_reason"] = answer.text;
    vars["rbl_txt"] = answer.text;
    vars["rbl_what"] = std::string(what);
    vars["rbl_class"] = std::string(reply_class);
    std::optional<std::string> why;
    if (custom) {
      why = ExpandMacros(*custom, vars, c_.expand_filter, MacroEmpty::kText);
      if (!why) Warn(Cat("rbl_reject_reply: bad rbl reply template for domain ", spec, ": ", *custom));
    }
    if (!why) why = ExpandMacros(c_.default_rbl_reply, vars, c_.expand_filter, MacroEmpty::kText);
    if (!why) {
      Warn(Cat("rbl_reject_reply: bad default rbl reply template: ", c_.default_rbl_reply));
      why = "";
    }
    const std::string& w = *why;
    if (w.size() < 4 || (w[0] != '4' && w[0] != '5') || !isdigit(static_cast<unsigned char>(w[1])) ||
        !isdigit(static_cast<unsigned char>(w[2])) || w[3] != ' ') {
      Warn(Cat("rbl response code configuration error: ", w));
      return CheckReject(kPolicy, 450, "4.7.1", "Service unavailable");
    }
    int code = std::stoi(w.substr(0, 3));
    std::string_view rest = std::string_view(w).substr(4);
    std::string dsn = "4.7.1";
    if (size_t n = DsnValid(rest); n > 0) {
      dsn = std::string(rest.substr(0, n));
      rest.remove_prefix(n);
      while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    }
    return CheckReject(kPolicy, code, dsn, rest.empty() ? std::string_view("Service unavailable") : rest);
  }

  // The session variables reply templates may name (smtpd_expand_lookup).
  MacroVariables ExpandVariables() const {
    MacroVariables v;
    v["client_address"] = f_.client_addr;
    v["client_name"] = f_.client_name;
    v["reverse_client_name"] = f_.reverse_client_name;
    v["client_port"] = std::to_string(f_.client_port);
    v["helo_name"] = f_.helo;
    auto split = [&v](const std::string& prefix, const std::string* addr) {
      std::string a = addr ? *addr : "";
      v[prefix] = a;
      size_t at = a.rfind('@');
      v[prefix + "_name"] = at == std::string::npos ? a : a.substr(0, at);
      v[prefix + "_domain"] = at == std::string::npos ? "" : a.substr(at + 1);
    };
    split("sender", sender_);
    split("recipient", recipient_);
    return v;
  }

  // A DNS answer that could not be had for now: unknown_*_tempfail_action
  // says whether that defers at once ("defer") or only a later permit
  // ("defer_if_permit"); under warn_if_reject it is a reject_warning.
  int TempfailAction(bool defer_all, std::string_view dsn, std::string text) {
    if (defer_all) return CheckReject(kPolicy, 450, dsn, text);
    return DeferIfPermit(kPolicy, 450, dsn, std::move(text));
  }

  // Postfix's reject_unknown_address(): only domains we are not the final
  // destination for, and not [address] literals.
  int RejectUnknownAddress(const std::string& addr, std::string_view reply_class) {
    const Resolved& r = Resolve(addr);
    if (r.fail) {
      Warn(Cat("address resolution for ", addr, ": ", r.why));
      return RejectDictRetry(addr);
    }
    if (!r.has_at) return kDunno;
    if (r.cls == AddrClass::kLocal || r.cls == AddrClass::kAlias || r.cls == AddrClass::kVirtual)
      return kDunno;
    const std::string& domain = r.domain;
    if (domain.size() >= 2 && domain.front() == '[' && domain.back() == ']') return kDunno;
    return RejectUnknownMailhost(domain, addr, reply_class);
  }

  // Postfix's reject_unknown_mailhost(): MX, then address records.
  int RejectUnknownMailhost(const std::string& domain, std::string_view reply_name,
                            std::string_view reply_class) {
    bool sender = reply_class == kSenderClass;
    std::string_view dsn = sender ? "4.1.8" : "4.1.2";
    // A UTF-8 domain is asked (and named in the null-MX reply) in its ASCII form.
    const std::string name = tables::DomainToAscii(domain).value_or(domain);
    switch (Dns(SmtpdDnsKind::kMailHost, name).status) {
      case SmtpdDnsStatus::kOk:
        return kDunno;
      case SmtpdDnsStatus::kNullMx:
        return CheckReject(kPolicy, sender ? 550 : 556, sender ? "4.7.27" : "4.1.10",
                           Cat("<", reply_name, ">: ", reply_class, " rejected: Domain ", name,
                               " does not accept mail (nullMX)"));
      case SmtpdDnsStatus::kNotFound:
        return CheckReject(kPolicy, c_.unknown_address_code, dsn,
                           Cat("<", reply_name, ">: ", reply_class, " rejected: Domain not found"));
      case SmtpdDnsStatus::kTempFail:
        break;
    }
    return TempfailAction(c_.unknown_address_defer_all, dsn,
                          Cat("<", reply_name, ">: ", reply_class, " rejected: Domain not found"));
  }

  // Postfix's reject_unknown_hostname(): address records, then MX (a null
  // MX is fine for a host name).
  int RejectUnknownHostname(const std::string& name, std::string_view reply_name,
                            std::string_view reply_class) {
    switch (Dns(SmtpdDnsKind::kHostName, name).status) {
      case SmtpdDnsStatus::kOk:
      case SmtpdDnsStatus::kNullMx:
        return kDunno;
      case SmtpdDnsStatus::kNotFound:
        return CheckReject(kPolicy, c_.unknown_name_code, "4.7.1",
                           Cat("<", reply_name, ">: ", reply_class, " rejected: Host not found"));
      case SmtpdDnsStatus::kTempFail:
        break;
    }
    return TempfailAction(c_.unknown_name_defer_all, "4.7.1",
                          Cat("<", reply_name, ">: ", reply_class, " rejected: Host not found"));
  }

  int RejectNonFqdnAddress(const std::string& addr, std::string_view reply_class) {
    size_t at = addr.rfind('@');
    std::string_view domain = at == std::string::npos ? std::string_view() : std::string_view(addr).substr(at + 1);
    if (!domain.empty() && domain.front() == '[' && domain.back() == ']') return kDunno;
    std::string_view test = TruncateDot(domain);
    if (test.empty() || !ValidUtf8Hostname(f_.smtputf8, test) ||
        test.find('.') == std::string_view::npos)
      return CheckReject(kPolicy, c_.non_fqdn_code, "4.5.2",
                         Cat("<", addr, ">: ", reply_class, " rejected: need fully-qualified address"));
    return kDunno;
  }

  // --- access tables ---

  // The value a failing table answers with, as Postfix substitutes it.
  static constexpr std::string_view kTableFailure = "451 4.3.5 Server configuration error";

  int TableFailure(std::string_view table_name, const tables::Table* table, std::string_view key,
                   std::string_view why, std::string_view datum, std::string_view reply_name,
                   std::string_view reply_class, std::optional<R> def_acl) {
    if (!table)
      Warn(Cat(table_name, " is unavailable: the bundle does not carry it"));
    else if (!why.empty())
      Warn(Cat(table_name, " lookup error for \"", key, "\": ", why));
    else
      Warn(Cat(table_name, " lookup error for \"", key, "\""));
    return CheckTableResult(table_name, kTableFailure, datum, reply_name, reply_class, def_acl);
  }

  // One exact lookup into value_ (no allocation once the buffer has grown):
  // `key` is lower case already; pattern tables see `original` instead.
  tables::LookupStatus Probe(const tables::Table& t, std::string_view key,
                             std::string_view original) {
    return t.LookupInto(t.IsPatternTable() ? original : key, &value_);
  }

  // The outcome of one table for a key series (Postfix's maps_find loop).
  int Outcome(tables::LookupStatus s, std::string_view key, std::string_view table_name,
              const tables::Table* table, std::string_view datum, std::string_view reply_name,
              std::string_view reply_class, std::optional<R> def_acl, bool* found) {
    if (s == tables::LookupStatus::kNotFound) return kDunno;
    *found = true;
    std::string value = value_;  // the evaluation below may look up again
    if (s == tables::LookupStatus::kTryAgain)
      return TableFailure(table_name, table, key, value, datum, reply_name, reply_class, def_acl);
    return CheckTableResult(table_name, value, datum, reply_name, reply_class, def_acl);
  }

  int CheckDomainAccess(std::string_view table_name, const tables::Table* table,
                        std::string_view domain, std::string_view reply_name,
                        std::string_view reply_class, std::optional<R> def_acl, bool* found) {
    if (!table) {
      *found = true;
      return TableFailure(table_name, table, domain, "", domain, reply_name, reply_class, def_acl);
    }
    if (domain.empty()) return kDunno;
    std::string lower = Lower(domain);
    std::string_view d = lower, key = d;
    tables::LookupStatus s = Probe(*table, key, domain);
    // Parents next, for indexed tables only; numerical host names get no
    // subdomain magic.
    if (s == tables::LookupStatus::kNotFound && !table->IsPatternTable() && !ValidHostaddr(domain)) {
      for (size_t dot = d.find('.'); dot != std::string_view::npos && dot + 1 < d.size();
           dot = d.find('.', dot + 1)) {
        key = c_.access_parent ? d.substr(dot + 1) : d.substr(dot);
        s = Probe(*table, key, domain);
        if (s != tables::LookupStatus::kNotFound) break;
      }
    }
    return Outcome(s, key, table_name, table, domain, reply_name, reply_class, def_acl, found);
  }

  int CheckAddrAccess(std::string_view table_name, const tables::Table* table,
                      std::string_view address, std::string_view reply_name,
                      std::string_view reply_class, std::optional<R> def_acl, bool* found) {
    if (!table) {
      *found = true;
      return TableFailure(table_name, table, address, "", address, reply_name, reply_class,
                          def_acl);
    }
    // The address, then shorter networks: 1.2.3.4, 1.2.3, 1.2, 1.
    std::string lower = Lower(address);
    std::string_view key = lower;
    char delim = key.find(':') != std::string_view::npos ? ':' : '.';
    tables::LookupStatus s = Probe(*table, key, address);
    while (s == tables::LookupStatus::kNotFound && !table->IsPatternTable()) {
      size_t cut = key.rfind(delim);
      if (cut == std::string_view::npos || cut == 0) break;
      key = key.substr(0, cut);
      s = Probe(*table, key, address);
    }
    return Outcome(s, key, table_name, table, address, reply_name, reply_class, def_acl, found);
  }

  int CheckNamadrAccess(std::string_view table_name, const tables::Table* table,
                        std::string_view name, std::string_view addr,
                        std::string_view reply_name, std::string_view reply_class,
                        std::optional<R> def_acl) {
    bool found = false;
    int status = CheckDomainAccess(table_name, table, name, reply_name, reply_class, def_acl, &found);
    if (status != kDunno || found || aborted_) return status;
    return CheckAddrAccess(table_name, table, addr, reply_name, reply_class, def_acl, &found);
  }

  int CheckNullAccess(std::string_view table_name, const tables::Table* table,
                      std::optional<R> def_acl) {
    if (!table)
      return TableFailure(table_name, table, c_.null_key, "", c_.null_key, "", kSenderClass, def_acl);
    bool found = false;
    return Outcome(Probe(*table, Lower(c_.null_key), c_.null_key), c_.null_key, table_name, table,
                   c_.null_key, "", kSenderClass, def_acl, &found);
  }

  int CheckMailAccess(std::string_view table_name, const tables::Table* table,
                      const std::string& addr, std::string_view reply_name,
                      std::string_view reply_class, std::optional<R> def_acl, bool* found) {
    const Resolved& res = Canonical(addr);
    if (!res.has_at) {
      Warn(Cat("check_mail_access: no @domain in address: ", res.address));
      return kDunno;
    }
    if (!table)
      return TableFailure(table_name, table, res.address, "", res.address, reply_name,
                          reply_class, def_acl);
    // Postfix's access search order (spec §3.6): user+ext@domain,
    // user@domain, domain and its parents, user+ext@, user@.
    const std::string& full = res.address;
    size_t at = full.rfind('@');
    std::string_view fv = full;
    std::string_view domain = fv.substr(at + 1);
    size_t ext = c_.recipient_delimiter.empty()
                     ? std::string_view::npos
                     : fv.substr(0, at).find_first_of(c_.recipient_delimiter);
    if (ext == 0) ext = std::string_view::npos;  // owner-style names have no extension
    std::string full_bare, bare_at;  // the keys without the extension
    std::string_view key = fv;
    tables::LookupStatus s = Probe(*table, key, full);
    auto next = [&](std::string_view k) {
      if (s != tables::LookupStatus::kNotFound || table->IsPatternTable()) return;
      key = k;
      s = Probe(*table, key, full);
    };
    if (ext != std::string_view::npos) {
      full_bare = Cat(fv.substr(0, ext), fv.substr(at));
      next(full_bare);
    }
    if (!domain.empty()) {
      next(domain);
      for (size_t dot = domain.find('.'); dot != std::string_view::npos && dot + 1 < domain.size();
           dot = domain.find('.', dot + 1))
        next(c_.access_parent ? domain.substr(dot + 1) : domain.substr(dot));
    }
    next(fv.substr(0, at + 1));
    if (ext != std::string_view::npos) {
      bare_at = Cat(fv.substr(0, ext), "@");
      next(bare_at);
    }
    if (s == tables::LookupStatus::kNotFound) return kDunno;
    std::string hit_key(key);
    int status = Outcome(s, hit_key, table_name, table, full, reply_name, reply_class, def_acl,
                         found);
    // Source-routed recipients are too suspicious for an OK.
    if (s == tables::LookupStatus::kFound && status == kOk && !c_.allow_untrusted_routing &&
        res.routed && reply_class == kRecipientClass)
      return kDunno;
    return status;
  }

  // Postfix's check_table_result(): one access(5) result.
  int CheckTableResult(std::string_view table, std::string_view value, std::string_view datum,
                       std::string_view reply_name, std::string_view reply_class,
                       std::optional<R> def_acl) {
    size_t cmd_len = 0;
    while (cmd_len < value.size() && value[cmd_len] != ' ' && value[cmd_len] != '\t') ++cmd_len;
    std::string_view cmd = value.substr(0, cmd_len);
    std::string_view text = value.substr(cmd_len);
    while (!text.empty() && isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
    std::string dsn;
    std::string_view rest;

    if (IEquals(cmd, "DUNNO")) return kDunno;
    if (IEquals(cmd, "REJECT")) {
      DsnSplit("5.7.1", text, &dsn, &rest);
      return CheckReject(kPolicy, c_.access_map_reject_code, DsnFix(dsn, reply_class),
                         Cat("<", reply_name, ">: ", reply_class, " rejected: ",
                             rest.empty() ? std::string_view("Access denied") : rest));
    }
    if (IEquals(cmd, "DEFER")) {
      DsnSplit("4.7.1", text, &dsn, &rest);
      return CheckReject(kPolicy, c_.access_map_defer_code, DsnFix(dsn, reply_class),
                         Cat("<", reply_name, ">: ", reply_class, " rejected: ",
                             rest.empty() ? std::string_view("Access denied") : rest));
    }
    if (IEquals(cmd, "INFO")) {
      LogWhatsup("info", text);
      return kDunno;
    }
    if (IEquals(cmd, "WARN")) {
      LogWhatsup("warn", text);
      return kDunno;
    }
    if (IEquals(cmd, "FILTER")) {
      if (!CanDelegate(table, "FILTER")) return kDunno;
      if (text.empty()) {
        Warn(Cat("access table ", table, " entry \"", datum, "\" has FILTER entry without value"));
        return kDunno;
      }
      if (text.find(':') == std::string_view::npos) {
        Warn(Cat("access table ", table, " entry \"", datum, "\" requires transport:destination"));
        return kDunno;
      }
      LogWhatsup("filter", Cat("<", reply_name, ">: ", reply_class, " triggers FILTER ", text));
      v_.filter = std::string(text);
      return kDunno;
    }
    if (IEquals(cmd, "HOLD")) {
      if (!CanDelegate(table, "HOLD") || hold_) return kDunno;
      std::string why = Cat("<", reply_name, ">: ", reply_class, " ",
                            text.empty() ? std::string_view("triggers HOLD action") : text);
      LogWhatsup("hold", why);
      hold_ = true;
      v_.hold = true;
      v_.hold_reason = std::move(why);
      return kDunno;
    }
    if (IEquals(cmd, "DISCARD")) {
      if (!CanDelegate(table, "DISCARD")) return kDunno;
      LogWhatsup("discard", Cat("<", reply_name, ">: ", reply_class, " ",
                                text.empty() ? std::string_view("triggers DISCARD action") : text));
      discard_ = true;
      v_.discard = true;
      return AclPermit(cmd, reply_class, reply_name, Cat("from ", table));
    }
    if (IEquals(cmd, "REDIRECT")) {
      if (!CanDelegate(table, "REDIRECT")) return kDunno;
      if (text.find('@') == std::string_view::npos) {
        Warn(Cat("access table ", table, " entry \"", datum, "\" requires user@domain target"));
        return kDunno;
      }
      LogWhatsup("redirect", Cat("<", reply_name, ">: ", reply_class, " triggers REDIRECT ", text));
      v_.redirect = std::string(text);
      return kDunno;
    }
    if (IEquals(cmd, "BCC")) {
      if (!CanDelegate(table, "BCC")) return kDunno;
      if (text.find('@') == std::string_view::npos) {
        Warn(Cat("access table ", table, " entry \"", datum, "\" requires user@domain target"));
        return kDunno;
      }
      LogWhatsup("bcc", Cat("<", reply_name, ">: ", reply_class, " triggers BCC ", text));
      v_.bcc.emplace_back(text);
      return kDunno;
    }
    if (IEquals(cmd, "DEFER_IF_PERMIT")) {
      DsnSplit("4.7.1", text, &dsn, &rest);
      return DeferIfPermit(kPolicy, c_.access_map_defer_code, DsnFix(dsn, reply_class),
                           Cat("<", reply_name, ">: ", reply_class, " rejected: ",
                               rest.empty() ? std::string_view("Service unavailable") : rest));
    }
    if (IEquals(cmd, "DEFER_IF_REJECT")) {
      DsnSplit("4.7.1", text, &dsn, &rest);
      DeferIf(&defer_if_reject_, kPolicy, c_.access_map_defer_code, DsnFix(dsn, reply_class),
              Cat("<", reply_name, ">: ", reply_class, " rejected: ",
                  rest.empty() ? std::string_view("Service unavailable") : rest));
      return kDunno;
    }
    if (IEquals(cmd, "PREPEND")) {
      if (!NotInClientHelo(table, "PREPEND")) return kDunno;
      if (where_ == "END-OF-MESSAGE") {
        Warn(Cat("access table ", table,
                 ": action PREPEND must be used before smtpd_end_of_data_restrictions"));
        return kDunno;
      }
      if (text.empty() || tables::HeaderNameLength(text) == 0) {
        Warn(Cat("access table ", table, " entry \"", datum, "\" requires header: text"));
        return kDunno;
      }
      v_.prepend.emplace_back(text);
      return kDunno;
    }
    if (AllDigits(value)) return AclPermit(cmd, reply_class, reply_name, Cat("from ", table));
    if (cmd.size() == 3 && !text.empty() && (cmd[0] == '4' || cmd[0] == '5') &&
        isdigit(static_cast<unsigned char>(cmd[1])) && isdigit(static_cast<unsigned char>(cmd[2]))) {
      std::string def = cmd[0] == '4' ? "4.7.1" : "5.7.1";
      DsnSplit(def, text, &dsn, &rest);
      return CheckReject(kPolicy, std::stoi(std::string(cmd)), DsnFix(dsn, reply_class),
                         Cat("<", reply_name, ">: ", reply_class, " rejected: ",
                             rest.empty() ? std::string_view("Access denied") : rest));
    }
    if (IEquals(cmd, "OK") || IEquals(cmd, "RELAY"))
      return AclPermit(cmd, reply_class, reply_name, Cat("from ", table));
    if (value.find(':') != std::string_view::npos) {
      Warn(Cat("access table ", table, " has entry with lookup table: ", value));
      Warn("do not specify lookup tables inside SMTPD access maps");
      Warn("define a restriction class and specify its name instead.");
      return RejectServerError();
    }
    if (recursion_ > kMaxRecursion) {
      Warn(Cat("access table ", table, " entry ", value, " causes unreasonable recursion"));
      return RejectServerError();
    }
    // A restriction list: restriction names and classes, evaluated here.
    std::vector<std::string> words = Words(value);
    if (words.empty()) {
      Warn(Cat("access table ", table, " entry ", value, " has empty value"));
      return kOk;
    }
    StepList steps;
    for (size_t i = 0; i < words.size(); ++i) {
      const std::string& w = words[i];
      Step s;
      s.name = w;
      if (const tables::SmtpdRestrictionInfo* info = tables::FindSmtpdRestriction(w)) {
        s.id = info->id;
        if (info->arg == tables::SmtpdRestrictionArg::kTable) {
          s.kind = Step::kBadArgument;  // a table would contain ':' (refused above)
          s.arg = "";
        } else if (info->arg == tables::SmtpdRestrictionArg::kDomain && i + 1 < words.size() &&
                   !tables::FindSmtpdRestriction(words[i + 1])) {
          s.arg = words[++i];  // a DNS list
          tables::DnsxlSpec spec = tables::SplitDnsxlSpec(s.arg);
          if (spec.filter && !tables::DnsxlPattern::Parse(*spec.filter).ok()) {
            Warn(Cat("access table ", table, " entry ", value, ": bad DNS list reply filter \"",
                     *spec.filter, "\""));
            return RejectServerError();
          }
        }
      } else if (auto it = c_.class_index.find(w); it != c_.class_index.end()) {
        s.kind = Step::kClass;
        s.class_index = it->second;
      } else {
        Warn(Cat("unknown smtpd restriction: \"", w, "\""));
        return RejectServerError();
      }
      steps.push_back(std::move(s));
    }
    return Generic(steps, reply_name, reply_class, def_acl);
  }

  bool CanDelegate(std::string_view table, std::string_view action) {
    if (c_.proxy_filter) {
      Warn(Cat("access table ", table, ": with smtpd_proxy_filter specified, action ", action,
               " is unavailable"));
      return false;
    }
    return NotInClientHelo(table, action);
  }

  bool NotInClientHelo(std::string_view table, std::string_view action) {
    if (!sender_) {
      Warn(Cat("access table ", table, ": with smtpd_delay_reject=no, action ", action,
               " is always skipped in Client host or Helo command restrictions"));
      return false;
    }
    return true;
  }

  // --- address resolution (the parts of trivial-rewrite smtpd relies on) ---

  // The canonical form and the routing flag; the class is computed on
  // demand (Classify).
  const Resolved& Canonical(const std::string& input) {
    for (Resolved& r : cache_)
      if (r.input == input) return r;
    Resolved r;
    r.input = input;
    std::string a = input;
    if (a.find('@') == std::string::npos) {
      // Local-context rewriting: site!user and user%site.
      size_t bang = a.find('!');
      size_t pct = a.rfind('%');
      if (c_.swap_bangpath && bang != std::string::npos && bang > 0)
        a = a.substr(bang + 1) + "@" + a.substr(0, bang);
      else if (c_.percent_hack && pct != std::string::npos && pct > 0)
        a[pct] = '@';
    }
    a = tables::CanonicalForm(a, c_.canon);
    std::optional<std::string> folded = tables::FoldUtf8(a);
    r.address = folded ? *folded : Lower(a);
    // Strip local domains off addresses that carry their own routing.
    for (int round = 0; round < 10; ++round) {
      size_t at = r.address.rfind('@');
      if (at == std::string::npos) break;
      std::string local = r.address.substr(0, at);
      std::string domain = r.address.substr(at + 1);
      bool has_route = local.find('@') != std::string::npos ||
                       (c_.percent_hack && local.find('%') != std::string::npos) ||
                       (c_.swap_bangpath && local.find('!') != std::string::npos);
      if (!has_route) break;
      std::string why;
      MatchStatus m = IsLocal(domain, &why);
      if (m == MatchStatus::kTryAgain) {
        r.fail = true;
        r.why = why;
        break;
      }
      // Routing left of a remote domain is sender-specified routing; left
      // of a local domain the local domain goes and the rest is resolved
      // (user%relay.example@local is user@relay.example, verified).
      if (m != MatchStatus::kMatch) {
        r.routed = true;
        break;
      }
      if (local.find('@') == std::string::npos) {
        size_t bang = local.find('!');
        if (c_.swap_bangpath && bang != std::string::npos && bang > 0) {
          local = local.substr(bang + 1) + "@" + local.substr(0, bang);
        } else {
          size_t pct = local.rfind('%');
          if (pct != std::string::npos) local[pct] = '@';
        }
      }
      r.address = local;
    }
    size_t at = r.address.rfind('@');
    r.has_at = at != std::string::npos;
    if (r.has_at) r.domain = r.address.substr(at + 1);
    cache_.push_back(std::move(r));  // a deque: earlier references stay valid
    return cache_.back();
  }

  MatchStatus IsLocal(std::string_view domain, std::string* why) const {
    MatchStatus m = c_.mydestination.MatchDomain(domain, why);
    if (m != MatchStatus::kNoMatch) return m;
    if (domain.size() > 2 && domain.front() == '[' && domain.back() == ']') {
      std::string_view inner = domain.substr(1, domain.size() - 2);
      if (inner.size() > 5 && IEquals(inner.substr(0, 5), "ipv6:")) inner.remove_prefix(5);
      if (IsOwnAddress(c_.own_addresses, inner) || IsOwnAddress(c_.proxy_addresses, inner))
        return MatchStatus::kMatch;
    }
    return MatchStatus::kNoMatch;
  }

  const Resolved& Resolve(const std::string& input) {
    Resolved& r = const_cast<Resolved&>(Canonical(input));
    if (r.classified || r.fail) return r;
    r.classified = true;
    if (!r.has_at) {
      r.cls = AddrClass::kLocal;
      return r;
    }
    struct ClassStep {
      const MatchList* list;
      AddrClass cls;
    };
    MatchStatus m = IsLocal(r.domain, &r.why);
    if (m == MatchStatus::kMatch) {
      r.cls = AddrClass::kLocal;
      return r;
    }
    if (m == MatchStatus::kTryAgain) {
      r.fail = true;
      return r;
    }
    const ClassStep steps[] = {{&c_.virtual_alias_domains, AddrClass::kAlias},
                          {&c_.virtual_mailbox_domains, AddrClass::kVirtual},
                          {&c_.relay_domains, AddrClass::kRelay}};
    for (const ClassStep& s : steps) {
      m = s.list->MatchDomain(r.domain, &r.why);
      if (m == MatchStatus::kTryAgain) {
        r.fail = true;
        return r;
      }
      if (m == MatchStatus::kMatch) {
        r.cls = s.cls;
        return r;
      }
    }
    r.cls = AddrClass::kDefault;
    return r;
  }

  int PermitAuthDestination(const std::string& rcpt) {
    const Resolved& r = Resolve(rcpt);
    if (r.fail) {
      Warn(Cat("address resolution for ", rcpt, ": ", r.why));
      return RejectDictRetry(rcpt);
    }
    if (!r.has_at) return kOk;
    if (!c_.allow_untrusted_routing && r.routed) return kDunno;
    if (r.cls != AddrClass::kDefault) return kOk;
    return kDunno;
  }

  int RejectUnauthDestination(const std::string& rcpt, int code, std::string_view dsn) {
    int st = PermitAuthDestination(rcpt);
    if (aborted_) return st;
    if (st == kOk) return kDunno;
    return CheckReject(kPolicy, code, dsn, Cat("<", rcpt, ">: Relay access denied"));
  }

  int CheckRelayDomains(const std::string& rcpt) {
    std::string why;
    MatchStatus m = c_.smtpd_relay_domains.MatchDomain(f_.client_name, &why);
    if (m == MatchStatus::kMatch) return kOk;
    int st = PermitAuthDestination(rcpt);
    if (aborted_) return st;
    if (st == kOk) return kOk;
    return CheckReject(kPolicy, c_.relay_code, "5.7.1",
                       Cat("<", rcpt, ">: ", kRecipientClass, " rejected: Relay access denied"));
  }

  // mail_addr_find() over a table list (spec §3.6: user+ext@domain,
  // user@domain, user+ext and user when the domain is local, @domain):
  // found, not found, or try again.
  tables::LookupStatus FindAddr(const TableList& list, const Resolved& r, std::string* why) {
    std::string_view full = r.address;
    size_t at = full.rfind('@');
    std::string_view local = at == std::string_view::npos ? full : full.substr(0, at);
    size_t ext = c_.recipient_delimiter.empty() ? std::string_view::npos
                                                : local.find_first_of(c_.recipient_delimiter);
    if (ext == 0) ext = std::string_view::npos;
    std::string full_bare;
    std::string_view keys[5];
    size_t n = 0;
    auto push = [&](std::string_view k) {
      for (size_t i = 0; i < n; ++i)
        if (keys[i] == k) return;
      keys[n++] = k;
    };
    push(full);
    if (ext != std::string_view::npos) {
      full_bare = Cat(local.substr(0, ext), at == std::string_view::npos ? "" : full.substr(at));
      push(full_bare);
    }
    bool local_keys = at == std::string_view::npos || r.cls == AddrClass::kLocal ||
                      r.domain == c_.myorigin;
    if (local_keys) {
      push(local);
      if (ext != std::string_view::npos) push(local.substr(0, ext));
    }
    if (at != std::string_view::npos) push(full.substr(at));
    for (size_t k = 0; k < n; ++k) {
      for (size_t t = 0; t < list.tables.size(); ++t) {
        const tables::Table* table = list.tables[t];
        if (!table) {
          *why = Cat(list.names[t], " is not in the bundle");
          return tables::LookupStatus::kTryAgain;
        }
        if (table->IsPatternTable() && k > 0) continue;
        tables::LookupStatus s = Probe(*table, keys[k], full);
        if (s == tables::LookupStatus::kTryAgain) {
          *why = Cat(list.names[t], ": ", value_);
          return s;
        }
        if (s == tables::LookupStatus::kFound) return s;
      }
    }
    return tables::LookupStatus::kNotFound;
  }

  int CheckRecipientRcptMaps(const std::string& rcpt) {
    if (c_.no_unknown_recipient_checks || recipient_rcptmap_checked_) return kDunno;
    if (warn_if_reject_ == 0) recipient_rcptmap_checked_ = true;
    return CheckRcptMaps(sender_ ? *sender_ : std::string(), rcpt, kRecipientClass);
  }

  int CheckSenderRcptMaps(const std::string& sender) {
    if (c_.no_unknown_recipient_checks || sender_rcptmap_checked_) return kDunno;
    if (warn_if_reject_ == 0) sender_rcptmap_checked_ = true;
    return CheckRcptMaps(recipient_ ? *recipient_ : std::string(), sender, kSenderClass);
  }

  // Postfix's check_rcpt_maps(): is the address known in its class?
  int CheckRcptMaps(const std::string& other, const std::string& addr,
                    std::string_view reply_class) {
    const Resolved& r = Resolve(addr);
    if (r.fail) {
      Warn(Cat("address resolution for ", addr, ": ", r.why));
      return RejectDictRetry(addr);
    }
    bool sender = reply_class == kSenderClass;
    std::string why;
    auto match = [&](const TableList& list) -> int {
      if (list.empty()) return 0;
      tables::LookupStatus s = FindAddr(list, r, &why);
      if (s == tables::LookupStatus::kTryAgain) return -1;
      return s == tables::LookupStatus::kFound ? 1 : 0;
    };
    for (const TableList* list : {&c_.recipient_canonical_maps,
                                  sender ? &c_.sender_canonical_maps : nullptr,
                                  &c_.canonical_maps, &c_.virtual_alias_maps}) {
      if (!list) continue;
      int m = match(*list);
      if (m < 0) {
        Warn(why);
        return RejectDictRetry(addr);
      }
      if (m > 0) return kDunno;
    }
    // What the resolver makes of it: error and retry transports.
    std::string transport, nexthop;
    if (r.cls == AddrClass::kAlias) {
      // A live Postfix 3.7.11 answers 5.1.7 for a sender, 5.1.1 for a
      // recipient here (the other classes give a sender 5.1.0).
      transport = "error";
      nexthop = Cat(sender ? "5.1.7" : "5.1.1", c_.show_unknown_table
                                                    ? " User unknown in virtual alias table"
                                                    : " User unknown");
    } else if (c_.route && r.has_at) {
      tables::RouteRunResult rr = c_.route->Resolve(other, r.address, "");
      if (rr.deferred) {
        Warn(Cat("address resolution for ", addr, ": ", rr.reason));
        return RejectDictRetry(addr);
      }
      transport = rr.transport;
      nexthop = rr.nexthop;
    }
    std::string dsn;
    std::string_view rest;
    if (transport == "error") {
      DsnSplit(sender ? "5.1.0" : "5.1.1", nexthop, &dsn, &rest);
      return CheckReject(kBounce, r.cls == AddrClass::kAlias ? c_.virt_alias_code : 550,
                         DsnFix(dsn, reply_class),
                         Cat("<", addr, ">: ", reply_class, " rejected: ", rest));
    }
    if (transport == "retry") {
      DsnSplit(sender ? "4.1.0" : "4.1.1", nexthop, &dsn, &rest);
      return CheckReject(kBounce, 450, DsnFix(dsn, reply_class),
                         Cat("<", addr, ">: ", reply_class, " rejected: ", rest));
    }
    std::string_view class_dsn = sender ? "5.1.0" : "5.1.1";
    switch (r.cls) {
      case AddrClass::kLocal: {
        if (c_.local_rcpt_maps.empty() || !r.has_at) return kDunno;
        auto local_is = [&](std::string_view name) {
          return r.address.size() > name.size() && r.address[name.size()] == '@' &&
                 IEquals(std::string_view(r.address).substr(0, name.size()), name);
        };
        if (local_is(c_.double_bounce_sender) || local_is("postmaster") ||
            local_is("mailer-daemon"))
          return kDunno;
        int m = match(c_.local_rcpt_maps);
        if (m < 0) {
          Warn(why);
          return RejectDictRetry(addr);
        }
        if (m == 0)
          return CheckReject(kBounce, c_.local_rcpt_code, class_dsn,
                             Cat("<", addr, ">: ", reply_class, " rejected: User unknown",
                                 c_.show_unknown_table ? " in local recipient table" : ""));
        return kDunno;
      }
      case AddrClass::kVirtual: {
        int m = match(c_.virtual_mailbox_maps);
        if (m < 0) {
          Warn(why);
          return RejectDictRetry(addr);
        }
        if (!c_.virtual_mailbox_maps.empty() && m == 0)
          return CheckReject(kBounce, c_.virt_mailbox_code, class_dsn,
                             Cat("<", addr, ">: ", reply_class, " rejected: User unknown",
                                 c_.show_unknown_table ? " in virtual mailbox table" : ""));
        return kDunno;
      }
      case AddrClass::kRelay: {
        int m = match(c_.relay_rcpt_maps);
        if (m < 0) {
          Warn(why);
          return RejectDictRetry(addr);
        }
        if (!c_.relay_rcpt_maps.empty() && m == 0)
          return CheckReject(kBounce, c_.relay_rcpt_code, class_dsn,
                             Cat("<", addr, ">: ", reply_class, " rejected: User unknown",
                                 c_.show_unknown_table ? " in relay recipient table" : ""));
        return kDunno;
      }
      default:
        return kDunno;
    }
  }

  const Config& c_;
  SmtpdStage stage_;
  const SmtpdFacts& f_;
  std::string_view where_;
  std::string namaddr_;
  const std::string* helo_ = nullptr;
  const std::string* sender_ = nullptr;
  const std::string* recipient_ = nullptr;

  int recursion_ = 0;
  int warn_if_reject_ = 0;
  Deferral defer_if_permit_, defer_if_reject_;
  bool aborted_ = false;
  bool discard_ = false;
  bool hold_ = false;
  bool recipient_rcptmap_checked_ = false;
  bool sender_rcptmap_checked_ = false;
  std::string next_name_;
  std::string error_text_;
  std::string value_;  // table lookup buffer
  std::deque<Resolved> cache_;
  AccessVerdict v_;
};

}  // namespace

namespace {

// A parameter's value: the bundle's, else the registry default; a default
// that depends on compatibility_level (which the bundle does not carry for
// smtpd) takes the current level's branch.
std::string Value(const ServiceParams& p, std::string_view name) {
  std::string v = p.Str(name);
  if (p.Has(name) || v.rfind("${{$compatibility_level}", 0) != 0) return v;
  size_t colon = v.rfind(": {");
  if (colon == std::string::npos) return v;
  std::string tail = v.substr(colon + 3);
  size_t close = tail.find('}');
  return close == std::string::npos ? v : tail.substr(0, close);
}

bool BoolValue(const ServiceParams& p, std::string_view name, bool fallback) {
  bool b = fallback;
  return ParsePostfixBool(Value(p, name), &b) ? b : fallback;
}

// A *_tempfail_action: true for "defer", false for "defer_if_permit" (the
// default). A registry default that names another parameter
// ("$reject_tempfail_action") is followed.
bool TempfailActionIsDefer(const ServiceParams& p, std::string_view name) {
  std::string v = Value(p, name);
  for (int depth = 0; depth < 4 && !v.empty() && v[0] == '$'; ++depth) {
    std::string ref = v.substr(1);
    if (ref.size() > 2 && ref.front() == '{' && ref.back() == '}') ref = ref.substr(1, ref.size() - 2);
    v = Value(p, ref);
  }
  return Lower(v) == "defer";
}

bool InList(const std::vector<std::string>& list, std::string_view name) {
  for (const std::string& item : list)
    if (item == name) return true;
  return false;
}

TableList ParseTableList(Config* c, std::string_view value) {
  TableList list;
  for (const std::string& w : Words(value)) {
    if (w.find(':') == std::string::npos) continue;
    list.tables.push_back(c->FindTable(w));
    list.names.push_back(w);
  }
  return list;
}

absl::Status ParseRestrictions(Config* c, std::string_view param, std::string_view value,
                               StepList* out) {
  std::vector<std::string> words = Words(value);
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    Step s;
    s.name = w;
    if (const tables::SmtpdRestrictionInfo* info = tables::FindSmtpdRestriction(w)) {
      if (!info->implemented)
        return absl::InvalidArgumentError(
            Cat(param, ": restriction \"", w, "\" is not implemented by posthasted (",
                info->description, ")"));
      s.id = info->id;
      if (info->arg == tables::SmtpdRestrictionArg::kTable) {
        if (i + 1 >= words.size() || words[i + 1].find(':') == std::string::npos) {
          s.kind = Step::kBadArgument;
          if (i + 1 < words.size()) s.arg = words[++i];
        } else {
          s.arg = words[++i];
          s.table = c->FindTable(s.arg);
        }
      } else if (info->arg == tables::SmtpdRestrictionArg::kDomain) {
        // A DNS list: the next word, unless it is missing (Postfix warns
        // when the restriction runs).
        if (i + 1 < words.size() && !tables::FindSmtpdRestriction(words[i + 1]) &&
            words[i + 1].find(':') == std::string::npos && !c->class_index.count(words[i + 1])) {
          s.arg = words[++i];
          tables::DnsxlSpec spec = tables::SplitDnsxlSpec(s.arg);
          if (spec.filter) {
            absl::StatusOr<tables::DnsxlPattern> pattern = tables::DnsxlPattern::Parse(*spec.filter);
            if (!pattern.ok())
              return absl::InvalidArgumentError(Cat(param, ": ", w, " ", s.arg, ": ",
                                                    std::string(pattern.status().message())));
          }
        }
      } else if (info->arg != tables::SmtpdRestrictionArg::kNone) {
        ++i;  // unimplemented anyway
      }
    } else if (w.find(':') != std::string::npos) {
      s.kind = Step::kBareTable;
      s.arg = w;
      s.table = c->FindTable(w);
    } else if (auto it = c->class_index.find(w); it != c->class_index.end()) {
      s.kind = Step::kClass;
      s.class_index = it->second;
    } else {
      return absl::InvalidArgumentError(Cat(param, ": unknown smtpd restriction \"", w, "\""));
    }
    out->push_back(std::move(s));
  }
  return absl::OkStatus();
}

// Postfix refuses to start unless the relay or recipient restrictions can
// reject by default (has_required in smtpd_check.c).
bool HasRequired(const Config& c, const StepList& list, int depth) {
  if (depth > 20) return false;
  for (size_t i = 0; i < list.size(); ++i) {
    const Step& s = list[i];
    if (s.kind == Step::kRestriction) {
      if (s.id == R::kWarnIfReject && i + 1 < list.size()) {
        ++i;
        continue;
      }
      if (s.id == R::kPermit) return false;
      if (s.id == R::kRejectUnauthDestination || s.id == R::kDeferUnauthDestination ||
          s.id == R::kReject || s.id == R::kDefer || s.id == R::kDeferIfPermit ||
          s.id == R::kCheckRelayDomains)
        return true;
    }
    if (s.kind == Step::kClass && HasRequired(c, c.classes[s.class_index], depth + 1)) return true;
  }
  return false;
}

std::vector<IpAddress> ParseAddresses(std::string_view value) {
  std::vector<IpAddress> out;
  for (std::string w : Words(value)) {
    if (w.size() >= 2 && w.front() == '[' && w.back() == ']') w = w.substr(1, w.size() - 2);
    IpAddress a;
    if (ParseIpAddress(w, &a)) {
      out.push_back(a);
      continue;
    }
    absl::StatusOr<std::vector<InterfaceAddress>> resolved = OwnInterfaceAddresses(w, "all");
    if (resolved.ok())
      for (const InterfaceAddress& r : *resolved) out.push_back(r.addr);
  }
  return out;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const SmtpdAccess>> SmtpdAccess::Build(
    std::shared_ptr<const tables::Snapshot> snapshot, std::string_view service) {
  if (!snapshot) return absl::InvalidArgumentError("no bundle");
  if (!snapshot->ServiceParams(service))
    return absl::NotFoundError(Cat("the bundle has no service ", service));
  auto cfg = std::make_unique<Config>();
  Config& c = *cfg;
  c.snapshot = snapshot;
  c.service = std::string(service);
  ServiceParams p(*snapshot, service);
  // Address classes are trivial-rewrite's business: its service's settings.
  std::string rewrite_service(service);
  for (const auto& [name, params] : snapshot->services()) {
    auto it = params.find("process_name");
    if (it != params.end() && it->second == "trivial-rewrite") {
      rewrite_service = name;
      break;
    }
  }
  ServiceParams rw(*snapshot, rewrite_service);
  auto find = [&c](std::string_view name) { return c.FindTable(name); };

  c.delay_reject = BoolValue(p, "smtpd_delay_reject", true);
  c.relay_before_rcpt = BoolValue(p, "smtpd_relay_before_recipient_restrictions", true);
  c.reject_unlisted_recipient = BoolValue(p, "smtpd_reject_unlisted_recipient", true);
  c.reject_unlisted_sender = BoolValue(p, "smtpd_reject_unlisted_sender", false);
  c.no_unknown_recipient_checks =
      InList(Words(Lower(Value(p, "receive_override_options"))), "no_unknown_recipient_checks");
  c.soft_bounce = BoolValue(p, "soft_bounce", false);
  c.client_port_logging = BoolValue(p, "smtpd_client_port_logging", false);
  c.external_log_form = Lower(Value(p, "info_log_address_format")) != "internal";
  c.sasl_enable = BoolValue(p, "smtpd_sasl_auth_enable", false);
  c.smtputf8_enable = BoolValue(p, "smtputf8_enable", true);
  c.allow_untrusted_routing = BoolValue(p, "allow_untrusted_routing", false);
  c.show_unknown_table = BoolValue(p, "show_user_unknown_table_name", true);
  c.proxy_filter = !Value(p, "smtpd_proxy_filter").empty();
  c.percent_hack = BoolValue(rw, "allow_percent_hack", true);
  c.swap_bangpath = BoolValue(rw, "swap_bangpath", true);

  c.access_map_reject_code = static_cast<int>(p.Int("access_map_reject_code"));
  c.access_map_defer_code = static_cast<int>(p.Int("access_map_defer_code"));
  c.reject_code = static_cast<int>(p.Int("reject_code"));
  c.defer_code = static_cast<int>(p.Int("defer_code"));
  c.relay_code = static_cast<int>(p.Int("relay_domains_reject_code"));
  c.non_fqdn_code = static_cast<int>(p.Int("non_fqdn_reject_code"));
  c.bad_name_code = static_cast<int>(p.Int("invalid_hostname_reject_code"));
  c.unknown_client_code = static_cast<int>(p.Int("unknown_client_reject_code"));
  c.plaintext_code = static_cast<int>(p.Int("plaintext_reject_code"));
  c.local_rcpt_code = static_cast<int>(p.Int("unknown_local_recipient_reject_code"));
  c.relay_rcpt_code = static_cast<int>(p.Int("unknown_relay_recipient_reject_code"));
  c.virt_alias_code = static_cast<int>(p.Int("unknown_virtual_alias_reject_code"));
  c.virt_mailbox_code = static_cast<int>(p.Int("unknown_virtual_mailbox_reject_code"));
  c.multi_rcpt_code = static_cast<int>(p.Int("multi_recipient_bounce_reject_code"));
  c.unknown_address_code = static_cast<int>(p.Int("unknown_address_reject_code"));
  c.unknown_name_code = static_cast<int>(p.Int("unknown_hostname_reject_code"));
  c.sender_login_maps = ParseTableList(&c, Value(p, "smtpd_sender_login_maps"));
  {
    std::vector<std::string> protocols = Words(Lower(Value(p, "inet_protocols")));
    bool all = protocols.empty() || InList(protocols, "all");
    c.ipv4 = all || InList(protocols, "ipv4");
    c.ipv6 = all || InList(protocols, "ipv6");
  }
  c.maps_rbl_code = static_cast<int>(p.Int("maps_rbl_reject_code"));
  c.default_rbl_reply = Value(p, "default_rbl_reply");
  c.rbl_reply_maps = ParseTableList(&c, Value(p, "rbl_reply_maps"));
  c.maps_rbl_domains = Words(Value(p, "maps_rbl_domains"));
  // smtpd_expand_filter's default: printable ASCII, space and tab.
  for (int ch = 0x20; ch < 0x7f; ++ch) c.expand_filter.push_back(static_cast<char>(ch));
  c.expand_filter.push_back('\t');
  if (p.Has("smtpd_expand_filter")) c.expand_filter = p.Str("smtpd_expand_filter");
  c.unknown_address_defer_all = TempfailActionIsDefer(p, "unknown_address_tempfail_action");
  c.unknown_name_defer_all = TempfailActionIsDefer(p, "unknown_helo_hostname_tempfail_action");

  c.null_key = Value(p, "smtpd_null_access_lookup_key");
  c.recipient_delimiter = Value(p, "recipient_delimiter");
  c.double_bounce_sender = Value(p, "double_bounce_sender");
  c.myorigin = Lower(rw.Has("myorigin") ? rw.Str("myorigin")
                                        : p.Has("myorigin") ? p.Str("myorigin") : p.HostName());
  c.canon.myorigin = c.myorigin;
  c.canon.mydomain = rw.Has("mydomain") ? rw.Domain() : p.Domain();
  c.canon.append_at_myorigin = BoolValue(rw, "append_at_myorigin", true);
  c.canon.append_dot_mydomain = BoolValue(rw, "append_dot_mydomain", false);

  std::vector<std::string> parent = Words(Value(p, "parent_domain_matches_subdomains"));
  std::vector<std::string> rw_parent = Words(Value(rw, "parent_domain_matches_subdomains"));
  c.access_parent = InList(parent, "smtpd_access_maps");

  // $mynetworks: the bundle's, else computed here as Postfix does.
  absl::StatusOr<std::vector<InterfaceAddress>> own =
      OwnInterfaceAddresses(Value(p, "inet_interfaces"), Value(p, "inet_protocols"));
  if (!own.ok()) return own.status();
  for (const InterfaceAddress& a : *own) c.own_addresses.push_back(a.addr);
  c.proxy_addresses = ParseAddresses(Value(p, "proxy_interfaces"));
  if (p.Has("mynetworks")) {
    c.mynetworks_text = p.Str("mynetworks");
  } else {
    absl::StatusOr<std::string> computed = MynetworksFor(*own, Value(p, "mynetworks_style"));
    if (!computed.ok()) return computed.status();
    c.mynetworks_text = *computed;
  }
  struct ListSpec {
    MatchList* list;
    std::string_view name;
    const ServiceParams* params;
    const std::vector<std::string>* parent;
    MatchListKind kind;
    std::string value;
  };
  ListSpec specs[] = {
      {&c.mynetworks, "mynetworks", &p, &parent, MatchListKind::kHost, c.mynetworks_text},
      {&c.permit_log, "smtpd_log_access_permit_actions", &p, &parent, MatchListKind::kString, ""},
      {&c.smtpd_relay_domains, "relay_domains", &p, &parent, MatchListKind::kDomain, ""},
      {&c.mydestination, "mydestination", &rw, &rw_parent, MatchListKind::kDomain, ""},
      {&c.virtual_alias_domains, "virtual_alias_domains", &rw, &rw_parent, MatchListKind::kDomain, ""},
      {&c.virtual_mailbox_domains, "virtual_mailbox_domains", &rw, &rw_parent, MatchListKind::kDomain, ""},
      {&c.relay_domains, "relay_domains", &rw, &rw_parent, MatchListKind::kDomain, ""},
      {&c.fast_flush_domains, "fast_flush_domains", &p, &parent, MatchListKind::kDomain, ""},
  };
  for (ListSpec& s : specs) {
    std::string value = s.name == "mynetworks" ? s.value : Value(*s.params, s.name);
    absl::StatusOr<MatchList> list =
        MatchList::Parse(s.name, value, s.kind, InList(*s.parent, s.name), find);
    if (!list.ok()) return list.status();
    *s.list = std::move(*list);
  }

  c.local_rcpt_maps = ParseTableList(&c, Value(p, "local_recipient_maps"));
  c.virtual_alias_maps = ParseTableList(&c, Value(p, "virtual_alias_maps"));
  c.virtual_mailbox_maps = ParseTableList(&c, Value(p, "virtual_mailbox_maps"));
  c.relay_rcpt_maps = ParseTableList(&c, Value(p, "relay_recipient_maps"));
  c.canonical_maps = ParseTableList(&c, Value(p, "canonical_maps"));
  c.recipient_canonical_maps = ParseTableList(&c, Value(p, "recipient_canonical_maps"));
  c.sender_canonical_maps = ParseTableList(&c, Value(p, "sender_canonical_maps"));

  if (const tables::RouteProgram* program = snapshot->route_program()) {
    std::vector<const tables::Table*> route_tables;
    for (const std::string& name : program->table_names)
      route_tables.push_back(snapshot->FindTable(name));
    c.route = std::make_unique<tables::RouteVm>(*program, std::move(route_tables));
  }

  // Restriction classes first: the lists may name them.
  std::vector<std::string> class_names = Words(Value(p, "smtpd_restriction_classes"));
  for (const std::string& name : class_names) {
    if (c.class_index.count(name)) continue;
    c.class_index.emplace(name, c.classes.size());
    c.classes.emplace_back();
  }
  for (const std::string& name : class_names) {
    size_t index = c.class_index.at(name);
    if (!c.classes[index].empty()) continue;
    std::string value = p.Has(name) ? p.Str(name) : std::string();
    if (Words(value).empty())
      return absl::InvalidArgumentError(
          Cat("restriction class `", name, "' needs a definition"));
    StepList steps;
    if (absl::Status s = ParseRestrictions(&c, name, value, &steps); !s.ok())
      return s;
    c.classes[index] = std::move(steps);
  }
  struct Spec {
    std::string_view param;
    StepList* list;
  };
  const Spec lists[] = {{"smtpd_client_restrictions", &c.client},
                        {"smtpd_helo_restrictions", &c.helo},
                        {"smtpd_sender_restrictions", &c.sender},
                        {"smtpd_relay_restrictions", &c.relay},
                        {"smtpd_recipient_restrictions", &c.recipient},
                        {"smtpd_data_restrictions", &c.data},
                        {"smtpd_end_of_data_restrictions", &c.eod},
                        {"smtpd_etrn_restrictions", &c.etrn}};
  for (const Spec& s : lists) {
    if (absl::Status st = ParseRestrictions(&c, s.param, Value(p, s.param), s.list); !st.ok())
      return st;
  }
  if (!HasRequired(c, c.recipient, 0) && !HasRequired(c, c.relay, 0))
    return absl::InvalidArgumentError(
        "in parameter smtpd_relay_restrictions or smtpd_recipient_restrictions, specify at least "
        "one working instance of: reject_unauth_destination, defer_unauth_destination, reject, "
        "defer, defer_if_permit or check_relay_domains");

  std::shared_ptr<SmtpdAccess> access(new SmtpdAccess());
  access->config_ = std::move(cfg);
  return std::shared_ptr<const SmtpdAccess>(std::move(access));
}

SmtpdAccess::SmtpdAccess() = default;
SmtpdAccess::~SmtpdAccess() = default;

AccessVerdict SmtpdAccess::Check(SmtpdStage stage, const SmtpdFacts& facts) const {
  if (!config_) return {};
  return Eval(*config_, stage, facts).Run();
}

bool SmtpdAccess::InMynetworks(std::string_view client_addr) const {
  return config_ && config_->mynetworks.MatchHost("unknown", client_addr) == MatchStatus::kMatch;
}

bool SmtpdAccess::FastFlushDomain(std::string_view domain) const {
  return config_ && config_->fast_flush_domains.MatchDomain(domain) == MatchStatus::kMatch;
}

const std::string& SmtpdAccess::mynetworks() const {
  static const std::string kNone;
  return config_ ? config_->mynetworks_text : kNone;
}

bool SmtpdAccess::delay_reject() const { return !config_ || config_->delay_reject; }

}  // namespace posthaste::runtime
