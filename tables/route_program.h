// route_program.h: the routing program: opcodes, container, binary encoding.
//
// The compiler (compiler/route_codegen.h) turns the routing settings of
// main.cf and master.cf into a RouteProgram; `phc build` stores it in the
// bundle as the `route` artifact (Encode), and the loader reads it back
// (Decode) and runs the verifier (route_verifier.h) before anything may
// execute it (route_vm.h). Decode treats its input as untrusted: every count
// and length is bounded and checked against the bytes present; it does not
// check cross references (the verifier does). Format: tables/route_format.md.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "tables/route_rules.h"

namespace posthaste::tables {

enum class RouteOp : uint8_t {
#define POSTHASTE_ROUTE_OP(id, name, r1, r2, x, y, z, synopsis) id,
#include "tables/route_ops.def"
#undef POSTHASTE_ROUTE_OP
  kCount
};

// Operand kinds of route_ops.def.
enum class OperandKind : uint8_t { kNone, kReg, kString, kTableList, kDomainList, kJump };

struct RouteOpInfo {
  std::string_view name;
  OperandKind r1, r2, x, y, z;
  std::string_view synopsis;
  uint8_t allowed_flags;  // bits the flags byte may carry
};
// nullptr when `op` is not a known opcode.
const RouteOpInfo* RouteOpInfoFor(uint8_t op);

// Registers. The VM starts every entry with all of them empty except the
// inputs its entry point documents.
enum RouteReg : uint8_t {
  kRegAddress = 0,  // the address being rewritten or resolved
  kRegSender = 1,
  kRegDomain = 2,     // recipient domain (lower case)
  kRegTransport = 3,  // decision: master.cf service
  kRegNexthop = 4,    // decision: next hop
  kRegTemp = 5,
  kRegFilter = 6,  // content filter request ("transport:nexthop" or empty)
  kRegSource = 7,  // decision: source (bind) address, or empty
  kRouteRegCount = 8
};
std::string_view RouteRegName(uint8_t reg);

// Flag bits.
inline constexpr uint8_t kCanonAppendAt = 1;   // kCanon: append_at_myorigin
inline constexpr uint8_t kCanonAppendDot = 2;  // kCanon: append_dot_mydomain
inline constexpr uint8_t kPropagate = 1;       // kMap11, kExpand: propagate extensions
inline constexpr uint8_t kParentStyle = 1;     // kFindTransport: bare parent domains

// One instruction, 12 bytes on disk.
struct RouteInsn {
  RouteOp op = RouteOp::kHalt;
  uint8_t r1 = 0, r2 = 0, flags = 0;
  uint16_t x = 0, y = 0, z = 0;
  // Index into origins (where the setting that produced this instruction
  // was written, for --explain), or kNoOrigin.
  uint16_t origin = 0xffff;
};
inline constexpr uint16_t kNoOrigin = 0xffff;

enum RouteEntry : uint8_t {
  kEntrySender = 0,     // cleanup, once per message: rewrite the sender
  kEntryRecipient = 1,  // cleanup, per recipient: canonical + virtual alias
  kEntryResolve = 2,    // queue manager, per final recipient: the delivery
  kRouteEntryCount = 3
};
std::string_view RouteEntryName(uint8_t entry);

// Bounds every program must respect (the verifier checks them; they bound
// the work per recipient).
inline constexpr size_t kMaxRouteInsns = 16384;
inline constexpr size_t kMaxRouteStrings = 16384;
inline constexpr size_t kMaxRouteStringBytes = 1 << 16;
inline constexpr size_t kMaxRouteTables = 1024;
inline constexpr size_t kMaxRouteLists = 1024;
inline constexpr size_t kMaxRouteListItems = 4096;
inline constexpr uint32_t kMaxRecursionLimit = 1000;
inline constexpr uint32_t kMaxExpansionLimit = 100000;
inline constexpr uint32_t kRouteFormatVersion = 1;

struct RouteService {
  uint16_t transport = 0;  // string id: master.cf service name
  uint16_t source = 0;     // string id: IPv4 bind address (smtp_bind_address), may be empty
  uint16_t source6 = 0;    // string id: IPv6 bind address (smtp_bind_address6), may be empty
};

struct RouteProgram {
  std::vector<std::string> strings;
  std::vector<std::string> table_names;           // "type:name", by table id
  std::vector<std::vector<uint16_t>> table_lists;  // table ids in search order
  std::vector<DomainList> domain_lists;           // table items name table ids
  std::vector<RouteService> services;
  std::vector<std::string> origins;  // "main.cf:12: relayhost = [gw]" ...
  std::vector<RouteInsn> code;
  std::array<uint16_t, kRouteEntryCount> entries{};
  // Settings the opcodes read.
  uint16_t myhostname = 0;           // string id
  uint16_t recipient_delimiter = 0;  // string id
  uint16_t local_domains = 0;        // domain list id: $myorigin, $mydestination, interfaces
  uint32_t recursion_limit = 1000;   // virtual_alias_recursion_limit
  uint32_t expansion_limit = 1000;   // virtual_alias_expansion_limit

  // The binary form (route_format.md); deterministic.
  std::string Encode() const;
  // Parses untrusted bytes; sizes checked, references not (run the verifier).
  static absl::StatusOr<RouteProgram> Decode(std::string_view bytes);
};

}  // namespace posthaste::tables
