// ONNX through the nasx command: export a zoo model, then use the .onnx file as MODEL (show,
// transform into an ARCH.json whose base is the file, legal on that ARCH.json, export again), and
// bad ONNX files (random bytes, truncated, an unsupported operator): exit code 2, one clear line.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>

#include "run_nasx.h"
#include "support/json.h"

namespace {

namespace fs = std::filesystem;
using nasx::testing::nasx;
using nasx::testing::Result;

class OnnxCli : public ::testing::Test {
 protected:
  void SetUp() override {
    // One directory per process: ctest runs these tests in parallel processes.
    dir_ = fs::temp_directory_path() / ("nasx_onnx_cli_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    d_ = dir_.string();
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
  std::string d_;
};

TEST_F(OnnxCli, OnnxFileIsAModelEverywhere) {
  Result e = nasx("export resnet18_cifar --width 0.125 --seed 3 --onnx " + d_ + "/m.onnx");
  ASSERT_EQ(e.code, 0) << e.out;
  Result zoo = nasx("show resnet18_cifar --json", "NASX_LOG=error ");
  Result show = nasx("show " + d_ + "/m.onnx --json", "NASX_LOG=error ");
  ASSERT_EQ(show.code, 0) << show.out;
  nasx::Json j = nasx::Json::parse(show.out);
  EXPECT_GT(j["params"].get<int64_t>(), 0);
  EXPECT_LT(j["params"].get<int64_t>(), nasx::Json::parse(zoo.out)["params"].get<int64_t>());

  // An ARCH.json on an ONNX base records the file's absolute path: it works from elsewhere.
  Result t = nasx("transform " + d_ + "/m.onnx --apply 'layer1.*.conv1: split(2)' --out " + d_ +
                  "/a.json");
  ASSERT_EQ(t.code, 0) << t.out;
  std::ifstream f(dir_ / "a.json");
  nasx::Json arch = nasx::Json::parse(f);
  EXPECT_EQ(arch["base"], fs::absolute(dir_ / "m.onnx").string());
  Result legal = nasx("legal " + d_ + "/a.json --data synthetic --batch 8");
  EXPECT_NE(legal.code, 2) << legal.out;  // 0 legal, 1 not: both are verdicts
  Result again = nasx("export " + d_ + "/a.json --onnx " + d_ + "/a.onnx");
  ASSERT_EQ(again.code, 0) << again.out;
  Result show_a = nasx("show " + d_ + "/a.onnx --json", "NASX_LOG=error ");
  Result show_arch = nasx("show " + d_ + "/a.json --json", "NASX_LOG=error ");
  ASSERT_EQ(show_a.code, 0) << show_a.out;
  EXPECT_EQ(nasx::Json::parse(show_a.out)["params"], nasx::Json::parse(show_arch.out)["params"]);

  EXPECT_EQ(nasx("export " + d_ + "/m.onnx --onnx " + d_ + "/x.txt").code, 2);
  EXPECT_EQ(nasx("show " + d_ + "/m.onnx --width 0.5").code, 2);
}

TEST_F(OnnxCli, BadOnnxFilesExitWithCode2) {
  ASSERT_EQ(nasx("export resnet18_cifar --width 0.125 --onnx " + d_ + "/m.onnx").code, 0);
  std::ifstream in(dir_ / "m.onnx", std::ios::binary);
  std::string good((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::ofstream(dir_ / "truncated.onnx", std::ios::binary) << good.substr(0, good.size() / 3);
  std::string random;
  for (int i = 0; i < 4096; ++i) random += char((i * 7919 + 13) % 251);
  std::ofstream(dir_ / "random.onnx", std::ios::binary) << random;

  // A valid model with an operator nasx does not import.
  onnx::ModelProto m;
  m.set_ir_version(7);
  m.add_opset_import()->set_version(13);
  onnx::GraphProto* g = m.mutable_graph();
  onnx::ValueInfoProto* x = g->add_input();
  x->set_name("x");
  onnx::TypeProto_Tensor* t = x->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  for (int d : {1, 3, 8, 8}) t->mutable_shape()->add_dim()->set_dim_value(d);
  onnx::NodeProto* n = g->add_node();
  n->set_op_type("LSTM");
  n->set_name("rnn0");
  n->add_input("x");
  n->add_output("y");
  g->add_output()->set_name("y");
  std::ofstream(dir_ / "lstm.onnx", std::ios::binary) << m.SerializeAsString();
  // nasx's own export at opsets it does not import (before: accepted, the docs say 11 to 17),
  // and with an initializer named twice (before: the second silently won).
  onnx::ModelProto exported;
  ASSERT_TRUE(exported.ParseFromString(good));
  for (int version : {1, 99}) {
    onnx::ModelProto v = exported;
    v.mutable_opset_import(0)->set_version(version);
    std::ofstream(dir_ / ("opset" + std::to_string(version) + ".onnx"), std::ios::binary)
        << v.SerializeAsString();
  }
  // Weights that are not numbers (before: `check` exited 1 with "compiled in" as its last line).
  onnx::ModelProto nan = exported;
  onnx::TensorProto* w0 = nan.mutable_graph()->mutable_initializer(0);
  float not_a_number = std::numeric_limits<float>::quiet_NaN();
  if (!w0->raw_data().empty())
    w0->mutable_raw_data()->replace(0, 4, reinterpret_cast<const char*>(&not_a_number), 4);
  else
    w0->set_float_data(0, not_a_number);
  std::ofstream(dir_ / "nan.onnx", std::ios::binary) << nan.SerializeAsString();
  Result check_nan = nasx("check " + d_ + "/nan.onnx");
  EXPECT_EQ(check_nan.code, 2) << check_nan.out;
  EXPECT_NE(check_nan.out.find("hold NaN: there is nothing to check"), std::string::npos)
      << check_nan.out;
  onnx::ModelProto twice = exported;
  *twice.mutable_graph()->add_initializer() = twice.graph().initializer(0);
  std::ofstream(dir_ / "twice.onnx", std::ios::binary) << twice.SerializeAsString();

  struct Case {
    std::string file, message;
  };
  for (const Case& c : std::vector<Case>{{"truncated.onnx", "ONNX"},
                                         {"random.onnx", "not a valid ONNX model"},
                                         {"lstm.onnx",
                                          "node 'rnn0' (LSTM): operator LSTM is not "
                                          "supported"},
                                         {"missing.onnx", "no such file"},
                                         {"opset1.onnx", "ONNX opset 1 is not supported"},
                                         {"opset99.onnx", "ONNX opset 99 is not supported"},
                                         {"twice.onnx", "appears twice"}}) {
    for (const std::string cmd : {"show ", "transform "}) {
      std::string args = cmd + d_ + "/" + c.file;
      if (cmd == "transform ") args += " --apply 'conv1: group(1)' --out " + d_ + "/b.json";
      Result r = nasx(args);
      EXPECT_EQ(r.code, 2) << args << "\n" << r.out;
      EXPECT_NE(r.out.find(c.message), std::string::npos) << args << "\n" << r.out;
      EXPECT_EQ(r.out.find("internal"), std::string::npos) << r.out;
    }
  }
  EXPECT_FALSE(fs::exists(dir_ / "b.json"));
}

}  // namespace
