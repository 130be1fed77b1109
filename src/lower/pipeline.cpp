#include "lower/pipeline.h"

#include <cstdlib>
#include <iostream>

#include "ir/printer.h"
#include "ir/simplify.h"
#include "lower/flatten_storage.h"
#include "lower/loop_nest.h"
#include "lower/unroll_loops.h"

namespace nasx {

LoweredKernel lower(const Op& op, const std::vector<Shape>& inputs, const std::string& name,
                    const LowerOptions& options) {
  const char* env = std::getenv("NASX_PRINT_IR");
  bool print = options.print_each_pass || (env && std::string(env) == "1");
  auto log = [&](const char* pass, const LoweredKernel& k) {
    if (print) std::cerr << "// after " << pass << " (" << k.name << ")\n" << ir::to_string(k.body);
  };

  LoweredKernel k = build_loop_nest(op, inputs, name, options);
  log("build_loop_nest", k);
  if (!options.schedule.empty()) {
    Expected<ir::Stmt> scheduled = apply_schedule(options.schedule, k.body);
    if (!scheduled.ok()) user_error(op_name(op), ": ", scheduled.rejection().to_string());
    k.body = scheduled.value();
    log("schedule", k);
  }
  k.body = unroll_loops(k.body);
  log("unroll_loops", k);
  k.body = ir::simplify(k.body);
  log("simplify", k);
  k.body = flatten_storage(k.body);
  log("flatten_storage", k);
  k.body = ir::simplify(k.body);
  log("simplify", k);
  return k;
}

}  // namespace nasx
