#include "support/interrupt.h"

#include <unistd.h>

#include <csignal>

#include "support/temp_files.h"

namespace nasx {
namespace {

volatile std::sig_atomic_t g_signal = 0;
volatile std::sig_atomic_t g_graceful = 0;

void on_signal(int sig) {
  if (g_graceful && !g_signal) {  // the first one: stop at the next safe point
    g_signal = sig;
    return;
  }
  // Default mode, or a second signal: leave no temporary file, say so, and end with the exit code
  // of every interrupted nasx command, 130 (before: tune and train ended by the signal, 143 with
  // no word, while search said why and exited 130). Only async-signal-safe calls.
  remove_registered_temps();
  const char* msg = sig == SIGINT ? "nasx: interrupted (SIGINT); nothing half-written is left\n"
                                  : "nasx: terminated (SIGTERM); nothing half-written is left\n";
  size_t n = 0;
  while (msg[n]) ++n;
  ssize_t ignored = write(2, msg, n);
  (void)ignored;
  _exit(130);
}

void install(bool graceful) {
  g_graceful = graceful;
  struct sigaction sa = {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

}  // namespace

void install_interrupt_handlers() {
  install(true);
}

void install_cleanup_handlers() {
  install(false);
}

bool interrupted() {
  return g_signal != 0;
}

void check_interrupted() {
  if (g_signal)
    throw Interrupted(g_signal == SIGINT ? "interrupted (SIGINT)" : "terminated (SIGTERM)");
}

}  // namespace nasx
