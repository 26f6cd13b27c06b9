// route_vm_fuzz.cc: libFuzzer target for the routing program decoder, verifier and VM.
//
// The first input byte chooses the form of the rest. Even: the rest is a
// whole encoded program (RouteProgram::Decode sees arbitrary bytes). Odd: the
// rest replaces the instructions of a valid generated program, 12 bytes per
// instruction, so that most inputs reach the verifier with plausible
// constants. Whatever the verifier accepts is run at all three entry points
// over tables that hit, miss and fail; the VM must neither crash nor read
// out of bounds (ASan/UBSan in fuzz builds) and must always stop.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "compiler/route_codegen.h"
#include "compiler/route_model.h"
#include "tables/memory_table.h"
#include "tables/route_verifier.h"
#include "tables/route_vm.h"

namespace {

using namespace posthaste;

const tables::RouteProgram& BaseProgram() {
  static const tables::RouteProgram program = [] {
    compiler::RouteModel m;
    m.myhostname = "mx.example.com";
    m.mydomain = "example.com";
    m.myorigin = "example.com";
    m.recipient_delimiter = "+";
    m.table_names = {"memory:0", "memory:1"};
    m.mydestination.items.push_back({false, false, "mx.example.com", 0});
    m.local_domains = m.mydestination;
    m.virtual_alias_domains.items.push_back({true, false, "", 1});
    m.local_transport = "local:mx.example.com";
    m.virtual_transport = "virtual";
    m.relay_transport = "relay";
    m.default_transport = "smtp";
    m.relayhost = "[gw.example]";
    m.content_filter = "scan:[127.0.0.1]:10024";
    m.virtual_alias_maps = {0};
    m.canonical_maps = {1};
    m.transport_maps = {0, 1};
    m.relocated_maps = {1};
    m.sender_relayhost_maps = {0};
    m.sender_transport_maps = {1};
    m.service_sources["smtp"] = "192.0.2.1";
    return compiler::GenerateRouteProgram(m);
  }();
  return program;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 1 << 16) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  tables::RouteProgram program;
  if ((data[0] & 1) == 0) {
    absl::StatusOr<tables::RouteProgram> decoded = tables::RouteProgram::Decode(rest);
    if (!decoded.ok()) return 0;
    program = *std::move(decoded);
  } else {
    program = BaseProgram();
    program.code.clear();
    for (size_t i = 0; i + 12 <= rest.size(); i += 12) {
      const auto* b = reinterpret_cast<const uint8_t*>(rest.data() + i);
      tables::RouteInsn insn;
      insn.op = static_cast<tables::RouteOp>(b[0]);
      insn.r1 = b[1];
      insn.r2 = b[2];
      insn.flags = b[3];
      insn.x = static_cast<uint16_t>(b[4] | b[5] << 8);
      insn.y = static_cast<uint16_t>(b[6] | b[7] << 8);
      insn.z = static_cast<uint16_t>(b[8] | b[9] << 8);
      insn.origin = static_cast<uint16_t>(b[10] | b[11] << 8);
      program.code.push_back(insn);
    }
    for (size_t e = 0; e < program.entries.size(); ++e)
      program.entries[e] = static_cast<uint16_t>(program.code.empty() ? 0 : (e * 7) % program.code.size());
  }
  if (!tables::VerifyRouteProgram(program).ok()) return 0;

  std::vector<std::unique_ptr<tables::Table>> owned;
  std::vector<const tables::Table*> ptrs;
  for (size_t t = 0; t < program.table_names.size(); ++t) {
    if (t % 3 == 2) {
      owned.push_back(std::make_unique<tables::FailTable>("fuzz"));
    } else {
      auto m = std::make_unique<tables::MemoryTable>(true);
      m->Add("a@example.com", "b@example.com, a@example.com");
      m->Add("b@example.com", "a@example.com");
      m->Add("@example.net", "@example.com");
      m->Add("example.net", t % 3 == 0 ? "smtp:" : ":[h]");
      m->Add("*", "relay:");
      m->Add("<>", "DUNNO");
      owned.push_back(std::move(m));
    }
    ptrs.push_back(owned.back().get());
  }
  tables::RouteVm vm(program, ptrs);
  for (const char* a : {"a@example.com", "x+y@Example.NET", "", "-u@mx.example.com", "bare"}) {
    tables::RouteRunResult s = vm.RewriteSender(a, true);
    tables::RouteRunResult r = vm.RewriteRecipient(a, true);
    for (const std::string& to : r.addresses) vm.Resolve(a, to, s.filter, true);
    vm.Resolve(a, a, "bulk:", false);
  }
  (void)tables::DisassembleRouteProgram(program);
  return 0;
}
