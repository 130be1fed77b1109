// nasx export --lib and --weights FILE.pt, as a user runs them: the exported C library, built
// by its own Makefile with the system C compiler and run by its example program, gives what
// `nasx run` gives; a state_dict written by torch.save (Debian's python3-torch) loads with the
// same checks as a folder of .npy files.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "run_nasx.h"
#include "support/npy.h"

namespace {

namespace fs = std::filesystem;
using nasx::testing::nasx;
using nasx::testing::Result;

// A fresh scratch directory per test.
std::string scratch(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("nasx_export_lib_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

// The largest difference relative to the largest magnitude of `want`.
double relative_error(const std::string& got_path, const std::string& want_path) {
  nasx::Tensor got = nasx::read_npy(got_path), want = nasx::read_npy(want_path);
  EXPECT_EQ(got.shape, want.shape);
  if (got.shape != want.shape) return 1;
  double diff = 0, scale = 0;
  for (size_t i = 0; i < got.data.size(); ++i) {
    diff = std::max(diff, static_cast<double>(std::fabs(got.data[i] - want.data[i])));
    scale = std::max(scale, static_cast<double>(std::fabs(want.data[i])));
  }
  return diff / std::max(scale, 1e-30);
}

// Builds DIR's example with its Makefile and runs it on `in`, writing `out`.
void build_and_run_example(const std::string& dir, const std::string& in, const std::string& out) {
  ASSERT_EQ(std::system(("make -s -C " + dir + " >/dev/null").c_str()), 0) << "make in " << dir;
  ASSERT_EQ(std::system((dir + "/example " + in + " " + out).c_str()), 0) << dir << "/example";
}

TEST(ExportLib, CLibraryMatchesNasxRun) {
  std::string d = scratch("run");
  nasx::write_npy(d + "/x1.npy", nasx::Tensor::random_normal({1, 3, 32, 32}, 5));
  nasx::write_npy(d + "/x2.npy", nasx::Tensor::random_normal({2, 3, 32, 32}, 6));

  // resnet18_cifar at the default batch 1.
  Result e = nasx("export resnet18_cifar --lib " + d + "/r18");
  ASSERT_EQ(e.code, 0) << e.out;
  for (const char* f : {"libnasx_model.so", "nasx_model.h", "example.c", "Makefile"})
    EXPECT_TRUE(fs::exists(d + "/r18/" + f)) << f;
  build_and_run_example(d + "/r18", d + "/x1.npy", d + "/y1.npy");
  Result r = nasx("run resnet18_cifar --input " + d + "/x1.npy --output " + d + "/ref1.npy");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_LE(relative_error(d + "/y1.npy", d + "/ref1.npy"), 1e-4);

  // A transformed network (split and group-list convolutions) at batch 2.
  Result t =
      nasx("transform resnet18_cifar --apply 'layer2.*.conv1: split(2); group([2,4])' --out " + d +
           "/a.json");
  ASSERT_EQ(t.code, 0) << t.out;
  Result ea = nasx("export " + d + "/a.json --batch 2 --lib " + d + "/arch");
  ASSERT_EQ(ea.code, 0) << ea.out;
  std::ifstream header(d + "/arch/nasx_model.h");
  std::string text((std::istreambuf_iterator<char>(header)), {});
  EXPECT_NE(text.find("#define NASX_MODEL_INPUT_SHAPE {2, 3, 32, 32}"), std::string::npos) << text;
  build_and_run_example(d + "/arch", d + "/x2.npy", d + "/y2.npy");
  Result ra = nasx("run " + d + "/a.json --input " + d + "/x2.npy --output " + d + "/ref2.npy");
  ASSERT_EQ(ra.code, 0) << ra.out;
  EXPECT_LE(relative_error(d + "/y2.npy", d + "/ref2.npy"), 1e-4);

  // The example refuses an input of another shape.
  EXPECT_NE(
      std::system((d + "/arch/example " + d + "/x1.npy " + d + "/bad.npy 2>/dev/null").c_str()), 0);
  EXPECT_FALSE(fs::exists(d + "/bad.npy"));

  // A previous export is replaced (other weights: another seed).
  Result again = nasx("export resnet18_cifar --seed 3 --lib " + d + "/r18");
  ASSERT_EQ(again.code, 0) << again.out;
  build_and_run_example(d + "/r18", d + "/x1.npy", d + "/y3.npy");
  Result r3 =
      nasx("run resnet18_cifar --seed 3 --input " + d + "/x1.npy --output " + d + "/ref3.npy");
  ASSERT_EQ(r3.code, 0) << r3.out;
  EXPECT_LE(relative_error(d + "/y3.npy", d + "/ref3.npy"), 1e-4);
  EXPECT_GT(relative_error(d + "/y3.npy", d + "/ref1.npy"), 1e-3);
  fs::remove_all(d);
}

TEST(ExportLib, BadTargetsAndFailuresLeaveNothing) {
  std::string d = scratch("bad");
  // A non-empty directory that is not an export, and a file, are refused before any work.
  fs::create_directories(d + "/mine");
  std::ofstream(d + "/mine/notes.txt") << "keep me";
  std::ofstream(d + "/file") << "x";
  struct Case {
    std::string dir, fragment;
  };
  for (const Case& c :
       {Case{d + "/mine", "refusing to overwrite"}, Case{d + "/file", "is not a directory"}}) {
    Result r = nasx("export resnet18_cifar --lib " + c.dir);
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_NE(r.out.find(c.fragment), std::string::npos) << r.out;
  }
  EXPECT_TRUE(fs::exists(d + "/mine/notes.txt"));
  EXPECT_EQ(nasx("export resnet18_cifar --lib " + d + "/x --batch 0").code, 2);
  // A compiler that does not run, and a compile that fails midway: no DIR, no temporary left.
  Result nocc = nasx("export resnet18_cifar --lib " + d + "/never", "NASX_CXX=/bin/false ");
  EXPECT_EQ(nocc.code, 2) << nocc.out;
  Result fails = nasx("export resnet18_cifar --lib " + d + "/never",
                      "NASX_CXXFLAGS=--no-such-flag NASX_LOG=error ");
  EXPECT_NE(fails.code, 0) << fails.out;
  EXPECT_NE(fails.out.find("--no-such-flag"), std::string::npos) << fails.out;
  EXPECT_FALSE(fs::exists(d + "/never"));
  int entries = 0;
  for (auto it = fs::directory_iterator(d); it != fs::directory_iterator(); ++it) ++entries;
  EXPECT_EQ(entries, 2) << "only mine/ and file remain";
  fs::remove_all(d);
}

// Python lines moving model m's batch-norm statistics and affine parameters off their defaults,
// so that loading them matters.
constexpr const char* kRandomizeBatchNorms =
    "with torch.no_grad():\n"
    "    for b in m.modules():\n"
    "        if isinstance(b, torch.nn.BatchNorm2d):\n"
    "            b.running_mean.uniform_(-0.1, 0.1); b.running_var.uniform_(0.5, 1.5)\n"
    "            b.weight.uniform_(0.5, 1.5); b.bias.uniform_(-0.1, 0.1)\n";

// Writes `script` to DIR/make.py and runs it with Debian's python3 (python3-torch); its exit
// status, and its output in `out` (shown on failure).
int python(const std::string& dir, const std::string& script, std::string* out) {
  std::ofstream(dir + "/make.py") << script;
  FILE* p = popen(("/usr/bin/python3 " + dir + "/make.py 2>&1").c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out->append(buf, n);
  return pclose(p);
}

TEST(ExportLib, TorchSaveStateDictLoads) {
  if (std::system("/usr/bin/python3 -c 'import torch, numpy' 2>/dev/null") != 0)
    GTEST_SKIP() << "Debian's python3-torch is not installed (scripts/install-deps.sh installs it)";
  std::string d = scratch("pt");
  Result e = nasx("export resnet18_cifar --pytorch " + d + "/model.py");
  ASSERT_EQ(e.code, 0) << e.out;
  nasx::write_npy(d + "/x.npy", nasx::Tensor::random_normal({2, 3, 32, 32}, 9));
  // The module with nasx's tensor names, initialised by PyTorch (batch-norm statistics and
  // affine parameters moved off their defaults so that they matter), saved as PyTorch users do.
  std::string script =
      "import sys, numpy as np, torch\nsys.path.insert(0, '" + d +
      "')\n"
      "import model\n"
      "torch.manual_seed(0)\n"
      "m = model.Net().eval()\n" +
      std::string(kRandomizeBatchNorms) + "d = '" + d +
      "'\n"
      "torch.save(m.state_dict(), d + '/w.pt')\n"
      "np.save(d + '/torch_y.npy', m(torch.from_numpy(np.load(d + '/x.npy'))).detach().numpy())\n"
      "sd = m.state_dict(); del sd['layer3.1.bn2.running_var']; torch.save(sd, d + '/missing.pt')\n"
      "sd = m.state_dict(); sd['head.weight'] = torch.zeros(3); torch.save(sd, d + '/extra.pt')\n"
      "sd = m.state_dict(); sd['fc.bias'] = torch.zeros(5); torch.save(sd, d + '/shape.pt')\n"
      "torch.save(m, d + '/whole.pt')\n";
  std::string out;
  ASSERT_EQ(python(d, script, &out), 0) << out;

  Result r = nasx("run resnet18_cifar --weights " + d + "/w.pt --input " + d + "/x.npy --output " +
                  d + "/y.npy");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("loaded 102 parameter tensors"), std::string::npos) << r.out;
  EXPECT_LE(relative_error(d + "/y.npy", d + "/torch_y.npy"), 1e-4);

  // The same weights into a C library.
  Result lib = nasx("export resnet18_cifar --weights " + d + "/w.pt --batch 2 --lib " + d + "/lib");
  ASSERT_EQ(lib.code, 0) << lib.out;
  build_and_run_example(d + "/lib", d + "/x.npy", d + "/ylib.npy");
  EXPECT_LE(relative_error(d + "/ylib.npy", d + "/torch_y.npy"), 1e-4);

  fs::copy_file(d + "/w.pt", d + "/truncated.pt");
  fs::resize_file(d + "/truncated.pt", fs::file_size(d + "/w.pt") / 2);
  std::ofstream(d + "/junk.pt") << "not a torch file";
  struct Case {
    std::string file, fragment;
  };
  for (const Case& c :
       {Case{"missing.pt",
             "lacks 1 of the 102 parameter tensors of resnet18_cifar "
             "(layer3.1.bn2.running_var)"},
        Case{"extra.pt", "head.weight names no parameter of resnet18_cifar"},
        Case{"shape.pt", "has shape [5], fc.bias needs [10]"},
        Case{"truncated.pt", "not a readable torch.save state_dict"},
        Case{"junk.pt", "not a file written by torch.save"},
        Case{"whole.pt", "save model.state_dict(), not the model"}, Case{"absent.pt", "cannot"}}) {
    fs::remove(d + "/never.npy");
    Result bad = nasx("run resnet18_cifar --weights " + d + "/" + c.file + " --input " + d +
                      "/x.npy --output " + d + "/never.npy");
    EXPECT_EQ(bad.code, 2) << c.file << "\n" << bad.out;
    EXPECT_NE(bad.out.find(c.fragment), std::string::npos) << c.file << "\n" << bad.out;
    EXPECT_FALSE(fs::exists(d + "/never.npy")) << c.file;
  }
  fs::remove_all(d);
}

// The user's path end to end with torchvision's own ResNet-18 (Debian's python3-torchvision):
// its state_dict (.pt) loads into nasx's resnet18, its torch.onnx export imports, and both give
// PyTorch's output; the imported network is transformed, exported to ONNX and as a C library,
// and each of those gives what nasx runs for the transformed network.
TEST(ExportLib, TorchvisionResNet18InAndOut) {
  if (std::system("/usr/bin/python3 -c 'import torchvision, numpy' 2>/dev/null") != 0)
    GTEST_SKIP() << "Debian's python3-torchvision is not installed (scripts/install-deps.sh)";
  std::string d = scratch("torchvision");
  nasx::write_npy(d + "/x.npy", nasx::Tensor::random_normal({1, 3, 64, 64}, 5));
  std::string script =
      "import numpy as np, torch, torchvision\n"
      "torch.manual_seed(0)\n"
      "m = torchvision.models.resnet18().eval()\n" +
      std::string(kRandomizeBatchNorms) + "d = '" + d +
      "'\n"
      "x = torch.from_numpy(np.load(d + '/x.npy'))\n"
      "torch.save(m.state_dict(), d + '/tv.pt')\n"
      "np.save(d + '/torch_y.npy', m(x).detach().numpy())\n"
      "torch.onnx.export(m, x, d + '/tv.onnx', opset_version=13)\n";
  std::string out;
  ASSERT_EQ(python(d, script, &out), 0) << out;

  // In: the state_dict into the zoo's resnet18 (torchvision's names), and the ONNX file.
  // The zoo's resnet18 at 64x64 (an ARCH.json carries the image size).
  std::ofstream(d + "/r18.json") << R"({"format": "nasx-arch", "version": 1, "base": "resnet18",
      "seed": 0, "image_size": 64, "applied": [], "steps": []})";
  Result pt = nasx("run " + d + "/r18.json --weights " + d + "/tv.pt --input " + d +
                   "/x.npy --output " + d + "/pt_y.npy");
  ASSERT_EQ(pt.code, 0) << pt.out;
  EXPECT_LE(relative_error(d + "/pt_y.npy", d + "/torch_y.npy"), 1e-4);
  Result onnx = nasx("run " + d + "/tv.onnx --input " + d + "/x.npy --output " + d + "/onnx_y.npy");
  ASSERT_EQ(onnx.code, 0) << onnx.out;
  EXPECT_LE(relative_error(d + "/onnx_y.npy", d + "/torch_y.npy"), 1e-4);

  // Out: transformed, then as ONNX and as a C library, each equal to nasx's own run.
  Result t = nasx("transform " + d + "/tv.onnx --apply 'layer4.*.conv1: split(2); group([2,4])' " +
                  "--out " + d + "/a.json");
  ASSERT_EQ(t.code, 0) << t.out;
  Result ra = nasx("run " + d + "/a.json --input " + d + "/x.npy --output " + d + "/a_y.npy");
  ASSERT_EQ(ra.code, 0) << ra.out;
  Result eo = nasx("export " + d + "/a.json --onnx " + d + "/a.onnx");
  ASSERT_EQ(eo.code, 0) << eo.out;
  Result ro = nasx("run " + d + "/a.onnx --input " + d + "/x.npy --output " + d + "/ao_y.npy");
  ASSERT_EQ(ro.code, 0) << ro.out;
  EXPECT_LE(relative_error(d + "/ao_y.npy", d + "/a_y.npy"), 1e-5);
  Result el = nasx("export " + d + "/a.json --lib " + d + "/lib");
  ASSERT_EQ(el.code, 0) << el.out;
  ASSERT_EQ(std::system(("make -s -C " + d + "/lib >/dev/null 2>&1").c_str()), 0);
  ASSERT_EQ(
      std::system((d + "/lib/example " + d + "/x.npy " + d + "/lib_y.npy >/dev/null 2>&1").c_str()),
      0);
  EXPECT_LE(relative_error(d + "/lib_y.npy", d + "/a_y.npy"), 1e-5);
  fs::remove_all(d);
}

}  // namespace
