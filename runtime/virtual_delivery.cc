// virtual_delivery.cc: virtual_mailbox_maps delivery (see virtual_delivery.h).
#include "runtime/virtual_delivery.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "runtime/fs_identity.h"
#include "runtime/maildir_writer.h"
#include "runtime/maillog.h"
#include "runtime/mbox_writer.h"
#include "runtime/service_params.h"
#include "tables/address_lookup.h"
#include "tables/str_cat.h"

namespace posthaste::runtime {

namespace {

using tables::Cat;

struct MapList {
  std::string param;
  std::vector<const tables::Table*> tables;
  std::string missing;  // a configured table the bundle lacks
};

MapList Maps(const tables::Snapshot& snap, const ServiceParams& p, const char* param) {
  MapList m;
  m.param = param;
  for (const std::string& name : p.List(param)) {
    const tables::Table* t = snap.FindTable(name);
    if (t)
      m.tables.push_back(t);
    else if (m.missing.empty())
      m.missing = name;
  }
  return m;
}

struct VirtualConfig {
  MapList mailbox, uid, gid;
  std::string base;
  int64_t minimum_uid = 100;
  uint64_t size_limit = 0;
  int lock_attempts = 20;
  absl::Duration lock_delay = absl::Seconds(1);
  bool original_recipient = true;
  tables::AddressLookupOptions lookup;
  AgentGlobals globals;
};

// Looks `address` up in one map list; kFound fills `value`.
tables::AddressLookupResult Find(const MapList& maps, const VirtualConfig& c,
                                 std::string_view address) {
  std::vector<std::string> keys =
      tables::AddressKeys(address, tables::AddressClass::kVirtual, c.lookup);
  return tables::SearchTables(maps.tables, keys, absl::AsciiStrToLower(std::string(address)));
}

// A numeric owner id from virtual_uid_maps / virtual_gid_maps, or a
// reason why there is none.
bool OwnerId(const MapList& maps, const VirtualConfig& c, std::string_view address, int64_t* id,
             std::string* why) {
  if (!maps.missing.empty()) {
    *why = Cat(maps.param, ": table ", maps.missing, " is not in the bundle");
    return false;
  }
  tables::AddressLookupResult r = Find(maps, c, address);
  if (r.status == tables::LookupStatus::kTryAgain) {
    *why = Cat(maps.param, ": table lookup problem");
    return false;
  }
  if (r.status != tables::LookupStatus::kFound) {
    *why = Cat("recipient ", address, ": not found in ", maps.param);
    return false;
  }
  std::string v(r.value);
  if (!absl::SimpleAtoi(v, id) || *id < 0) {
    *why = Cat("recipient ", address, ": bad ", maps.param, " value \"", v, "\"");
    return false;
  }
  return true;
}

}  // namespace

VirtualDeliveryAgent::VirtualDeliveryAgent(VirtualDeliveryOptions options)
    : BlockingAgent(options.blocking), options_(std::move(options)) {
  if (!options_.clock) options_.clock = RealMicros;
}

DeliveryResult VirtualDeliveryAgent::DeliverNow(const DeliveryRequest& request) {
  if (!request.snapshot) return DeferAll(request, "4.3.0", "mail system configuration error");
  if (!request.content) return DeferAll(request, "4.3.0", "message content unavailable");
  const tables::Snapshot& snap = *request.snapshot;
  ServiceParams p(snap, request.service);
  VirtualConfig c;
  c.mailbox = Maps(snap, p, "virtual_mailbox_maps");
  c.uid = Maps(snap, p, "virtual_uid_maps");
  c.gid = Maps(snap, p, "virtual_gid_maps");
  c.base = p.Str("virtual_mailbox_base");
  c.minimum_uid = p.Int("virtual_minimum_uid");
  c.size_limit = static_cast<uint64_t>(std::max<int64_t>(0, p.Size("virtual_mailbox_limit")));
  c.lock_attempts = static_cast<int>(p.Int("deliver_lock_attempts"));
  c.lock_delay = p.Time("deliver_lock_delay");
  c.original_recipient = p.Bool("enable_original_recipient");
  c.lookup.recipient_delimiter = GlobalParam(snap, request.service, "recipient_delimiter");
  c.globals = globals_.Get(snap, request.service);
  bool root = RunningAsRoot();
  std::string_view content = *request.content;

  auto warn = [&](std::string_view text) {
    if (options_.log) options_.log->Warning("virtual", Cat(request.queue_id, ": ", text));
  };

  DeliveryResult result;
  result.relay = "virtual";
  for (const DeliveryRecipient& r : request.recipients) {
    RecipientOutcome o = [&]() -> RecipientOutcome {
      if (HasDeliveredTo(content, r.address))
        return BouncedOutcome(r.index, "5.4.6", Cat("mail forwarding loop for ", r.address));
      if (!c.mailbox.missing.empty()) {
        warn(Cat("virtual_mailbox_maps: table ", c.mailbox.missing, " is not in the bundle"));
        return DeferredOutcome(r.index, "4.3.0", "virtual_mailbox_maps: table lookup problem");
      }
      tables::AddressLookupResult found = Find(c.mailbox, c, r.address);
      if (found.status == tables::LookupStatus::kTryAgain)
        return DeferredOutcome(r.index, "4.3.0", "virtual_mailbox_maps: table lookup problem");
      if (found.status != tables::LookupStatus::kFound)
        return BouncedOutcome(r.index, "5.1.1",
                              Cat("unknown user: \"", absl::AsciiStrToLower(r.address), "\""));
      std::string relative = found.value;
      if (relative.empty()) {
        warn(Cat("recipient ", r.address, ": empty virtual_mailbox_maps result"));
        return DeferredOutcome(r.index, "4.3.5", "mail system configuration error");
      }

      int64_t uid = -1, gid = -1;
      if (root) {
        std::string why;
        if (!OwnerId(c.uid, c, r.address, &uid, &why) ||
            !OwnerId(c.gid, c, r.address, &gid, &why)) {
          warn(why);
          return DeferredOutcome(r.index, "4.3.5", "mail system configuration error");
        }
        if (uid < c.minimum_uid) {
          warn(Cat("recipient ", r.address, ": uid ", uid, " is below virtual_minimum_uid ",
                   c.minimum_uid));
          return DeferredOutcome(r.index, "4.3.5", "mail system configuration error");
        }
        if (gid <= 0) {
          warn(Cat("recipient ", r.address, ": bad gid ", gid));
          return DeferredOutcome(r.index, "4.3.5", "mail system configuration error");
        }
      }

      std::string path = c.base.empty() ? relative : Cat(c.base, "/", relative);
      bool maildir = relative.back() == '/';
      DeliveryHeaders h;
      h.sender = request.sender;
      if (c.original_recipient) h.original = r.original.empty() ? r.address : r.original;
      h.delivered_to = r.address;
      std::string headers = FormatDeliveryHeaders(h);

      absl::StatusOr<std::unique_ptr<ScopedFsIdentity>> identity =
          root ? ScopedFsIdentity::Enter(static_cast<uid_t>(uid), static_cast<gid_t>(gid))
               : ScopedFsIdentity::Enter(0, 0);
      if (!identity.ok())
        return DeferredOutcome(
            r.index, "4.3.0",
            Cat("cannot switch to uid ", uid, ": ", std::string(identity.status().message())));
      int64_t now = options_.clock();
      if (maildir) {
        MaildirTarget t;
        t.directory = path;
        t.hostname = c.globals.myhostname;
        t.size_limit = c.size_limit;
        t.now_micros = now;
        absl::StatusOr<std::string> file = DeliverToMaildir(t, headers, content);
        if (file.ok()) return SentOutcome(r.index, "2.0.0", "delivered to maildir");
        std::string text = Cat("maildir delivery failed: ", std::string(file.status().message()));
        if (absl::IsResourceExhausted(file.status())) return BouncedOutcome(r.index, "5.2.2", text);
        return DeferredOutcome(r.index, "4.2.0", text);
      }
      MboxTarget t;
      t.path = path;
      t.size_limit = c.size_limit;
      t.lock_attempts = c.lock_attempts;
      t.lock_delay = c.lock_delay;
      t.now_micros = now;
      absl::Status s = AppendToMbox(t, request.sender, headers, content);
      if (s.ok()) return SentOutcome(r.index, "2.0.0", "delivered to mailbox");
      std::string text = Cat("cannot update mailbox ", path, ". ", std::string(s.message()));
      if (absl::IsResourceExhausted(s)) return BouncedOutcome(r.index, "5.2.2", text);
      return DeferredOutcome(r.index, "4.2.0", text);
    }();
    if (c.globals.soft_bounce) ApplySoftBounce(&o);
    result.outcomes.push_back(std::move(o));
  }
  return result;
}

}  // namespace posthaste::runtime
