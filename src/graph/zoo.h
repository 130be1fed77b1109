// The model zoo, with torchvision's layer names and initialisation, built from a seed.
//
// ImageNet (3x224x224, 1000 classes): resnet18, resnet34, resnet50, resnext50_32x4d, densenet121,
// densenet161 — parameter counts exactly torchvision's. CIFAR (3x32x32, 10 classes; a 3x3
// stride-1 stem and no max pool): resnet18_cifar, resnet34_cifar, resnet50_cifar,
// resnext29_8x64d, resnext29_2x64d (Xie et al.), densenet121_cifar, densenet161_cifar.
//
// Initialisation as torchvision does it: ResNet/ResNeXt convs kaiming-normal (fan_out, ReLU gain),
// DenseNet convs kaiming-normal (fan_in); batch norm weight 1, bias 0, running mean 0, var 1;
// linear weight and bias uniform(+-1/sqrt(fan_in)) (DenseNet: bias 0). Each tensor's random
// stream is seeded from (seed, layer name, parameter name), so it does not depend on build order.
#pragma once

#include <string>
#include <vector>

#include "graph/network.h"

namespace nasx {

struct ZooEntry {
  std::string name;
  std::string family;  // resnet, resnext, densenet
  std::string description;
};

const std::vector<ZooEntry>& zoo_models();
bool is_zoo_model(const std::string& name);

struct ZooOptions {
  uint64_t seed = 0;
  int64_t image_size = 0;  // 0: the model's own (224 or 32); tests use smaller ImageNet inputs
  // Scales every channel count (stem, stages, bottleneck widths per group, growth rate) and
  // rounds to the nearest integer (at least 1); the classifier keeps its classes. 1: the model.
  double width = 1.0;
};

// Builds a zoo model; UserError naming the known models for an unknown name.
Network build_zoo_model(const std::string& name, const ZooOptions& options = {});

// (Re)initialises a convolution node's parameters as its family does: each statement's weight
// kaiming-normal (resnet/resnext: fan_out = its output channels x K x K; densenet: fan_in = its
// input channels per group x K x K), bias zero. The stream is seeded by (seed, layer, parameter).
void initialize_conv(Node& node, const std::string& family, uint64_t seed);

}  // namespace nasx
