#include "support/json_in.h"

#include <cmath>

#include "support/error.h"

namespace nasx {
namespace {

const Json& null_json() {
  static const Json null;
  return null;
}

// The offending value, short enough for one line.
std::string shown(const Json& j) {
  std::string s = j.dump();
  return s.size() > 40 ? s.substr(0, 37) + "..." : s;
}

}  // namespace

JsonIn::JsonIn(const Json& j, std::string origin, std::string path)
    : j_(&j), origin_(std::move(origin)), path_(std::move(path)) {}

JsonIn JsonIn::child(const Json& j, std::string path) const {
  JsonIn c(j, origin_, std::move(path));
  c.scope_ = scope_;
  return c;
}

JsonIn JsonIn::named(const std::string& where) const {
  JsonIn c(*j_, origin_, "");
  c.scope_ = " of " + where;
  return c;
}

void JsonIn::fail_with(const std::string& predicate, const Json& got) const {
  std::string what = path_.empty() ? (scope_.empty() ? "the value" : scope_.substr(4))
                                   : "\"" + path_ + "\"" + scope_;
  user_error(origin_, ": ", what, " ", predicate, ", got ", shown(got));
}

void JsonIn::fail(const std::string& expected) const {
  fail_with("must be " + expected, *j_);
}

std::string JsonIn::member_path(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

bool JsonIn::has(const std::string& key) const {
  return j_->is_object() && j_->contains(key);
}

std::string JsonIn::as_string() const {
  if (!j_->is_string()) fail("a string");
  return j_->get<std::string>();
}

int64_t JsonIn::as_integer() const {
  if (!j_->is_number_integer()) fail("an integer");
  if (j_->is_number_unsigned() && j_->get<uint64_t>() > uint64_t(INT64_MAX)) fail("an integer");
  return j_->get<int64_t>();
}

double JsonIn::as_real() const {
  if (j_->is_null()) return NAN;
  if (!j_->is_number()) fail("a number");
  return j_->get<double>();
}

bool JsonIn::as_bool() const {
  if (!j_->is_boolean()) fail("true or false");
  return j_->get<bool>();
}

JsonIn JsonIn::field(const std::string& key) const {
  if (j_->is_null()) return child(null_json(), member_path(key));
  if (!j_->is_object()) fail("an object");
  auto it = j_->find(key);
  return child(it == j_->end() ? null_json() : *it, member_path(key));
}

JsonIn JsonIn::require(const std::string& key) const {
  if (!has(key)) {
    if (!j_->is_object()) fail("an object");
    user_error(origin_, ": missing \"", member_path(key), "\"", scope_);
  }
  return field(key);
}

std::string JsonIn::str(const std::string& key, const std::string& fallback) const {
  return has(key) ? field(key).as_string() : (field(key), fallback);
}

int64_t JsonIn::integer(const std::string& key, int64_t fallback) const {
  return has(key) ? field(key).as_integer() : (field(key), fallback);
}

double JsonIn::real(const std::string& key, double fallback) const {
  return has(key) ? field(key).as_real() : (field(key), fallback);
}

bool JsonIn::boolean(const std::string& key, bool fallback) const {
  return has(key) ? field(key).as_bool() : (field(key), fallback);
}

std::vector<JsonIn> JsonIn::elements() const {
  if (j_->is_null()) return {};
  if (!j_->is_array()) fail("a list");
  std::vector<JsonIn> out;
  for (size_t i = 0; i < j_->size(); ++i)
    out.push_back(child((*j_)[i], path_ + "[" + std::to_string(i) + "]"));
  return out;
}

std::vector<JsonIn> JsonIn::list(const std::string& key) const {
  return field(key).elements();
}

int64_t JsonIn::integer_in(const std::string& key, int64_t fallback, int64_t lo, int64_t hi) const {
  if (!has(key)) return fallback;
  JsonIn f = field(key);
  int64_t x = f.as_integer();
  if (x < lo || x > hi) f.fail("in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return x;
}

std::vector<std::string> JsonIn::strings(const std::string& key) const {
  JsonIn f = field(key);
  std::vector<std::string> out;
  if (f.is_null()) return out;
  if (!f.j_->is_array()) f.fail("a list of strings");
  for (const Json& x : *f.j_) {
    if (!x.is_string()) f.fail_with("must hold strings", x);
    out.push_back(x.get<std::string>());
  }
  return out;
}

std::vector<std::pair<std::string, JsonIn>> JsonIn::entries(const std::string& key) const {
  JsonIn f = field(key);
  std::vector<std::pair<std::string, JsonIn>> out;
  if (f.is_null()) return out;
  if (!f.j_->is_object()) f.fail("an object");
  for (const auto& [k, v] : f.j_->items()) out.emplace_back(k, f.child(v, f.member_path(k)));
  return out;
}

Json JsonIn::object(const std::string& key) const {
  JsonIn f = field(key);
  if (f.is_null()) return Json::object();
  if (!f.j_->is_object()) f.fail("an object");
  return *f.j_;
}

}  // namespace nasx
