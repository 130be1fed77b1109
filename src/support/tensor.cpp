#include "support/tensor.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "support/error.h"

namespace nasx {

int64_t num_elements(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_string(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

Tensor Tensor::random_normal(Shape shape, uint64_t seed, float scale) {
  Tensor t(std::move(shape));
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (float& v : t.data) v = scale * dist(rng);
  return t;
}

Tensor Tensor::random_uniform(Shape shape, uint64_t seed, float lo, float hi) {
  Tensor t(std::move(shape));
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (float& v : t.data) v = dist(rng);
  return t;
}

Agreement compare(const Tensor& result, const Tensor& reference) {
  NASX_ASSERT(result.shape == reference.shape, "shape ", shape_string(result.shape), " vs ",
              shape_string(reference.shape));
  double max_abs = 0, max_ref = 0;
  for (size_t i = 0; i < result.data.size(); ++i) {
    double diff = std::fabs(double(result.data[i]) - double(reference.data[i]));
    if (std::isnan(diff)) diff = INFINITY;
    max_abs = std::max(max_abs, diff);
    max_ref = std::max(max_ref, std::fabs(double(reference.data[i])));
  }
  Agreement a;
  a.max_abs_err = max_abs;
  a.max_rel_err = max_ref > 0 ? max_abs / max_ref : max_abs;
  return a;
}

}  // namespace nasx
