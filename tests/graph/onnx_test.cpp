// ONNX import and export. Import: small CNNs built and exported by PyTorch (torch.onnx, opsets
// 11, 13 and 17; tests/graph/onnx_models.py run by Debian's python3-torch) give PyTorch's output
// when nasx evaluates them. Export: zoo networks, plain and with multi-statement convolutions,
// re-import with the same outputs and parameter counts, and an independent runner of the ONNX
// operators (tests/graph/onnx_run.py, python3-onnx) gives nasx's output on the exported file.
// Bad files are UserErrors that say what is wrong.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "graph/arch.h"
#include "graph/onnx_export.h"
#include "graph/onnx_import.h"
#include "graph/zoo.h"
#include "support/error.h"
#include "support/npy.h"
#include "torch/proxies.h"
#include "torch/twin.h"

namespace nasx {
namespace {

namespace fs = std::filesystem;
const std::string kPython = "/usr/bin/python3";

std::string run_command(const std::string& cmd, int* code) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  *code = pclose(p);
  return out;
}

// The PyTorch fixtures, made once for every test of this file.
class OnnxImport : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // One directory per process: ctest runs the tests of this suite in parallel processes.
    dir_ = (fs::temp_directory_path() / ("nasx_onnx_import_" + std::to_string(getpid()))).string();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    if (std::system((kPython + " -c 'import torch, numpy' 2>/dev/null").c_str()) != 0) return;
    int code = 0;
    output_ =
        run_command(kPython + " " + NASX_TEST_SOURCE_DIR + "/graph/onnx_models.py " + dir_, &code);
    ready_ = code == 0;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  void SetUp() override {
    if (std::system((kPython + " -c 'import torch' 2>/dev/null").c_str()) != 0)
      GTEST_SKIP() << "Debian's python3-torch is not installed (scripts/install-deps.sh)";
    ASSERT_TRUE(ready_) << output_;
  }
  // Imports NAME.onnx and checks nasx's output on NAME.x.npy against PyTorch's.
  static Network imports_with_pytorchs_output(const std::string& name) {
    Network net = import_onnx(dir_ + "/" + name + ".onnx");
    Tensor x = read_npy(dir_ + "/" + name + ".x.npy");
    Tensor want = read_npy(dir_ + "/" + name + ".y.npy");
    Tensor got = TorchTwin(net).forward(x);
    EXPECT_EQ(got.shape, want.shape) << name;
    EXPECT_LE(compare(got, want).max_rel_err, 1e-5) << name;
    return net;
  }
  static std::string dir_, output_;
  static bool ready_;
};
std::string OnnxImport::dir_, OnnxImport::output_;
bool OnnxImport::ready_ = false;

template <typename T>
const T& op_of(const Network& net, const std::string& name) {
  int k = net.find(name);
  EXPECT_GE(k, 0) << name;
  return std::get<T>(net.nodes.at(k).op);
}

// Opset 13: residual blocks (torch folds each conv's batch norm into it and renames its weights
// onnx::Conv_NN; the names come from the node scopes), max pool, GlobalAveragePool + Flatten +
// Gemm. The residual adds are named as in the zoo, so the proxies find the same blocks.
TEST_F(OnnxImport, ResidualBlocks) {
  Network net = imports_with_pytorchs_output("residual");
  EXPECT_EQ(net.name, "residual");
  EXPECT_EQ(net.family, "resnet");
  EXPECT_EQ(net.num_classes, 10);
  EXPECT_EQ(net.input_chw, Shape({3, 16, 16}));
  for (const char* name : {"conv1", "maxpool", "layer1.0.conv1", "layer1.0.relu", "layer1.0.add",
                           "avgpool", "layer2.0.downsample.0", "layer2.0.conv2", "flatten", "fc"})
    EXPECT_GE(net.find(name), 0) << name;
  EXPECT_EQ(op_of<MaxPool>(net, "maxpool"), (MaxPool{3, 2, 1}));
  EXPECT_EQ(op_of<ConvProgram>(net, "layer2.0.conv1").stride, 2);
  std::vector<ProxyBlock> blocks = find_blocks(net);
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(blocks[0].name, "layer1.0");
  EXPECT_EQ(blocks[1].name, "layer2.0");
  // The add's first input is the residual branch, as in the zoo.
  EXPECT_EQ(net.nodes[blocks[0].activation].name, "layer1.0.conv2");
}

// Opset 11: concatenations (a dense block), batch norms that stay separate (state_dict names),
// Pad + AveragePool (torch's export of avg_pool2d), Dropout.
TEST_F(OnnxImport, DenseBlockAtOpset11) {
  Network net = imports_with_pytorchs_output("dense");
  EXPECT_EQ(net.family, "densenet");
  EXPECT_EQ(op_of<BatchNorm>(net, "layers.0.norm1").channels, 8);
  EXPECT_EQ(op_of<Concat>(net, "concat_1").channels, (std::vector<int64_t>{12, 4}));
  EXPECT_EQ(op_of<AvgPool>(net, "pool"), (AvgPool{2, 2, 0}));
  EXPECT_GE(net.find("classifier"), 0);
  EXPECT_EQ(find_blocks(net).size(), 2u);
}

// Opset 17: grouped, dilated and depthwise convolutions with biases, Reshape (a Constant shape)
// and MatMul + Add as the classifier.
TEST_F(OnnxImport, GroupedDepthwiseAndMatMulAtOpset17) {
  Network net = imports_with_pytorchs_output("grouped");
  const ConvProgram& g = op_of<ConvProgram>(net, "conv2");
  EXPECT_EQ(g.statements[0].groups, 3);
  EXPECT_EQ(g.dilation, 2);
  EXPECT_TRUE(g.bias);
  EXPECT_EQ(op_of<ConvProgram>(net, "depthwise").statements[0].groups, 12);
  const Linear& fc = op_of<Linear>(net, "matmul");
  EXPECT_EQ(fc, (Linear{128, 10, true}));
}

TEST_F(OnnxImport, UnsupportedOperatorIsNamed) {
  try {
    import_onnx(dir_ + "/unsupported.onnx");
    FAIL() << "imported a Sigmoid";
  } catch (const UserError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("operator Sigmoid is not supported"), std::string::npos) << m;
    EXPECT_NE(m.find("node '/Sigmoid'"), std::string::npos) << m;
  }
}

void expect_user_error(const std::string& path, const std::string& message) {
  try {
    import_onnx(path);
    FAIL() << path << " imported";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
  }
}

TEST(OnnxImportErrors, CorruptTruncatedAndForeignFiles) {
  fs::path dir = fs::temp_directory_path() / "nasx_onnx_errors";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string good = onnx_model_bytes(build_zoo_model("resnet18_cifar", {0, 0, 0.125}));
  Tensor noise = Tensor::random_uniform({1000}, 3, 0, 255);
  std::string random;
  for (float v : noise.data) random += char(int(v));
  struct Case {
    std::string name, bytes, message;
  };
  for (const Case& c :
       std::vector<Case>{{"random.onnx", random, "not a valid ONNX model"},
                         {"truncated.onnx", good.substr(0, good.size() / 2), "ONNX"},
                         {"short.onnx", good.substr(0, 40), "ONNX"},
                         {"empty.onnx", "", "not an ONNX model with a graph"},
                         {"text.onnx", "{\"format\": \"nasx-arch\"}\n", "ONNX"}}) {
    std::ofstream(dir / c.name, std::ios::binary) << c.bytes;
    expect_user_error((dir / c.name).string(), c.message);
  }
  expect_user_error((dir / "missing.onnx").string(), "no such file");
  expect_user_error(dir.string() + "/", "");  // a directory
  fs::remove_all(dir);
}

// Export, re-import: same names, parameters and outputs; the file also runs in an ONNX runner
// that knows nothing of nasx, with nasx's output.
void expect_round_trip(const Network& net, const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("nasx_onnx_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string path = (dir / (name + ".onnx")).string();
  std::ofstream(path, std::ios::binary) << onnx_model_bytes(net);
  Network back = import_onnx(path);
  EXPECT_EQ(back.params(), net.params());
  EXPECT_EQ(back.macs(), net.macs());
  EXPECT_EQ(back.nodes.size(), net.nodes.size());
  for (size_t k = 0; k < std::min(back.nodes.size(), net.nodes.size()); ++k) {
    EXPECT_EQ(back.nodes[k].name, net.nodes[k].name);
    EXPECT_EQ(back.nodes[k].inputs, net.nodes[k].inputs) << net.nodes[k].name;
    EXPECT_EQ(back.nodes[k].params.size(), net.nodes[k].params.size()) << net.nodes[k].name;
    if (!std::holds_alternative<BatchNorm>(net.nodes[k].op)) {  // eps passes through a float
      EXPECT_TRUE(back.nodes[k].op == net.nodes[k].op) << net.nodes[k].name;
    }
  }
  Tensor x = Tensor::random_normal(net.input_shape(2), 11);
  Tensor want = TorchTwin(net).forward(x);
  EXPECT_LE(compare(TorchTwin(back).forward(x), want).max_rel_err, 1e-6);

  if (std::system((kPython + " -c 'import onnx, torch' 2>/dev/null").c_str()) != 0) {
    std::cerr << "skipping the independent ONNX runner: python3-onnx is not installed\n";
  } else {
    write_npy((dir / "x.npy").string(), x);
    int code = 0;
    std::string out =
        run_command(kPython + " " + NASX_TEST_SOURCE_DIR + "/graph/onnx_run.py " + path + " " +
                        (dir / "x.npy").string() + " " + (dir / "y.npy").string(),
                    &code);
    ASSERT_EQ(code, 0) << out;
    EXPECT_LE(compare(read_npy((dir / "y.npy").string()), want).max_rel_err, 1e-5) << out;
  }
  fs::remove_all(dir);
}

TEST(OnnxExport, ZooNetworksRoundTrip) {
  expect_round_trip(build_zoo_model("resnet18_cifar", {1, 0, 0.125}), "resnet18");
  expect_round_trip(build_zoo_model("densenet121_cifar", {1, 0, 0.125}), "densenet121");
  expect_round_trip(build_zoo_model("resnet50", {1, 64, 0.125}), "resnet50");
}

// Split, peeled, row-tiled and group-list convolutions are Slice + Conv + Concat subgraphs.
TEST(OnnxExport, MultiStatementConvolutionsRoundTrip) {
  Network net = build_zoo_model("resnet18_cifar", {2, 0, 0.25});
  Arch arch;
  arch.base = "resnet18_cifar";
  arch.seed = 2;
  for (const char* spec : {"layer1.*.conv1: split(2); group([2,4])", "layer2.*.conv1: peel(4)",
                           "layer3.0.conv1: spatial_split(2)", "layer3.1.conv1: split(2)",
                           "layer4.*.conv1: bottleneck(2); group(2)", "layer3.1.conv2: depthwise"})
    apply_to_layers(net, arch, spec);
  std::string bytes = onnx_model_bytes(net);
  EXPECT_NE(bytes.find("Slice"), std::string::npos);
  EXPECT_NE(bytes.find("layer1.0.conv1/concat0"), std::string::npos);
  expect_round_trip(net, "transformed");
}

}  // namespace
}  // namespace nasx
