// local_delivery.cc: aliases, users, mailboxes (see local_delivery.h).
#include "runtime/local_delivery.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/ascii.h"
#include "runtime/alias_list.h"
#include "runtime/forward_path.h"
#include "runtime/fs_identity.h"
#include "runtime/maildir_writer.h"
#include "runtime/maillog.h"
#include "runtime/mbox_writer.h"
#include "runtime/service_params.h"
#include "tables/str_cat.h"

namespace posthaste::runtime {

namespace {

using tables::Cat;
using Status = RecipientOutcome::Status;

struct LocalConfig {
  std::vector<const tables::Table*> alias_tables;
  std::string alias_problem;  // a configured alias table the bundle lacks
  std::string home_mailbox;
  std::string spool;
  std::string delimiter;
  std::vector<std::string> forward_path;
  std::string forward_filter;  // forward_expansion_filter
  bool owner_request_special = true;
  bool original_recipient = true;
  uint64_t size_limit = 0;
  int lock_attempts = 20;
  absl::Duration lock_delay = absl::Seconds(1);
  AgentGlobals globals;
  std::string unsupported_mailbox;  // a parameter that would route the mailbox elsewhere
  std::string unsupported_unknown;  // a parameter that would take unknown users
};

LocalConfig ReadConfig(const DeliveryRequest& request, AgentGlobalsCache& globals) {
  LocalConfig c;
  const tables::Snapshot& snap = *request.snapshot;
  ServiceParams p(snap, request.service);
  for (const std::string& name : p.List("alias_maps")) {
    const tables::Table* t = snap.FindTable(name);
    if (t)
      c.alias_tables.push_back(t);
    else if (name.rfind("nis:", 0) == 0)
      continue;  // NIS lookups disabled, as on a host without a NIS domain: never found
    else if (c.alias_problem.empty())
      c.alias_problem = name;
  }
  c.home_mailbox = p.Str("home_mailbox");
  c.spool = p.Str("mail_spool_directory");
  c.delimiter = p.Str("recipient_delimiter");
  c.forward_path = p.List("forward_path");
  c.forward_filter = p.Str("forward_expansion_filter");
  c.owner_request_special = p.Bool("owner_request_special");
  c.original_recipient = p.Bool("enable_original_recipient");
  c.size_limit = static_cast<uint64_t>(std::max<int64_t>(0, p.Size("mailbox_size_limit")));
  c.lock_attempts = static_cast<int>(p.Int("deliver_lock_attempts"));
  c.lock_delay = p.Time("deliver_lock_delay");
  c.globals = globals.Get(snap, request.service);
  for (const char* name :
       {"mailbox_transport_maps", "mailbox_transport", "mailbox_command_maps", "mailbox_command"}) {
    if (!p.Str(name).empty()) {
      c.unsupported_mailbox = name;
      break;
    }
  }
  for (const char* name : {"fallback_transport_maps", "fallback_transport", "luser_relay"}) {
    if (!p.Str(name).empty()) {
      c.unsupported_unknown = name;
      break;
    }
  }
  return c;
}

// The recipient's local part split at the first delimiter character:
// "user+ext" gives user "user", extension "ext". owner-X and X-request are
// not split when "-" is a delimiter (owner_request_special).
struct LocalPart {
  std::string local;  // lowercased, with extension
  std::string user;   // lowercased, without extension
  std::string domain;
  std::string extension;  // after the delimiter ("" when none)
  std::string delimiter;  // the delimiter character found ("" when none)
};

LocalPart SplitRecipient(std::string_view address, const LocalConfig& c) {
  LocalPart lp;
  size_t at = address.rfind('@');
  lp.local = absl::AsciiStrToLower(std::string(address.substr(0, at)));
  if (at != std::string_view::npos)
    lp.domain = absl::AsciiStrToLower(std::string(address.substr(at + 1)));
  lp.user = lp.local;
  if (c.delimiter.empty()) return lp;
  bool special =
      c.owner_request_special && c.delimiter.find('-') != std::string::npos &&
      (lp.local.rfind("owner-", 0) == 0 ||
       (lp.local.size() > 8 && lp.local.compare(lp.local.size() - 8, 8, "-request") == 0));
  if (special) return lp;
  size_t cut = lp.local.find_first_of(c.delimiter);
  if (cut != std::string::npos && cut > 0) {
    lp.user = lp.local.substr(0, cut);
    lp.extension = lp.local.substr(cut + 1);
    lp.delimiter = lp.local.substr(cut, 1);
  }
  return lp;
}

enum class AliasAnswer { kFound, kNotFound, kTryAgain };

AliasAnswer LookupAlias(const LocalConfig& c, const std::vector<std::string>& keys,
                        std::string* value, std::string* matched) {
  for (const std::string& key : keys) {
    for (const tables::Table* t : c.alias_tables) {
      tables::LookupStatus s = t->LookupInto(key, value);
      if (s == tables::LookupStatus::kTryAgain) return AliasAnswer::kTryAgain;
      if (s == tables::LookupStatus::kFound) {
        *matched = key;
        return AliasAnswer::kFound;
      }
    }
  }
  return AliasAnswer::kNotFound;
}

std::string RefusalText(ElementKind kind, std::string_view alias) {
  std::string_view what = kind == ElementKind::kCommand ? "mail to command"
                          : kind == ElementKind::kFile  ? "mail to file"
                                                        : "mail to :include: file";
  return Cat(what, " is not supported (", alias, ")");
}

// Combines part outcomes into the recipient's one outcome: any deferral
// wins, then any bounce, else sent with the texts joined.
RecipientOutcome Combine(size_t index, const std::vector<RecipientOutcome>& parts) {
  for (Status want : {Status::kDeferred, Status::kBounced})
    for (const RecipientOutcome& p : parts)
      if (p.status == want) return p;
  std::string text;
  for (const RecipientOutcome& p : parts) text += (text.empty() ? "" : ", ") + p.text;
  return SentOutcome(index, "2.0.0", text);
}

RecipientOutcome FromWriteStatus(size_t index, const absl::Status& s, std::string_view prefix) {
  std::string text = Cat(prefix, std::string(s.message()));
  if (absl::IsResourceExhausted(s)) return BouncedOutcome(index, "5.2.2", text);
  return DeferredOutcome(index, "4.2.0", text);
}

}  // namespace

absl::StatusOr<std::optional<PasswdEntry>> SystemPasswdLookup(std::string_view name) {
  std::string key(name);
  long hint = sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buf(hint > 0 ? static_cast<size_t>(hint) : 16384);
  for (;;) {
    struct passwd pw;
    struct passwd* result = nullptr;
    int rc = getpwnam_r(key.c_str(), &pw, buf.data(), buf.size(), &result);
    if (rc == ERANGE && buf.size() < (size_t{1} << 20)) {
      buf.resize(buf.size() * 2);
      continue;
    }
    if (rc == 0 && result == nullptr) return std::nullopt;
    if (rc == ENOENT || rc == ESRCH) return std::nullopt;
    if (rc != 0) return absl::UnavailableError(Cat("getpwnam_r ", key, ": ", strerror(rc)));
    return PasswdEntry{pw.pw_name, pw.pw_uid, pw.pw_gid, pw.pw_dir ? pw.pw_dir : ""};
  }
}

LocalDeliveryAgent::LocalDeliveryAgent(LocalDeliveryOptions options)
    : BlockingAgent(options.blocking), options_(std::move(options)) {
  if (!options_.passwd) options_.passwd = SystemPasswdLookup;
  if (!options_.clock) options_.clock = RealMicros;
}

namespace {

struct Delivery {
  const DeliveryRequest& request;
  const LocalDeliveryOptions& options;
  const LocalConfig& config;
  std::string_view content;
};

// Queues one new message to `addresses` (an alias or .forward expansion),
// with a Delivered-To: header for loop detection.
RecipientOutcome ForwardCopy(const Delivery& d, const DeliveryRecipient& r,
                             const std::vector<std::string>& addresses, std::string sender) {
  if (!d.options.forward)
    return DeferredOutcome(r.index, "4.3.0", "mail forwarding is not available");
  NewMessage m;
  m.sender = std::move(sender);
  m.recipients = addresses;
  m.original_recipients.assign(addresses.size(), r.original.empty() ? r.address : r.original);
  m.flags = d.request.flags;
  std::string content = Cat("Delivered-To: ", absl::AsciiStrToLower(r.address), "\n");
  content.append(d.content);
  absl::StatusOr<std::string> id = d.options.forward(m, content);
  if (id.ok()) return SentOutcome(r.index, "2.0.0", Cat("forwarded as ", *id));
  return DeferredOutcome(r.index, "4.3.0",
                         Cat("mail forwarding failed: ", std::string(id.status().message())));
}

// The elements of an alias value or a .forward list: addresses to forward
// to (a bare name gets @myorigin), whether the list names `self` (the
// user's own mailbox), and refusals for the forms posthaste does not run.
struct ExpandedList {
  std::vector<std::string> forward;
  bool self = false;
  std::vector<RecipientOutcome> refused;
};

ExpandedList ExpandList(const Delivery& d, const DeliveryRecipient& r, const LocalPart& lp,
                        std::string_view value, std::string_view self,
                        std::string_view refusal_name) {
  const LocalConfig& c = d.config;
  ExpandedList out;
  for (const std::string& element : SplitAliasList(value)) {
    AliasElement e = ClassifyElement(element);
    if (e.kind != ElementKind::kAddress) {
      out.refused.push_back(BouncedOutcome(r.index, "5.7.1", RefusalText(e.kind, refusal_name)));
      continue;
    }
    std::string addr = e.address;
    if (addr.empty()) continue;
    size_t at = addr.rfind('@');
    std::string local = absl::AsciiStrToLower(addr.substr(0, at));
    std::string domain = at == std::string::npos ? "" : absl::AsciiStrToLower(addr.substr(at + 1));
    if (local == self && (domain.empty() || domain == lp.domain ||
                          domain == absl::AsciiStrToLower(c.globals.myorigin) ||
                          domain == absl::AsciiStrToLower(c.globals.myhostname))) {
      out.self = true;  // the list names its owner: the owner's own mailbox
      continue;
    }
    if (at == std::string::npos) addr += Cat("@", c.globals.myorigin);
    if (std::find(out.forward.begin(), out.forward.end(), addr) == out.forward.end())
      out.forward.push_back(addr);
  }
  return out;
}

// The first forward_path file that exists, read with the user's rights
// (the caller has switched to them). nullopt: none (deliver to the
// mailbox). A file must be a regular file owned by the user or root, as
// local(8) requires; others are skipped with a warning.
std::optional<std::string> ReadDotForward(const Delivery& d, const DeliveryRecipient& r,
                                          const LocalPart& lp, const PasswdEntry& user,
                                          std::string* path_used) {
  const LocalConfig& c = d.config;
  ForwardVariables vars;
  vars["user"] = user.name;
  vars["home"] = user.home;
  vars["recipient"] = r.address;
  vars["domain"] = lp.domain;
  vars["local"] = lp.local;
  if (!lp.extension.empty()) {
    vars["extension"] = lp.extension;
    vars["recipient_delimiter"] = lp.delimiter;
  }
  for (const std::string& item : c.forward_path) {
    std::optional<std::string> path = ExpandForwardItem(item, vars, c.forward_filter);
    if (!path || path->empty() || path->front() != '/') continue;
    int fd = open(path->c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) continue;
    struct stat st;
    std::string text;
    bool usable = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
                  (st.st_uid == user.uid || st.st_uid == 0);
    if (!usable) {
      if (d.options.log)
        d.options.log->Warning("local", Cat(d.request.queue_id, ": ignoring ", *path,
                                            ": not a regular file owned by ", user.name));
      close(fd);
      continue;
    }
    char buf[8192];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0 && text.size() < (size_t{1} << 20))
      text.append(buf, static_cast<size_t>(n));
    close(fd);
    *path_used = *path;
    return text;
  }
  return std::nullopt;
}

// Step 3: the user's mailbox.
RecipientOutcome DeliverToUser(const Delivery& d, const DeliveryRecipient& r, const LocalPart& lp,
                               bool through_forward = true) {
  const LocalConfig& c = d.config;
  if (!c.unsupported_mailbox.empty())
    return DeferredOutcome(r.index, "4.3.0",
                           Cat(c.unsupported_mailbox, " is not supported by posthaste"));
  absl::StatusOr<std::optional<PasswdEntry>> pw = d.options.passwd(lp.user);
  if (!pw.ok())
    return DeferredOutcome(r.index, "4.3.0",
                           Cat("user lookup error: ", std::string(pw.status().message())));
  if (!pw->has_value()) {
    if (!c.unsupported_unknown.empty())
      return DeferredOutcome(r.index, "4.3.0",
                             Cat(c.unsupported_unknown, " is not supported by posthaste"));
    return BouncedOutcome(r.index, "5.1.1", Cat("unknown user: \"", lp.user, "\""));
  }
  const PasswdEntry& user = **pw;

  DeliveryHeaders h;
  h.sender = d.request.sender;
  if (c.original_recipient) h.original = r.original.empty() ? r.address : r.original;
  h.delivered_to = r.address;
  std::string headers = FormatDeliveryHeaders(h);
  int64_t now = d.options.clock();

  std::string path;
  bool maildir = false;
  bool in_spool = c.home_mailbox.empty();
  if (!in_spool) {
    path = Cat(user.home, "/", c.home_mailbox);
    maildir = !c.home_mailbox.empty() && c.home_mailbox.back() == '/';
  } else {
    std::string spool = c.spool;
    maildir = !spool.empty() && spool.back() == '/';
    while (spool.size() > 1 && spool.back() == '/') spool.pop_back();
    path = Cat(spool, "/", user.name, maildir ? "/" : "");
  }

  // Root: the user's own rights for everything except opening the spool
  // mbox (see the header).
  bool as_root_in_spool = in_spool && !maildir && RunningAsRoot();
  absl::StatusOr<std::unique_ptr<ScopedFsIdentity>> identity =
      ScopedFsIdentity::Enter(as_root_in_spool ? 0 : user.uid, user.gid);
  if (!identity.ok())
    return DeferredOutcome(
        r.index, "4.3.0",
        Cat("cannot switch to user ", user.name, ": ", std::string(identity.status().message())));
  // The user's forwarding list (forward_path, ~/.forward by default), read
  // with the user's rights.
  if (through_forward && !user.home.empty()) {
    absl::StatusOr<std::unique_ptr<ScopedFsIdentity>> as_user =
        as_root_in_spool ? ScopedFsIdentity::Enter(user.uid, user.gid)
                         : absl::StatusOr<std::unique_ptr<ScopedFsIdentity>>(nullptr);
    std::string path;
    std::optional<std::string> list;
    if (as_user.ok()) list = ReadDotForward(d, r, lp, user, &path);
    as_user = nullptr;
    if (list) {
      ExpandedList e = ExpandList(d, r, lp, ForwardFileList(*list), user.name, path);
      std::vector<RecipientOutcome> parts = std::move(e.refused);
      if (!e.forward.empty()) parts.push_back(ForwardCopy(d, r, e.forward, d.request.sender));
      if (e.self) parts.push_back(DeliverToUser(d, r, lp, /*through_forward=*/false));
      if (!parts.empty()) return Combine(r.index, parts);
      // An empty .forward: the mailbox, as if there were none.
    }
  }
  if (maildir) {
    MaildirTarget t;
    t.directory = path;
    t.hostname = c.globals.myhostname;
    t.size_limit = c.size_limit;
    t.now_micros = now;
    absl::StatusOr<std::string> file = DeliverToMaildir(t, headers, d.content);
    if (!file.ok()) return FromWriteStatus(r.index, file.status(), "maildir delivery failed: ");
    return SentOutcome(r.index, "2.0.0", "delivered to maildir");
  }
  MboxTarget t;
  t.path = path;
  t.size_limit = c.size_limit;
  if (as_root_in_spool) t.owner = MboxTarget::Owner{user.uid, user.gid};
  t.lock_attempts = c.lock_attempts;
  t.lock_delay = c.lock_delay;
  t.now_micros = now;
  absl::Status s = AppendToMbox(t, d.request.sender, headers, d.content);
  if (!s.ok())
    return FromWriteStatus(r.index, s,
                           Cat("cannot update mailbox ", path, " for user ", user.name, ". "));
  return SentOutcome(r.index, "2.0.0", "delivered to mailbox");
}

RecipientOutcome DeliverOne(const Delivery& d, const DeliveryRecipient& r) {
  const LocalConfig& c = d.config;
  if (HasDeliveredTo(d.content, r.address))
    return BouncedOutcome(r.index, "5.4.6", Cat("mail forwarding loop for ", r.address));
  LocalPart lp = SplitRecipient(r.address, c);

  // Step 2: aliases.
  if (!c.alias_problem.empty())
    return DeferredOutcome(r.index, "4.3.0", "alias database unavailable");
  std::vector<std::string> keys = {lp.local};
  if (lp.user != lp.local) keys.push_back(lp.user);
  std::string value, name;
  switch (LookupAlias(c, keys, &value, &name)) {
    case AliasAnswer::kTryAgain:
      return DeferredOutcome(r.index, "4.3.0", "alias database unavailable");
    case AliasAnswer::kNotFound:
      return DeliverToUser(d, r, lp);
    case AliasAnswer::kFound:
      break;
  }

  ExpandedList e = ExpandList(d, r, lp, value, name, Cat("alias ", name));
  std::vector<RecipientOutcome> parts = std::move(e.refused);
  if (e.self) parts.push_back(DeliverToUser(d, r, lp));
  if (!e.forward.empty()) {
    std::string sender = d.request.sender;
    std::string owner_value, owner_key;
    if (LookupAlias(c, {"owner-" + name}, &owner_value, &owner_key) == AliasAnswer::kFound)
      sender = Cat("owner-", name, "@", c.globals.myorigin);
    parts.push_back(ForwardCopy(d, r, e.forward, std::move(sender)));
  }
  if (parts.empty())
    return BouncedOutcome(r.index, "5.3.0", Cat("alias ", name, " has an empty expansion"));
  return Combine(r.index, parts);
}

}  // namespace

DeliveryResult LocalDeliveryAgent::DeliverNow(const DeliveryRequest& request) {
  if (!request.snapshot) return DeferAll(request, "4.3.0", "mail system configuration error");
  if (!request.content) return DeferAll(request, "4.3.0", "message content unavailable");
  LocalConfig config = ReadConfig(request, globals_);
  if (!config.alias_problem.empty() && options_.log)
    options_.log->Warning("local",
                          Cat("alias_maps: table ", config.alias_problem, " is not in the bundle"));
  Delivery d{request, options_, config, *request.content};
  DeliveryResult result;
  result.relay = "local";
  for (const DeliveryRecipient& r : request.recipients) {
    RecipientOutcome o = DeliverOne(d, r);
    if (config.globals.soft_bounce) ApplySoftBounce(&o);
    result.outcomes.push_back(std::move(o));
  }
  return result;
}

}  // namespace posthaste::runtime
