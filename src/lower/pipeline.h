// The lowering pipeline: one function, the passes in order (pipeline.cpp is the list).
#pragma once

#include "lower/conv_blocked.h"  // the template knobs the options carry
#include "lower/kernel.h"
#include "program/ops.h"
#include "transform/schedule.h"

namespace nasx {

struct LowerOptions {
  bool print_each_pass = false;  // also on when NASX_PRINT_IR=1
  Schedule schedule;             // applied to the default loop nest; a rejection is a UserError
  // Layouts of the inputs and the output (empty: all plain). A conv whose output is blocked by
  // `lanes` uses the blocked template with `knobs` per statement (empty: the default rule).
  std::vector<ir::Layout> layouts;
  KnobTarget target;  // lanes 0: no vector ISA (the blocked templates are not used)
  std::vector<ConvKnobs> knobs;
};

LoweredKernel lower(const Op& op, const std::vector<Shape>& inputs, const std::string& name,
                    const LowerOptions& options = {});

}  // namespace nasx
