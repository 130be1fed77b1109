// ONNX out: any Network, with its weights, as an opset-13 ONNX model of standard operators, so
// that ONNX tools (onnxruntime, TensorRT, ...) run it: `nasx export MODEL --onnx model.onnx`.
//
// Node and initializer names are nasx's (layer1.0.conv1, layer1.0.conv1.weight), so the file
// re-imports with the same names. The input is [N, C, H, W] with a symbolic N; the output is
// [N, classes]. A single-statement convolution (plain, grouped, depthwise, bottlenecked) is one
// Conv. A multi-statement one (split, peel, spatial_split, group lists) becomes, per statement,
// a Slice of its input channels and rows and a Conv with its own weight (layer.weightI) and
// padding, then Concats along channels and rows that assemble the statements' output regions,
// then an Add of the shared bias; its nodes are named "<layer>/...", and the program itself is
// recorded in the model's metadata so that `import_onnx` reads it back exactly. A program whose
// output regions cannot be assembled by nested Concats is a UserError naming the layer.
#pragma once

#include <string>

#include "graph/network.h"

namespace nasx {

// The serialized ModelProto. UserError for what ONNX cannot hold (over 2 GiB, see above).
std::string onnx_model_bytes(const Network& net);

}  // namespace nasx
