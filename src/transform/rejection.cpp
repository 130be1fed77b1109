#include "transform/rejection.h"

namespace nasx {

const char* reject_kind_name(RejectKind k) {
  switch (k) {
    case RejectKind::NotDivisible:
      return "not divisible";
    case RejectKind::OutOfRange:
      return "out of range";
    case RejectKind::ArityMismatch:
      return "arity mismatch";
    case RejectKind::Unsupported:
      return "unsupported";
    case RejectKind::CoupledChannels:
      return "coupled channels";
    case RejectKind::NoSuchLoop:
      return "no such loop";
    case RejectKind::NotPerfectlyNested:
      return "not perfectly nested";
    case RejectKind::NotConstant:
      return "not constant";
    case RejectKind::Dependence:
      return "dependence";
  }
  return "?";
}

std::string Rejection::to_string() const {
  return transformation + " rejected (" + reject_kind_name(kind) + "): " + message;
}

}  // namespace nasx
