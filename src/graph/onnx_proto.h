// Values of ONNX protobuf messages as nasx reads them: tensors (initializers, Constant nodes) and
// node attributes. Every malformed value is a UserError naming `what` (file, node, tensor).
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <vector>

#include "support/tensor.h"

namespace nasx {

// A constant: an initializer or a Constant node's value (weights, biases, Reshape's shape).
struct Constant {
  Shape dims;
  std::vector<float> floats;  // FLOAT and DOUBLE tensors
  std::vector<int64_t> ints;  // INT64 and INT32 tensors
};

// A tensor's values: float and double as floats, int32 and int64 as ints; external data, other
// types, dimensions out of range and a size that disagrees with the shape are refused.
Constant read_tensor(const onnx::TensorProto& t, const std::string& what);

// A node's attribute by name (null when absent), and its value with a fallback.
const onnx::AttributeProto* find_attr(const onnx::NodeProto& n, const char* name);
int64_t attr_int(const onnx::NodeProto& n, const char* name, int64_t fallback);
float attr_float(const onnx::NodeProto& n, const char* name, float fallback);
std::vector<int64_t> attr_ints(const onnx::NodeProto& n, const char* name,
                               std::vector<int64_t> fallback);

}  // namespace nasx
