// snapshot_route_vm.h: the routing VM over one bundle generation's routing
// program and tables, for the runtime parts that resolve addresses (the
// queue manager per final recipient, the local agent for alias and .forward
// expansions).
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "tables/bundle_loader.h"
#include "tables/route_vm.h"

namespace posthaste::runtime {

// The VM borrows the snapshot's program and tables: keep the snapshot alive
// as long as the VM. An error (bundle without a routing program, or one of
// its tables missing) says why, in words fit for a deferral reason.
absl::StatusOr<std::unique_ptr<tables::RouteVm>> SnapshotRouteVm(const tables::Snapshot& snapshot);

}  // namespace posthaste::runtime
