// route_vm.h: the routing VM: runs a verified routing program per address.
//
// Shared by the runtime (cleanup rewrites each envelope address, the queue
// manager resolves each final recipient) and by `phc route --bundle`. The
// program must have passed VerifyRouteProgram (route_verifier.h); the VM
// still bounds-checks every operand it uses and stops at kMaxRouteInsns
// steps, so a program that slipped through cannot read out of bounds or run
// forever. Tables are found by table id through the tables::Table interface;
// a lookup that answers try-again becomes a deferral ("lookup failure"),
// never a silent miss. Inputs (addresses) are untrusted; their length is not
// limited here beyond the program's expansion limits.
//
// Entry points (route_format.md §4):
//   RewriteSender     cleanup, once per message: the sender after canonical
//                     rewriting, and the content filter the message carries.
//   RewriteRecipient  cleanup, per envelope recipient: canonical rewriting
//                     and virtual alias expansion into final recipients.
//   Resolve           queue manager, per final recipient: transport, next
//                     hop and source address, or a deferral.
// Thread safety: a RouteVm is immutable; any number of threads may run it.
// It borrows the program and tables: they must outlive it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tables/lookup.h"
#include "tables/route_disasm.h"
#include "tables/route_program.h"

namespace posthaste::tables {

struct RouteTraceStep {
  uint16_t pc = 0;
  std::string note;    // what the step found, e.g. the key that hit
  std::string origin;  // where the deciding setting is written ("main.cf:12")
};

struct RouteRunResult {
  bool deferred = false;
  std::string reason;                  // deferred: why
  std::vector<std::string> addresses;  // rewrite entries: resulting addresses
  std::string filter;                  // RewriteSender: the content filter request
  std::string transport, nexthop, source;  // Resolve (addresses: the final recipient)
  std::string source6;                     // Resolve: IPv6 bind address, or empty
  std::vector<RouteTraceStep> trace;   // executed instructions, when asked
};

class RouteVm {
 public:
  // `tables[id]` serves table id `id` of the program (size must match).
  RouteVm(const RouteProgram& program, std::vector<const Table*> tables);

  RouteRunResult RewriteSender(std::string_view sender, bool trace = false) const;
  RouteRunResult RewriteRecipient(std::string_view recipient, bool trace = false) const;
  // `filter`: the message's content filter request ("" for none), i.e.
  // RewriteSender's filter unless a header/body FILTER action replaced it.
  RouteRunResult Resolve(std::string_view sender, std::string_view recipient,
                         std::string_view filter, bool trace = false) const;

  const RouteProgram& program() const { return program_; }

 private:
  RouteRunResult Run(uint8_t entry, std::string regs[kRouteRegCount], bool trace) const;

  const RouteProgram& program_;
  std::vector<const Table*> tables_;
};

}  // namespace posthaste::tables
