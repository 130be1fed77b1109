// Two kinds of failure, never mixed (Halide's user_error vs internal_error):
//  - UserError: the user's input is wrong (bad shape, bad flag, malformed file). The CLI prints
//    one line "nasx: error: ..." and exits with kUserErrorExit.
//  - InternalError: nasx itself is wrong (a broken invariant). Exit kInternalErrorExit.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace nasx {

inline constexpr int kUserErrorExit = 2;
inline constexpr int kInternalErrorExit = 3;

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class UserError : public Error {
 public:
  using Error::Error;
};

class InternalError : public Error {
 public:
  using Error::Error;
};

namespace detail {
template <typename... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
}  // namespace detail

template <typename... Args>
[[noreturn]] void user_error(const Args&... args) {
  throw UserError(detail::concat(args...));
}

template <typename... Args>
[[noreturn]] void internal_error(const Args&... args) {
  throw InternalError(detail::concat(args...));
}

}  // namespace nasx

// Checks an invariant of nasx itself; a failure is a bug in nasx, not in the user's input.
#define NASX_ASSERT(cond, ...)                                                              \
  do {                                                                                      \
    if (!(cond))                                                                            \
      ::nasx::internal_error(__FILE__, ":", __LINE__, ": assertion '", #cond, "' failed. ", \
                             ##__VA_ARGS__);                                                \
  } while (0)

// Checks the user's input; a failure becomes one clear line and exit code 2.
#define NASX_USER_CHECK(cond, ...)                \
  do {                                            \
    if (!(cond)) ::nasx::user_error(__VA_ARGS__); \
  } while (0)
