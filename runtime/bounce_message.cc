// bounce_message.cc: composing delivery status notifications.
#include "runtime/bounce_message.h"

#include <ctime>

#include "runtime/agent_support.h"
#include "runtime/mail_date.h"
#include "tables/str_cat.h"

namespace posthaste::runtime {

namespace {

using tables::Cat;

constexpr size_t kMaxLine = 998;

// Report fields come from remote replies: no control characters.
std::string Clean(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    unsigned char u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) c = '?';
  }
  return out;
}

bool HasEightBit(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return true;
  return false;
}

// "X-Posthaste" from mail_name "posthaste".
std::string XName(std::string_view mail_name) {
  std::string n(mail_name.empty() ? std::string_view("posthaste") : mail_name);
  if (n[0] >= 'a' && n[0] <= 'z') n[0] = static_cast<char>(n[0] - 'a' + 'A');
  return "X-" + n;
}

// "4 hour(s)", "5 day(s)", "90 minute(s)": the largest unit that divides.
std::string Span(absl::Duration d) {
  int64_t s = absl::ToInt64Seconds(d);
  if (s <= 0) return "0 hour(s)";
  if (s % 86400 == 0) return Cat(s / 86400, " day(s)");
  if (s % 3600 == 0) return Cat(s / 3600, " hour(s)");
  if (s % 60 == 0) return Cat(s / 60, " minute(s)");
  return Cat(s, " second(s)");
}

std::string FailureText(std::string_view host) {
  return Cat("This report was made automatically by the mail system at host ", host,
             ".\n"
             "\n"
             "Your message could not be delivered to one or more of its recipients,\n"
             "and the mail system has given up trying. The reasons are listed\n"
             "below, and your message (only its headers when it is large) is\n"
             "attached.\n"
             "\n"
             "If you need help, write to the postmaster of this host and include\n"
             "this report. You may remove your own text from the attached copy.\n"
             "\n"
             "                   The mail system\n");
}

std::string SuccessText(std::string_view host) {
  return Cat("This report was made automatically by the mail system at host ", host,
             ".\n"
             "\n"
             "You asked to be told when your message was delivered. It reached the\n"
             "destinations listed below. \"delivered\" means it is in the mailbox;\n"
             "\"relayed\" means it went on to a system that does not send such\n"
             "reports, so this is the last one you get for that recipient. The\n"
             "headers of your message are attached.\n"
             "\n"
             "                   The mail system\n");
}

std::string DelayText(std::string_view host, absl::Duration warn, absl::Duration lifetime) {
  return Cat("This report was made automatically by the mail system at host ", host,
             ".\n"
             "\n"
             "*** THIS IS ONLY A WARNING. THERE IS NO NEED TO SEND YOUR MESSAGE AGAIN. ***\n"
             "\n"
             "Your message has not been delivered to the recipients below for\n"
             "more than ",
             Span(warn),
             ". The mail system keeps trying until the\n"
             "message is ",
             Span(lifetime),
             " old, and will tell you if it has to give up.\n"
             "\n"
             "If you need help, write to the postmaster of this host and include\n"
             "this report. You may remove your own text from the attached copy.\n"
             "\n"
             "                   The mail system\n");
}

void EmitLine(std::string* out, std::string_view line, size_t indent, size_t hard_limit) {
  if (hard_limit <= indent) hard_limit = indent + 1;
  do {
    size_t take = std::min(line.size(), hard_limit - indent);
    out->append(indent, ' ');
    out->append(line.substr(0, take));
    out->push_back('\n');
    line.remove_prefix(take);
  } while (!line.empty());
}

std::string_view TrimTrailingBlanks(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The original message, lines longer than 998 bytes broken with "\n ".
void AppendOriginal(std::string* out, std::string_view text) {
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = nl == std::string_view::npos ? text : text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    bool first = true;
    while (true) {
      size_t room = first ? kMaxLine : kMaxLine - 1;
      if (!first) out->push_back(' ');
      out->append(line.substr(0, room));
      out->push_back('\n');
      if (line.size() <= room) break;
      line.remove_prefix(room);
      first = false;
    }
  }
}

// The header block of a message (up to, not including, the empty line).
std::string_view HeaderBlock(std::string_view message) {
  size_t pos = 0;
  while (pos < message.size()) {
    size_t nl = message.find('\n', pos);
    std::string_view line =
        message.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    if (line.empty() || line == "\r") return message.substr(0, pos);
    bool header = line[0] == ' ' || line[0] == '\t';
    if (!header) {
      size_t colon = line.find(':');
      header = colon != std::string_view::npos && colon > 0;
      for (size_t i = 0; header && i < colon; ++i) {
        unsigned char c = static_cast<unsigned char>(line[i]);
        if (c <= ' ' || c >= 0x7f) header = false;
      }
    }
    if (!header) return message.substr(0, pos);
    if (nl == std::string_view::npos) return message;
    pos = nl + 1;
  }
  return message;
}

// Cuts `text` to at most `limit` bytes at a line end.
std::string_view CutAtLine(std::string_view text, size_t limit) {
  if (text.size() <= limit) return text;
  size_t nl = text.rfind('\n', limit ? limit - 1 : 0);
  return nl == std::string_view::npos ? std::string_view() : text.substr(0, nl + 1);
}

}  // namespace

std::string WrapText(std::string_view text, size_t width, size_t indent, size_t hard_limit) {
  std::string out;
  size_t cur_indent = 0;
  size_t line_start = 0;
  size_t word = 0;
  bool first_line = true;
  while (true) {
    size_t space = text.find_first_of(" \t", word);
    size_t word_end = space == std::string_view::npos ? text.size() : space;
    if (word > line_start && word_end - line_start + cur_indent > width) {
      EmitLine(&out, TrimTrailingBlanks(text.substr(line_start, word - line_start)), cur_indent,
               hard_limit);
      while (word < text.size() && (text[word] == ' ' || text[word] == '\t')) ++word;
      if (first_line) {
        cur_indent = std::min(indent, width);
        first_line = false;
      }
      line_start = word;
      continue;  // re-measure the word on its new line
    }
    if (space == std::string_view::npos) break;
    word = space + 1;
  }
  EmitLine(&out, TrimTrailingBlanks(text.substr(line_start)), cur_indent, hard_limit);
  return out;
}


std::string ComposeDeliveryStatusNotice(const BounceInput& in) {
  bool delay = in.kind == BounceInput::Kind::kDelay;
  bool success = in.kind == BounceInput::Kind::kSuccess;
  std::string host = Clean(in.myhostname);
  std::string xname = XName(in.mail_name);
  std::string boundary =
      in.boundary.empty() ? Cat(in.queue_id, ".", in.now_micros / 1000000, "/", host) : in.boundary;
  std::string date = in.date.empty() ? FormatMailDate(in.now_micros) : in.date;

  bool eight_bit = in.eight_bit || HasEightBit(in.original_message) || HasEightBit(in.sender);
  for (const BounceRecipient& r : in.recipients)
    eight_bit = eight_bit || HasEightBit(r.address) || HasEightBit(r.original) ||
                HasEightBit(r.reason) || HasEightBit(r.diagnostic);
  // A null sender is shown as MAILER-DAEMON, as Postfix does; its notices
  // are postmaster copies.
  bool postmaster_copy = in.sender.empty();
  std::string sender = postmaster_copy ? "MAILER-DAEMON" : Clean(QuoteAddress(in.sender));
  std::string to = in.notify_recipient.empty() ? sender : Clean(QuoteAddress(in.notify_recipient));

  std::string out;
  out.reserve(in.original_message.size() + 4096);
  // Message headers.
  if (!in.notice_queue_id.empty())
    out += Cat("Received: by ", host, " (", in.mail_name, ")\n\tid ", in.notice_queue_id, "; ",
               date, "\n");
  out += Cat("Date: ", date, "\n");
  out += Cat("From: Mail Delivery System <MAILER-DAEMON@", host, ">\n");
  std::string_view subject =
      success ? "Successful Mail Delivery Report"
      : postmaster_copy
          ? (delay ? "Postmaster Warning: Delayed Mail" : "Postmaster Copy: Undelivered Mail")
          : (delay ? "Delayed Mail (still being retried)" : "Undelivered Mail Returned to Sender");
  out += Cat("Subject: ", subject, "\n");
  out += Cat("To: ", to, "\n");
  out += Cat("Auto-Submitted: ", postmaster_copy ? "auto-generated" : "auto-replied", "\n");
  out += "MIME-Version: 1.0\n";
  out += Cat("Content-Type: multipart/report; report-type=delivery-status;\n\tboundary=\"",
             boundary, "\"\n");
  out += Cat("Content-Transfer-Encoding: ", eight_bit ? "8bit" : "7bit", "\n");
  {
    time_t t = static_cast<time_t>(in.now_micros / 1000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char stamp[32];
    strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
    out += Cat("Message-Id: <", stamp, ".",
               in.notice_queue_id.empty() ? in.queue_id : in.notice_queue_id, "@", host, ">\n");
  }
  out += "\nThis is a MIME-encapsulated message.\n";

  // Part 1: for people.
  out += Cat("\n--", boundary, "\n");
  out += "Content-Description: Notification\n";
  out += Cat("Content-Type: text/plain; charset=", eight_bit ? "utf-8" : "us-ascii", "\n");
  if (eight_bit) out += "Content-Transfer-Encoding: 8bit\n";
  out += "\n";
  out += success ? SuccessText(host)
         : delay ? DelayText(host, in.delay_warning_time, in.maximal_queue_lifetime)
                 : FailureText(host);
  for (const BounceRecipient& r : in.recipients) {
    out += "\n";
    std::string address = Clean(r.address);
    std::string original = Clean(r.original);
    bool expanded = !original.empty() && original != address;
    out += WrapText(expanded
                        ? Cat("<", address, "> (expanded from <", original, ">): ", Clean(r.reason))
                        : Cat("<", address, ">: ", Clean(r.reason)));
  }

  // Part 2: for programs (RFC 3464).
  out += Cat("\n--", boundary, "\n");
  out += "Content-Description: Delivery report\n";
  out += "Content-Type: message/delivery-status\n";
  out += "\n";
  out += WrapText(Cat("Reporting-MTA: dns; ", host));
  if (!in.dsn_envid.empty()) out += WrapText(Cat("Original-Envelope-Id: ", Clean(in.dsn_envid)));
  out += WrapText(Cat(xname, "-Queue-ID: ", Clean(in.queue_id)));
  out += WrapText(Cat(xname, "-Sender: rfc822; ", sender));
  if (in.arrival_micros > 0) out += Cat("Arrival-Date: ", FormatMailDate(in.arrival_micros), "\n");
  for (const BounceRecipient& r : in.recipients) {
    out += "\n";
    out += WrapText(Cat("Final-Recipient: rfc822; ", Clean(r.address)));
    // The client's ORCPT= when it gave one ("rfc822;addr", shown as given),
    // else the recipient as the client wrote it, in the same form (Postfix's
    // smtpd records one for every recipient).
    out += WrapText(Cat("Original-Recipient: ",
                        r.orcpt.empty()
                            ? Cat("rfc822;", Clean(r.original.empty() ? r.address : r.original))
                            : Clean(r.orcpt)));
    std::string action = success ? (r.action.empty() ? "delivered" : Clean(r.action))
                         : delay ? (r.action.empty() ? "delayed" : Clean(r.action))
                                 : "failed";
    out += Cat("Action: ", action, "\n");
    std::string dsn = ValidDsn(r.dsn) ? r.dsn : (success ? "2.0.0" : delay ? "4.0.0" : "5.0.0");
    out += Cat("Status: ", dsn, "\n");
    if (!r.remote_mta.empty()) out += WrapText(Cat("Remote-MTA: dns; ", Clean(r.remote_mta)));
    if (!r.diagnostic.empty())
      out += WrapText(Cat("Diagnostic-Code: ", Clean(r.diagnostic)));
    else
      out += WrapText(Cat("Diagnostic-Code: ", xname, "; ", Clean(r.reason)));
    if (delay)
      out += Cat(
          "Will-Retry-Until: ",
          FormatMailDate(in.arrival_micros + absl::ToInt64Microseconds(in.maximal_queue_lifetime)),
          "\n");
  }

  // Part 3: the message, or its headers when it is too big or the sender
  // asked for headers only (RET=HDRS; success notices always).
  bool headers_only = in.return_headers_only || (in.bounce_size_limit > 0 &&
                                                 in.original_message.size() > in.bounce_size_limit);
  out += Cat("\n--", boundary, "\n");
  out += Cat("Content-Description: ",
             success ? "Message Headers" : headers_only ? "Undelivered Message Headers"
                                                        : "Undelivered Message",
             "\n");
  out += Cat("Content-Type: ", headers_only ? "text/rfc822-headers" : "message/rfc822", "\n");
  if (eight_bit) out += "Content-Transfer-Encoding: 8bit\n";
  out += "\n";
  if (in.original_message.empty()) {
    out += "\t--- Undelivered message unavailable ---\n";
  } else {
    out += Cat("Return-Path: <", sender, ">\n");
    std::string_view body = in.original_message;
    if (headers_only) {
      body = HeaderBlock(body);
      if (in.bounce_size_limit > 0) body = CutAtLine(body, in.bounce_size_limit);
    }
    AppendOriginal(&out, body);
  }
  out += Cat("\n--", boundary, "--\n");
  return out;
}

}  // namespace posthaste::runtime
