// Storage flattening: a multi-dimensional access buffer[i0, ..., ik] becomes the row-major
// buffer[((i0 * s1 + i1) * s2 + ...) + ik]. After this pass every Load and Store has one index.
#pragma once

#include "ir/ir.h"

namespace nasx {

ir::Stmt flatten_storage(const ir::Stmt& s);

}  // namespace nasx
