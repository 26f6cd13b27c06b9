// cleanup.h: what happens to a received message between the end of DATA
// and the queue (Postfix's cleanup(8) for mail from smtpd).
//
// Input: the envelope the SMTP session collected, the effects its access
// restrictions asked for (HOLD, DISCARD, FILTER, REDIRECT, BCC, PREPEND),
// and the raw message (LF-terminated lines, dot-unstuffed). Output: either a
// refusal (REJECT from header/body checks, too many hops, a routing lookup
// that answered try-again) with its SMTP reply, a silent discard, or the
// message to queue: the final envelope and the final content.
//
// Steps, in Postfix's order:
//  1. the sender through the routing program's `sender` entry (canonical
//     maps) and the content filter it carries (content_filter; a receiving
//     smtpd's own -o content_filter replaces it);
//  2. our Received: header on top, then header_checks / mime / nested /
//     body_checks (tables/message_checks.h) with every action's effect;
//     message_drop_headers removed; the hop count checked;
//  3. missing From:/Date:/Message-ID: added for mail in the local rewrite
//     context (local_header_rewrite_clients) or always_add_missing_headers;
//  4. each recipient through the `recipient` entry (canonical, virtual
//     alias expansion), duplicates dropped per original recipient; REDIRECT
//     replaces all recipients, BCC and always_bcc add one.
// receive_override_options no_header_body_checks / no_address_mappings
// switch steps 2 and 4's rewriting off (content filter re-injection).
//
// Thread safety: a CleanupConfig is immutable after Build and serves many
// sessions at once; RunCleanup has no shared state.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/queue_store.h"
#include "tables/bundle_loader.h"
#include "tables/message_checks.h"
#include "tables/route_vm.h"

namespace posthaste::runtime {

class CleanupConfig {
 public:
  // `smtpd_service` is the receiving service ("smtp/inet"); the cleanup
  // service is the one its cleanup_service_name names ("cleanup/unix").
  static absl::StatusOr<std::shared_ptr<const CleanupConfig>> Build(
      std::shared_ptr<const tables::Snapshot> snapshot, std::string_view smtpd_service);

  struct Settings {
    std::string myhostname = "localhost";
    std::string mail_name = "Postfix";
    std::string myorigin = "localhost";
    bool always_add_missing_headers = false;
    bool header_checks_enabled = true;   // not no_header_body_checks
    bool address_mappings = true;        // not no_address_mappings
    int hopcount_limit = 50;
    std::vector<std::string> drop_headers;  // message_drop_headers, lowercased
    std::string smtpd_content_filter;       // content_filter as the receiving service sees it
    std::string always_bcc;
    std::vector<const tables::Table*> sender_bcc_maps, recipient_bcc_maps;
    bool enable_original_recipient = true;
  };

  const Settings& settings() const { return settings_; }
  const tables::MessageCheckTables& checks() const { return checks_; }
  // nullptr when the bundle has no routing program (addresses pass as is).
  const tables::RouteVm* route() const { return route_.get(); }
  // Problems found while building (tables the bundle lacks ...), for a log warning.
  const std::vector<std::string>& problems() const { return problems_; }

 private:
  std::shared_ptr<const tables::Snapshot> snapshot_;
  Settings settings_;
  tables::MessageCheckTables checks_;
  std::unique_ptr<tables::RouteVm> route_;
  std::vector<std::string> problems_;
};

// What the session hands over.
struct CleanupEnvelope {
  std::string queue_id;
  std::string sender;                   // internal form, "" for <>
  std::vector<std::string> recipients;  // as accepted, in order
  // Parallel to `recipients` (or empty): RCPT NOTIFY= bits and ORCPT=.
  // Addresses a recipient expands to inherit them; BCC recipients get
  // NOTIFY=NEVER, as in Postfix.
  std::vector<uint8_t> recipient_notify;
  std::vector<std::string> recipient_orcpt;
  std::string dsn_envid;
  // kMessageDsnRetFull / kMessageDsnRetHeaders / kMessageSmtputf8.
  uint32_t message_flags = 0;
  bool body_8bitmime = false;
  // For the Received: header and log lines.
  std::string client_name = "unknown";
  std::string client_addr;
  std::string helo;
  std::string protocol = "ESMTP";
  bool local_rewrite_context = false;   // client in local_header_rewrite_clients
  int64_t now_micros = 0;
  // Access-map effects from the SMTP session.
  bool hold = false;
  std::string hold_reason;
  bool discard = false;
  std::optional<std::string> filter, redirect;
  std::vector<std::string> bcc;
  std::vector<std::string> prepend;     // headers to put on top
};

struct CleanupResult {
  enum class Disposition { kQueue, kDiscard, kReject, kDefer };
  Disposition disposition = Disposition::kQueue;
  std::string reply;        // kReject / kDefer: the SMTP reply line
  NewMessage message;       // kQueue: the envelope to queue
  std::string content;      // kQueue: the final message (LF lines)
  std::string message_id;   // the Message-ID header value, for the log
  // Lines cleanup logs ("QUEUEID: message-id=<...>", "QUEUEID: warning:
  // header ...", "QUEUEID: reject: header ..."), without the program prefix.
  std::vector<std::string> log_lines;
};

CleanupResult RunCleanup(const CleanupConfig& config, const CleanupEnvelope& envelope,
                         std::string_view raw_message);

// Where the blank line after the primary header block of `content` starts
// (the content's size when there is none).
size_t PrimaryHeaderBlockEnd(std::string_view content);

// Where the Message-ID header starts in the primary header block of
// `content` (LF or CRLF lines), or npos.
size_t MessageIdHeaderOffset(std::string_view content);

// The Message-ID header's value in the primary header block of `content`
// (LF lines), as cleanup logs it; nullopt when there is none.
std::optional<std::string> MessageIdOf(std::string_view content);

}  // namespace posthaste::runtime
