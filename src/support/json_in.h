// A JSON value read from a file a user may edit (report.json, verdict journals, verify.json,
// tuning records, checkpoints), with where it came from. Its typed getters are the one way such
// files are read: a field of the wrong type is a UserError (exit 2) naming the file and the key's
// path ("DIR/report.json: \"trials[3].timing.baseline.median_ms\" must be a number, got
// \"fast\""; ARCH.json's own checks in graph/arch.cpp word theirs the same way),
// never a silent NaN, a default, or an internal error from nlohmann's type_error.
//
// Missing keys take the caller's fallback (older files lack newer fields), except through
// `require`; a null number reads as NaN (nasx writes non-finite doubles as null).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "support/json.h"

namespace nasx {

class JsonIn {
 public:
  // Implicit: a plain Json converts (its messages then name "a JSON value").
  JsonIn(const Json& j, std::string origin = "a JSON value", std::string path = "");

  const Json& json() const { return *j_; }
  const std::string& origin() const { return origin_; }
  bool is_null() const { return j_->is_null(); }
  bool has(const std::string& key) const;  // an object holding `key`

  // This value as a type.
  std::string as_string() const;
  int64_t as_integer() const;
  double as_real() const;  // null: NaN
  bool as_bool() const;

  // A member (missing: a null value, whose own members take their fallbacks); `require` fails.
  JsonIn field(const std::string& key) const;
  JsonIn require(const std::string& key) const;

  // Typed members with a fallback for a missing key.
  std::string str(const std::string& key, const std::string& fallback = "") const;
  int64_t integer(const std::string& key, int64_t fallback = 0) const;
  double real(const std::string& key, double fallback = 0) const;
  bool boolean(const std::string& key, bool fallback = false) const;
  std::vector<std::string> strings(const std::string& key) const;
  // An array member's elements (missing: none), an object member's entries (missing: none),
  // and an object member as plain JSON (missing: {}).
  std::vector<JsonIn> list(const std::string& key) const;
  std::vector<std::pair<std::string, JsonIn>> entries(const std::string& key) const;
  Json object(const std::string& key) const;

  [[noreturn]] void fail(const std::string& expected) const;

 private:
  const Json* j_;
  std::string origin_, path_;
  std::string member_path(const std::string& key) const;
  std::vector<JsonIn> elements() const;
};

}  // namespace nasx
