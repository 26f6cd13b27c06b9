// snapshot_route_vm.cc: see snapshot_route_vm.h.
#include "runtime/snapshot_route_vm.h"

#include <vector>

#include "tables/str_cat.h"

namespace posthaste::runtime {

absl::StatusOr<std::unique_ptr<tables::RouteVm>> SnapshotRouteVm(const tables::Snapshot& snapshot) {
  const tables::RouteProgram* program = snapshot.route_program();
  if (program == nullptr)
    return absl::FailedPreconditionError("the configuration bundle has no routing program");
  std::vector<const tables::Table*> tables;
  for (const std::string& name : program->table_names) {
    const tables::Table* t = snapshot.FindTable(name);
    if (t == nullptr)
      return absl::FailedPreconditionError(
          tables::Cat("routing table ", name, " is not in the configuration bundle"));
    tables.push_back(t);
  }
  return std::make_unique<tables::RouteVm>(*program, std::move(tables));
}

}  // namespace posthaste::runtime
