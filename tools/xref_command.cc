// xref_command.cc: `phc xref`, the parameter cross-reference.
//
//   phc xref [-c DIR] PARAM...          who reads PARAM, where it is set, its
//                                       effective value per reading service
//   phc xref [-c DIR] --service NAME/TYPE  every parameter that service reads,
//                                       with effective value and origin
//   phc xref [-c DIR] --unused          settings no program reads (typos)
//
// "Reads" comes from the registry's program column; a master.cf service reads
// what its command program reads. Exit 0, or 2 on bad usage / unreadable
// configuration, 1 when --unused found something.
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <set>

#include "compiler/config_set.h"
#include "compiler/param_space.h"
#include "tables/param_registry.h"
#include "tools/commands.h"

namespace posthaste::tools {
namespace {

using compiler::ConfigSet;
using compiler::MasterService;
using compiler::ValueMode;

std::optional<tables::Program> ProgramOf(const MasterService& svc) {
  std::string program = svc.process_name();
  for (int p = 0; p < static_cast<int>(tables::kProgramCount); ++p)
    if (tables::ProgramName(static_cast<tables::Program>(p)) == program)
      return static_cast<tables::Program>(p);
  return std::nullopt;
}

tables::ProgramMask ReadersOf(const compiler::ParamSpace& space, const std::string& name) {
  const compiler::KnownParam* p = space.Find(name);
  if (!p) return 0;
  if (p->info) return p->info->programs;
  if (p->cls == compiler::ParamClass::kService) {
    // A service parameter is read by the queue manager (scheduling) and, for
    // _time_limit, by the delivery agent itself.
    return tables::ProgramBit(tables::kQmgr);
  }
  return 0;
}

std::string Location(const ConfigSet& cs, int file, int line) {
  return cs.sources.file(file).path + ":" + std::to_string(line);
}

// Where `name` gets its value for `svc` (nullptr: global), as text.
std::string Origin(const ConfigSet& cs, const std::string& name, const MasterService* svc) {
  if (svc) {
    if (const compiler::MasterOption* o = svc->FindOption(name))
      return Location(cs, o->name_span.file, o->name_span.line) + " (-o)";
  }
  if (cs.main_cf) {
    if (const compiler::Assignment* a = cs.main_cf->Find(name))
      return Location(cs, a->name_span.file, a->line_number);
  }
  return "default";
}

std::string Effective(const ConfigSet& cs, const std::string& name, const MasterService* svc) {
  std::optional<std::string> v = cs.params->Value(name, ValueMode::kEffective, svc);
  if (!v) return "";
  compiler::ExpandResult r = cs.params->ExpandValue(*v, ValueMode::kEffective, svc);
  return r.error ? *v : r.text;
}

std::string ProgramList(tables::ProgramMask mask) {
  std::string out;
  for (int p = 0; p < static_cast<int>(tables::kProgramCount); ++p) {
    if (!(mask & tables::ProgramBit(static_cast<tables::Program>(p)))) continue;
    if (!out.empty()) out += ", ";
    out += tables::ProgramName(static_cast<tables::Program>(p));
  }
  return out.empty() ? "(none)" : out;
}

int XrefParams(const ConfigSet& cs, const std::vector<std::string>& names) {
  const compiler::ParamSpace& space = *cs.params;
  int status = 0;
  for (const std::string& name : names) {
    if (!space.Find(name)) {
      std::fprintf(stderr, "phc xref: %s: unknown parameter\n", name.c_str());
      status = 1;
      continue;
    }
    tables::ProgramMask readers = ReadersOf(space, name);
    std::cout << name << "\n";
    std::cout << "  read by: " << ProgramList(readers) << "\n";
    std::cout << "  set at: " << Origin(cs, name, nullptr) << "\n";
    std::cout << "  value: " << Effective(cs, name, nullptr) << "\n";
    if (!cs.master_cf) continue;
    for (const MasterService& svc : cs.master_cf->services) {
      if (!svc.complete()) continue;
      std::optional<tables::Program> prog = ProgramOf(svc);
      bool reads = prog && (readers & tables::ProgramBit(*prog));
      bool overrides = svc.FindOption(name) != nullptr;
      if (!reads && !overrides) continue;
      std::cout << "  service " << svc.id() << " (" << svc.process_name() << ")"
                << (reads ? "" : " [sets it but does not read it]") << ": "
                << Effective(cs, name, &svc) << "  <- " << Origin(cs, name, &svc) << "\n";
    }
  }
  return status;
}

int XrefService(const ConfigSet& cs, const std::string& id) {
  if (!cs.master_cf) return 2;
  for (const MasterService& svc : cs.master_cf->services) {
    if (!svc.complete() || svc.id() != id) continue;
    std::optional<tables::Program> prog = ProgramOf(svc);
    std::cout << "service " << svc.id() << " runs " << svc.process_name() << "\n";
    if (!prog) {
      std::cout << "  (program not in the registry: no parameters known)\n";
      return 0;
    }
    for (const auto& [name, p] : cs.params->known()) {
      if (!(ReadersOf(*cs.params, name) & tables::ProgramBit(*prog)) &&
          !svc.FindOption(name))
        continue;
      std::cout << "  " << name << " = " << Effective(cs, name, &svc) << "  <- "
                << Origin(cs, name, &svc) << "\n";
    }
    return 0;
  }
  std::fprintf(stderr, "phc xref: no service %s in master.cf\n", id.c_str());
  return 2;
}

int XrefUnused(const ConfigSet& cs) {
  int found = 0;
  const compiler::ParamSpace& space = *cs.params;
  if (cs.main_cf) {
    for (const compiler::Assignment& a : cs.main_cf->assignments) {
      if (a.overridden) continue;
      const compiler::KnownParam* p = space.Find(a.name);
      bool used = p && (p->cls == compiler::ParamClass::kUser || ReadersOf(space, a.name) ||
                        p->cls == compiler::ParamClass::kService);
      if (p && p->info && p->info->programs == 0) used = true;  // registry knows no reader
      if (used) continue;
      std::cout << Location(cs, a.name_span.file, a.line_number) << ": " << a.name << " = "
                << a.value << "  (no program reads it)\n";
      ++found;
    }
  }
  if (cs.master_cf) {
    for (const MasterService& svc : cs.master_cf->services) {
      std::optional<tables::Program> prog = ProgramOf(svc);
      for (const compiler::MasterOption& o : svc.options) {
        const compiler::KnownParam* p = space.Find(o.name);
        bool user = space.ValidInService(&svc, o.name) ||
                    (p && p->cls == compiler::ParamClass::kUser);
        if (user) continue;
        tables::ProgramMask readers = ReadersOf(space, o.name);
        if (p && prog && (readers & tables::ProgramBit(*prog))) continue;
        if (p && p->info && p->info->programs == 0) continue;
        std::cout << Location(cs, o.name_span.file, o.name_span.line) << ": " << svc.id()
                  << " -o " << o.name << "=" << o.value << "  ("
                  << (p ? svc.process_name() + " does not read it" : "unknown parameter")
                  << ")\n";
        ++found;
      }
    }
  }
  return found ? 1 : 0;
}

}  // namespace

int XrefCommand(const std::vector<std::string>& argv) {
  std::string dir = "/etc/postfix";
  std::string service;
  bool unused = false;
  std::vector<std::string> names;
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "-c" && i + 1 < argv.size()) {
      dir = argv[++i];
    } else if (a == "--service" && i + 1 < argv.size()) {
      service = argv[++i];
    } else if (a.rfind("--service=", 0) == 0) {
      service = a.substr(10);
    } else if (a == "--unused") {
      unused = true;
    } else if (!a.empty() && a[0] == '-') {
      std::fputs("usage: phc xref [-c DIR] PARAM... | --service NAME/TYPE | --unused\n", stderr);
      return 2;
    } else {
      names.push_back(a);
    }
  }
  auto cs = compiler::LoadConfig(dir, {}, true);
  if (!cs->main_cf) {
    std::fprintf(stderr, "phc xref: cannot read %s/main.cf: %s\n", dir.c_str(),
                 cs->main_error.c_str());
    return 2;
  }
  if (unused) return XrefUnused(*cs);
  if (!service.empty()) return XrefService(*cs, service);
  if (names.empty()) {
    std::fputs("usage: phc xref [-c DIR] PARAM... | --service NAME/TYPE | --unused\n", stderr);
    return 2;
  }
  return XrefParams(*cs, names);
}

}  // namespace posthaste::tools
