// Training and evaluation (src/torch/train): the loss falls, an interrupted run resumed from its
// checkpoint ends with exactly the weights of an uninterrupted one, and the compiled runtime's
// accuracy agrees with LibTorch's. A small ResNet at width 1/8 on 256 Fashion-MNIST images.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "graph/weights.h"
#include "graph/zoo.h"
#include "support/error.h"
#include "torch/train.h"

namespace nasx {
namespace {

namespace fs = std::filesystem;

struct Stop {};

Network small() {
  return build_zoo_model("resnet18_cifar", {3, 0, 0.125});
}

TrainOptions options(const std::string& out) {
  TrainOptions o;
  o.data = DatasetSpec::parse("fashion-mnist");
  o.epochs = 3;
  o.batch = 32;
  o.subset = 256;
  o.test_subset = 200;
  o.lr = 0.05;
  o.seed = 3;
  o.model = "resnet18_cifar --width 0.125";
  o.out = out;
  return o;
}

fs::path fresh(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("nasx_train_test_" + name);
  fs::remove_all(p);
  return p;
}

TEST(Train, WidthScalesEveryChannelCount) {
  Network full = build_zoo_model("resnet18_cifar"), eighth = small();
  EXPECT_EQ(full.nodes.size(), eighth.nodes.size());
  EXPECT_EQ(conv_program_of(eighth.nodes[eighth.find("layer4.1.conv2")].op)->out_channels, 64);
  EXPECT_EQ(conv_program_of(eighth.nodes[eighth.find("conv1")].op)->out_channels, 8);
  EXPECT_LT(eighth.params(), full.params() / 40);
  EXPECT_THROW(build_zoo_model("resnet18_cifar", {0, 0, 0.0}), UserError);
}

TEST(Train, LossFallsAndCheckpointResumesExactly) {
  fs::path a = fresh("a"), b = fresh("b");
  Network whole = small();
  std::vector<EpochStats> h = train_network(whole, options(a), {}, {});
  ASSERT_EQ(h.size(), 3u);
  EXPECT_LT(h.back().loss, h.front().loss * 0.9) << h.front().loss << " -> " << h.back().loss;
  EXPECT_GT(h.back().train_accuracy, 30.0);  // 10 classes: chance is 10%

  // The same run, stopped after its first epoch's checkpoint, then resumed.
  Network part = small();
  EXPECT_THROW(train_network(part, options(b), {},
                             [](const EpochStats& e) {
                               if (e.epoch == 1) throw Stop{};
                             }),
               Stop);
  EXPECT_TRUE(fs::exists(b / "checkpoint.json"));
  Network resumed = small();
  TrainOptions o = options(b);
  EXPECT_THROW(train_network(resumed, o, {}, {}), UserError);  // holds a checkpoint: --resume
  o.resume = true;
  std::vector<EpochStats> h2 = train_network(resumed, o, {}, {});
  ASSERT_EQ(h2.size(), 3u);
  for (size_t i = 0; i < whole.nodes.size(); ++i)
    for (size_t p = 0; p < whole.nodes[i].params.size(); ++p)
      ASSERT_EQ(whole.nodes[i].params[p].data, resumed.nodes[i].params[p].data)
          << whole.nodes[i].name << " param " << p;
  EXPECT_DOUBLE_EQ(h2.back().test_accuracy, h.back().test_accuracy);

  // Another model or other options on the same checkpoint are refused.
  TrainOptions other = o;
  other.lr = 0.1;
  Network n2 = small();
  EXPECT_THROW(train_network(n2, other, {}, {}), UserError);

  // The checkpoint's weights are what --weights reads; the compiled runtime agrees with LibTorch.
  Network loaded = small();
  int64_t tensors = 0;
  for (const Node& node : loaded.nodes) tensors += int64_t(node.params.size());
  EXPECT_EQ(load_weights(loaded, checkpoint_weights(b.string()), false), tensors);
  DatasetSpec test = DatasetSpec::parse("fashion-mnist");
  test.train = false;
  Minibatch m = load_split(test, loaded.input_chw, loaded.num_classes, 500, 1);
  double torch_acc = torch_accuracy(loaded, m, 128), nasx_acc = compiled_accuracy(loaded, m, 128);
  EXPECT_NEAR(torch_acc, h.back().test_accuracy, 25.0);  // a 500-image sample of the same split
  EXPECT_LE(std::abs(torch_acc - nasx_acc), 0.1) << torch_acc << " vs " << nasx_acc;
  fs::remove_all(a);
  fs::remove_all(b);
}

TEST(Train, CorruptCheckpointIsAUserError) {
  fs::path c = fresh("c");
  fs::create_directories(c);
  std::ofstream(c / "checkpoint.json") << "{\"format\": \"nasx-checkpoint\", \"epoch\": ";
  EXPECT_THROW(checkpoint_weights(c.string()), UserError);
  TrainOptions o = options(c.string());
  o.resume = true;
  Network n = small();
  EXPECT_THROW(train_network(n, o, {}, {}), UserError);
  fs::remove_all(c);
}

// A damaged optimizer state on --resume: a UserError whose message is one line (before: it ended
// with LibTorch's backtrace, "frame #0: c10::Error::Error").
TEST(Train, DamagedOptimizerStateIsOneLine) {
  fs::path c = fresh("optimizer");
  TrainOptions o = options(c.string());
  o.epochs = 2;
  Network part = small();
  EXPECT_THROW(train_network(part, o, {},
                             [](const EpochStats& e) {
                               if (e.epoch == 1) throw Stop{};
                             }),
               Stop);
  bool damaged = false;
  for (const auto& e : fs::recursive_directory_iterator(c))
    if (e.path().filename() == "optimizer.pt") {
      std::ofstream(e.path(), std::ios::binary | std::ios::trunc) << "PK\x03\x04 not an archive";
      damaged = true;
    }
  ASSERT_TRUE(damaged);
  o.resume = true;
  Network resumed = small();
  try {
    train_network(resumed, o, {}, {});
    ADD_FAILURE() << "resumed from a damaged optimizer state";
  } catch (const UserError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("cannot read the optimizer state"), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    EXPECT_EQ(m.find("frame #"), std::string::npos) << m;
  }
  fs::remove_all(c);
}

}  // namespace
}  // namespace nasx
