// local_delivery.cc: aliases, users, mailboxes (see local_delivery.h).
#include "runtime/local_delivery.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "runtime/alias_list.h"
#include "runtime/forward_path.h"
#include "runtime/fs_identity.h"
#include "runtime/mail_date.h"
#include "runtime/maildir_writer.h"
#include "runtime/maillog.h"
#include "runtime/mbox_writer.h"
#include "runtime/service_params.h"
#include "runtime/snapshot_route_vm.h"
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
  std::string mail_name;
  bool propagate_alias = false;    // propagate_unmatched_extensions has "alias"
  bool propagate_forward = false;  // ... "forward"
  bool expand_owner_alias = false;
  bool frozen_delivered_to = true;
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
  c.mail_name = p.Str("mail_name");
  for (const std::string& e : p.List("propagate_unmatched_extensions")) {
    if (absl::EqualsIgnoreCase(e, "alias")) c.propagate_alias = true;
    if (absl::EqualsIgnoreCase(e, "forward")) c.propagate_forward = true;
  }
  c.expand_owner_alias = p.Bool("expand_owner_alias");
  c.frozen_delivered_to = p.Bool("frozen_delivered_to");
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
  const tables::RouteVm* vm;  // null: vm_problem says why
  std::string vm_problem;
};

// The state of one level of a recipient's delivery, as local(8) keeps it
// while it expands aliases and .forward files (copied into each level).
struct Level {
  int depth = 0;
  std::string address;        // the recipient at this level, canonical
  std::string original;       // the queued recipient's original ("" when reset by an owner-)
  std::string sender;         // the owner- address under an owner- alias, else the sender
  std::string owner;          // owner-NAME, or the .forward's user; "" for none
  std::string expanded_from;  // the alias (or .forward user) this level came from
  std::string unmatched;      // extension to splice into expanded addresses
  std::string delivered;      // what Delivered-To: names
};

constexpr int kMaxDepth = 100;

// One queued recipient's delivery: its aliases and .forward expanded, local
// addresses of the expansion delivered in the same run, the others
// forwarded as new messages (Postfix local(8)'s rules, see the header).
class RecipientRun {
 public:
  RecipientRun(const Delivery& d, const DeliveryRecipient& r) : d_(d), c_(d.config), top_(r) {}

  RecipientOutcome Run() {
    Level l;
    l.address = top_.address;
    l.original = top_.original.empty() ? top_.address : top_.original;
    l.sender = d_.request.sender;
    l.delivered = top_.address;
    Recipient(std::move(l));
    bool deferred = false;
    for (const RecipientOutcome::Part& p : parts_) deferred |= p.status == Status::kDeferred;
    // A deferred part retries the whole recipient later: forward nothing now
    // (the copies would be sent again), as local(8) cancels them.
    if (!deferred) SendForwards();
    return Combined();
  }

 private:
  // One address, one level down: loop and duplicate checks, then aliases,
  // .forward, the mailbox.
  void Recipient(Level l) {
    ++l.depth;
    if (l.depth > kMaxDepth) {
      Warn(Cat("recipient nesting limit exceeded for ", l.address));
      return Part(l, Status::kBounced, "5.4.6", "recipient nesting limit exceeded");
    }
    if (!Once(Cat("recipient ", l.depth, " ", l.address))) return;
    if (HasDeliveredTo(d_.content, l.address))
      return Part(l, Status::kBounced, "5.4.6", Cat("mail forwarding loop for ", l.address));
    LocalPart lp = SplitRecipient(l.address, c_);
    if (lp.user.empty())
      return Part(l, Status::kBounced, "5.1.3", Cat("null username in \"", l.address, "\""));

    // Aliases: the whole local part, then without the extension.
    l.unmatched.clear();
    if (Alias(l, lp.local)) return;
    if (!lp.extension.empty()) {
      if (c_.propagate_alias) l.unmatched = lp.extension;
      if (Alias(l, lp.user)) return;
    }
    l.unmatched = lp.extension;
    // Under an owner- alias, or from a .forward, another user is sent on as
    // a new message (so each gets its own queue record).
    if (!l.owner.empty() && !absl::EqualsIgnoreCase(l.owner, lp.user)) return Indirect(l);

    if (!c_.unsupported_mailbox.empty())
      return Part(l, Status::kDeferred, "4.3.0",
                  Cat(c_.unsupported_mailbox, " is not supported by posthaste"));
    absl::StatusOr<std::optional<PasswdEntry>> pw = d_.options.passwd(lp.user);
    if (!pw.ok())
      return Part(l, Status::kDeferred, "4.3.0",
                  Cat("user lookup error: ", std::string(pw.status().message())));
    if (!pw->has_value()) {
      if (!c_.unsupported_unknown.empty())
        return Part(l, Status::kDeferred, "4.3.0",
                    Cat(c_.unsupported_unknown, " is not supported by posthaste"));
      return Part(l, Status::kBounced, "5.1.1", Cat("unknown user: \"", lp.user, "\""));
    }
    const PasswdEntry& user = **pw;
    if (DotForward(l, lp, user)) return;
    Mailbox(l, user);
  }

  // Aliases: true when `name` is an alias here (expanded, or failed).
  bool Alias(const Level& l, const std::string& name) {
    // An alias that lists its own name means the user of that name.
    if (absl::EqualsIgnoreCase(l.expanded_from, name)) return false;
    if (!c_.alias_problem.empty()) {
      Part(l, Status::kDeferred, "4.3.0", "alias database unavailable");
      return true;
    }
    std::string value, matched;
    switch (LookupAlias(c_, {name}, &value, &matched)) {
      case AliasAnswer::kTryAgain:
        Part(l, Status::kDeferred, "4.3.0", "alias database unavailable");
        return true;
      case AliasAnswer::kNotFound:
        return false;
      case AliasAnswer::kFound:
        break;
    }
    Level a = l;
    ++a.depth;
    if (a.depth > kMaxDepth) {
      Warn(Cat("alias database loop for ", name));
      Part(a, Status::kBounced, "5.4.6", Cat("alias database loop for ", name));
      return true;
    }
    a.expanded_from = name;
    std::string owner_value, owner_key;
    if (c_.owner_request_special &&
        LookupAlias(c_, {"owner-" + name}, &owner_value, &owner_key) == AliasAnswer::kFound) {
      a.owner = c_.expand_owner_alias ? owner_value : Cat("owner-", name);
      if (a.owner.find('@') == std::string::npos) a.owner += Cat("@", c_.globals.myorigin);
      a.sender = a.owner;
      a.original.clear();  // a list: its members' copies do not name the list's recipient
    } else {
      a.owner.clear();
      a.sender = d_.request.sender;
    }
    if (!c_.frozen_delivered_to) a.delivered = a.address;
    int count = ExpandList(a, value, Cat("alias ", name));
    if (count < 1) {
      Warn(Cat("no recipient in alias lookup result for ", name));
      Part(a, Status::kDeferred, "4.3.0", "alias database unavailable");
    }
    return true;
  }

  // The user's forwarding file: true when it took the mail.
  bool DotForward(const Level& l, const LocalPart& lp, const PasswdEntry& user) {
    if (user.home.empty()) return false;
    Level f = l;
    ++f.depth;
    if (!c_.frozen_delivered_to) f.delivered = f.address;
    f.owner = user.name;
    std::string path;
    std::optional<std::string> list;
    {
      absl::StatusOr<std::unique_ptr<ScopedFsIdentity>> as_user =
          ScopedFsIdentity::Enter(user.uid, user.gid);
      if (!as_user.ok()) return false;
      list = ReadDotForward(lp, user, &path);
    }
    if (!list) return false;
    // The same file met again below itself: deliver to the mailbox.
    if (!Once(Cat("forward ", path))) return done_forwards_.count(path) > 0;
    f.expanded_from = lp.local;
    if (!c_.propagate_forward || path_had_extension_) f.unmatched.clear();
    int count = ExpandList(f, ForwardFileList(*list), path);
    if (count < 1) return false;  // an empty file: as if there were none
    done_forwards_.insert(path);
    return true;
  }

  // The elements of an alias value or a .forward list; returns how many.
  int ExpandList(const Level& l, std::string_view value, std::string_view refusal_name) {
    int count = 0;
    for (const std::string& element : SplitAliasList(value)) {
      AliasElement e = ClassifyElement(element);
      ++count;
      if (e.kind != ElementKind::kAddress) {
        Part(l, Status::kBounced, "5.7.1", RefusalText(e.kind, refusal_name));
        continue;
      }
      if (e.address.empty()) continue;
      Resolve(l, e.address);
    }
    return count;
  }

  // Where an expanded address goes. Local addresses are
  // delivered here and now, the rest forwarded.
  void Resolve(Level l, std::string address) {
    ++l.depth;
    if (address.rfind('@') == std::string::npos) address += Cat("@", c_.globals.myorigin);
    if (d_.vm == nullptr) return Part(l, Status::kDeferred, "4.3.0", d_.vm_problem);
    tables::RouteRunResult rr = d_.vm->Resolve(l.sender, address, "");
    if (rr.deferred) return Part(l, Status::kDeferred, "4.3.0", "address resolver failure");
    std::string resolved = rr.addresses.empty() ? address : rr.addresses[0];
    if (!l.unmatched.empty() && !c_.delimiter.empty()) {
      size_t at = resolved.rfind('@');
      std::string ext = Cat(std::string(1, c_.delimiter[0]), l.unmatched);
      if (at == std::string::npos) {
        resolved += ext;
      } else {
        resolved.insert(at, ext);
      }
    }
    l.address = resolved;
    if (rr.transport == d_.request.transport) return Recipient(std::move(l));
    Indirect(l);
  }

  // One more address for a forwarded copy, once per run.
  void Indirect(const Level& l) {
    if (!Once(Cat("indirect ", l.address))) return;
    for (Forward& f : forwards_) {
      if (f.delivered == l.delivered && f.sender == l.sender) {
        f.recipients.push_back(l.address);
        f.originals.push_back(l.original);
        return;
      }
    }
    forwards_.push_back(Forward{l.delivered, l.sender, {l.address}, {l.original}});
  }

  // Queues each forwarded copy: a new message with a Received: line and
  // Delivered-To: in front; logged for the queued recipient.
  void SendForwards() {
    for (const Forward& f : forwards_) {
      Level top;
      top.address = top_.address;
      top.original = top_.original.empty() ? top_.address : top_.original;
      if (!d_.options.forward) {
        Part(top, Status::kDeferred, "4.3.0", "mail forwarding is not available");
        continue;
      }
      NewMessage m;
      m.sender = f.sender;
      m.recipients = f.recipients;
      m.original_recipients = f.originals;
      m.flags = d_.request.flags;
      // Postfix's forwarded copy: a Received: line naming the new queue ID,
      // then Delivered-To: for loop detection, then the message.
      const auto content = [&](std::string_view id, int64_t posted_micros) {
        return Cat("Received: by ", c_.globals.myhostname, " (", c_.mail_name, ")\n\tid ", id,
                   "; ", FormatMailDate(posted_micros), "\nDelivered-To: ",
                   absl::AsciiStrToLower(f.delivered), "\n", d_.content);
      };
      absl::StatusOr<std::string> id = d_.options.forward(m, content);
      if (id.ok()) {
        Part(top, Status::kSent, "2.0.0", Cat("forwarded as ", *id));
      } else {
        Part(top, Status::kDeferred, "4.3.0",
             Cat("mail forwarding failed: ", std::string(id.status().message())));
      }
    }
  }

  // The first forward_path file that exists, read with the user's rights
  // (the caller has switched to them). nullopt: none. A file must be a
  // regular file owned by the user or root, as local(8) requires; others
  // are skipped with a warning.
  std::optional<std::string> ReadDotForward(const LocalPart& lp, const PasswdEntry& user,
                                            std::string* path_used) {
    ForwardVariables vars;
    vars["user"] = user.name;
    vars["home"] = user.home;
    vars["recipient"] = top_.address;
    vars["domain"] = lp.domain;
    vars["local"] = lp.local;
    if (!lp.extension.empty()) {
      vars["extension"] = lp.extension;
      vars["recipient_delimiter"] = lp.delimiter;
    }
    for (const std::string& item : c_.forward_path) {
      std::optional<std::string> path = ExpandForwardItem(item, vars, c_.forward_filter);
      if (!path || path->empty() || path->front() != '/') continue;
      int fd = open(path->c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
      if (fd < 0) continue;
      struct stat st;
      std::string text;
      bool usable = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
                    (st.st_uid == user.uid || st.st_uid == 0);
      if (!usable) {
        Warn(Cat(d_.request.queue_id, ": ignoring ", *path,
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
      path_had_extension_ = item.find("extension") != std::string::npos && !lp.extension.empty();
      return text;
    }
    return std::nullopt;
  }

  // The user's mailbox.
  void Mailbox(const Level& l, const PasswdEntry& user) {
    DeliveryHeaders h;
    h.sender = l.sender;
    if (c_.original_recipient) h.original = l.original;
    h.delivered_to = l.delivered;
    std::string headers = FormatDeliveryHeaders(h);
    int64_t now = d_.options.clock();

    std::string path;
    bool maildir = false;
    bool in_spool = c_.home_mailbox.empty();
    if (!in_spool) {
      path = Cat(user.home, "/", c_.home_mailbox);
      maildir = c_.home_mailbox.back() == '/';
    } else {
      std::string spool = c_.spool;
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
      return Part(l, Status::kDeferred, "4.3.0",
                  Cat("cannot switch to user ", user.name, ": ",
                      std::string(identity.status().message())));
    if (maildir) {
      MaildirTarget t;
      t.directory = path;
      t.hostname = c_.globals.myhostname;
      t.size_limit = c_.size_limit;
      t.now_micros = now;
      absl::StatusOr<std::string> file = DeliverToMaildir(t, headers, d_.content);
      if (!file.ok()) return Part(l, FromWriteStatus(0, file.status(), "maildir delivery failed: "));
      return Part(l, Status::kSent, "2.0.0", "delivered to maildir");
    }
    MboxTarget t;
    t.path = path;
    t.size_limit = c_.size_limit;
    if (as_root_in_spool) t.owner = MboxTarget::Owner{user.uid, user.gid};
    t.lock_attempts = c_.lock_attempts;
    t.lock_delay = c_.lock_delay;
    t.now_micros = now;
    absl::Status s = AppendToMbox(t, l.sender, headers, d_.content);
    if (!s.ok())
      return Part(l, FromWriteStatus(0, s, Cat("cannot update mailbox ", path, " for user ",
                                               user.name, ". ")));
    Part(l, Status::kSent, "2.0.0", "delivered to mailbox");
  }

  // The run's duplicate filter (case-insensitive, as local(8)'s): true the
  // first time `key` is seen.
  bool Once(const std::string& key) { return seen_.insert(absl::AsciiStrToLower(key)).second; }

  void Part(const Level& l, Status status, std::string_view dsn, std::string text) {
    parts_.push_back(RecipientOutcome::Part{l.address, l.original, status, std::string(dsn),
                                            std::move(text)});
  }
  void Part(const Level& l, const RecipientOutcome& o) { Part(l, o.status, o.dsn, o.text); }

  void Warn(const std::string& text) {
    if (d_.options.log) d_.options.log->Warning("local", text);
  }

  // The queued recipient's outcome: deferred when any part was, else
  // bounced when any part was, else sent; the parts for the log.
  RecipientOutcome Combined() {
    RecipientOutcome o;
    o.index = top_.index;
    bool found = false;
    for (Status want : {Status::kDeferred, Status::kBounced}) {
      for (const RecipientOutcome::Part& p : parts_) {
        if (p.status == want && !found) {
          o.status = p.status;
          o.dsn = p.dsn;
          o.text = p.text;
          found = true;
        }
      }
    }
    if (!found) {
      o.status = Status::kSent;
      o.dsn = "2.0.0";
      for (const RecipientOutcome::Part& p : parts_) o.text += (o.text.empty() ? "" : ", ") + p.text;
      // Nothing delivered and nothing wrong: every address was a duplicate.
      if (parts_.empty()) o.text = "delivered";
    }
    // One plain line for a recipient delivered as itself.
    if (!(parts_.size() == 1 && parts_[0].address == top_.address))
      o.parts = std::move(parts_);
    return o;
  }

  struct Forward {
    std::string delivered, sender;
    std::vector<std::string> recipients, originals;
  };

  const Delivery& d_;
  const LocalConfig& c_;
  const DeliveryRecipient& top_;
  std::set<std::string> seen_;
  std::set<std::string> done_forwards_;
  bool path_had_extension_ = false;
  std::vector<RecipientOutcome::Part> parts_;
  std::vector<Forward> forwards_;
};

}  // namespace

DeliveryResult LocalDeliveryAgent::DeliverNow(const DeliveryRequest& request) {
  if (!request.snapshot) return DeferAll(request, "4.3.0", "mail system configuration error");
  if (!request.content) return DeferAll(request, "4.3.0", "message content unavailable");
  LocalConfig config = ReadConfig(request, globals_);
  if (!config.alias_problem.empty() && options_.log)
    options_.log->Warning("local",
                          Cat("alias_maps: table ", config.alias_problem, " is not in the bundle"));
  absl::StatusOr<std::unique_ptr<tables::RouteVm>> vm = SnapshotRouteVm(*request.snapshot);
  Delivery d{request, options_, config, *request.content, vm.ok() ? vm->get() : nullptr,
             vm.ok() ? std::string() : std::string(vm.status().message())};
  DeliveryResult result;
  result.relay = "local";
  for (const DeliveryRecipient& r : request.recipients) {
    RecipientOutcome o = RecipientRun(d, r).Run();
    if (config.globals.soft_bounce) {
      ApplySoftBounce(&o);
      for (RecipientOutcome::Part& p : o.parts) {
        if (p.status != Status::kBounced) continue;
        p.status = Status::kDeferred;
        if (!p.dsn.empty()) p.dsn[0] = '4';
      }
    }
    result.outcomes.push_back(std::move(o));
  }
  return result;
}

}  // namespace posthaste::runtime
