// Zero-cost proxies and datasets. The tiny network's proxies are recomputed here by hand, from
// their formulas, with LibTorch directly (not through nasx's graph walker).
#include <gtest/gtest.h>

#include <torch/torch.h>
#include <zlib.h>
#include <set>

#include <filesystem>
#include <fstream>

#include "graph/arch.h"
#include "graph/transform_network.h"
#include "graph/zoo.h"
#include "support/error.h"
#include "torch/datasets.h"
#include "torch/proxies.h"
#include "transform/sequence.h"

namespace nasx {
namespace {

namespace fs = std::filesystem;

torch::Tensor T(const nasx::Tensor& t) {
  return torch::from_blob(const_cast<float*>(t.data.data()), t.shape, torch::kFloat32).clone();
}

// x [N,2,4,4] -> conv1 -> bn1 -> relu1 -> conv2 -> bn2 -> (+ x) -> relu -> pool -> fc (3 classes)
Network tiny(uint64_t seed) {
  Network net;
  net.name = "tiny";
  net.family = "resnet";
  net.input_chw = {2, 4, 4};
  net.num_classes = 3;
  ConvProgram c = ConvProgram::make({2, 4, 4, 2, 3, 1, 1, 1, 1, false});
  auto bn = [&](uint64_t s) {
    return std::vector<nasx::Tensor>{nasx::Tensor::random_uniform({2}, s, 0.5f, 1.5f),
                                     nasx::Tensor::random_normal({2}, s + 1, 0.1f),
                                     nasx::Tensor({2}),
                                     nasx::Tensor::random_uniform({2}, s + 2, 1, 1)};
  };
  net.nodes = {
      {"blk.conv1", c, {kNetworkInput}, {nasx::Tensor::random_normal({2, 2, 3, 3}, seed, 0.5f)}},
      {"blk.bn1", BatchNorm{2}, {0}, bn(seed + 10)},
      {"blk.relu1", Relu{}, {1}, {}},
      {"blk.conv2", c, {2}, {nasx::Tensor::random_normal({2, 2, 3, 3}, seed + 1, 0.5f)}},
      {"blk.bn2", BatchNorm{2}, {3}, bn(seed + 20)},
      {"blk.add", ResidualAdd{}, {4, kNetworkInput}, {}},
      {"blk.relu", Relu{}, {5}, {}},
      {"avgpool", GlobalAvgPool{}, {6}, {}},
      {"flatten", Flatten{}, {7}, {}},
      {"fc",
       Linear{2, 3, true},
       {8},
       {nasx::Tensor::random_normal({3, 2}, seed + 2), nasx::Tensor::random_normal({3}, seed + 3)}},
  };
  net.infer_shapes(1);
  return net;
}

// The tiny network by hand. Returns logits; `a` is the block's output activation (bn2's output).
torch::Tensor by_hand(const Network& net, const torch::Tensor& x, torch::Tensor* a, bool train,
                      std::vector<torch::Tensor>* w) {
  auto p = [&](int node, int i) { return (*w)[node * 4 + i]; };
  auto bn = [&](const torch::Tensor& v, int node) {
    return train ? torch::batch_norm(v, p(node, 0), p(node, 1), {}, {}, true, 0.1, 1e-5, false)
                 : torch::batch_norm(v, p(node, 0), p(node, 1), p(node, 2), p(node, 3), false, 0.1,
                                     1e-5, false);
  };
  torch::Tensor h = torch::relu(bn(torch::conv2d(x, p(0, 0), {}, 1, 1), 1));
  *a = bn(torch::conv2d(h, p(3, 0), {}, 1, 1), 4);
  torch::Tensor y = torch::relu(*a + x);
  return torch::linear(y.mean({2, 3}), p(9, 0), p(9, 1));
}

std::vector<torch::Tensor> hand_params(const Network& net, bool grad, bool absolute,
                                       torch::Dtype dtype = torch::kFloat32) {
  std::vector<torch::Tensor> w(net.nodes.size() * 4);
  for (size_t n = 0; n < net.nodes.size(); ++n)
    for (size_t i = 0; i < net.nodes[n].params.size(); ++i) {
      torch::Tensor v = T(net.nodes[n].params[i]).to(dtype);
      bool buffer = std::holds_alternative<BatchNorm>(net.nodes[n].op) && i >= 2;
      if (absolute && !buffer) v = v.abs();
      w[n * 4 + i] = grad && !buffer ? v.requires_grad_(true) : v;
    }
  return w;
}

Minibatch batch_for(const Network& net, int64_t n) {
  return load_minibatch(DatasetSpec::parse("synthetic"), net.input_chw, 3, n, 5);
}

TEST(Fisher, TinyNetworkMatchesTheFormulaByHand) {
  Network net = tiny(1);
  Minibatch b = batch_for(net, 6);
  ProxyResult r = compute_proxy(net, b, "fisher");
  ASSERT_EQ(r.blocks.size(), 1u);
  EXPECT_EQ(r.blocks[0].name, "blk");

  std::vector<torch::Tensor> w = hand_params(net, false, false);
  torch::Tensor x = T(b.images).requires_grad_(true), a;
  torch::Tensor logits = by_hand(net, x, &a, true, &w);
  a.retain_grad();
  torch::cross_entropy_loss(logits, torch::tensor(b.labels, torch::kInt64)).backward();
  torch::Tensor g = a.grad();
  double want = 0;  // sum over channels of 0.5 * mean over n of (sum over h,w of a*g)^2
  for (int64_t c = 0; c < 2; ++c) {
    double mean = 0;
    for (int64_t n = 0; n < 6; ++n) {
      double s = (a[n][c] * g[n][c]).sum().item<double>();
      mean += s * s / 6;
    }
    want += 0.5 * mean;
  }
  EXPECT_GT(want, 0);
  EXPECT_NEAR(r.blocks[0].value, want, 1e-6 * want);
  EXPECT_NEAR(r.total, want, 1e-6 * want);
}

TEST(Fisher, SameSeedSameValueBitwise) {
  Network net = tiny(2);
  Minibatch b = batch_for(net, 8);
  ProxyResult a = compute_proxy(net, b, "fisher"), c = compute_proxy(net, b, "fisher");
  EXPECT_EQ(a.total, c.total);
  EXPECT_EQ(batch_for(net, 8).images.data, b.images.data);
}

TEST(Fisher, ZeroBlockOutputHasZeroPotential) {
  Network net = tiny(3);
  std::fill(net.nodes[4].params[0].data.begin(), net.nodes[4].params[0].data.end(), 0.0f);
  std::fill(net.nodes[4].params[1].data.begin(), net.nodes[4].params[1].data.end(), 0.0f);
  EXPECT_EQ(compute_proxy(net, batch_for(net, 4), "fisher").total, 0.0);
}

TEST(Legality, UntransformedNetworkIsLegalAgainstItself) {
  Network net = tiny(4);
  Legality l = proxy_legality(net, net, {"blk.conv1"}, batch_for(net, 4), "fisher", 1.0, "block");
  EXPECT_TRUE(l.legal);
  ASSERT_EQ(l.layers.size(), 1u);
  EXPECT_EQ(l.layers[0].ratio, 1.0);
  EXPECT_EQ(l.network.ratio, 1.0);
  EXPECT_EQ(l.blocks[0].name, "blk");
  Network weaker = net;
  for (float& v : weaker.nodes[4].params[0].data) v *= 0.1f;  // shrink the block's output
  Legality w =
      proxy_legality(net, weaker, {"blk.conv2"}, batch_for(net, 4), "fisher", 1.0, "block");
  EXPECT_FALSE(w.legal);
  EXPECT_LT(w.layers[0].ratio, 1.0);
  EXPECT_THROW(proxy_legality(net, net, {}, batch_for(net, 4), "fisher", 1.0, "everywhere"),
               UserError);
}

TEST(Proxies, EachMatchesItsFormulaOnTheTinyNetwork) {
  Network net = tiny(5);
  Minibatch b = batch_for(net, 6);
  torch::Tensor labels = torch::tensor(b.labels, torch::kInt64);
  const std::vector<std::pair<int, int>> weights = {{0, 0}, {3, 0}, {9, 0}};
  for (const char* proxy : {"grad_norm", "snip", "synflow"}) {
    bool synflow = std::string(proxy) == "synflow";
    std::vector<torch::Tensor> w =
        hand_params(net, true, synflow, synflow ? torch::kFloat64 : torch::kFloat32);
    torch::Tensor a;
    if (synflow) {
      by_hand(net, torch::ones({1, 2, 4, 4}, torch::kFloat64), &a, false, &w).sum().backward();
    } else {
      torch::cross_entropy_loss(by_hand(net, T(b.images), &a, true, &w), labels).backward();
    }
    double want = 0, want_block = 0;
    for (auto [node, i] : weights) {
      torch::Tensor t = w[node * 4 + i];
      double v = std::string(proxy) == "grad_norm" ? t.grad().norm().item<double>()
                                                   : (t * t.grad()).abs().sum().item<double>();
      want += v;
      if (node != 9) want_block += v;  // block "blk" holds conv1 and conv2, not fc
    }
    ProxyResult r = compute_proxy(net, b, proxy);
    EXPECT_NEAR(r.total, want, 1e-5 * std::abs(want)) << proxy;
    EXPECT_NEAR(r.blocks[0].value, want_block, 1e-5 * std::abs(want_block)) << proxy;
  }
  // naswot: log|det K| over the binary codes of every ReLU.
  std::vector<torch::Tensor> w = hand_params(net, false, false);
  torch::Tensor a;
  torch::Tensor x = T(b.images);
  torch::Tensor h = torch::relu(torch::batch_norm(torch::conv2d(x, w[0], {}, 1, 1), w[4], w[5], {},
                                                  {}, true, 0.1, 1e-5, false));
  by_hand(net, x, &a, true, &w);
  torch::Tensor y = torch::relu(a + x);
  torch::Tensor c =
      torch::cat({(h > 0).reshape({6, -1}), (y > 0).reshape({6, -1})}, 1).to(torch::kFloat64);
  torch::Tensor k = c.matmul(c.t()) + (1 - c).matmul((1 - c).t());
  double want = std::get<1>(torch::slogdet(k)).item<double>();
  EXPECT_NEAR(compute_proxy(net, b, "naswot").total, want, 1e-9);
  EXPECT_THROW(compute_proxy(net, b, "zen"), UserError);

  // params: the parameter count, per block too (conv1, bn1, conv2, bn2 are in "blk").
  ProxyResult p = compute_proxy(net, b, "params");
  EXPECT_EQ(p.total, double(net.params()));
  EXPECT_EQ(p.blocks[0].value, double(2 * 2 * 9 + 2 * 2 + 2 * 2 * 9 + 2 * 2));

  // zico: 4 parts of 2 images; per weight, log sum(mean|g| / std g) over the parts.
  Minibatch b8 = batch_for(net, 8);
  torch::Tensor l8 = torch::tensor(b8.labels, torch::kInt64), x8 = T(b8.images);
  std::vector<std::vector<torch::Tensor>> grads(weights.size());
  for (int64_t k = 0; k < 4; ++k) {
    std::vector<torch::Tensor> wk = hand_params(net, true, false);
    torch::cross_entropy_loss(by_hand(net, x8.slice(0, 2 * k, 2 * k + 2), &a, true, &wk),
                              l8.slice(0, 2 * k, 2 * k + 2))
        .backward();
    for (size_t i = 0; i < weights.size(); ++i)
      grads[i].push_back(wk[weights[i].first * 4 + weights[i].second].grad().to(torch::kFloat64));
  }
  double zico = 0;
  for (auto& g : grads) {
    torch::Tensor st = torch::stack(g), sd = st.std(0, false), m = st.abs().mean(0);
    zico += std::log((m.masked_select(sd != 0) / sd.masked_select(sd != 0)).sum().item<double>());
  }
  EXPECT_NEAR(compute_proxy(net, b8, "zico").total, zico, 1e-6 * std::abs(zico));
  EXPECT_THROW(compute_proxy(net, b, "zico"), UserError);  // 6 images: fewer than 2 per part
}

// Fisher, SNIP and grad_norm from one backward pass (what a verdict of the default rule computes)
// equal each computed by its own pass, block by block, on a transformed network; the others keep
// their own passes and their order.
TEST(Proxies, SharedGradientPassEqualsSeparatePasses) {
  Network net = build_zoo_model("resnet18_cifar", {3, 0});
  transform_layers(net, {"layer2.0.conv1", "layer3.1.conv1"}, parse_sequence("group(4)"), 3);
  Minibatch b =
      load_minibatch(DatasetSpec::parse("synthetic"), net.input_chw, net.num_classes, 8, 3);
  std::vector<std::string> names = {"snip", "params", "fisher", "grad_norm"};
  std::vector<ProxyResult> shared = compute_proxies(net, b, names);
  ASSERT_EQ(shared.size(), names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    ProxyResult apart = compute_proxy(net, b, names[i]);
    EXPECT_EQ(shared[i].proxy, names[i]);
    EXPECT_NEAR(shared[i].total, apart.total, 1e-6 * std::abs(apart.total)) << names[i];
    ASSERT_EQ(shared[i].blocks.size(), apart.blocks.size());
    for (size_t k = 0; k < apart.blocks.size(); ++k)
      EXPECT_NEAR(shared[i].blocks[k].value, apart.blocks[k].value,
                  1e-6 * std::abs(apart.blocks[k].value) + 1e-12)
          << names[i] << " " << apart.blocks[k].name;
  }
  EXPECT_THROW(compute_proxies(net, b, {"fisher", "zen"}), UserError);
}

TEST(Fisher, EveryZooNetworkOnRealData) {
  std::string data = fs::exists(kFashionMnistDir) ? "fashion-mnist" : "synthetic";
  for (const ZooEntry& e : zoo_models()) {
    bool imagenet = build_zoo_model(e.name).input_chw[1] == 224;
    Network net = build_zoo_model(e.name, {0, imagenet ? 32 : 0});
    Minibatch b = load_minibatch(DatasetSpec::parse(data), net.input_chw, net.num_classes, 4, 1);
    ProxyResult r = compute_proxy(net, b, "fisher");
    EXPECT_GT(r.blocks.size(), 0u) << e.name;
    EXPECT_TRUE(std::isfinite(r.total) && r.total > 0) << e.name << " " << r.total;
    if (e.name == "resnet18_cifar") {
      EXPECT_EQ(compute_proxy(net, b, "fisher").total, r.total) << "deterministic";
    }
  }
}

TEST(Fisher, TransformedArchitecturesAreExactAndDeterministic) {
  std::string data = fs::exists(kFashionMnistDir) ? "fashion-mnist" : "synthetic";
  Arch arch{"resnet18_cifar", 3, 0, 1.0, {}, {}};
  Network net = build_zoo_model("resnet18_cifar", {3});
  Network reference = net;
  apply_to_layers(net, arch, "layer3.*.conv1: split(4); group([1,2,4,8])");
  apply_to_layers(net, arch, "layer2.1.conv1: bottleneck(2)");
  Minibatch b = load_minibatch(DatasetSpec::parse(data), net.input_chw, 10, 16, 3);
  ProxyResult r = compute_proxy(net, b, "fisher");
  EXPECT_TRUE(std::isfinite(r.total) && r.total > 0);
  EXPECT_EQ(compute_proxy(arch.build(), b, "fisher").total, r.total) << "replayed arch, same bits";
  Legality l = proxy_legality(reference, net, {"layer3.0.conv1", "layer2.1.conv1"}, b, "fisher",
                              1.0, "block");
  ASSERT_EQ(l.layers.size(), 2u);
  EXPECT_EQ(l.blocks.size(), 2u);
  EXPECT_EQ(l.layers[1].name, "layer2.1.conv1");
  // Pairing: every layer the transformations leave alone keeps exactly its weights (only the
  // transformed layers and the consumers a bottleneck shrinks are re-initialised), so the blocks
  // before the first transformed layer see exactly the reference's activations.
  std::set<std::string> changed{"layer3.0.conv1", "layer3.1.conv1", "layer2.1.conv1",
                                "layer2.1.bn1", "layer2.1.conv2"};
  int compared = 0;
  for (const Node& n : net.nodes) {
    const Node& r0 = reference.nodes[reference.find(n.name)];
    if (changed.count(n.name)) {
      EXPECT_FALSE(n.op == r0.op) << n.name << " should have changed";
      continue;
    }
    ASSERT_EQ(n.params.size(), r0.params.size()) << n.name;
    for (size_t i = 0; i < n.params.size(); ++i)
      EXPECT_TRUE(n.params[i].data == r0.params[i].data) << n.name << " parameter " << i;
    ++compared;
  }
  EXPECT_GT(compared, 50);
}

// ---- datasets, on small files written in the real formats ----

class Datasets : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("nasx-data-" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::string be32(uint32_t v) {
    return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
  }
  void gz(const std::string& name, const std::string& bytes) {
    gzFile f = gzopen((dir_ / name).c_str(), "wb");
    gzwrite(f, bytes.data(), unsigned(bytes.size()));
    gzclose(f);
  }
  // n images whose pixel p of image i is (i + p) % 256, labels i % 10.
  void fashion(const std::string& split, uint32_t n, size_t drop = 0) {
    std::string img = be32(2051) + be32(n) + be32(28) + be32(28), lab = be32(2049) + be32(n);
    for (uint32_t i = 0; i < n; ++i) {
      for (int p = 0; p < 784; ++p) img += char((i + p) % 256);
      lab += char(i % 10);
    }
    gz(split + "-images-idx3-ubyte.gz", img.substr(0, img.size() - drop));
    gz(split + "-labels-idx1-ubyte.gz", lab);
  }
  void expect_error(const DatasetSpec& spec, const std::string& fragment, int64_t batch = 2) {
    try {
      load_minibatch(spec, {3, 32, 32}, 10, batch, 0);
      ADD_FAILURE() << "loaded";
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  }
  fs::path dir_;
};

TEST_F(Datasets, FashionMnistIdxPaddedAndReplicated) {
  fashion("train", 10);
  DatasetSpec spec = DatasetSpec::parse("fashion-mnist:" + dir_.string());
  Minibatch m = load_minibatch(spec, {3, 32, 32}, 10, 4, 7);
  EXPECT_EQ(m.images.shape, (Shape{4, 3, 32, 32}));
  ASSERT_EQ(m.labels.size(), 4u);
  float border = float((0 - 0.2860) / 0.3530);
  EXPECT_FLOAT_EQ(m.images.data[0], border);  // the zero padding, normalised
  int64_t i = m.labels[0];                    // image i has label i (i < 10)
  float first = float(((i % 256) / 255.0 - 0.2860) / 0.3530);
  EXPECT_NEAR(m.images.data[2 * 32 + 2], first, 1e-5);                        // pixel 0 of image i
  EXPECT_EQ(m.images.data[2 * 32 + 2], m.images.data[32 * 32 + 2 * 32 + 2]);  // replicated
  EXPECT_EQ(load_minibatch(spec, {1, 64, 64}, 10, 2, 1).images.shape, (Shape{2, 1, 64, 64}));
  EXPECT_EQ(load_minibatch(spec, {3, 32, 32}, 10, 4, 7).images.data, m.images.data);
}

TEST_F(Datasets, FashionMnistBadFiles) {
  DatasetSpec spec = DatasetSpec::parse("fashion-mnist:" + dir_.string());
  expect_error(spec, "no such file");  // no files yet
  fashion("train", 10, 100);
  expect_error(spec, "truncated");
  fashion("train", 10);
  expect_error(spec, "larger than the Fashion-MNIST split", 11);
  std::ofstream(dir_ / "train-images-idx3-ubyte.gz", std::ios::binary) << "\x1f\x8b\x08garbage!";
  expect_error(spec, "corrupt or truncated");
  gz("train-images-idx3-ubyte.gz", be32(1234) + be32(0) + be32(28) + be32(28));
  expect_error(spec, "bad magic number");
  expect_error(DatasetSpec::parse("fashion-mnist:/nonexistent/dir"), "does not exist");
  // A gzip bomb (300 MB of zeros in 300 KB) is refused once past the bound, not read whole.
  gzFile f = gzopen((dir_ / "train-images-idx3-ubyte.gz").c_str(), "wb");
  std::string zeros(1 << 20, '\0');
  for (int i = 0; i < 300; ++i) gzwrite(f, zeros.data(), unsigned(zeros.size()));
  gzclose(f);
  expect_error(spec, "decompresses to more than 256 MiB");
}

TEST_F(Datasets, Cifar10Binary) {
  for (int f = 1; f <= 5; ++f) {
    std::ofstream out(dir_ / ("data_batch_" + std::to_string(f) + ".bin"), std::ios::binary);
    for (int r = 0; r < 3; ++r) {
      out << char((f + r) % 10);
      for (int p = 0; p < 3072; ++p) out << char(p % 256);
    }
  }
  DatasetSpec spec = DatasetSpec::parse("cifar10:" + dir_.string());
  Minibatch m = load_minibatch(spec, {3, 32, 32}, 10, 15, 3);
  EXPECT_EQ(m.images.shape, (Shape{15, 3, 32, 32}));
  EXPECT_NEAR(m.images.data[1], float((1 / 255.0 - 0.4914) / 0.2470), 1e-5);
  expect_error(spec, "larger than the CIFAR-10 split", 16);
  std::ofstream(dir_ / "data_batch_3.bin", std::ios::binary | std::ios::app) << "xx";
  expect_error(spec, "truncated or not in the binary format");
  expect_error(DatasetSpec{"cifar10", dir_.string(), false}, "test_batch.bin: no such file");
  EXPECT_THROW(DatasetSpec::parse("cifar10"), UserError);
  EXPECT_THROW(DatasetSpec::parse("imagenet"), UserError);
}

TEST_F(Datasets, RealFashionMnistWhenInstalled) {
  if (!fs::exists(kFashionMnistDir)) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  Minibatch m = load_minibatch(DatasetSpec::parse("fashion-mnist"), {3, 32, 32}, 10, 64, 0);
  EXPECT_EQ(m.images.shape, (Shape{64, 3, 32, 32}));
  Minibatch t = load_minibatch(DatasetSpec{"fashion-mnist", "", false}, {1, 28, 28}, 10, 8, 0);
  EXPECT_EQ(t.images.shape, (Shape{8, 1, 28, 28}));
}

TEST_F(Datasets, AugmentationIsSeeded) {
  nasx::Tensor x = nasx::Tensor::random_normal({4, 3, 8, 8}, 1);
  EXPECT_EQ(augment(x, 2, 5).data, augment(x, 2, 5).data);
  EXPECT_NE(augment(x, 2, 5).data, augment(x, 2, 6).data);
  EXPECT_EQ(augment(x, 0, 5).shape, x.shape);
}

// An original whose proxy is 0 on the minibatch gives no verdict (before: 0/0 read as 1.000,
// and every candidate was legal, e.g. Fisher at --batch 1); a block's 0/0 stays "unchanged".
TEST(Judge, AnOriginalWithAZeroProxyGivesNoVerdict) {
  ProxyResult zero{"fisher", 0.0, {{"layer1.0", 0.0}}}, some{"fisher", 2.0, {{"layer1.0", 0.0}}};
  try {
    proxy_legality_from(zero, zero, {"layer1.0.conv1"}, 0.7, "network");
    ADD_FAILURE() << "no error";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("fisher of the original network is 0"), std::string::npos)
        << e.what();
  }
  Legality l = proxy_legality_from(some, some, {"layer1.0.conv1"}, 0.7, "block");
  EXPECT_TRUE(l.legal);
  EXPECT_EQ(l.blocks.at(0).ratio, 1.0);
}

}  // namespace
}  // namespace nasx
