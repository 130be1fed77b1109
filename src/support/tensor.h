// A dense float32 host tensor (row-major, shape outermost first). The plain currency between
// layers that must not see LibTorch: kernels read and write it, the torch bridge converts it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nasx {

using Shape = std::vector<int64_t>;

int64_t num_elements(const Shape& shape);
std::string shape_string(const Shape& shape);

struct Tensor {
  Shape shape;
  std::vector<float> data;

  Tensor() = default;
  explicit Tensor(Shape s) : shape(std::move(s)), data(num_elements(shape), 0.0f) {}
  int64_t size() const { return static_cast<int64_t>(data.size()); }

  // Standard normal entries scaled by `scale`, from a seed (same seed, same tensor).
  static Tensor random_normal(Shape shape, uint64_t seed, float scale = 1.0f);
  static Tensor random_uniform(Shape shape, uint64_t seed, float lo, float hi);
};

// Agreement of a result with a reference: max |a-b|, and that divided by max |reference|.
struct Agreement {
  double max_abs_err = 0;
  double max_rel_err = 0;
};
Agreement compare(const Tensor& result, const Tensor& reference);

}  // namespace nasx
