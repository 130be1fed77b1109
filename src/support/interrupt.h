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

// Graceful mode (search, tuning): the first SIGINT or SIGTERM only raises the flag; a second one
// ends the process at once (after removing temporary files).
void install_interrupt_handlers();  // idempotent
// Default mode (every command, from main): SIGINT and SIGTERM remove the registered temporary
// files (support/temp_files.h) and then end the process as the signal would.
void install_cleanup_handlers();
bool interrupted();
void check_interrupted();  // throws Interrupted when a signal arrived

}  // namespace nasx
