// The toolchain: cache miss then hit, a corrupt entry detected and rebuilt, a truncated entry
// rebuilt, a compile failure reported with the command and the compiler's message.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "codegen/emit_cpp.h"
#include "codegen/module.h"
#include "codegen/toolchain.h"
#include "lower/pipeline.h"

namespace nasx {
namespace {
namespace fs = std::filesystem;

class Toolchain : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("nasx-toolchain-test-" +
            std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    config_ = ToolchainConfig::from_env();
    config_.cache_dir = dir_;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string source(int value) {
    return "extern \"C\" int answer() { return " + std::to_string(value) + "; }\n";
  }
  int call(const CompileResult& r) {
    return reinterpret_cast<int (*)()>(r.library->symbol("answer"))();
  }

  fs::path dir_;
  ToolchainConfig config_;
};

TEST_F(Toolchain, MissThenHit) {
  CompileResult first = compile_and_load(source(41), config_);
  EXPECT_EQ(first.outcome, CacheOutcome::Miss);
  EXPECT_EQ(call(first), 41);
  CompileResult second = compile_and_load(source(41), config_);
  EXPECT_EQ(second.outcome, CacheOutcome::Hit);
  EXPECT_EQ(second.key, first.key);
  EXPECT_EQ(call(second), 41);
  CompileResult other = compile_and_load(source(42), config_);
  EXPECT_EQ(other.outcome, CacheOutcome::Miss);
  EXPECT_NE(other.key, first.key);
}

TEST_F(Toolchain, KeyDependsOnFlags) {
  CompileResult a = compile_and_load(source(7), config_);
  config_.flags += " -DNASX_TEST_FLAG";
  CompileResult b = compile_and_load(source(7), config_);
  EXPECT_NE(a.key, b.key);
  EXPECT_EQ(b.outcome, CacheOutcome::Miss);
}

TEST_F(Toolchain, CorruptEntryIsRebuilt) {
  CompileResult first = compile_and_load(source(5), config_);
  fs::path so = dir_ / (first.key + ".so");
  first.library.reset();
  {
    std::fstream f(so, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.write("garbage!", 8);  // flip bytes in the middle: the checksum no longer matches
  }
  CompileResult again = compile_and_load(source(5), config_);
  EXPECT_EQ(again.outcome, CacheOutcome::RebuiltCorrupt);
  EXPECT_EQ(call(again), 5);
  EXPECT_EQ(compile_and_load(source(5), config_).outcome, CacheOutcome::Hit);
}

TEST_F(Toolchain, TruncatedEntryIsRebuilt) {
  CompileResult first = compile_and_load(source(6), config_);
  fs::path so = dir_ / (first.key + ".so");
  first.library.reset();
  fs::resize_file(so, fs::file_size(so) / 2);  // as an interrupted copy would leave it
  CompileResult again = compile_and_load(source(6), config_);
  EXPECT_EQ(again.outcome, CacheOutcome::RebuiltCorrupt);
  EXPECT_EQ(call(again), 6);
}

// An entry is bound to its key: another key's whole, valid library copied over it (before: its
// symbols were called as this kernel's, a double free or SIGSEGV) is rebuilt, as is a directory
// standing at the entry's name (before: exit 3).
TEST_F(Toolchain, AnotherKeysEntryOrADirectoryIsRebuilt) {
  CompileResult five = compile_and_load(source(5), config_);
  CompileResult six = compile_and_load(source(6), config_);
  fs::path so5 = dir_ / (five.key + ".so"), so6 = dir_ / (six.key + ".so");
  five.library.reset();
  six.library.reset();
  fs::copy_file(so6, so5, fs::copy_options::overwrite_existing);
  CompileResult again = compile_and_load(source(5), config_);
  EXPECT_EQ(again.outcome, CacheOutcome::RebuiltCorrupt);
  EXPECT_EQ(call(again), 5);
  again.library.reset();
  fs::remove(so5);
  fs::create_directories(so5 / "inside");
  CompileResult dir = compile_and_load(source(5), config_);
  EXPECT_EQ(dir.outcome, CacheOutcome::RebuiltCorrupt);
  EXPECT_EQ(call(dir), 5);
}

TEST_F(Toolchain, NoTemporaryFilesAreLeftBehind) {
  compile_and_load(source(8), config_);
  for (const auto& entry : fs::directory_iterator(dir_))
    EXPECT_EQ(entry.path().string().find(".tmp."), std::string::npos) << entry.path();
}

TEST_F(Toolchain, CompileErrorNamesCommandAndCompilerMessage) {
  try {
    compile_and_load("extern \"C\" int broken() { return undeclared_thing; }\n", config_);
    FAIL() << "compiled broken source";
  } catch (const CompileError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("command: " + config_.cxx), std::string::npos) << msg;
    EXPECT_NE(msg.find("-shared"), std::string::npos) << msg;
    EXPECT_NE(msg.find("undeclared_thing"), std::string::npos) << msg;
  }
  for (const auto& entry : fs::directory_iterator(dir_))
    EXPECT_NE(entry.path().extension(), ".so") << "no cache entry for a failed build";
}

TEST_F(Toolchain, ModuleHoldsManyKernels) {
  std::vector<LoweredKernel> kernels;
  for (int i = 0; i < 3; ++i)
    kernels.push_back(lower(Relu{}, {{1, 4, 2, 2}}, "relu" + std::to_string(i)));
  CompiledModule m = CompiledModule::build(kernels, config_);
  Tensor in = Tensor::random_normal({1, 4, 2, 2}, 3), out({1, 4, 2, 2});
  float* args[] = {in.data.data(), out.data.data()};
  m.function("relu2")(args);
  for (int64_t i = 0; i < in.size(); ++i) EXPECT_EQ(out.data[i], std::max(in.data[i], 0.0f));
  EXPECT_THROW(m.function("missing"), InternalError);
}

TEST_F(Toolchain, GeneratedSourceIsReadableCpp) {
  std::string src = emit_cpp_module({lower(Relu{}, {{1, 100000}}, "relu")});
  EXPECT_NE(src.find("extern \"C\" void relu(float* const* args)"), std::string::npos) << src;
  EXPECT_NE(src.find("#pragma omp parallel for"), std::string::npos) << src;
  EXPECT_NE(src.find("#pragma omp simd"), std::string::npos) << src;
}

}  // namespace
}  // namespace nasx
