// route_eval.h: the reference evaluator: routing decided directly from the RouteModel.
//
// The slow, obvious implementation of spec §5 that the bytecode VM
// (tables/route_vm.h) is checked against: it walks the model in the order
// Postfix's cleanup and trivial-rewrite do, with no compiled program in
// between. `phc route -c DIR` answers with it; `phc route --bundle` answers
// with the VM; the differential test requires both to agree on every input.
// Same entry points and result type as the VM (tables::RouteRunResult);
// trace steps carry the origin of each deciding setting for --explain.
// Tables are found by id through `tables` (the caller owns them); a
// try-again defers.
#pragma once

#include <string_view>
#include <vector>

#include "compiler/route_model.h"
#include "tables/lookup.h"
#include "tables/route_vm.h"

namespace posthaste::compiler {

class RouteEvaluator {
 public:
  RouteEvaluator(const RouteModel& model, std::vector<const tables::Table*> tables);

  tables::RouteRunResult RewriteSender(std::string_view sender, bool trace = false) const;
  tables::RouteRunResult RewriteRecipient(std::string_view recipient, bool trace = false) const;
  tables::RouteRunResult Resolve(std::string_view sender, std::string_view recipient,
                                 std::string_view filter, bool trace = false) const;

 private:
  const RouteModel& model_;
  std::vector<const tables::Table*> tables_;
};

}  // namespace posthaste::compiler
