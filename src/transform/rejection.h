// Typed rejections (TVM's habit: one error kind per violated precondition, TACO's: rejected at
// apply(), not deep inside lowering). A transformation that cannot apply returns a Rejection
// naming itself, the violated precondition (kind) and the numbers involved (message).
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "support/error.h"

namespace nasx {

enum class RejectKind {
  NotDivisible,     // a factor does not divide the dimension it splits
  OutOfRange,       // a parameter is zero, negative, or larger than the dimension
  ArityMismatch,    // a per-statement list has the wrong length
  Unsupported,      // the program's current form does not allow it (e.g. peel of a grouped conv)
  CoupledChannels,  // a channel dimension is tied to others by a residual add or a concat
  NoSuchLoop,       // schedule: no loop, or more than one, has that name
  NotPerfectlyNested,
  NotConstant,  // schedule: unroll of a loop whose extent is not a constant
  Dependence,   // schedule: iterations are not independent
};
const char* reject_kind_name(RejectKind k);

struct Rejection {
  RejectKind kind;
  std::string transformation;  // as printed, e.g. "group(3)"
  std::string message;
  std::string to_string() const;
};

// A value or the rejection that prevented it.
template <typename T>
class Expected {
 public:
  Expected(T value) : value_(std::move(value)) {}      // NOLINT
  Expected(Rejection r) : rejection_(std::move(r)) {}  // NOLINT
  bool ok() const { return value_.has_value(); }
  const T& value() const {
    NASX_ASSERT(ok(), "value() of a rejection: ", rejection_->to_string());
    return *value_;
  }
  T& value() {
    NASX_ASSERT(ok(), "value() of a rejection: ", rejection_->to_string());
    return *value_;
  }
  const Rejection& rejection() const {
    NASX_ASSERT(!ok(), "rejection() of a value");
    return *rejection_;
  }

 private:
  std::optional<T> value_;
  std::optional<Rejection> rejection_;
};

}  // namespace nasx
