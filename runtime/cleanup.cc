// cleanup.cc: envelope rewriting, Received:, header/body checks, missing
// headers, for one received message.
#include "runtime/cleanup.h"

#include <ctime>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "runtime/dsn.h"
#include "runtime/log_address.h"
#include "runtime/mail_date.h"
#include "runtime/service_params.h"
#include "tables/address_lookup.h"
#include "tables/str_cat.h"

namespace posthaste::runtime {

namespace {

using tables::Cat;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(absl::ascii_tolower(static_cast<unsigned char>(c)));
  return out;
}

// The primary header block of a message: [begin, end) offsets of each
// logical header (with its continuation lines) and where the body starts.
struct HeaderBlock {
  struct Header {
    size_t begin = 0, end = 0;  // end is after the last line's LF
    std::string name;           // lowercased
  };
  std::vector<Header> headers;
  size_t body_start = 0;  // offset of the empty line (or the end)
};

HeaderBlock ScanHeaders(std::string_view msg) {
  HeaderBlock block;
  size_t pos = 0;
  while (pos < msg.size()) {
    size_t eol = msg.find('\n', pos);
    size_t next = eol == std::string_view::npos ? msg.size() : eol + 1;
    std::string_view line = msg.substr(pos, (eol == std::string_view::npos ? msg.size() : eol) - pos);
    if (line.empty()) break;
    if ((line[0] == ' ' || line[0] == '\t') && !block.headers.empty()) {
      block.headers.back().end = next;
      pos = next;
      continue;
    }
    if (!tables::LooksLikeHeader(line)) break;
    size_t colon = line.find(':');
    std::string_view name = line.substr(0, colon);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    block.headers.push_back({pos, next, Lower(name)});
    pos = next;
  }
  block.body_start = pos;
  return block;
}

// The Message-Id: cleanup adds: <YYYYMMDDhhmmss.QUEUEID@myhostname>.
std::string GeneratedMessageId(int64_t now_micros, std::string_view id,
                               std::string_view myhostname) {
  time_t t = static_cast<time_t>(now_micros / 1000000);
  struct tm tm;
  localtime_r(&t, &tm);
  char stamp[32];
  strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
  return Cat("<", stamp, ".", id, "@", myhostname, ">");
}

std::string FirstLine(std::string_view text) {
  size_t nl = text.find('\n');
  std::string line(text.substr(0, nl));
  if (line.size() > 200) line.resize(200);
  return line;
}

std::string LogAddress(std::string_view a) { return Cat("<", ExternalLogForm(a), ">"); }

}  // namespace


absl::StatusOr<std::shared_ptr<const CleanupConfig>> CleanupConfig::Build(
    std::shared_ptr<const tables::Snapshot> snapshot, std::string_view smtpd_service) {
  auto config = std::shared_ptr<CleanupConfig>(new CleanupConfig());
  config->snapshot_ = snapshot;
  ServiceParams smtpd(*snapshot, smtpd_service);
  std::string cleanup_name = smtpd.Str("cleanup_service_name");
  if (cleanup_name.empty()) cleanup_name = "cleanup";
  std::string cleanup_service = Cat(cleanup_name, "/unix");
  ServiceParams cleanup(snapshot->ServiceParams(cleanup_service) ? ServiceParams(*snapshot, cleanup_service)
                                                                 : ServiceParams(*snapshot, smtpd_service));
  Settings& s = config->settings_;
  s.myhostname = cleanup.HostName();
  s.mail_name = cleanup.Str("mail_name");
  s.myorigin = cleanup.Str("myorigin");
  if (s.myorigin.empty() || s.myorigin.find('$') != std::string::npos) s.myorigin = s.myhostname;
  s.always_add_missing_headers = cleanup.Bool("always_add_missing_headers");
  s.hopcount_limit = static_cast<int>(cleanup.Int("hopcount_limit"));
  for (const std::string& h : cleanup.List("message_drop_headers")) s.drop_headers.push_back(Lower(h));
  s.enable_original_recipient = cleanup.Bool("enable_original_recipient");
  for (const std::string& o : smtpd.List("receive_override_options")) {
    if (o == "no_header_body_checks") s.header_checks_enabled = false;
    if (o == "no_address_mappings") s.address_mappings = false;
  }
  s.smtpd_content_filter = smtpd.Str("content_filter");
  s.always_bcc = cleanup.Str("always_bcc");

  auto tables_of = [&](std::string_view param, std::vector<const tables::Table*>* out) {
    for (const std::string& name : cleanup.List(param)) {
      const tables::Table* t = snapshot->FindTable(name);
      if (!t) {
        config->problems_.push_back(Cat(param, ": table ", name, " is not in the bundle"));
        continue;
      }
      out->push_back(t);
    }
  };
  tables::MessageCheckTables& c = config->checks_;
  tables_of("header_checks", &c.header);
  tables_of("mime_header_checks", &c.mime_header);
  tables_of("nested_header_checks", &c.nested_header);
  tables_of("body_checks", &c.body);
  tables_of("sender_bcc_maps", &s.sender_bcc_maps);
  tables_of("recipient_bcc_maps", &s.recipient_bcc_maps);
  c.mime = !cleanup.Bool("disable_mime_input_processing");
  c.header_size_limit = static_cast<size_t>(cleanup.Int("header_size_limit"));
  c.body_checks_size_limit = static_cast<size_t>(cleanup.Int("body_checks_size_limit"));
  c.line_length_limit = static_cast<size_t>(smtpd.Int("line_length_limit"));

  if (const tables::RouteProgram* program = snapshot->route_program()) {
    std::vector<const tables::Table*> route_tables;
    for (const std::string& name : program->table_names) {
      const tables::Table* t = snapshot->FindTable(name);
      if (!t)
        return absl::FailedPreconditionError(
            Cat("routing program names table ", name, ", which the bundle lacks"));
      route_tables.push_back(t);
    }
    config->route_ = std::make_unique<tables::RouteVm>(*program, std::move(route_tables));
  }
  return std::shared_ptr<const CleanupConfig>(std::move(config));
}

CleanupResult RunCleanup(const CleanupConfig& config, const CleanupEnvelope& env,
                         std::string_view raw_message) {
  const CleanupConfig::Settings& s = config.settings();
  CleanupResult result;
  const std::string& id = env.queue_id;
  auto refuse = [&](CleanupResult::Disposition d, std::string reply) {
    result.disposition = d;
    result.reply = std::move(reply);
    return result;
  };
  const std::string first_rcpt = env.recipients.empty() ? "" : env.recipients.front();
  auto where = [&](std::string_view what) {
    return Cat(what, " from ", env.client_name, "[", env.client_addr, "]; from=",
               LogAddress(env.sender), " to=", LogAddress(first_rcpt), " proto=", env.protocol,
               " helo=<", env.helo, ">");
  };

  // 1. The sender.
  std::string sender = env.sender;
  std::string filter = s.smtpd_content_filter;
  if (config.route() && s.address_mappings && !sender.empty()) {
    tables::RouteRunResult r = config.route()->RewriteSender(sender);
    if (r.deferred) return refuse(CleanupResult::Disposition::kDefer, "451 4.3.0 Error: queue file write error");
    if (!r.addresses.empty()) sender = r.addresses.front();
  }
  if (env.filter) filter = *env.filter;

  // 2. Received:, smtpd's PREPENDs, then the checks.
  std::string message;
  message.reserve(raw_message.size() + 512);
  for (const std::string& p : env.prepend) message.append(p).append("\n");
  std::string client_addr = env.client_addr.find(':') != std::string::npos
                                ? Cat("IPv6:", env.client_addr)
                                : env.client_addr;
  message.append(Cat("Received: from ", env.helo.empty() ? env.client_name : env.helo, " (",
                     env.client_name, " [", client_addr, "])\n\tby ", s.myhostname, " (",
                     s.mail_name, ") with ", env.protocol, " id ", id));
  std::string date = FormatMailDate(env.now_micros);
  if (env.recipients.size() == 1)
    message.append(Cat("\n\tfor <", env.recipients.front(), ">; ", date, "\n"));
  else
    message.append(Cat(";\n\t", date, "\n"));
  message.append(raw_message);

  tables::CheckOutcome checks;
  checks.message = std::move(message);
  const tables::MessageCheckTables& tables = config.checks();
  bool any_checks = !tables.header.empty() || !tables.mime_header.empty() ||
                    !tables.nested_header.empty() || !tables.body.empty();
  // Cleanup adds the missing Message-Id:, Date: and From: headers.
  const bool add_missing_headers = s.always_add_missing_headers || env.local_rewrite_context;
  // Where cleanup's "message-id=" line goes among the action lines: where
  // the client's Message-Id: header is (its header lines are handled in
  // order), else after the last header (a generated one).
  size_t message_id_line = std::string::npos;  // index into result.log_lines
  if (s.header_checks_enabled && any_checks) {
    checks = tables::CheckMessage(checks.message, config.checks());
    size_t cursor = 0;  // how far the action lines have got in raw_message
    const size_t client_message_id = MessageIdHeaderOffset(raw_message);
    const size_t primary_end = PrimaryHeaderBlockEnd(raw_message);
    for (const tables::CheckEvent& e : checks.events) {
      const std::string first = FirstLine(e.line);
      if (message_id_line == std::string::npos) {
        size_t at = e.header ? raw_message.find(first, cursor) : std::string_view::npos;
        if (at != std::string_view::npos) cursor = at + 1;
        bool found = at != std::string_view::npos;
        // A body line, a MIME part's header, or a header after the client's
        // Message-Id: the message-id= line comes first.
        if (!e.header || (found && at >= primary_end) ||
            (found && client_message_id != std::string::npos && at > client_message_id))
          message_id_line = result.log_lines.size();
      }
      std::string what = Cat(e.header ? "header " : "body ", first);
      if (!e.applied) {
        // As Postfix's cleanup: one warning, no queue ID, the line kept.
        if (e.action.verb == tables::CheckVerb::kUnknown)
          result.log_lines.push_back(
              Cat("warning: unknown command in ", tables::CheckContextName(e.context), " map: ",
                  e.action.verb_text, e.action.text.empty() ? "" : " ", e.action.text));
        else
          result.log_lines.push_back(Cat(id, ": warning: ", where(what), ": ", e.note));
        continue;
      }
      // IGNORE, DUNNO and OK do their work without a log line.
      if (e.action.verb == tables::CheckVerb::kIgnore ||
          e.action.verb == tables::CheckVerb::kDunno || e.action.verb == tables::CheckVerb::kOk)
        continue;
      std::string word(tables::CheckLogWord(e.action.verb));
      if (word.empty()) continue;
      std::string text = e.action.text;
      if (e.action.verb == tables::CheckVerb::kReject)
        text = checks.reply.size() > 4 ? checks.reply.substr(4) : text;
      result.log_lines.push_back(
          Cat(id, ": ", word, ": ", where(what), text.empty() ? "" : ": ", text));
    }
    // Stopped in the body, or in the headers after the client's Message-Id:
    // Postfix's cleanup had logged the message-id= line by then.
    if (checks.disposition != tables::CheckOutcome::Disposition::kAccept &&
        message_id_line != std::string::npos) {
      std::optional<std::string> given = MessageIdOf(raw_message);
      std::string value = given                 ? *given
                          : add_missing_headers ? GeneratedMessageId(env.now_micros, id, s.myhostname)
                                                : "<>";
      result.log_lines.insert(result.log_lines.begin() + static_cast<std::ptrdiff_t>(message_id_line),
                              Cat(id, ": message-id=", value));
    }
    switch (checks.disposition) {
      case tables::CheckOutcome::Disposition::kReject:
        return refuse(CleanupResult::Disposition::kReject, checks.reply);
      case tables::CheckOutcome::Disposition::kTryAgain:
        return refuse(CleanupResult::Disposition::kDefer, checks.reply);
      case tables::CheckOutcome::Disposition::kDiscard:
        result.disposition = CleanupResult::Disposition::kDiscard;
        return result;
      case tables::CheckOutcome::Disposition::kAccept:
        break;
    }
  }
  if (env.discard) {
    result.disposition = CleanupResult::Disposition::kDiscard;
    return result;
  }

  // Header block edits: drop headers, count hops, add missing ones.
  std::string& msg = checks.message;
  HeaderBlock block = ScanHeaders(msg);
  int hops = 0;
  bool has_resent = false, has_from = false, has_date = false, has_msgid = false;
  bool has_rfrom = false, has_rdate = false, has_rmsgid = false;
  std::string message_id;
  std::string kept;
  kept.reserve(msg.size() + 256);
  for (const HeaderBlock::Header& h : block.headers) {
    if (h.name == "received") ++hops;
    if (h.name.rfind("resent-", 0) == 0) has_resent = true;
    if (h.name == "from") has_from = true;
    if (h.name == "date") has_date = true;
    if (h.name == "message-id") {
      has_msgid = true;
      if (message_id.empty()) {
        std::string_view v = std::string_view(msg).substr(h.begin, h.end - h.begin);
        v.remove_prefix(v.find(':') + 1);
        std::string value;
        for (char c : v)
          if (c != '\n' && c != '\r') value.push_back(c);
        message_id = std::string(absl::StripAsciiWhitespace(value));
      }
    }
    if (h.name == "resent-from") has_rfrom = true;
    if (h.name == "resent-date") has_rdate = true;
    if (h.name == "resent-message-id") has_rmsgid = true;
    bool drop = false;
    for (const std::string& d : s.drop_headers) drop |= d == h.name;
    if (!drop) kept.append(msg, h.begin, h.end - h.begin);
  }
  if (hops >= s.hopcount_limit)
    return refuse(CleanupResult::Disposition::kReject, "554 5.4.0 Error: too many hops");
  if (add_missing_headers) {
    std::string prefix = has_resent ? "Resent-" : "";
    bool mid = has_resent ? has_rmsgid : has_msgid;
    bool dat = has_resent ? has_rdate : has_date;
    bool frm = has_resent ? has_rfrom : has_from;
    if (!mid) {
      std::string value = GeneratedMessageId(env.now_micros, id, s.myhostname);
      kept.append(Cat(prefix, "Message-Id: ", value, "\n"));
      if (message_id.empty()) message_id = value;
    }
    if (!dat) kept.append(Cat(prefix, "Date: ", date, "\n"));
    if (!frm)
      // The address alone, its local part quoted when it needs it, as a
      // live Postfix 3.7.11 writes it ("From: alice@example.com").
      kept.append(sender.empty() ? Cat(prefix, "From: MAILER-DAEMON\n")
                                 : Cat(prefix, "From: ", ExternalLogForm(sender), "\n"));
  }
  kept.append(msg, block.body_start, std::string::npos);
  result.content = std::move(kept);
  result.message_id = message_id;
  result.log_lines.insert(
      result.log_lines.begin() +
          static_cast<std::ptrdiff_t>(std::min(message_id_line, result.log_lines.size())),
      Cat(id, ": message-id=", message_id.empty() ? "<>" : message_id));

  // 4. Recipients.
  NewMessage& out = result.message;
  out.sender = sender;
  out.flags = (env.body_8bitmime ? kMessage8BitMime : 0) | env.message_flags;
  std::optional<std::string> redirect = env.redirect;
  if (checks.redirect) redirect = checks.redirect;
  if (checks.filter) filter = *checks.filter;
  bool hold = env.hold || checks.hold;
  out.initial_state = hold ? MessageState::kHold : MessageState::kIncoming;
  out.hold_reason = checks.hold ? checks.hold_reason : env.hold_reason;

  std::set<std::string> seen;
  auto add = [&](const std::string& original, const std::string& final_rcpt, uint8_t notify,
                 const std::string& orcpt) {
    if (!seen.insert(Cat(Lower(original), "\n", Lower(final_rcpt))).second) return;
    out.recipients.push_back(final_rcpt);
    out.original_recipients.push_back(s.enable_original_recipient ? original : final_rcpt);
    out.recipient_notify.push_back(notify);
    out.recipient_orcpt.push_back(orcpt);
  };
  auto notify_of = [&](size_t i) -> uint8_t {
    return i < env.recipient_notify.size() ? env.recipient_notify[i] : 0;
  };
  auto orcpt_of = [&](size_t i) -> std::string {
    return i < env.recipient_orcpt.size() ? env.recipient_orcpt[i] : std::string();
  };
  if (redirect) {
    add(first_rcpt, *redirect, notify_of(0), orcpt_of(0));
    filter.clear();
  } else {
    // The envelope recipients first, then the BCC ones (NOTIFY=NEVER: the
    // sender never hears about them).
    struct Pending {
      std::string address;
      uint8_t notify;
      std::string orcpt;
    };
    std::vector<Pending> envelope;
    for (size_t i = 0; i < env.recipients.size(); ++i)
      envelope.push_back({env.recipients[i], notify_of(i), orcpt_of(i)});
    auto bcc = [&](const std::string& address) {
      envelope.push_back({address, kDsnNotifyNever, std::string()});
    };
    for (const std::string& b : env.bcc) bcc(b);
    for (const std::string& b : checks.bcc) bcc(b);
    if (!s.always_bcc.empty()) bcc(s.always_bcc);
    auto bcc_lookup = [&](const std::vector<const tables::Table*>& maps, const std::string& addr) {
      if (maps.empty() || addr.empty()) return;
      tables::AddressLookupOptions opt;
      tables::AddressLookupResult r = tables::SearchTables(
          maps, tables::AddressKeys(addr, tables::AddressClass::kVirtual, opt), addr);
      if (r.status == tables::LookupStatus::kFound && !r.value.empty()) bcc(r.value);
    };
    bcc_lookup(s.sender_bcc_maps, sender);
    for (const std::string& r : env.recipients) bcc_lookup(s.recipient_bcc_maps, r);
    for (const Pending& rcpt : envelope) {
      if (!config.route() || !s.address_mappings) {
        add(rcpt.address, rcpt.address, rcpt.notify, rcpt.orcpt);
        continue;
      }
      tables::RouteRunResult r = config.route()->RewriteRecipient(rcpt.address);
      if (r.deferred)
        return refuse(CleanupResult::Disposition::kDefer, "451 4.3.0 Error: queue file write error");
      if (r.addresses.empty()) add(rcpt.address, rcpt.address, rcpt.notify, rcpt.orcpt);
      for (const std::string& to : r.addresses) add(rcpt.address, to, rcpt.notify, rcpt.orcpt);
    }
  }
  bool any_dsn = !env.dsn_envid.empty();
  for (size_t i = 0; i < out.recipients.size(); ++i)
    any_dsn = any_dsn || out.recipient_notify[i] != 0 || !out.recipient_orcpt[i].empty();
  if (!any_dsn) {
    out.recipient_notify.clear();
    out.recipient_orcpt.clear();
  }
  out.dsn_envid = env.dsn_envid;
  out.filter = filter;
  return result;
}

}  // namespace posthaste::runtime

namespace posthaste::runtime {

size_t PrimaryHeaderBlockEnd(std::string_view content) {
  size_t pos = 0;
  while (pos < content.size()) {
    size_t nl = content.find('\n', pos);
    if (nl == std::string_view::npos) return content.size();
    if (nl == pos || (nl == pos + 1 && content[pos] == '\r')) return pos;
    pos = nl + 1;
  }
  return content.size();
}

namespace {
constexpr std::string_view kMessageIdName = "message-id:";
}  // namespace

size_t MessageIdHeaderOffset(std::string_view content) {
  size_t pos = 0;
  while (pos < content.size()) {
    size_t nl = content.find('\n', pos);
    std::string_view line =
        content.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    if (line.empty() || line == "\r") break;  // end of the header block
    if (line.size() >= kMessageIdName.size() &&
        absl::EqualsIgnoreCase(std::string(line.substr(0, kMessageIdName.size())),
                               std::string(kMessageIdName)))
      return pos;
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return std::string::npos;
}

std::optional<std::string> MessageIdOf(std::string_view content) {
  size_t at = MessageIdHeaderOffset(content);
  if (at == std::string::npos) return std::nullopt;
  size_t start = at + kMessageIdName.size();
  size_t end = content.find('\n', start);
  std::string value(content.substr(start, end == std::string_view::npos ? std::string_view::npos
                                                                         : end - start));
  absl::StripAsciiWhitespace(&value);
  return value;
}

}  // namespace posthaste::runtime
