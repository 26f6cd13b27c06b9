// route_program.cc: opcode metadata and the binary encoding of a RouteProgram.
#include "tables/route_program.h"

#include "tables/str_cat.h"

namespace posthaste::tables {
namespace {

constexpr OperandKind N = OperandKind::kNone;
constexpr OperandKind R = OperandKind::kReg;
constexpr OperandKind S = OperandKind::kString;
constexpr OperandKind L = OperandKind::kTableList;
constexpr OperandKind D = OperandKind::kDomainList;
constexpr OperandKind J = OperandKind::kJump;

uint8_t AllowedFlags(RouteOp op) {
  switch (op) {
    case RouteOp::kCanon:
      return kCanonAppendAt | kCanonAppendDot;
    case RouteOp::kMap11:
    case RouteOp::kExpand:
      return kPropagate;
    case RouteOp::kFindTransport:
      return kParentStyle;
    default:
      return 0;
  }
}

const RouteOpInfo kOps[] = {
#define POSTHASTE_ROUTE_OP(id, name, r1, r2, x, y, z, synopsis) \
  {name, r1, r2, x, y, z, synopsis, AllowedFlags(RouteOp::id)},
#include "tables/route_ops.def"
#undef POSTHASTE_ROUTE_OP
};
static_assert(sizeof(kOps) / sizeof(kOps[0]) == static_cast<size_t>(RouteOp::kCount));

constexpr char kMagic[4] = {'P', 'H', 'R', 'T'};

class Writer {
 public:
  void U8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void U16(uint16_t v) {
    U8(static_cast<uint8_t>(v));
    U8(static_cast<uint8_t>(v >> 8));
  }
  void U32(uint32_t v) {
    U16(static_cast<uint16_t>(v));
    U16(static_cast<uint16_t>(v >> 16));
  }
  void Str(std::string_view s) {
    U32(static_cast<uint32_t>(s.size()));
    out_.append(s);
  }
  void Raw(std::string_view s) { out_.append(s); }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool U8(uint8_t* v) {
    if (in_.size() - pos_ < 1) return Fail();
    *v = static_cast<uint8_t>(in_[pos_++]);
    return true;
  }
  bool U16(uint16_t* v) {
    uint8_t a, b;
    if (!U8(&a) || !U8(&b)) return false;
    *v = static_cast<uint16_t>(a | (b << 8));
    return true;
  }
  bool U32(uint32_t* v) {
    uint16_t a, b;
    if (!U16(&a) || !U16(&b)) return false;
    *v = static_cast<uint32_t>(a) | (static_cast<uint32_t>(b) << 16);
    return true;
  }
  bool Str(std::string* s, size_t max) {
    uint32_t n;
    if (!U32(&n)) return false;
    if (n > max || in_.size() - pos_ < n) return Fail();
    s->assign(in_.substr(pos_, n));
    pos_ += n;
    return true;
  }
  // A count of items at least `min_bytes` each, at most `max`.
  bool Count(uint32_t* n, size_t max, size_t min_bytes) {
    if (!U32(n)) return false;
    if (*n > max || (in_.size() - pos_) / min_bytes < *n) return Fail();
    return true;
  }
  bool Magic() {
    if (in_.size() < 4 || in_.substr(0, 4) != std::string_view(kMagic, 4)) return Fail();
    pos_ = 4;
    return true;
  }
  size_t pos() const { return pos_; }
  bool AtEnd() const { return pos_ == in_.size(); }
  bool failed() const { return failed_; }

 private:
  bool Fail() {
    failed_ = true;
    return false;
  }
  std::string_view in_;
  size_t pos_ = 0;
  bool failed_ = false;
};

}  // namespace

const RouteOpInfo* RouteOpInfoFor(uint8_t op) {
  return op < static_cast<uint8_t>(RouteOp::kCount) ? &kOps[op] : nullptr;
}

std::string_view RouteRegName(uint8_t reg) {
  static const std::string_view kNames[kRouteRegCount] = {
      "address", "sender", "domain", "transport", "nexthop", "temp", "filter", "source"};
  return reg < kRouteRegCount ? kNames[reg] : "?";
}

std::string_view RouteEntryName(uint8_t entry) {
  static const std::string_view kNames[kRouteEntryCount] = {"sender", "recipient", "resolve"};
  return entry < kRouteEntryCount ? kNames[entry] : "?";
}

std::string RouteProgram::Encode() const {
  Writer w;
  w.Raw(std::string_view(kMagic, 4));
  w.U32(kRouteFormatVersion);
  w.U16(myhostname);
  w.U16(recipient_delimiter);
  w.U16(local_domains);
  w.U16(0);
  w.U32(recursion_limit);
  w.U32(expansion_limit);
  for (uint16_t e : entries) w.U16(e);
  w.U16(0);
  w.U32(static_cast<uint32_t>(strings.size()));
  for (const std::string& s : strings) w.Str(s);
  w.U32(static_cast<uint32_t>(table_names.size()));
  for (const std::string& s : table_names) w.Str(s);
  w.U32(static_cast<uint32_t>(table_lists.size()));
  for (const auto& list : table_lists) {
    w.U32(static_cast<uint32_t>(list.size()));
    for (uint16_t id : list) w.U16(id);
  }
  w.U32(static_cast<uint32_t>(domain_lists.size()));
  for (const DomainList& list : domain_lists) {
    w.U8(list.parent_matches_subdomains ? 1 : 0);
    w.U32(static_cast<uint32_t>(list.items.size()));
    for (const DomainListItem& item : list.items) {
      w.U8(item.table ? 1 : 0);
      w.U8(item.negate ? 1 : 0);
      w.U16(item.table_id);
      w.Str(item.pattern);
    }
  }
  w.U32(static_cast<uint32_t>(services.size()));
  for (const RouteService& s : services) {
    w.U16(s.transport);
    w.U16(s.source);
    w.U16(s.source6);
  }
  w.U32(static_cast<uint32_t>(origins.size()));
  for (const std::string& s : origins) w.Str(s);
  w.U32(static_cast<uint32_t>(code.size()));
  for (const RouteInsn& i : code) {
    w.U8(static_cast<uint8_t>(i.op));
    w.U8(i.r1);
    w.U8(i.r2);
    w.U8(i.flags);
    w.U16(i.x);
    w.U16(i.y);
    w.U16(i.z);
    w.U16(i.origin);
  }
  return w.Take();
}

absl::StatusOr<RouteProgram> RouteProgram::Decode(std::string_view bytes) {
  Reader r(bytes);
  RouteProgram p;
  auto bad = [&](std::string_view what) {
    return absl::DataLossError(Cat("route program: ", what, " (at byte ", r.pos(), ")"));
  };
  if (!r.Magic()) return bad("not a routing program (bad magic)");
  uint32_t version = 0;
  if (!r.U32(&version)) return bad("truncated header");
  if (version != kRouteFormatVersion)
    return absl::FailedPreconditionError(
        Cat("route program: unsupported format version ", version));
  uint16_t pad = 0, pad2 = 0;
  if (!r.U16(&p.myhostname) || !r.U16(&p.recipient_delimiter) || !r.U16(&p.local_domains) ||
      !r.U16(&pad) || !r.U32(&p.recursion_limit) || !r.U32(&p.expansion_limit))
    return bad("truncated header");
  for (uint16_t& e : p.entries)
    if (!r.U16(&e)) return bad("truncated header");
  if (!r.U16(&pad2)) return bad("truncated header");
  if (pad != 0 || pad2 != 0) return bad("non-zero padding");
  uint32_t n = 0;
  if (!r.Count(&n, kMaxRouteStrings, 4)) return bad("bad string count");
  p.strings.resize(n);
  for (std::string& s : p.strings)
    if (!r.Str(&s, kMaxRouteStringBytes)) return bad("bad string");
  if (!r.Count(&n, kMaxRouteTables, 4)) return bad("bad table count");
  p.table_names.resize(n);
  for (std::string& s : p.table_names)
    if (!r.Str(&s, kMaxRouteStringBytes)) return bad("bad table name");
  if (!r.Count(&n, kMaxRouteLists, 4)) return bad("bad table list count");
  p.table_lists.resize(n);
  for (auto& list : p.table_lists) {
    uint32_t m = 0;
    if (!r.Count(&m, kMaxRouteListItems, 2)) return bad("bad table list");
    list.resize(m);
    for (uint16_t& id : list)
      if (!r.U16(&id)) return bad("truncated table list");
  }
  if (!r.Count(&n, kMaxRouteLists, 5)) return bad("bad domain list count");
  p.domain_lists.resize(n);
  for (DomainList& list : p.domain_lists) {
    uint8_t parent = 0;
    uint32_t m = 0;
    if (!r.U8(&parent) || parent > 1) return bad("bad domain list flag");
    list.parent_matches_subdomains = parent == 1;
    if (!r.Count(&m, kMaxRouteListItems, 8)) return bad("bad domain list");
    list.items.resize(m);
    for (DomainListItem& item : list.items) {
      uint8_t table = 0, negate = 0;
      if (!r.U8(&table) || !r.U8(&negate) || table > 1 || negate > 1 || !r.U16(&item.table_id) ||
          !r.Str(&item.pattern, kMaxRouteStringBytes))
        return bad("bad domain list item");
      item.table = table == 1;
      item.negate = negate == 1;
    }
  }
  if (!r.Count(&n, kMaxRouteStrings, 6)) return bad("bad service count");
  p.services.resize(n);
  for (RouteService& s : p.services)
    if (!r.U16(&s.transport) || !r.U16(&s.source) || !r.U16(&s.source6))
      return bad("truncated service");
  if (!r.Count(&n, kMaxRouteInsns, 4)) return bad("bad origin count");
  p.origins.resize(n);
  for (std::string& s : p.origins)
    if (!r.Str(&s, kMaxRouteStringBytes)) return bad("bad origin");
  if (!r.Count(&n, kMaxRouteInsns, 12)) return bad("bad instruction count");
  p.code.resize(n);
  for (RouteInsn& i : p.code) {
    uint8_t op = 0;
    if (!r.U8(&op) || !r.U8(&i.r1) || !r.U8(&i.r2) || !r.U8(&i.flags) || !r.U16(&i.x) ||
        !r.U16(&i.y) || !r.U16(&i.z) || !r.U16(&i.origin))
      return bad("truncated instruction");
    i.op = static_cast<RouteOp>(op);  // range checked by the verifier
  }
  if (!r.AtEnd()) return bad("trailing bytes");
  return p;
}

}  // namespace posthaste::tables
