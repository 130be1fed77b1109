// Ctrl-C and kill, handled between steps: long commands (search, tuning) install handlers for
// SIGINT and SIGTERM that only raise a flag; the work checks it at safe points, ends its child
// processes, keeps its journal and throws Interrupted, which the CLI turns into a one-line message
// and exit code 130. Everything appended to a journal before that point is kept.
#pragma once

#include "support/error.h"

namespace nasx {

class Interrupted : public Error {
 public:
  using Error::Error;
};

inline constexpr int kInterruptedExit = 130;

void install_interrupt_handlers();  // idempotent
bool interrupted();
void check_interrupted();  // throws Interrupted when a signal arrived

}  // namespace nasx
