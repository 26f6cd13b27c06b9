// smtpd_session.cc: the SMTP server session coroutine.
#include "asio/experimental/as_tuple.hpp"
#include "runtime/smtpd_session.h"

#include <netdb.h>
#include <sys/socket.h>

#include <chrono>
#include <cstring>
#include <variant>

#include "asio/experimental/awaitable_operators.hpp"
#include "runtime/data_reader.h"
#include "runtime/queue_file_size.h"
#include "runtime/printable.h"
#include "runtime/queue_id.h"
#include "runtime/service_params.h"
#include "runtime/smtp_command.h"
#include "runtime/smtpd_command_counts.h"
#include "runtime/smtpd_dns.h"
#include "tables/param_registry.h"
#include "tables/str_cat.h"

namespace posthaste::runtime {

namespace {
constexpr auto kUseTuple = asio::experimental::as_tuple(asio::use_awaitable);
}  // namespace

namespace {

using tables::Cat;
using namespace asio::experimental::awaitable_operators;

std::chrono::steady_clock::duration ToChrono(absl::Duration d) {
  return std::chrono::microseconds(absl::ToInt64Microseconds(d));
}

// smtpd_junk_command_limit applies to these (also when refused).
bool IsJunkCommand(SmtpVerb kind) {
  return kind == SmtpVerb::kNoop || kind == SmtpVerb::kRset || kind == SmtpVerb::kVrfy ||
         kind == SmtpVerb::kEtrn || kind == SmtpVerb::kHelo || kind == SmtpVerb::kEhlo;
}

// Commands that must end a pipelined group (RFC 2920 and Postfix's
// additions): input already waiting after one is "improper pipelining".
bool EndsPipelinedGroup(SmtpVerb kind) {
  return kind == SmtpVerb::kHelo || kind == SmtpVerb::kEhlo || kind == SmtpVerb::kRset ||
         kind == SmtpVerb::kNoop || kind == SmtpVerb::kVrfy || kind == SmtpVerb::kEtrn ||
         kind == SmtpVerb::kQuit || kind == SmtpVerb::kAuth ||
         kind == SmtpVerb::kNotImplemented || kind == SmtpVerb::kUnauthorized;
}

bool ReplyIsError(std::string_view reply) {
  return !reply.empty() && (reply[0] == '4' || reply[0] == '5');
}

// Blocking reverse lookup with forward confirmation, as smtpd does:
// "unknown" unless the name maps back to the address.
std::string ReverseName(const std::string& addr) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (addr.find(':') == std::string::npos) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    if (inet_pton(AF_INET, addr.c_str(), &sin->sin_addr) != 1) return "unknown";
    len = sizeof(sockaddr_in);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    if (inet_pton(AF_INET6, addr.c_str(), &sin6->sin6_addr) != 1) return "unknown";
    len = sizeof(sockaddr_in6);
  }
  char host[NI_MAXHOST];
  if (getnameinfo(reinterpret_cast<sockaddr*>(&ss), len, host, sizeof(host), nullptr, 0,
                  NI_NAMEREQD) != 0)
    return "unknown";
  addrinfo hints{};
  hints.ai_family = ss.ss_family;
  addrinfo* res = nullptr;
  if (getaddrinfo(host, nullptr, &hints, &res) != 0) return "unknown";
  bool match = false;
  for (addrinfo* p = res; p && !match; p = p->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    const void* a = p->ai_family == AF_INET
                        ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(p->ai_addr)->sin_addr)
                        : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(p->ai_addr)->sin6_addr);
    if (inet_ntop(p->ai_family, a, text, sizeof(text)) && addr == text) match = true;
  }
  freeaddrinfo(res);
  std::string name = host;
  for (char& c : name) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  return match ? name : "unknown";
}

// A coroutine (not a lambda: its captures would not outlive the frame).
asio::awaitable<std::string> LookupName(std::string addr) { co_return ReverseName(addr); }

class Session {
 public:
  Session(asio::ip::tcp::socket socket, std::shared_ptr<const SmtpdService> service,
          SmtpdContext& context)
      : socket_(std::move(socket)),
        watchdog_(socket_.get_executor()),
        service_(std::move(service)),
        s_(service_->settings),
        ctx_(context),
        logs_(*context.log) {
    facts_.dns = &dns_answers_;
  }

  asio::awaitable<void> Run();
  // Closes in-flight I/O whose deadline passed; runs beside Run() until
  // Run() ends (which cancels it).
  asio::awaitable<void> Watchdog();

 private:
  enum class ReadResult { kOk, kEof, kTimeout };

  asio::awaitable<ReadResult> ReadMore();
  asio::awaitable<bool> Flush();
  // The next command line from the buffer; false when none is complete.
  bool TakeLine(std::string* line);
  void Reply(std::string_view line) {
    out_.append(line.data(), line.size());
    out_.append("\r\n");
    command_failed_ = ReplyIsError(line);
    // Past smtpd_soft_error_limit every reply line waits
    // smtpd_error_sleep_time (Flush sleeps before writing).
    if (errors_ >= s_.soft_error_limit) ++delayed_reply_lines_;
  }
  std::string Client() const { return Cat(facts_.client_name, "[", facts_.client_addr, "]"); }
  void Log(std::string_view text) { logs_.Info("smtpd", text); }
  void LogVerdict(const AccessVerdict& v) {
    for (const std::string& w : v.warnings) logs_.Warning("smtpd", w);
    for (const std::string& l : v.log_lines) Log(l);
  }
  void ResetTransaction();
  void Merge(const AccessVerdict& v);
  // The access verdict at `stage`, with the DNS answers its restrictions
  // ask for resolved first (SmtpdDnsQuery).
  asio::awaitable<AccessVerdict> Check(SmtpdStage stage, const SmtpdFacts& facts);
  // Returns the reply for a refused verdict, or "" when it lets the command through.
  std::string Refusal(const AccessVerdict& v) {
    LogVerdict(v);
    facts_.carry = v.carry;  // state a later stage needs (delayed defer_if_permit ...)
    if (v.result == AccessVerdict::Result::kReject || v.result == AccessVerdict::Result::kDefer)
      return v.reply;
    return "";
  }
  // After a command: its tally for the disconnect line (`counter` empty:
  // not counted), junk commands, and the error limits. Returns false when
  // the hard error limit ended the session (421 sent).
  asio::awaitable<bool> FinishCommand(std::string_view counter, bool junk);
  // Past smtpd_hard_error_limit: the log line and the 421 reply.
  asio::awaitable<void> SayTooManyErrors();
  // A message was accepted: earlier errors and junk commands are forgiven.
  void ForgiveErrors() {
    errors_ = 0;
    junk_commands_ = 0;
  }

  bool Offered(std::string_view keyword) const {
    for (const std::string& k : s_.discard_ehlo_keywords)
      if (k == keyword) return false;
    return true;
  }
  asio::awaitable<void> DoEhlo(const SmtpCommand& cmd, bool esmtp);
  // Why MAIL / RCPT cannot be taken in this state ("" when they can):
  // Postfix answers these before looking at the command's syntax.
  std::string_view MailStateRefusal() const;
  std::string_view RcptStateRefusal() const;
  asio::awaitable<void> DoMail(const SmtpCommand& cmd);
  asio::awaitable<void> DoEtrn(const SmtpCommand& cmd);
  bool TooBigForPostfix(const CleanupEnvelope& env, const NewMessage& message,
                        std::string_view content) const;
  void RefuseTooBig();
  asio::awaitable<void> DoRcpt(const SmtpCommand& cmd);
  // false: the connection is gone.
  // The checks DATA and the first BDAT chunk share: recipients, then
  // smtpd_data_restrictions (their effects merged when they pass). "" = go on.
  asio::awaitable<std::string> DataStageRefusal();
  asio::awaitable<bool> DoData();
  asio::awaitable<void> FinishMessage(std::string message, std::string size_note);
  // false: the connection is gone.
  asio::awaitable<bool> DoBdat(const SmtpCommand& cmd);
  // Takes exactly `n` bytes from the client (buffered ones first) into
  // `out` (or drops them when `out` is null); false on timeout or EOF.
  asio::awaitable<bool> ReadExactly(uint64_t n, std::string* out);

  // Arms the session deadline for one read or write: smtpd_timeout from now.
  void StartIo() {
    timed_out_ = false;
    deadline_ = std::chrono::steady_clock::now() + ToChrono(s_.timeout);
  }
  void EndIo() { deadline_ = std::chrono::steady_clock::time_point::max(); }

  asio::ip::tcp::socket socket_;
  // One timer per session instead of one per I/O: reads and writes only
  // move deadline_; the watchdog wakes at most once per smtpd_timeout and
  // cancels the socket's operations when the deadline has passed.
  asio::steady_timer watchdog_;
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
  bool timed_out_ = false;
  std::shared_ptr<const SmtpdService> service_;
  const SmtpdSettings& s_;
  SmtpdContext& ctx_;
  // This session's log lines since the last reply went out: written in one
  // piece just before the next reply (and when the session ends).
  Maillog::Batch logs_;

  std::string in_;
  size_t in_pos_ = 0;
  bool skip_to_lf_ = false;
  std::string out_;
  std::string last_command_ = "CONNECT";
  SmtpdCommandCounts counts_;
  int errors_ = 0;
  int junk_commands_ = 0;
  bool command_failed_ = false;   // the last reply was 4xx or 5xx
  int delayed_reply_lines_ = 0;   // reply lines to delay before the next write
  bool improper_pipelining_logged_ = false;
  int rcpt_overshoot_ = 0;     // "too many recipients" replies in this transaction
  bool not_an_error_ = false;  // this command's 4xx reply is not a client error
  bool quit_ = false;

  SmtpdFacts facts_;
  SmtpdDnsAnswers dns_answers_;  // facts_.dns: what this session resolved
  std::string connect_refusal_;  // client restrictions refused at connect time
  bool in_mail_ = false;
  bool body_8bitmime_ = false;
  uint32_t message_flags_ = 0;  // RET= and SMTPUTF8 (queue_record.h kMessage*)
  std::string dsn_envid_;
  std::vector<std::string> recipients_;
  std::vector<uint8_t> recipient_notify_;  // parallel to recipients_
  std::vector<std::string> recipient_orcpt_;
  // CHUNKING: a BDAT transfer is under way (chunks so far in bdat_raw_), or
  // an error in one makes the rest of its chunks be read and dropped until
  // the LAST one (Postfix's "Discarded N bytes after earlier error").
  bool bdat_ = false;
  bool bdat_discard_ = false;
  uint64_t refused_size_ = 0;  // a MAIL SIZE= over the limit, until RSET
  std::string bdat_raw_;
  std::string server_addr_;  // the listener's address and port (queue_file_size.h)
  uint16_t server_port_ = 0;
  AccessVerdict effects_;  // accumulated HOLD/DISCARD/FILTER/... of this transaction
  QueueIdReservation reservation_;
};

void Session::ResetTransaction() {
  in_mail_ = false;
  rcpt_overshoot_ = 0;
  body_8bitmime_ = false;
  bdat_ = false;
  bdat_discard_ = false;
  bdat_raw_.clear();
  refused_size_ = 0;
  message_flags_ = 0;
  dsn_envid_.clear();
  facts_.smtputf8 = false;
  recipients_.clear();
  recipient_notify_.clear();
  recipient_orcpt_.clear();
  facts_.sender.reset();
  facts_.recipient.clear();
  facts_.recipient_count = 0;
  facts_.size = 0;
  facts_.queue_id.clear();
  facts_.hold = false;
  facts_.discard = false;
  effects_ = AccessVerdict();
  reservation_ = QueueIdReservation();
}

void Session::Merge(const AccessVerdict& v) {
  facts_.hold |= v.hold;
  facts_.discard |= v.discard;
  if (v.hold) {
    effects_.hold = true;
    effects_.hold_reason = v.hold_reason;
  }
  effects_.discard |= v.discard;
  if (v.filter) effects_.filter = v.filter;
  if (v.redirect) effects_.redirect = v.redirect;
  for (const std::string& b : v.bcc) effects_.bcc.push_back(b);
  for (const std::string& p : v.prepend) effects_.prepend.push_back(p);
}

asio::awaitable<AccessVerdict> Session::Check(SmtpdStage stage, const SmtpdFacts& facts) {
  for (;;) {
    AccessVerdict v = service_->access->Check(stage, facts);
    if (!v.dns_needed) co_return v;
    if (dns_answers_.count(*v.dns_needed)) {
      // Asked again for an answer it has: an evaluator bug, never a loop.
      logs_.Warning("smtpd", Cat("DNS answer for ", v.dns_needed->name, " asked for twice"));
      AccessVerdict failed;
      failed.result = AccessVerdict::Result::kDefer;
      failed.reply = "451 4.3.5 Server configuration error";
      co_return failed;
    }
    // Without a resolver every answer is a temporary failure. Each round
    // adds a new answer, so the loop ends.
    SmtpdDnsAnswer answer(SmtpdDnsStatus::kTempFail);
    if (ctx_.resolver) answer = co_await ResolveSmtpdDns(*ctx_.resolver, *v.dns_needed);
    if (v.dns_needed->kind == SmtpdDnsKind::kList && answer.status == SmtpdDnsStatus::kTempFail)
      logs_.Warning("smtpd", Cat(v.dns_needed->name,
                                 ": RBL lookup error: Host or domain name not found. Name service "
                                 "error for name=",
                                 v.dns_needed->name, " type=A: Host not found, try again"));
    dns_answers_[*v.dns_needed] = std::move(answer);
  }
}

asio::awaitable<Session::ReadResult> Session::ReadMore() {
  if (in_pos_ > 0) {
    in_.erase(0, in_pos_);
    in_pos_ = 0;
  }
  // A buffer in the coroutine frame, untouched until data arrives: an idle
  // connection keeps no resident buffer pages (reading into a zero-filled
  // tail of in_ instead cost ~11 KiB of RSS per idle connection).
  char buf[16384];
  StartIo();
  auto [ec, n] = co_await socket_.async_read_some(asio::buffer(buf), kUseTuple);
  EndIo();
  if (timed_out_) co_return ReadResult::kTimeout;
  if (ec || n == 0) co_return ReadResult::kEof;
  in_.append(buf, n);
  co_return ReadResult::kOk;
}

asio::awaitable<void> Session::Watchdog() {
  // Idle, it still wakes once per smtpd_timeout: an I/O started after it
  // armed has its deadline no earlier than that wake-up.
  const auto period = std::max<std::chrono::steady_clock::duration>(
      ToChrono(s_.timeout), std::chrono::milliseconds(10));
  for (;;) {
    auto now = std::chrono::steady_clock::now();
    if (deadline_ <= now) {
      timed_out_ = true;
      EndIo();
      asio::error_code ignored;
      socket_.cancel(ignored);
    }
    watchdog_.expires_at(std::min(deadline_, now + period));
    auto [ec] = co_await watchdog_.async_wait(kUseTuple);
    if (ec == asio::error::operation_aborted) {
      // Cancelled because Run() ended (re-arming does not cancel a wait:
      // only this coroutine arms the timer).
      co_return;
    }
  }
}

asio::awaitable<bool> Session::Flush() {
  logs_.Flush();
  if (out_.empty()) co_return true;
  if (delayed_reply_lines_ > 0 && s_.error_sleep_time > absl::ZeroDuration()) {
    asio::steady_timer pause(socket_.get_executor(),
                             ToChrono(s_.error_sleep_time * delayed_reply_lines_));
    co_await pause.async_wait(kUseTuple);
  }
  delayed_reply_lines_ = 0;
  StartIo();
  auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(out_), kUseTuple);
  (void)n;
  EndIo();
  out_.clear();
  co_return !ec && !timed_out_;
}

bool Session::TakeLine(std::string* line) {
  for (;;) {
    size_t lf = in_.find('\n', in_pos_);
    if (skip_to_lf_) {
      if (lf == std::string::npos) {
        in_pos_ = in_.size();
        return false;
      }
      in_pos_ = lf + 1;
      skip_to_lf_ = false;
      continue;
    }
    if (lf == std::string::npos) {
      if (in_.size() - in_pos_ > s_.line_length_limit) {
        // An over-long command line: the first line_length_limit bytes are
        // the command, the rest up to the newline is discarded.
        line->assign(in_, in_pos_, s_.line_length_limit);
        in_pos_ = in_.size();
        skip_to_lf_ = true;
        return true;
      }
      return false;
    }
    size_t end = lf;
    while (end > in_pos_ && in_[end - 1] == '\r') --end;
    line->assign(in_, in_pos_, std::min(end - in_pos_, s_.line_length_limit));
    in_pos_ = lf + 1;
    return true;
  }
}

asio::awaitable<bool> Session::FinishCommand(std::string_view counter, bool junk) {
  // "too many recipients" within smtpd_recipient_overshoot_limit is no error.
  const bool failed = command_failed_ && !not_an_error_;
  not_an_error_ = false;
  command_failed_ = false;
  if (!counter.empty()) counts_.Add(counter, !failed);
  if (quit_) co_return true;
  if (failed) ++errors_;
  if (junk && junk_commands_++ > s_.junk_command_limit) ++errors_;
  if (errors_ < s_.hard_error_limit) co_return true;
  co_await SayTooManyErrors();
  co_return false;
}

asio::awaitable<void> Session::SayTooManyErrors() {
  Log(Cat("too many errors after ", last_command_, " from ", Client()));
  Reply(Cat("421 4.7.0 ", s_.myhostname, " Error: too many errors"));
  co_await Flush();
}

asio::awaitable<void> Session::DoEhlo(const SmtpCommand& cmd, bool esmtp) {
  ResetTransaction();
  // The protocol changes only once the command is accepted (the first
  // EHLO's log lines still say proto=SMTP).
  std::string old_helo = facts_.helo;
  facts_.helo = cmd.argument;
  facts_.ehlo = esmtp;
  std::string refused = Refusal(co_await Check(SmtpdStage::kHelo, facts_));
  if (!refused.empty()) {
    facts_.helo = old_helo;
    Reply(refused);
    co_return;
  }
  facts_.protocol = esmtp ? "ESMTP" : "SMTP";
  if (!esmtp) {
    Reply(Cat("250 ", s_.myhostname));
    co_return;
  }
  // Postfix's order; smtpd_discard_ehlo_keywords takes any of them out.
  std::vector<std::string> keywords;
  if (Offered("pipelining")) keywords.emplace_back("PIPELINING");
  if (Offered("size"))
    keywords.push_back(s_.message_size_limit ? Cat("SIZE ", s_.message_size_limit) : "SIZE");
  if (!s_.disable_vrfy_command && Offered("vrfy")) keywords.emplace_back("VRFY");
  if (Offered("etrn")) keywords.emplace_back("ETRN");
  if (Offered("enhancedstatuscodes")) keywords.emplace_back("ENHANCEDSTATUSCODES");
  if (Offered("8bitmime")) keywords.emplace_back("8BITMIME");
  if (Offered("dsn")) keywords.emplace_back("DSN");
  if (s_.smtputf8_enable && Offered("smtputf8")) keywords.emplace_back("SMTPUTF8");
  if (Offered("chunking")) keywords.emplace_back("CHUNKING");
  Reply(Cat(keywords.empty() ? "250 " : "250-", s_.myhostname));
  for (size_t i = 0; i < keywords.size(); ++i)
    Reply(Cat(i + 1 == keywords.size() ? "250 " : "250-", keywords[i]));
}

std::string_view Session::MailStateRefusal() const {
  if (s_.helo_required && facts_.helo.empty()) return "503 5.5.1 Error: send HELO/EHLO first";
  if (in_mail_) return "503 5.5.1 Error: nested MAIL command";
  if (bdat_discard_) return "503 5.5.1 Error: MAIL after BDAT";
  return "";
}

std::string_view Session::RcptStateRefusal() const {
  if (bdat_ || (bdat_discard_ && in_mail_)) return "503 5.5.1 Error: RCPT after BDAT";
  if (!in_mail_) return "503 5.5.1 Error: need MAIL command";
  return "";
}

asio::awaitable<void> Session::DoMail(const SmtpCommand& cmd) {
  if (std::string_view refused = MailStateRefusal(); !refused.empty()) {
    Reply(refused);
    co_return;
  }
  if (s_.tls_required) {
    Reply("530 5.7.0 Must issue a STARTTLS command first");
    co_return;
  }
  // As in Postfix, a SIZE= that was refused stays until the transaction is
  // reset: a second MAIL without SIZE= is refused for it too.
  if (cmd.size) refused_size_ = *cmd.size;
  uint64_t size = cmd.size.value_or(refused_size_);
  if (s_.message_size_limit && size > s_.message_size_limit) {
    Reply("552 5.3.4 Message size exceeds fixed limit");
    co_return;
  }
  refused_size_ = 0;
  facts_.sender = cmd.address;
  facts_.size = cmd.size.value_or(0);
  facts_.smtputf8 = cmd.smtputf8;
  AccessVerdict v = co_await Check(SmtpdStage::kMail, facts_);
  std::string refused = Refusal(v);
  if (!refused.empty()) {
    facts_.sender.reset();
    facts_.smtputf8 = false;
    Reply(refused);
    co_return;
  }
  Merge(v);
  in_mail_ = true;
  body_8bitmime_ = cmd.body == SmtpBody::k8BitMime;
  message_flags_ = (cmd.dsn_ret == DsnRet::kFull      ? kMessageDsnRetFull
                    : cmd.dsn_ret == DsnRet::kHeaders ? kMessageDsnRetHeaders
                                                      : 0) |
                   (cmd.smtputf8 ? kMessageSmtputf8 : 0);
  dsn_envid_ = cmd.dsn_envid;
  Reply("250 2.1.0 Ok");
}

asio::awaitable<void> Session::DoRcpt(const SmtpCommand& cmd) {
  if (std::string_view refused = RcptStateRefusal(); !refused.empty()) {
    Reply(refused);
    co_return;
  }
  if (recipients_.size() >= s_.recipient_limit) {
    Reply("452 4.5.3 Error: too many recipients");
    // As Postfix: an error only past smtpd_recipient_overshoot_limit.
    if (rcpt_overshoot_++ < s_.recipient_overshoot_limit) not_an_error_ = true;
    co_return;
  }
  facts_.recipient = cmd.address;
  AccessVerdict v = co_await Check(SmtpdStage::kRcpt, facts_);
  std::string refused = Refusal(v);
  if (!refused.empty()) {
    Reply(refused);
    co_return;
  }
  Merge(v);
  if (facts_.queue_id.empty()) {
    reservation_ = ctx_.queue->ReserveQueueId();
    facts_.queue_id = reservation_.id;
    Log(Cat(facts_.queue_id, ": client=", Client()));
  }
  recipients_.push_back(cmd.address);
  recipient_notify_.push_back(cmd.dsn_notify);
  recipient_orcpt_.push_back(cmd.dsn_orcpt);
  facts_.recipient_count = recipients_.size();
  Reply("250 2.1.5 Ok");
}

// Postfix's ETRN: its replies (without enhanced status codes) and order of
// checks; a domain that fast_flush_domains names has its deferred mail
// scheduled at once.
asio::awaitable<void> Session::DoEtrn(const SmtpCommand& cmd) {
  if (s_.helo_required && facts_.helo.empty()) {
    Reply("503 Error: send HELO/EHLO first");
    co_return;
  }
  if (in_mail_) {
    Reply("503 Error: MAIL transaction in progress");
    co_return;
  }
  if (cmd.argument.empty() || cmd.argument.find(' ') != std::string::npos) {
    Reply("500 Syntax: ETRN domain");
    co_return;
  }
  std::string_view domain = cmd.argument;
  if (domain.front() == '@' || domain.front() == '#') domain.remove_prefix(1);
  if (!ValidEnvelopeDomain(domain)) {
    Reply("501 Error: invalid parameter syntax");
    co_return;
  }
  SmtpdFacts f = facts_;
  f.etrn_domain = std::string(domain);
  std::string refused = Refusal(co_await Check(SmtpdStage::kEtrn, f));
  if (!refused.empty()) {
    Reply(refused);
    co_return;
  }
  if (!service_->access->FastFlushDomain(domain) || !ctx_.on_etrn) {
    Reply(Cat("459 <", domain, ">: service unavailable"));
    co_return;
  }
  ctx_.on_etrn(std::string(domain));
  Reply("250 Queuing started");
}

// message_size_limit as Postfix applies it: to its queue file, envelope
// records included (queue_file_size.h).
bool Session::TooBigForPostfix(const CleanupEnvelope& env, const NewMessage& message,
                               std::string_view content) const {
  if (s_.message_size_limit == 0) return false;
  QueueFileEnvelope e;
  e.queue_id = facts_.queue_id;
  e.arrival_micros = env.now_micros;
  e.local_rewrite_context = env.local_rewrite_context;
  e.sender = message.sender;
  e.client_name = facts_.client_name;
  e.reverse_client_name = facts_.reverse_client_name;
  e.client_addr = facts_.client_addr;
  e.client_port = facts_.client_port;
  e.server_addr = server_addr_;
  e.server_port = server_port_;
  e.helo = facts_.helo;
  e.protocol = facts_.protocol;
  for (size_t i = 0; i < message.recipients.size(); ++i) {
    QueueFileEnvelope::Recipient r;
    r.address = message.recipients[i];
    r.original = i < message.original_recipients.size() ? message.original_recipients[i]
                                                        : message.recipients[i];
    if (i < message.recipient_orcpt.size()) r.orcpt = message.recipient_orcpt[i];
    e.recipients.push_back(std::move(r));
  }
  return ExceedsPostfixMessageLimit(e, content, s_.message_size_limit, s_.line_length_limit);
}

// Postfix's reply and cleanup's log line for a message over the limit.
void Session::RefuseTooBig() {
  logs_.Warning("cleanup", Cat(facts_.queue_id.empty() ? std::string("NOQUEUE") : facts_.queue_id,
                               ": queue file size limit exceeded"));
  Reply(DataReader::SizeExceededReply());
  ResetTransaction();
}

// Waits for the queue to report the message durable.
asio::awaitable<absl::StatusOr<std::string>> EnqueueDurable(QueueStore& queue,
                                                             const NewMessage& message,
                                                             std::string_view content) {
  auto executor = co_await asio::this_coro::executor;
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable),
                                          void(absl::StatusOr<std::string>)>(
      [&](auto handler) {
        queue.Enqueue(message, content,
                      [handler = std::move(handler), executor](absl::StatusOr<std::string> r) mutable {
                        asio::post(executor, [handler = std::move(handler), r = std::move(r)]() mutable {
                          std::move(handler)(std::move(r));
                        });
                      });
      },
      asio::use_awaitable);
}

asio::awaitable<std::string> Session::DataStageRefusal() {
  // Postfix's replies: no transaction at all asks for RCPT; a transaction
  // whose recipients were all refused (or never given) has none valid.
  if (recipients_.empty())
    co_return in_mail_ ? "554 5.5.1 Error: no valid recipients" : "503 5.5.1 Error: need RCPT command";
  facts_.recipient = recipients_.front();  // DATA restrictions log the first recipient
  AccessVerdict v = co_await Check(SmtpdStage::kData, facts_);
  std::string refused = Refusal(v);
  if (refused.empty()) Merge(v);
  co_return refused;
}

asio::awaitable<bool> Session::DoData() {
  if (bdat_ || bdat_discard_) {
    Reply("503 5.5.1 Error: DATA after BDAT");
    co_return true;
  }
  if (std::string refused = co_await DataStageRefusal(); !refused.empty()) {
    Reply(refused);
    co_return true;
  }
  Reply("354 End data with <CR><LF>.<CR><LF>");
  if (!co_await Flush()) co_return false;

  DataReaderOptions options;
  options.line_length_limit = s_.line_length_limit;
  options.message_size_limit = s_.message_size_limit;
  DataReader reader(options);
  std::string message;
  auto sink = [&message](std::string_view piece, bool continued) {
    message.append(piece.data(), piece.size());
    if (!continued) message.push_back('\n');
  };
  for (;;) {
    if (in_pos_ < in_.size()) {
      size_t used = reader.Feed(std::string_view(in_).substr(in_pos_), sink);
      in_pos_ += used;
      if (reader.done()) break;
    }
    ReadResult r = co_await ReadMore();
    if (r == ReadResult::kTimeout) {
      Log(Cat("timeout after DATA (", reader.message_size(), " bytes) from ", Client()));
      Reply(Cat("421 4.4.2 ", s_.myhostname, " Error: timeout exceeded"));
      co_await Flush();
      co_return false;
    }
    if (r == ReadResult::kEof) {
      Log(Cat("lost connection after DATA (", reader.message_size(), " bytes) from ", Client()));
      co_return false;
    }
  }
  facts_.size = reader.message_size();
  if (reader.size_exceeded()) {
    RefuseTooBig();
    co_return true;
  }
  co_await FinishMessage(std::move(message), "");
  co_return true;
}

asio::awaitable<bool> Session::ReadExactly(uint64_t n, std::string* out) {
  while (n > 0) {
    if (in_pos_ < in_.size()) {
      size_t take = static_cast<size_t>(std::min<uint64_t>(n, in_.size() - in_pos_));
      if (out) out->append(in_, in_pos_, take);
      in_pos_ += take;
      n -= take;
      continue;
    }
    ReadResult r = co_await ReadMore();
    if (r == ReadResult::kTimeout) {
      Log(Cat("timeout after BDAT from ", Client()));
      Reply(Cat("421 4.4.2 ", s_.myhostname, " Error: timeout exceeded"));
      co_await Flush();
      co_return false;
    }
    if (r == ReadResult::kEof) {
      Log(Cat("lost connection after BDAT from ", Client()));
      co_return false;
    }
  }
  co_return true;
}

// BDAT (RFC 3030) with Postfix 3.7's replies: "250 2.0.0 Ok: N bytes" per
// chunk, "Ok: N bytes queued as ID" after the LAST one (N counted as for
// DATA), errors that drop the rest of the transfer, and the size limit
// checked before a chunk is read.
asio::awaitable<bool> Session::DoBdat(const SmtpCommand& cmd) {
  const uint64_t n = cmd.size.value_or(0);
  if (bdat_discard_) {
    if (!co_await ReadExactly(n, nullptr)) co_return false;
    Reply(Cat("551 5.0.0 Discarded ", n, " bytes after earlier error"));
    if (cmd.last) ResetTransaction();
    co_return true;
  }
  std::string refusal;
  if (!bdat_) refusal = co_await DataStageRefusal();
  if (refusal.empty() && s_.message_size_limit &&
      bdat_raw_.size() + n > s_.message_size_limit) {
    // Refused before reading: the chunk's bytes are read as commands next.
    Reply("552 5.3.4 Chunk exceeds message size limit");
    bdat_ = false;
    bdat_raw_.clear();
    bdat_discard_ = true;
    co_return true;
  }
  if (!refusal.empty()) {
    // The transaction stays (a RCPT now is "after BDAT"); the rest of the
    // transfer is dropped up to its LAST chunk.
    if (!co_await ReadExactly(n, nullptr)) co_return false;
    Reply(refusal);
    bdat_ = false;
    bdat_raw_.clear();
    if (cmd.last) {
      ResetTransaction();
    } else {
      bdat_discard_ = true;
    }
    co_return true;
  }
  bdat_ = true;
  if (!co_await ReadExactly(n, &bdat_raw_)) co_return false;
  if (!cmd.last) {
    Reply(Cat("250 2.0.0 Ok: ", n, " bytes"));
    co_return true;
  }
  // CR LF and bare LF end lines; a last line without an end counts as one.
  std::string message;
  message.reserve(bdat_raw_.size());
  uint64_t size = 0;
  size_t pos = 0;
  while (pos < bdat_raw_.size()) {
    size_t nl = bdat_raw_.find('\n', pos);
    size_t end = nl == std::string::npos ? bdat_raw_.size() : nl;
    size_t line_end = end;
    if (nl != std::string::npos && line_end > pos && bdat_raw_[line_end - 1] == '\r') --line_end;
    message.append(bdat_raw_, pos, line_end - pos);
    message.push_back('\n');
    size += line_end - pos + 2;
    pos = nl == std::string::npos ? bdat_raw_.size() : nl + 1;
  }
  bdat_raw_.clear();
  facts_.size = size;
  co_await FinishMessage(std::move(message), Cat(size, " bytes "));
  co_return true;
}

// The end of a message, from DATA or the last BDAT chunk: end-of-data
// restrictions, cleanup, Postfix's size limit, the queue, the 250.
// `size_note` goes between "Ok: " and "queued as" ("20 bytes " for BDAT).
asio::awaitable<void> Session::FinishMessage(std::string message, std::string size_note) {
  AccessVerdict v = co_await Check(SmtpdStage::kEndOfData, facts_);
  std::string refused = Refusal(v);
  if (!refused.empty()) {
    Reply(refused);
    ResetTransaction();
    co_return;
  }
  Merge(v);

  CleanupEnvelope env;
  env.queue_id = facts_.queue_id;
  env.sender = facts_.sender.value_or("");
  env.recipients = recipients_;
  env.recipient_notify = recipient_notify_;
  env.recipient_orcpt = recipient_orcpt_;
  env.dsn_envid = dsn_envid_;
  env.message_flags = message_flags_;
  env.body_8bitmime = body_8bitmime_;
  env.client_name = facts_.client_name;
  env.client_addr = facts_.client_addr;
  env.helo = facts_.helo;
  env.protocol = facts_.protocol;
  env.now_micros = reservation_.arrival_micros ? reservation_.arrival_micros : RealMicros();
  env.local_rewrite_context = s_.rewrite_all ||
                              (s_.rewrite_mynetworks && service_->access->InMynetworks(facts_.client_addr));
  if (!env.local_rewrite_context && s_.rewrite_inet_interfaces) {
    for (const std::string& a : s_.inet_interfaces)
      if (a == facts_.client_addr || ((a == "loopback-only" || a == "all" || a == "localhost") &&
                                      (facts_.client_addr.rfind("127.", 0) == 0 ||
                                       facts_.client_addr == "::1")))
        env.local_rewrite_context = true;
  }
  env.hold = effects_.hold;
  env.hold_reason = effects_.hold_reason;
  env.discard = effects_.discard;
  env.filter = effects_.filter;
  env.redirect = effects_.redirect;
  env.bcc = effects_.bcc;
  env.prepend = effects_.prepend;
  CleanupResult cleaned = RunCleanup(*service_->cleanup, env, message);
  cleaned.message.reserved = reservation_;
  for (const std::string& l : cleaned.log_lines) logs_.Info("cleanup", l);
  std::string id = facts_.queue_id;
  if (cleaned.disposition == CleanupResult::Disposition::kQueue &&
      TooBigForPostfix(env, cleaned.message, cleaned.content)) {
    RefuseTooBig();
    co_return;
  }
  switch (cleaned.disposition) {
    case CleanupResult::Disposition::kReject:
    case CleanupResult::Disposition::kDefer:
      Reply(cleaned.reply);
      ResetTransaction();
      co_return;
    case CleanupResult::Disposition::kDiscard:
      ForgiveErrors();
      Reply(Cat("250 2.0.0 Ok: ", size_note, "queued as ", id));
      ResetTransaction();
      co_return;
    case CleanupResult::Disposition::kQueue:
      break;
  }
  absl::StatusOr<std::string> queued =
      co_await EnqueueDurable(*ctx_.queue, cleaned.message, cleaned.content);
  if (!queued.ok()) {
    logs_.Warning("smtpd", Cat(id, ": queue write failed: ", std::string(queued.status().message())));
    Reply("451 4.3.0 Error: queue file write error");
  } else {
    ++ctx_.messages_queued;
    ForgiveErrors();
    Reply(Cat("250 2.0.0 Ok: ", size_note, "queued as ", *queued));
    if (ctx_.on_queued) ctx_.on_queued(*queued);
  }
  ResetTransaction();
  co_return;
}

asio::awaitable<void> Session::Run() {
  asio::error_code ec;
  asio::ip::tcp::endpoint peer = socket_.remote_endpoint(ec);
  if (ec) co_return;
  asio::ip::address addr = peer.address();
  if (addr.is_v6() && addr.to_v6().is_v4_mapped())
    addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
  facts_.client_addr = addr.to_string();
  facts_.client_port = peer.port();
  if (asio::ip::tcp::endpoint local = socket_.local_endpoint(ec); !ec) {
    asio::ip::address la = local.address();
    if (la.is_v6() && la.to_v6().is_v4_mapped())
      la = asio::ip::make_address_v4(asio::ip::v4_mapped, la.to_v6());
    server_addr_ = la.to_string();
    server_port_ = local.port();
  }
  if (s_.peername_lookup && ctx_.lookup_pool) {
    std::string a = facts_.client_addr;
    std::string name;
    if (!ctx_.client_names.Find(a, &name)) {
      name = co_await asio::co_spawn(*ctx_.lookup_pool, LookupName(a), asio::use_awaitable);
      ctx_.client_names.Add(a, name);
    }
    facts_.client_name = name;
    facts_.reverse_client_name = name;
  }
  ++ctx_.sessions_started;
  Log(Cat("connect from ", Client()));
  std::shared_ptr<ConnectionCounts> counts = ctx_.connections;
  int connections = counts->Add(facts_.client_addr, +1);
  struct Uncount {
    std::shared_ptr<ConnectionCounts> counts;
    std::string addr;
    ~Uncount() { counts->Add(addr, -1); }
  } uncount{counts, facts_.client_addr};

  if (s_.client_connection_count_limit > 0 && connections > s_.client_connection_count_limit &&
      !service_->access->InMynetworks(facts_.client_addr)) {
    // Postfix names the master.cf service without its type ("smtp").
    std::string_view service_name = s_.service;
    service_name = service_name.substr(0, service_name.rfind('/'));
    logs_.Warning("smtpd", Cat("Connection concurrency limit exceeded: ", connections,
                                   " from ", Client(), " for service ", service_name));
    Reply(Cat("421 4.7.0 ", s_.myhostname, " Error: too many connections from ",
              facts_.client_addr));
    co_await Flush();
    Log(Cat("disconnect from ", Client(), counts_.Summary()));
    co_return;
  }
  // With smtpd_delay_reject = no a client refused at connect time gets the
  // refusal instead of the greeting (an error), then "503 ... access
  // denied" for every command but QUIT, as Postfix's smtpd.
  connect_refusal_ = Refusal(co_await Check(SmtpdStage::kConnect, facts_));
  if (connect_refusal_.empty()) {
    Reply(Cat("220 ", s_.banner));
  } else {
    Reply(connect_refusal_);
    ++errors_;
  }

  SmtpCommandOptions parse_options;
  parse_options.strict_rfc821_envelopes = s_.strict_rfc821_envelopes;
  parse_options.smtputf8_enable = s_.smtputf8_enable;
  parse_options.disable_vrfy_command = s_.disable_vrfy_command;
  parse_options.dsn_enable = Offered("dsn");
  parse_options.builtin_forbidden_commands = s_.builtin_forbidden_commands;

  bool alive = true;
  if (errors_ >= s_.hard_error_limit) {  // the refusal at connect was one too many
    co_await SayTooManyErrors();
    alive = false;
  }
  while (alive && !quit_) {
    std::string line;
    if (!TakeLine(&line)) {
      if (!co_await Flush()) break;
      ReadResult r = co_await ReadMore();
      if (r == ReadResult::kTimeout) {
        Log(Cat("timeout after ", last_command_, " from ", Client()));
        Reply(Cat("421 4.4.2 ", s_.myhostname, " Error: timeout exceeded"));
        co_await Flush();
        break;
      }
      if (r == ReadResult::kEof) {
        Log(Cat("lost connection after ", last_command_, " from ", Client()));
        break;
      }
      continue;
    }
    // smtpd_noop_commands come before anything else looks at the line.
    std::string_view first_word = SmtpCommandWord(line);
    if (!s_.noop_commands.empty() && !first_word.empty() &&
        s_.noop_commands.MatchString(first_word) == MatchStatus::kMatch) {
      Reply("250 2.0.0 Ok");
      if (!co_await FinishCommand("", true)) break;
      continue;
    }
    ParsedSmtpCommand parsed = ParseSmtpCommand(line, parse_options);
    std::string verb = parsed.command.verb_text;
    for (char& c : verb) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
    SmtpVerb kind = parsed.command.verb;
    // What "too many errors after X" and "lost connection after X" name:
    // the command, "UNKNOWN" for an unrecognized one, unchanged by a blank
    // line.
    if (!verb.empty()) last_command_ = kind == SmtpVerb::kUnknown ? "UNKNOWN" : verb;
    // The disconnect line's counter: empty and unparsable lines count for
    // nothing, unrecognized commands as "unknown".
    std::string_view counter = verb.empty() ? std::string_view() : SmtpdCommandCounts::CounterName(verb);
    if (kind == SmtpVerb::kUnknown && !s_.builtin_forbidden_commands && !verb.empty() &&
        s_.forbidden_commands.MatchString(parsed.command.verb_text) == MatchStatus::kMatch) {
      kind = SmtpVerb::kForbidden;
    }
    if (kind == SmtpVerb::kForbidden) {
      Log(Cat("warning: non-SMTP command from ", Client(), ": ", line.substr(0, 100)));
      Reply(kForbiddenCommandReply);
      counts_.Add("unknown", false);
      co_await Flush();
      break;
    }
    // Logged once per session, as Postfix's smtpd logs it.
    if (!improper_pipelining_logged_ && in_pos_ < in_.size() && EndsPipelinedGroup(kind)) {
      improper_pipelining_logged_ = true;
      Log(Cat("improper command pipelining after ", verb, " from ", Client(), ": ",
              EscapeBytes(std::string_view(in_).substr(in_pos_, 100))));
    }
    if (!connect_refusal_.empty() && kind != SmtpVerb::kUnknown && kind != SmtpVerb::kQuit) {
      Reply(Cat("503 5.7.0 Error: access denied for ", Client()));
      if (!co_await FinishCommand(counter, false)) break;
      continue;
    }
    const bool junk = IsJunkCommand(kind);
    if (!parsed.ok()) {
      // Postfix checks the session state before the syntax of MAIL and RCPT.
      std::string_view state_reply;
      if (kind == SmtpVerb::kMail) state_reply = MailStateRefusal();
      if (kind == SmtpVerb::kRcpt) state_reply = RcptStateRefusal();
      Reply(state_reply.empty() ? std::string_view(parsed.reply) : state_reply);
      if (kind == SmtpVerb::kBdat) {  // 521: the chunk's extent is unknown
        counts_.Add(counter, false);
        co_await Flush();
        break;
      }
    } else {
      const SmtpCommand& cmd = parsed.command;
      switch (cmd.verb) {
        case SmtpVerb::kEhlo: co_await DoEhlo(cmd, true); break;
        case SmtpVerb::kHelo: co_await DoEhlo(cmd, false); break;
        case SmtpVerb::kMail: co_await DoMail(cmd); break;
        case SmtpVerb::kRcpt: co_await DoRcpt(cmd); break;
        case SmtpVerb::kData:
          alive = co_await DoData();
          break;
        case SmtpVerb::kRset:
          ResetTransaction();
          Reply("250 2.0.0 Ok");
          break;
        case SmtpVerb::kNoop: Reply("250 2.0.0 Ok"); break;
        case SmtpVerb::kEtrn: co_await DoEtrn(cmd); break;
        case SmtpVerb::kBdat:
          alive = co_await DoBdat(cmd);
          break;
        case SmtpVerb::kQuit:
          Reply("221 2.0.0 Bye");
          quit_ = true;
          break;
        case SmtpVerb::kVrfy: {
          if (s_.disable_vrfy_command) {
            Reply("502 5.5.1 VRFY command is disabled");
            break;
          }
          SmtpdFacts f = facts_;
          f.recipient = cmd.address;
          std::string refused = Refusal(co_await Check(SmtpdStage::kVrfy, f));
          Reply(refused.empty() ? Cat("252 2.0.0 ", cmd.argument) : refused);
          break;
        }
        default:
          Reply("500 5.5.2 Error: command not recognized");
          break;
      }
    }
    if (!alive) {  // the connection broke in DATA or BDAT
      counts_.Add(counter, false);
      break;
    }
    if (!co_await FinishCommand(counter, junk)) break;
  }
  if (quit_) co_await Flush();
  Log(Cat("disconnect from ", Client(), counts_.Summary()));
  logs_.Flush();
  socket_.close(ec);
}

}  // namespace

absl::StatusOr<std::shared_ptr<const SmtpdService>> SmtpdService::Build(
    std::shared_ptr<const tables::Snapshot> snapshot, std::string_view service) {
  auto out = std::make_shared<SmtpdService>();
  out->snapshot = snapshot;
  ServiceParams p(*snapshot, service);
  SmtpdSettings& s = out->settings;
  s.service = std::string(service);
  s.myhostname = p.HostName();
  s.banner = p.Str("smtpd_banner");
  if (s.banner.empty() || s.banner.find('$') != std::string::npos)
    s.banner = Cat(s.myhostname, " ESMTP ", p.Str("mail_name"));
  s.message_size_limit = static_cast<uint64_t>(std::max<int64_t>(0, p.Size("message_size_limit")));
  s.recipient_limit = static_cast<size_t>(std::max<int64_t>(1, p.Int("smtpd_recipient_limit")));
  s.recipient_overshoot_limit =
      static_cast<int>(std::max<int64_t>(0, p.Int("smtpd_recipient_overshoot_limit")));
  s.line_length_limit = static_cast<size_t>(std::max<int64_t>(64, p.Int("line_length_limit")));
  s.timeout = p.Time("smtpd_timeout");
  s.soft_error_limit = static_cast<int>(p.Int("smtpd_soft_error_limit"));
  s.hard_error_limit = static_cast<int>(p.Int("smtpd_hard_error_limit"));
  s.error_sleep_time = p.Time("smtpd_error_sleep_time");
  s.client_connection_count_limit = static_cast<int>(p.Int("smtpd_client_connection_count_limit"));
  s.disable_vrfy_command = p.Bool("disable_vrfy_command");
  s.junk_command_limit = static_cast<int>(p.Int("smtpd_junk_command_limit"));
  {
    auto find = [snapshot](std::string_view name) { return snapshot->FindTable(name); };
    absl::StatusOr<MatchList> noop = MatchList::Parse(
        "smtpd_noop_commands", p.Str("smtpd_noop_commands"), MatchListKind::kString, false, find);
    if (!noop.ok()) return noop.status();
    s.noop_commands = std::move(*noop);
    std::string forbidden = p.Str("smtpd_forbidden_commands");
    const tables::ParamInfo* info = tables::FindParam("smtpd_forbidden_commands");
    s.builtin_forbidden_commands = info != nullptr && forbidden == info->default_value;
    if (!s.builtin_forbidden_commands) {
      absl::StatusOr<MatchList> list = MatchList::Parse(
          "smtpd_forbidden_commands", forbidden, MatchListKind::kString, false, find);
      if (!list.ok()) return list.status();
      s.forbidden_commands = std::move(*list);
    }
  }
  {
    std::string level = p.Str("smtpd_tls_security_level");
    for (char& c : level) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
    s.tls_required = level.empty() ? p.Bool("smtpd_enforce_tls") : level == "encrypt";
  }
  s.strict_rfc821_envelopes = p.Bool("strict_rfc821_envelopes");
  s.smtputf8_enable = p.Bool("smtputf8_enable");
  for (std::string k : p.List("smtpd_discard_ehlo_keywords")) {
    for (char& c : k) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
    s.discard_ehlo_keywords.push_back(std::move(k));
  }
  s.helo_required = p.Bool("smtpd_helo_required");
  s.peername_lookup = p.Bool("smtpd_peername_lookup");
  s.rewrite_inet_interfaces = false;
  for (const std::string& item : p.List("local_header_rewrite_clients")) {
    if (item == "permit_inet_interfaces") s.rewrite_inet_interfaces = true;
    if (item == "permit_mynetworks") s.rewrite_mynetworks = true;
    if (item == "permit" || item == "static:all") s.rewrite_all = true;
  }
  s.inet_interfaces = p.List("inet_interfaces");
  auto access = SmtpdAccess::Build(snapshot, service);
  if (!access.ok()) return access.status();
  out->access = *access;
  auto cleanup = CleanupConfig::Build(snapshot, service);
  if (!cleanup.ok()) return cleanup.status();
  out->cleanup = *cleanup;
  return std::shared_ptr<const SmtpdService>(std::move(out));
}

asio::awaitable<void> RunSmtpdSession(asio::ip::tcp::socket socket,
                                      std::shared_ptr<const SmtpdService> service,
                                      SmtpdContext& context) {
  Session session(std::move(socket), std::move(service), context);
  co_await (session.Run() || session.Watchdog());
}

}  // namespace posthaste::runtime
