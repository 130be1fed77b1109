#include "graph/onnx_proto.h"

#include <algorithm>
#include <cstring>

#include "support/error.h"

namespace nasx {

Constant read_tensor(const onnx::TensorProto& t, const std::string& what) {
  NASX_USER_CHECK(t.data_location() != onnx::TensorProto::EXTERNAL, what,
                  ": weights stored outside the .onnx file (external data) are not supported");
  Constant c;
  int64_t n = 1;
  for (int64_t d : t.dims()) {
    NASX_USER_CHECK(
        d >= 0 && d <= (int64_t(1) << 31) && n * std::max<int64_t>(d, 1) <= (int64_t(1) << 31),
        what, ": tensor dimensions out of range");
    c.dims.push_back(d);
    n *= d;
  }
  const std::string& raw = t.raw_data();
  auto from_raw = [&](auto sample, auto& out) {
    using T = decltype(sample);
    NASX_USER_CHECK(raw.size() == size_t(n) * sizeof(T), what, ": holds ", raw.size(),
                    " bytes of data, its shape needs ", size_t(n) * sizeof(T));
    for (int64_t i = 0; i < n; ++i) {
      T v;
      std::memcpy(&v, raw.data() + i * sizeof(T), sizeof(T));  // little-endian, as x86 is
      out.push_back(v);
    }
  };
  auto check_count = [&](int64_t count) {
    NASX_USER_CHECK(count == n, what, ": holds ", count, " values, its shape needs ", n);
  };
  switch (t.data_type()) {
    case onnx::TensorProto::FLOAT:
      if (t.has_raw_data()) {
        from_raw(float(0), c.floats);
      } else {
        check_count(t.float_data_size());
        c.floats.assign(t.float_data().begin(), t.float_data().end());
      }
      break;
    case onnx::TensorProto::DOUBLE:
      if (t.has_raw_data()) {
        from_raw(double(0), c.floats);
      } else {
        check_count(t.double_data_size());
        c.floats.assign(t.double_data().begin(), t.double_data().end());
      }
      break;
    case onnx::TensorProto::INT64:
      if (t.has_raw_data()) {
        from_raw(int64_t(0), c.ints);
      } else {
        check_count(t.int64_data_size());
        c.ints.assign(t.int64_data().begin(), t.int64_data().end());
      }
      break;
    case onnx::TensorProto::INT32:
      if (t.has_raw_data()) {
        from_raw(int32_t(0), c.ints);
      } else {
        check_count(t.int32_data_size());
        c.ints.assign(t.int32_data().begin(), t.int32_data().end());
      }
      break;
    default:
      user_error(what, ": tensor data type ", t.data_type(),
                 " is not supported (float, double, int32 and int64 are)");
  }
  return c;
}

const onnx::AttributeProto* find_attr(const onnx::NodeProto& n, const char* name) {
  for (const onnx::AttributeProto& a : n.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}
int64_t attr_int(const onnx::NodeProto& n, const char* name, int64_t fallback) {
  const onnx::AttributeProto* a = find_attr(n, name);
  return a ? a->i() : fallback;
}
float attr_float(const onnx::NodeProto& n, const char* name, float fallback) {
  const onnx::AttributeProto* a = find_attr(n, name);
  return a ? a->f() : fallback;
}
std::vector<int64_t> attr_ints(const onnx::NodeProto& n, const char* name,
                               std::vector<int64_t> fallback) {
  const onnx::AttributeProto* a = find_attr(n, name);
  return a ? std::vector<int64_t>(a->ints().begin(), a->ints().end()) : fallback;
}

}  // namespace nasx
