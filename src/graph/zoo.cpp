#include "graph/zoo.h"

#include <cmath>

#include "support/error.h"
#include "support/hash.h"

namespace nasx {
namespace {

uint64_t stream(uint64_t seed, const std::string& layer, const std::string& param) {
  return Hasher().add(std::to_string(seed)).add(layer).add(param).low();
}

// Appends layers with torchvision's names and initialisation; tracks the current shape.
class Builder {
 public:
  Builder(std::string name, std::string family, int64_t image, int64_t classes, uint64_t seed,
          double width)
      : seed_(seed), width_(width) {
    net_.name = std::move(name);
    net_.family = std::move(family);
    net_.input_chw = {3, image, image};
    net_.num_classes = classes;
  }

  // A channel count of the model at full width, scaled by --width.
  // A width that leaves a layer no channel is refused (before: --width 0.001 was accepted and
  // every such layer clamped to one channel).
  int64_t ch(int64_t c) const {
    int64_t n = std::llround(double(c) * width_);
    NASX_USER_CHECK(n >= 1, "--width ", width_, " leaves ", net_.name, " a layer of no channel (",
                    c, " x ", width_, " rounds to 0): use a width of at least ", 0.5 / double(c));
    return n;
  }

  Shape shape(int node) const {
    return node == kNetworkInput ? net_.input_shape(1) : shapes_[node];
  }

  int conv(const std::string& name, int in, int64_t out, int64_t k, int64_t stride, int64_t pad,
           int64_t groups = 1) {
    Shape s = shape(in);
    ConvProgram p = ConvProgram::make({s[1], s[2], s[3], out, k, stride, pad, 1, groups, false});
    Node node{name, p, {in}, {}};
    initialize_conv(node, net_.family, seed_);
    return add(name, p, {in}, std::move(node.params));
  }
  int bn(const std::string& name, int in) {
    int64_t c = shape(in)[1];
    Tensor one({c}), zero({c});
    std::fill(one.data.begin(), one.data.end(), 1.0f);
    return add(name, BatchNorm{c}, {in}, {one, zero, zero, one});
  }
  int relu(const std::string& name, int in) { return add(name, Relu{}, {in}); }
  int sum(const std::string& name, int a, int b) { return add(name, ResidualAdd{}, {a, b}); }
  int cat(const std::string& name, const std::vector<int>& in) {
    Concat c;
    for (int k : in) c.channels.push_back(shape(k)[1]);
    return add(name, c, in);
  }
  int maxpool(const std::string& name, int in, int64_t k, int64_t s, int64_t p) {
    return add(name, MaxPool{k, s, p}, {in});
  }
  int avgpool(const std::string& name, int in, int64_t k, int64_t s) {
    return add(name, AvgPool{k, s, 0}, {in});
  }
  // Global average pool, flatten, linear classifier.
  int head(const std::string& pool, const std::string& fc, int in, bool zero_bias) {
    int x = add(pool, GlobalAvgPool{}, {in});
    x = add("flatten", Flatten{}, {x});
    int64_t features = shape(x)[1];
    float bound = float(1.0 / std::sqrt(double(features)));
    Tensor w = Tensor::random_uniform({net_.num_classes, features}, stream(seed_, fc, "weight"),
                                      -bound, bound);
    Tensor b = zero_bias ? Tensor({net_.num_classes})
                         : Tensor::random_uniform({net_.num_classes}, stream(seed_, fc, "bias"),
                                                  -bound, bound);
    return add(fc, Linear{features, net_.num_classes, true}, {x}, {w, b});
  }

  Network finish() { return std::move(net_); }

 private:
  int add(const std::string& name, Op op, std::vector<int> inputs,
          std::vector<Tensor> params = {}) {
    std::vector<Shape> in;
    for (int k : inputs) in.push_back(shape(k));
    shapes_.push_back(infer_shape(op, in));
    net_.nodes.push_back({name, std::move(op), std::move(inputs), std::move(params)});
    return static_cast<int>(net_.nodes.size()) - 1;
  }

  Network net_;
  std::vector<Shape> shapes_;
  uint64_t seed_;
  double width_;
};

struct ResNetSpec {
  bool bottleneck;
  std::vector<int> blocks;
  int64_t groups = 1, width_per_group = 64;
};

// torchvision's ResNet / ResNeXt; the CIFAR variant swaps the stem and the class count.
Network resnet(const std::string& name, const ResNetSpec& spec, bool cifar, int64_t image,
               uint64_t seed, double width) {
  Builder b(name, spec.groups > 1 ? "resnext" : "resnet", image, cifar ? 10 : 1000, seed, width);
  int x = cifar ? b.conv("conv1", kNetworkInput, b.ch(64), 3, 1, 1)
                : b.conv("conv1", kNetworkInput, b.ch(64), 7, 2, 3);
  x = b.relu("relu", b.bn("bn1", x));
  if (!cifar) x = b.maxpool("maxpool", x, 3, 2, 1);
  int64_t expansion = spec.bottleneck ? 4 : 1;
  for (int stage = 0; stage < 4; ++stage) {
    int64_t planes = b.ch(int64_t(64) << stage);
    for (int blk = 0; blk < spec.blocks[stage]; ++blk) {
      std::string p = "layer" + std::to_string(stage + 1) + "." + std::to_string(blk) + ".";
      int64_t stride = (stage > 0 && blk == 0) ? 2 : 1;
      int64_t in_c = b.shape(x)[1];
      int identity = x, y;
      if (spec.bottleneck) {
        int64_t width = b.ch((int64_t(64) << stage) * spec.width_per_group / 64) * spec.groups;
        y = b.relu(p + "relu1", b.bn(p + "bn1", b.conv(p + "conv1", x, width, 1, 1, 0)));
        y = b.relu(p + "relu2",
                   b.bn(p + "bn2", b.conv(p + "conv2", y, width, 3, stride, 1, spec.groups)));
        y = b.bn(p + "bn3", b.conv(p + "conv3", y, planes * expansion, 1, 1, 0));
      } else {
        y = b.relu(p + "relu1", b.bn(p + "bn1", b.conv(p + "conv1", x, planes, 3, stride, 1)));
        y = b.bn(p + "bn2", b.conv(p + "conv2", y, planes, 3, 1, 1));
      }
      if (stride != 1 || in_c != planes * expansion)
        identity = b.bn(p + "downsample.1",
                        b.conv(p + "downsample.0", x, planes * expansion, 1, stride, 0));
      x = b.relu(p + "relu", b.sum(p + "add", y, identity));
    }
  }
  b.head("avgpool", "fc", x, false);
  return b.finish();
}

// ResNeXt-29 for CIFAR (Xie et al. 2017): 3 stages of 3 bottleneck blocks, outputs 256/512/1024,
// bottleneck width cardinality x base_width x 2^stage, grouped 3x3 conv, stride 2 at stages 2-3.
Network resnext29(const std::string& name, int64_t cardinality, int64_t base_width, int64_t image,
                  uint64_t seed, double scale) {
  Builder b(name, "resnext", image, 10, seed, scale);
  int x = b.relu("relu", b.bn("bn1", b.conv("conv1", kNetworkInput, b.ch(64), 3, 1, 1)));
  for (int stage = 0; stage < 3; ++stage) {
    int64_t out_c = b.ch(int64_t(256) << stage);
    int64_t width = cardinality * b.ch(base_width << stage);
    for (int blk = 0; blk < 3; ++blk) {
      std::string p = "layer" + std::to_string(stage + 1) + "." + std::to_string(blk) + ".";
      int64_t stride = (stage > 0 && blk == 0) ? 2 : 1;
      int64_t in_c = b.shape(x)[1];
      int y = b.relu(p + "relu1", b.bn(p + "bn1", b.conv(p + "conv1", x, width, 1, 1, 0)));
      y = b.relu(p + "relu2",
                 b.bn(p + "bn2", b.conv(p + "conv2", y, width, 3, stride, 1, cardinality)));
      y = b.bn(p + "bn3", b.conv(p + "conv3", y, out_c, 1, 1, 0));
      int identity = x;
      if (stride != 1 || in_c != out_c)
        identity = b.bn(p + "downsample.1", b.conv(p + "downsample.0", x, out_c, 1, stride, 0));
      x = b.relu(p + "relu", b.sum(p + "add", y, identity));
    }
  }
  b.head("avgpool", "fc", x, false);
  return b.finish();
}

struct DenseNetSpec {
  int64_t growth, init_features;
  std::vector<int> blocks;
  int64_t bn_size = 4;
};

// torchvision's DenseNet; the CIFAR variant has a 3x3 stride-1 conv0 and no pool0.
Network densenet(const std::string& name, const DenseNetSpec& spec, bool cifar, int64_t image,
                 uint64_t seed, double width) {
  Builder b(name, "densenet", image, cifar ? 10 : 1000, seed, width);
  const int64_t growth = b.ch(spec.growth);
  int x = cifar ? b.conv("features.conv0", kNetworkInput, b.ch(spec.init_features), 3, 1, 1)
                : b.conv("features.conv0", kNetworkInput, b.ch(spec.init_features), 7, 2, 3);
  x = b.relu("features.relu0", b.bn("features.norm0", x));
  if (!cifar) x = b.maxpool("features.pool0", x, 3, 2, 1);
  for (size_t blk = 0; blk < spec.blocks.size(); ++blk) {
    std::string bp = "features.denseblock" + std::to_string(blk + 1) + ".";
    int features = x;  // the concatenation of everything so far in this block
    for (int l = 0; l < spec.blocks[blk]; ++l) {
      std::string p = bp + "denselayer" + std::to_string(l + 1) + ".";
      int y = b.relu(p + "relu1", b.bn(p + "norm1", features));
      y = b.conv(p + "conv1", y, spec.bn_size * growth, 1, 1, 0);
      y = b.relu(p + "relu2", b.bn(p + "norm2", y));
      y = b.conv(p + "conv2", y, growth, 3, 1, 1);
      features = b.cat(p + "cat", {features, y});
    }
    x = features;
    if (blk + 1 < spec.blocks.size()) {
      std::string tp = "features.transition" + std::to_string(blk + 1) + ".";
      x = b.relu(tp + "relu", b.bn(tp + "norm", x));
      x = b.conv(tp + "conv", x, b.shape(x)[1] / 2, 1, 1, 0);
      x = b.avgpool(tp + "pool", x, 2, 2);
    }
  }
  x = b.relu("features.relu5", b.bn("features.norm5", x));
  b.head("avgpool", "classifier", x, true);
  return b.finish();
}

}  // namespace

void initialize_conv(Node& node, const std::string& family, uint64_t seed) {
  const ConvProgram* p = std::get_if<ConvProgram>(&node.op);
  NASX_ASSERT(p, "initialize_conv on ", node.name, ", which is not a convolution");
  node.params.clear();
  for (const ParamSpec& spec : param_specs(node.op)) {
    if (spec.name == "bias") {
      node.params.push_back(Tensor(spec.shape));
      continue;
    }
    const Shape& w = spec.shape;  // [co, ci per group, K, K]
    int64_t fan = family == "densenet" ? w[1] * w[2] * w[3] : w[0] * w[2] * w[3];
    node.params.push_back(Tensor::random_normal(w, stream(seed, node.name, spec.name),
                                                float(std::sqrt(2.0 / double(fan)))));
  }
}

const std::vector<ZooEntry>& zoo_models() {
  static const std::vector<ZooEntry> models = {
      {"resnet18", "resnet", "ResNet-18, ImageNet"},
      {"resnet34", "resnet", "ResNet-34, ImageNet"},
      {"resnet50", "resnet", "ResNet-50, ImageNet"},
      {"resnext50_32x4d", "resnext", "ResNeXt-50 32x4d, ImageNet"},
      {"densenet121", "densenet", "DenseNet-121, ImageNet"},
      {"densenet161", "densenet", "DenseNet-161, ImageNet"},
      {"resnet18_cifar", "resnet", "ResNet-18, CIFAR stem"},
      {"resnet34_cifar", "resnet", "ResNet-34, CIFAR stem"},
      {"resnet50_cifar", "resnet", "ResNet-50, CIFAR stem"},
      {"resnext29_8x64d", "resnext", "ResNeXt-29 8x64d (Xie et al.), CIFAR"},
      {"resnext29_2x64d", "resnext", "ResNeXt-29 2x64d (Xie et al.), CIFAR"},
      {"densenet121_cifar", "densenet", "DenseNet-121, CIFAR stem"},
      {"densenet161_cifar", "densenet", "DenseNet-161, CIFAR stem"},
  };
  return models;
}

bool is_zoo_model(const std::string& name) {
  for (const ZooEntry& e : zoo_models())
    if (e.name == name) return true;
  return false;
}

Network build_zoo_model(const std::string& name, const ZooOptions& o) {
  bool cifar = name.size() > 6 && name.substr(name.size() - 6) == "_cifar";
  bool cifar_family = cifar || name.rfind("resnext29", 0) == 0;
  int64_t image = o.image_size > 0 ? o.image_size : (cifar_family ? 32 : 224);
  NASX_USER_CHECK(image >= (cifar_family ? 8 : 32), "image size ", image, " is too small for ",
                  name);
  NASX_USER_CHECK(std::isfinite(o.width) && o.width > 0 && o.width <= 16,
                  "width must be in (0, 16], got ", o.width);
  std::string base = cifar ? name.substr(0, name.size() - 6) : name;
  if (base == "resnet18") return resnet(name, {false, {2, 2, 2, 2}}, cifar, image, o.seed, o.width);
  if (base == "resnet34") return resnet(name, {false, {3, 4, 6, 3}}, cifar, image, o.seed, o.width);
  if (base == "resnet50") return resnet(name, {true, {3, 4, 6, 3}}, cifar, image, o.seed, o.width);
  if (name == "resnext50_32x4d")
    return resnet(name, {true, {3, 4, 6, 3}, 32, 4}, false, image, o.seed, o.width);
  if (name == "resnext29_8x64d") return resnext29(name, 8, 64, image, o.seed, o.width);
  if (name == "resnext29_2x64d") return resnext29(name, 2, 64, image, o.seed, o.width);
  if (base == "densenet121")
    return densenet(name, {32, 64, {6, 12, 24, 16}}, cifar, image, o.seed, o.width);
  if (base == "densenet161")
    return densenet(name, {48, 96, {6, 12, 36, 24}}, cifar, image, o.seed, o.width);
  std::string known;
  for (const ZooEntry& e : zoo_models()) known += (known.empty() ? "" : ", ") + e.name;
  user_error("unknown model '", name, "' (the zoo has: ", known, ")");
}

}  // namespace nasx
