// A JSON value read from a file a user may edit (report.json, verdict journals, verify.json,
// tuning records, checkpoints), with where it came from. Its typed getters are the one way such
// files are read: a field of the wrong type is a UserError (exit 2) naming the file and the key's
// path ("DIR/report.json: \"trials[3].timing.baseline.median_ms\" must be a number, got
// \"fast\""; ARCH.json's reader in graph/arch.cpp names a step's keys as "\"layers\" of step 0"),
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
  // An integer member in [lo, hi] ("\"seed\" must be in [0, 9223372036854775807], got -1").
  int64_t integer_in(const std::string& key, int64_t fallback, int64_t lo, int64_t hi) const;
  // A list of strings (missing: none); a non-string element "must hold strings".
  std::vector<std::string> strings(const std::string& key) const;
  // An array member's elements (missing: none), an object member's entries (missing: none),
  // and an object member as plain JSON (missing: {}).
  std::vector<JsonIn> list(const std::string& key) const;
  std::vector<std::pair<std::string, JsonIn>> entries(const std::string& key) const;
  Json object(const std::string& key) const;

  // This value, named in messages as "of WHERE" instead of by its path: a list's elements
  // that a user counts ("\"layers\" of step 0 must be a list of strings").
  JsonIn named(const std::string& where) const;

  [[noreturn]] void fail(const std::string& expected) const;  // "... must be EXPECTED, got V"

 private:
  const Json* j_;
  std::string origin_, path_, scope_;  // scope_: " of step 0" after a key, or empty
  std::string member_path(const std::string& key) const;
  JsonIn child(const Json& j, std::string path) const;
  [[noreturn]] void fail_with(const std::string& predicate, const Json& got) const;
  std::vector<JsonIn> elements() const;
};

}  // namespace nasx
