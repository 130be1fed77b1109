// ONNX in: a CNN saved by torch.onnx.export (opsets 11-17) or by `nasx export --onnx` becomes a
// Network with the file's weights. Read through Debian's libonnx protobuf classes.
//
// Operators: Conv (groups, dilation, strides, symmetric pads), BatchNormalization, Relu, Add
// (residual: two activations), Concat (channels), MaxPool, AveragePool, GlobalAveragePool, Gemm,
// MatMul followed by Add of a constant (a Linear with bias), Flatten and Reshape to N x features,
// Identity and Dropout (inference: skipped), Constant (Reshape's shape), Pad + AveragePool
// (torch's export of a pool that counts its padding). Anything else is a UserError naming the
// operator and the node; so is a file that is not a valid ONNX model.
//
// Names: a parameterised layer takes its weight initializer's name minus ".weight" (torch.onnx
// keeps the state_dict names: layer1.0.conv1.weight -> layer1.0.conv1), else the module path of
// torch's scoped node name (/layer1/layer1.0/conv1/Conv -> layer1.0.conv1, for convs whose batch
// norm torch folded and renamed onnx::Conv_NN). A parameterless module is named by its path
// (/layer1/layer1.0/relu/Relu -> layer1.0.relu); an operator called in a module's forward by the
// module's path and the operator (/layer1/layer1.0/Add -> layer1.0.add), so residual blocks are
// named as in the zoo. Other exporters' node names are kept as they are.
//
// Multi-statement convolutions written by nasx's exporter (Slice + Conv + Concat subgraphs) are
// read back exactly from the program the exporter stores in the model's metadata.
#pragma once

#include <string>

#include "graph/network.h"

namespace nasx {

// Whether a MODEL argument names an ONNX file (ends in .onnx).
bool is_onnx_path(const std::string& model);

// `image_size` > 0 replaces the input's height and width (the network is rebuilt for it).
Network import_onnx(const std::string& path, int64_t image_size = 0);

// The metadata key under which the exporter records a multi-statement convolution's program.
inline constexpr const char* kOnnxProgramKeyPrefix = "nasx.conv_program:";

}  // namespace nasx
