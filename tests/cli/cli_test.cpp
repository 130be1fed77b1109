// The nasx command as a user runs it: help, version, conv --check, and bad input (a clear one-line
// message and exit code 2, never a crash).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <sstream>
#include <string>

#include <filesystem>
#include <fstream>

#include "run_nasx.h"
#include "support/json.h"
#include "support/npy.h"

namespace {

using nasx::testing::nasx;
using nasx::testing::Result;

// Numeric options are checked on their text: no wrap-around, no silent truncation.
TEST(Cli, NumericOptionsAreRangeChecked) {
  struct Case {
    std::string args, message;
  };
  for (const Case& c : std::vector<Case>{
           {"transform resnet18_cifar --apply 'layer1.0.conv1: group(2)' --out x.json --seed -1",
            "--seed: -1 is out of range"},
           {"fisher resnet18_cifar --seed 1.5", "--seed: '1.5' is not an integer"},
           {"check resnet18_cifar --image-size -3", "--image-size: -3 is out of range [1, 4096]"},
           {"check resnet18_cifar --image-size 0", "--image-size: 0 is out of range"},
           {"bench resnet18_cifar --repeat 0", "--repeat: 0 is out of range"},
           {"conv --in 3,8,8 --out 4 --kernel 3 --batch 99999999999999999999 --check",
            "--batch: '99999999999999999999' is out of range"},
           {"conv --in 3,8,8 --out 4 --kernel 3 --dilation 0 --check", "--dilation: 0 is out"},
           {"run resnet18_cifar --input x.npy --output y.npy --seed 1e3", "not an integer"}}) {
    Result r = nasx(c.args);
    EXPECT_EQ(r.code, 2) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.message), std::string::npos) << c.args << "\n" << r.out;
  }
  EXPECT_FALSE(std::filesystem::exists("x.json"));
}

TEST(Cli, HelpAndVersion) {
  Result help = nasx("--help");
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("conv"), std::string::npos) << help.out;
  Result version = nasx("--version");
  EXPECT_EQ(version.code, 0);
  EXPECT_EQ(version.out.rfind("nasx ", 0), 0u) << version.out;
  EXPECT_EQ(nasx("conv --help").code, 0);
}

TEST(Cli, ConvCheckPasses) {
  Result r = nasx(
      "conv --in 16,13,13 --out 32 --kernel 3 --pad 1 --stride 2 --groups 2 "
      "--batch 2 --bias --check --repeat 2");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("max_rel_err"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("PASS"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("median"), std::string::npos) << r.out;
}

TEST(Cli, ConvJson) {
  Result r =
      nasx("conv --in 8,7,7 --out 8 --kernel 3 --dilation 2 --pad 2 --check --json --repeat 2");
  ASSERT_EQ(r.code, 0) << r.out;
  nasx::Json j = nasx::Json::parse(r.out);
  EXPECT_LE(j["max_rel_err"].get<double>(), 1e-4);
  EXPECT_EQ(j["check"], "pass");
  EXPECT_GT(j["median_ms"].get<double>(), 0);
  EXPECT_EQ(j["params"], 8 * 8 * 9);
}

void expect_user_error(const std::string& args, const std::string& fragment) {
  Result r = nasx(args);
  EXPECT_EQ(r.code, 2) << args << "\n" << r.out;
  EXPECT_NE(r.out.find(fragment), std::string::npos) << args << "\n" << r.out;
  EXPECT_EQ(r.out.find("internal error"), std::string::npos) << r.out;
}

TEST(Cli, BadInputIsAClearUserError) {
  expect_user_error("conv --in 8,4,4 --out 8 --kernel 7 --check", "larger than the padded input");
  expect_user_error("conv --in 6,8,8 --out 8 --kernel 3 --groups 4 --check", "must divide");
  expect_user_error("conv --in 8,8 --out 8 --kernel 3", "C,H,W");
  expect_user_error("conv --in a,b,c --out 8 --kernel 3", "C,H,W");
  expect_user_error("conv --in 8,8,8, --out 8 --kernel 3", "C,H,W");
  expect_user_error("conv --in 100000,1000,1000 --out 8 --kernel 1", "more than 2^31 elements");
  expect_user_error("conv --in 3,9999999999999,32 --out 8 --kernel 1", "exceeds the limit");
  expect_user_error("conv --in 512,512,512 --out 512 --kernel 3 --batch 4096", "--batch 4096");
  expect_user_error("conv --in 8,,8 --out 8 --kernel 3", "C,H,W");
  expect_user_error("conv --in 64,8,8 --out 64 --kernel 3 --knobs 1,1", "OC_V,OH_T,OW_T");
  expect_user_error("conv --in 8,8,8 --out 0 --kernel 3", "--out: 0 is out of range");
  expect_user_error("conv --in 8,8,8 --out 8 --kernel -3", "--kernel: -3 is out of range");
  expect_user_error("conv --in 8,8,8 --out 8 --kernel 3 --stride 0", "--stride: 0 is out of range");
  expect_user_error("conv --in 8,8,8 --out 8 --kernel 3 --batch 0", "--batch: 0 is out of range");
  expect_user_error("conv --in 8,8,8 --out 8", "--kernel");
  expect_user_error("conv --in 8,8,8 --out 8 --kernel x", "--kernel");
  expect_user_error("frobnicate", "unknown command 'frobnicate'");
  expect_user_error("", "A subcommand is required");
}

std::string temp(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / "nasx-cli-test";
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

// The environment nasx reads: a value it cannot use is exit 2 naming the variable, before any
// work; flags and compilers from it are words given to the compiler, never to a shell.
TEST(Cli, TheEnvironmentIsCheckedAndNeverReachesAShell) {
  namespace fs = std::filesystem;
  struct Case {
    std::string env, fragment;
  };
  std::string pwned = temp("pwned");
  fs::remove(pwned);
  for (const Case& c : {
           Case{"OMP_NUM_THREADS=100000", "OMP_NUM_THREADS='100000' is not valid"},  // was SIGSEGV
           Case{"OMP_NUM_THREADS=abc", "OMP_NUM_THREADS='abc' is not valid"},
           Case{"NASX_NUM_THREADS=0", "NASX_NUM_THREADS='0' is not valid"},
           Case{"NASX_DEVICE=gpu", "NASX_DEVICE='gpu' is not valid: it must be cpu or cuda"},
           Case{"NASX_LOG=loud", "NASX_LOG='loud'"},
           Case{"NASX_DEBUG=2", "NASX_DEBUG='2'"},
           Case{"NASX_ISA=sse9", "NASX_ISA='sse9'"},
           Case{"NASX_CXX='  '", "NASX_CXX='  '"},
           Case{"NASX_CXX=/no/such/compiler", "/no/such/compiler"},
           // Before: run through popen, so `;` ended the compile and ran the next command.
           Case{"NASX_CXXFLAGS='-O3 ; touch " + pwned + " #'",
                "cannot compile even an empty file with NASX_CXXFLAGS="},
           Case{"NASX_CXXFLAGS=--no-such-flag", "NASX_CXXFLAGS='--no-such-flag'"},
           Case{"XDG_CACHE_HOME=/etc/hostname", "cannot create the kernel cache"},
       }) {
    // A layer shape of its own, so the kernel cache cannot answer without the compiler.
    Result r = nasx("conv --in 5,7,7 --out 3 --kernel 3 --check", c.env + " ");
    EXPECT_EQ(r.code, 2) << c.env << "\n" << r.out;
    EXPECT_NE(r.out.find(c.fragment), std::string::npos) << c.env << "\n" << r.out;
    EXPECT_EQ(r.out.find("internal error"), std::string::npos) << c.env << "\n" << r.out;
  }
  EXPECT_FALSE(fs::exists(pwned)) << "a word of NASX_CXXFLAGS ran as a command";
  // Files appended to must be regular files or new: /dev/null would swallow tuning records (and
  // get /dev/null.lock beside it), a FIFO would hang their read.
  std::string fifo = temp("records.fifo");
  fs::remove(fifo);
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  for (const std::string& records : {std::string("/dev/null"), fifo}) {
    Result t = nasx("tune resnet18_cifar --budget 5s --records " + records);
    EXPECT_EQ(t.code, 2) << records << "\n" << t.out;
    EXPECT_NE(t.out.find("will not use " + records + " as a tuning records file: it is a"),
              std::string::npos)
        << t.out;
    EXPECT_FALSE(fs::exists(records + ".lock")) << records;
  }
  fs::remove(fifo);
  // A symbolic link, or a file that holds something else (before: appended to after a warning).
  std::string mine = temp("notes.txt"), link = temp("records-link.jsonl");
  std::ofstream(mine) << "my notes\n";
  fs::remove(link);
  fs::create_symlink(mine, link);
  for (const auto& [records, why] :
       {std::pair<std::string, std::string>{link, "it is a symbolic link"},
        {mine, "its first line is not a tuning record"}}) {
    Result t = nasx("tune resnet18_cifar --budget 5s --records " + records);
    EXPECT_EQ(t.code, 2) << records << "\n" << t.out;
    EXPECT_NE(t.out.find(why), std::string::npos) << t.out;
  }
  std::ifstream back(mine);
  std::string all((std::istreambuf_iterator<char>(back)), std::istreambuf_iterator<char>());
  EXPECT_EQ(all, "my notes\n");
  fs::remove(link);
  fs::remove(mine);
  // Valid values work: a list for OMP_NUM_THREADS, a relative XDG_CACHE_HOME is ignored (the XDG
  // specification), an empty value is unset.
  std::string cwd = temp("relative-xdg");
  fs::create_directories(cwd);
  Result ok = nasx("conv --in 5,7,7 --out 3 --kernel 3 --check",
                   "cd " + cwd + " && HOME=" + cwd +
                       "/home OMP_NUM_THREADS=2,1 NASX_ISA= " + "XDG_CACHE_HOME=rel ");
  EXPECT_EQ(ok.code, 0) << ok.out;
  EXPECT_FALSE(fs::exists(cwd + "/rel")) << "a relative XDG_CACHE_HOME was used";
  EXPECT_TRUE(fs::exists(cwd + "/home/.cache/nasx")) << "the cache is not under HOME";
  fs::remove_all(cwd);
}

// The hostile pass over the newer commands (issue 25): each case exit 2 naming the problem, the
// user's files untouched, nothing half-written. "before:" says what each did.
TEST(Cli, HostilePassOfTheNewerCommands) {
  namespace fs = std::filesystem;
  fs::path d = temp("hostile");
  fs::remove_all(d);
  fs::create_directories(d / "mine");
  std::ofstream(d / "mine" / "report.md") << "my report\n";
  std::ofstream(d / "file") << "x";
  struct Case {
    std::string args, fragment, env = "";  // env: none unless given
  };
  std::string m = (d / "mine").string();
  for (const Case& c : std::vector<Case>{
           // before: trained from scratch without a word
           {"train resnet18_cifar --width 0.25 --data synthetic --epochs 1 --resume --out " +
                (d / "new").string(),
            "holds no checkpoint (no checkpoint.json)"},
           // before: wrote its checkpoint among the user's files
           {"train resnet18_cifar --width 0.25 --data synthetic --epochs 1 --out " + m,
            "holds files that are not a nasx training (report.md)"},
           // before: std::bad_alloc, exit 3
           {"train resnet18_cifar --width 0.25 --data synthetic --epochs 1 --subset 100000000 "
            "--out " +
                (d / "u").string(),
            "100000000 synthetic examples asked for"},
           // before: accepted, every layer clamped to one channel
           {"transform resnet18_cifar --width 0.001 --apply 'conv1: group(1)' --out " +
                (d / "w.json").string(),
            "leaves resnet18_cifar a layer of no channel"},
           // before: a search wrote 13 files there and replaced report.md
           {"search resnet18_cifar --width 0.25 --data synthetic --budget 1m --out " + m,
            "holds report.md but no search (search.json)"},
           // before: ignored / exit 3
           {"export resnet18_cifar --onnx " + (d / "a.onnx").string() + " --save-weights ''",
            "--save-weights: needs a folder"},
           {"export resnet18_cifar --onnx " + (d / "a.onnx").string() + " --save-weights " +
                (d / "file").string(),
            "it exists and is not a directory"},
           {"export resnet18_cifar --onnx " + (d / "a.onnx").string() + " --save-weights " + m,
            "holds report.md, not a weights folder"},
           // before: "cannot write X" without the reason
           {"export resnet18_cifar --onnx " + (d / "no" / "a.onnx").string(),
            "No such file or directory"},
           // before: "18 of 18 kernels tuned"
           {"tune resnet18_cifar --budget 20s --records " + (d / "t.jsonl").string(),
            "every measurement failed", "NASX_WORKER=/bin/true "},
           // before: "1.01x faster" while every timing failed
           {"search resnet18_cifar --width 0.25 --data synthetic --budget 1m --out " +
                (d / "sw").string(),
            "the baseline's kernel", "NASX_WORKER=/bin/true "},
           // before: exit 1 (libgomp out of memory), ignored, ignored
           {"check resnet18_cifar", "NASX_NUM_THREADS='99999999999' is not valid",
            "NASX_NUM_THREADS=99999999999 "},
           {"check resnet18_cifar", "NASX_NUM_THREADS='-4' is not valid", "NASX_NUM_THREADS=-4 "},
           // before: suggested --partial-weights, which eval rejects
           {"eval resnet18_cifar --width 0.25 --data synthetic --weights " + m,
            "only nasx run can go on without them"},
           // an --out that cannot be made: before any work
           {"train resnet18_cifar --width 0.25 --data synthetic --epochs 1 --out /proc/nasx-test",
            "cannot create it"},
           // before: exit 2 but search.json left behind
           {"search resnet18_cifar --width 0.25 --data synthetic --budget 1m --out " +
                (d / "s").string(),
            "cannot create the kernel cache", "XDG_CACHE_HOME=" + (d / "file").string() + " "},
       }) {
    Result r = nasx(c.args, c.env);
    EXPECT_EQ(r.code, 2) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.fragment), std::string::npos) << c.args << "\n" << r.out;
    EXPECT_EQ(r.out.find("internal error"), std::string::npos) << r.out;
  }
  EXPECT_FALSE(fs::exists(d / "new" / "checkpoint.json"));
  // A search made with tuning records that are gone (its identity names them): refused on
  // resume, before any work (before: resumed with other knobs, its timings mixed).
  {
    fs::path id = d / "sw" / "search.json";
    ASSERT_TRUE(fs::exists(id));
    std::ifstream in(id);
    nasx::Json j = nasx::Json::parse(in);
    in.close();
    j["tuning"] = nasx::Json{{"records", "/gone/tuning.jsonl"}, {"entries", 3}, {"digest", "0"}};
    std::ofstream(id) << j.dump(2);
    Result r = nasx("search resnet18_cifar --width 0.25 --data synthetic --budget 1m --out " +
                    (d / "sw").string());
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_NE(r.out.find("made with tuning records"), std::string::npos) << r.out;
  }
  // A tuning record with knobs edited to nonsense: check names the records file (before: "bad
  // knobs" alone).
  {
    std::string cache = "XDG_CACHE_HOME=" + (d / "cache").string() + " ";
    Result tune = nasx("tune resnet18_cifar --budget 3s --variants 1", cache);
    ASSERT_EQ(tune.code, 0) << tune.out;
    fs::path records = d / "cache" / "nasx" / "tuning.jsonl";
    std::ifstream in(records);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()), line,
        edited;
    std::istringstream lines(text);
    while (std::getline(lines, line)) {
      nasx::Json j = nasx::Json::parse(line);
      if (j.contains("choice")) j["choice"] = "9,9";
      edited += j.dump() + "\n";
    }
    std::ofstream(records) << edited;
    Result check = nasx("check resnet18_cifar", cache);
    EXPECT_EQ(check.code, 2) << check.out;
    EXPECT_NE(check.out.find("tuning records " + records.string()), std::string::npos) << check.out;
  }
  // --subset 0 is said, not silent.
  Result said =
      nasx("train resnet18_cifar --width 0.25 --data synthetic --epochs 1 --resume --out " +
           (d / "new").string());
  EXPECT_NE(said.out.find("(the whole training split: --subset 0)"), std::string::npos) << said.out;
  EXPECT_FALSE(fs::exists(d / "s" / "search.json"));
  EXPECT_FALSE(fs::exists(d / "a.onnx"));
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(d / "mine"))
    left.push_back(e.path().filename().string());
  EXPECT_EQ(left, std::vector<std::string>{"report.md"});
  // A previous export --lib folder with a user's file in it is not replaced (before: the file
  // was deleted with the old export).
  fs::create_directories(d / "lib");
  std::ofstream(d / "lib" / "nasx_model.h") << "/* nasx_model.h: generated by nasx export --lib.\n";
  std::ofstream(d / "lib" / "notes.txt") << "mine\n";
  Result lib = nasx("export resnet18_cifar --width 0.125 --lib " + (d / "lib").string());
  EXPECT_EQ(lib.code, 2) << lib.out;
  EXPECT_NE(lib.out.find("holds notes.txt besides the previous export"), std::string::npos)
      << lib.out;
  EXPECT_TRUE(fs::exists(d / "lib" / "notes.txt"));
  // Ctrl-C during --save-weights, wherever it lands: exit 130 (or done), DIR holds none or all of
  // the tensors (before: part of them); the temporary folder beside it goes with the next save.
  {
    std::string w = (d / "w").string();
    std::string out;
    FILE* p = popen(("sh -c '" + std::string(NASX_BINARY_PATH) + " export resnet50 --pytorch " +
                     (d / "w.py").string() + " --save-weights " + w +
                     " >/dev/null 2>&1 & p=$!; sleep 1.5; kill -INT $p; wait $p; echo $?'")
                        .c_str(),
                    "r");
    char buf[64];
    while (fgets(buf, sizeof buf, p)) out += buf;
    pclose(p);
    int code = std::atoi(out.c_str());
    EXPECT_TRUE(code == 130 || code == 0) << out;
    size_t in_dir = 0;
    if (fs::exists(w))
      for (const auto& e : fs::directory_iterator(w)) in_dir += e.path().extension() == ".npy";
    // The next save completes, and removes what the interrupted one left beside it.
    Result full =
        nasx("export resnet50 --pytorch " + (d / "w.py").string() + " --save-weights " + w);
    ASSERT_EQ(full.code, 0) << full.out;
    size_t all = 0;
    for (const auto& e : fs::directory_iterator(w)) all += e.path().extension() == ".npy";
    EXPECT_GT(all, 100u);
    EXPECT_TRUE(in_dir == 0 || in_dir == all) << in_dir << " of " << all << " tensors in " << w;
    for (const auto& e : fs::directory_iterator(d))
      EXPECT_NE(e.path().filename().string().rfind("w.tmp.", 0), 0u) << e.path();
  }
  // A kill -9 during a write leaves PATH.tmp.PID.N; the next write of PATH removes it (before:
  // a 24 MiB temporary stayed for good).
  fs::path orphan = d / "b.onnx.tmp.999999999.1";
  std::ofstream(orphan) << "half";
  Result ok = nasx("export resnet18_cifar --width 0.125 --onnx " + (d / "b.onnx").string());
  EXPECT_EQ(ok.code, 0) << ok.out;
  EXPECT_FALSE(fs::exists(orphan));
  fs::remove_all(d);
}

TEST(Cli, ModelsListsTheZoo) {
  Result r = nasx("models");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("resnet34_cifar"), std::string::npos);
  EXPECT_NE(r.out.find("21,282,122"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("densenet161"), std::string::npos);
}

TEST(Cli, ShowJson) {
  Result r = nasx("show resnet18_cifar --json");
  ASSERT_EQ(r.code, 0) << r.out;
  nasx::Json j = nasx::Json::parse(r.out);
  EXPECT_EQ(j["name"], "resnet18_cifar");
  EXPECT_EQ(j["params"], 11173962);
  EXPECT_EQ(j["input_shape"], nasx::Json::parse("[1,3,32,32]"));
  EXPECT_GT(j["macs"].get<int64_t>(), 0);
  bool found = false;
  for (const auto& l : j["layers"])
    if (l["name"] == "layer1.0.conv1") {
      found = true;
      EXPECT_EQ(l["type"], "conv");
      EXPECT_EQ(l["params"], 64 * 64 * 9);
    }
  EXPECT_TRUE(found);
  Result text = nasx("show resnet18_cifar");
  EXPECT_EQ(text.code, 0);
  EXPECT_NE(text.out.find("layer4.1.conv2"), std::string::npos);
}

TEST(Cli, CheckModel) {
  Result r = nasx("check resnet18_cifar --batch 2 --json");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("\"check\": \"pass\""), std::string::npos) << r.out;
}

TEST(Cli, RunWritesNpyAndBenchReportsLatency) {
  std::string in = temp("x.npy"), out = temp("y.npy");
  nasx::write_npy(in, nasx::Tensor::random_normal({2, 3, 32, 32}, 1));
  std::filesystem::remove(out);
  Result r = nasx("run resnet18_cifar --input " + in + " --output " + out);
  ASSERT_EQ(r.code, 0) << r.out;
  nasx::Tensor y = nasx::read_npy(out);
  EXPECT_EQ(y.shape, (nasx::Shape{2, 10}));

  Result b = nasx("bench resnet18_cifar --repeat 2 --vs torch --json");
  ASSERT_EQ(b.code, 0) << b.out;
  nasx::Json j = nasx::Json::parse(b.out.substr(b.out.find('{')));
  for (const char* key :
       {"latency_ms", "latency_min_ms", "latency_max_ms", "torch_latency_ms", "speedup_vs_torch"})
    EXPECT_TRUE(j.contains(key)) << key << "\n" << b.out;

  // --profile: where a run's time goes, every executed node once, parts within the whole.
  Result p = nasx("bench resnet18_cifar --repeat 3 --profile --json");
  ASSERT_EQ(p.code, 0) << p.out;
  nasx::Json pj = nasx::Json::parse(p.out.substr(p.out.find('{')))["profile"];
  ASSERT_TRUE(pj.is_object()) << p.out;
  EXPECT_GT(pj["steps"].size(), 10u);
  double parts = pj["kernels_ms"].get<double>() + pj["halo_ms"].get<double>() +
                 pj["staging_ms"].get<double>() + pj["output_copy_ms"].get<double>();
  EXPECT_GT(pj["kernels_ms"].get<double>(), 0);
  EXPECT_LE(parts, 1.5 * pj["whole_ms"].get<double>() + 0.1);  // medians of parts, not sums
  std::set<std::string> nodes;
  for (const nasx::Json& st : pj["steps"])
    EXPECT_TRUE(nodes.insert(st["node"].get<std::string>()).second);
  EXPECT_TRUE(pj["kernels_by_op_ms"].contains("fused_conv")) << pj.dump();
  Result text = nasx("bench resnet18_cifar --repeat 2 --profile");
  ASSERT_EQ(text.code, 0) << text.out;
  EXPECT_NE(text.out.find("executor:"), std::string::npos) << text.out;
}

TEST(Cli, RunRejectsBadNpyAndWritesNothing) {
  std::string out = temp("never.npy");
  std::filesystem::remove(out);
  std::string junk = temp("junk.npy"), wrong = temp("wrong.npy"), trunc = temp("trunc.npy");
  std::ofstream(junk) << "not a numpy file";
  nasx::write_npy(wrong, nasx::Tensor::random_normal({1, 3, 16, 16}, 1));
  nasx::write_npy(trunc, nasx::Tensor::random_normal({1, 3, 32, 32}, 1));
  std::filesystem::resize_file(trunc, std::filesystem::file_size(trunc) - 100);
  struct Case {
    std::string input, fragment;
  };
  for (const Case& c : {Case{junk, "not a valid .npy"}, Case{wrong, "expects an input of shape"},
                        Case{trunc, "truncated"}, Case{temp("absent.npy"), "cannot open"}}) {
    Result r = nasx("run resnet18_cifar --input " + c.input + " --output " + out);
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_NE(r.out.find(c.fragment), std::string::npos) << r.out;
    EXPECT_FALSE(std::filesystem::exists(out)) << "nothing may be written on error";
  }
  std::string weights = temp("weights");
  std::filesystem::create_directories(weights);
  nasx::write_npy(weights + "/layer1.0.conv1.weight.npy", nasx::Tensor::random_normal({3}, 1));
  Result w = nasx("run resnet18_cifar --input " + temp("x.npy") + " --output " + out +
                  " --weights " + weights);
  EXPECT_EQ(w.code, 2) << w.out;
  EXPECT_NE(w.out.find("layer1.0.conv1.weight needs [64,64,3,3]"), std::string::npos) << w.out;
  EXPECT_FALSE(std::filesystem::exists(out));

  // A folder with only some tensors names what is missing, unless a partial load is asked for.
  nasx::write_npy(temp("x.npy"), nasx::Tensor::random_normal({1, 3, 32, 32}, 2));
  nasx::write_npy(weights + "/layer1.0.conv1.weight.npy",
                  nasx::Tensor::random_normal({64, 64, 3, 3}, 1));
  nasx::write_npy(weights + "/bn1.num_batches_tracked.npy", nasx::Tensor::random_normal({1}, 1));
  Result some = nasx("run resnet18_cifar --input " + temp("x.npy") + " --output " + out +
                     " --weights " + weights);
  EXPECT_EQ(some.code, 2) << some.out;
  EXPECT_NE(some.out.find("lacks 101 of the 102 parameter tensors"), std::string::npos) << some.out;
  EXPECT_NE(some.out.find("bn1.bias.npy"), std::string::npos) << some.out;
  EXPECT_FALSE(std::filesystem::exists(out));
  Result partial = nasx("run resnet18_cifar --input " + temp("x.npy") + " --output " + out +
                        " --weights " + weights + " --partial-weights");
  EXPECT_EQ(partial.code, 0) << partial.out;
  EXPECT_TRUE(std::filesystem::exists(out));
  std::filesystem::remove(out);
}

TEST(Cli, TransformWritesAnArchEveryCommandAccepts) {
  std::string arch = temp("a.json");
  std::filesystem::remove(arch);
  Result t = nasx("transform resnet34_cifar --apply 'layer2.*.conv1: group(4)' --out " + arch);
  ASSERT_EQ(t.code, 0) << t.out;
  EXPECT_NE(t.out.find("21,282,122 -> 20,895,050"), std::string::npos) << t.out;
  nasx::Json j = nasx::Json::parse(std::ifstream(arch));
  EXPECT_EQ(j["base"], "resnet34_cifar");
  EXPECT_EQ(j["seed"], 0);
  EXPECT_EQ(j["steps"].size(), 1u);
  EXPECT_EQ(j["steps"][0]["layers"].size(), 4u);
  EXPECT_EQ(j["steps"][0]["sequence"], "group(4)");

  Result check = nasx("check " + arch);
  EXPECT_EQ(check.code, 0) << check.out;
  Result show = nasx("show " + arch + " --json");
  ASSERT_EQ(show.code, 0) << show.out;
  EXPECT_EQ(nasx::Json::parse(show.out)["params"], 20895050);
  EXPECT_EQ(nasx("bench " + arch + " --repeat 1").code, 0);

  std::string more = temp("b.json");
  Result again =
      nasx("transform " + arch + " --apply 'layer3.0.conv1: split(2); group([1,2])' --out " + more +
           " --json");
  ASSERT_EQ(again.code, 0) << again.out;
  EXPECT_EQ(nasx::Json::parse(again.out)["params_before"], 20895050);
}

TEST(Cli, TransformBadInputWritesNothing) {
  std::string out = temp("never.json");
  std::filesystem::remove(out);
  struct Case {
    std::string apply, fragment;
  };
  for (const Case& c : {Case{"layer2.*.conv1: grop(4)", "unknown transformation 'grop'"},
                        Case{"layer9.*: group(2)", "no convolution layer"},
                        Case{"layer2.0.conv1: group(3)", "group(3) rejected (not divisible)"},
                        Case{"layer2.0.conv2: bottleneck(2)", "coupled by add"},
                        Case{"layer2.0.conv1 group(2)", "expects 'LAYERS: SEQUENCE'"},
                        Case{"layer2.0.conv1: group(4", "expected ')'"}}) {
    Result r = nasx("transform resnet18_cifar --apply '" + c.apply + "' --out " + out);
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_NE(r.out.find(c.fragment), std::string::npos) << c.apply << "\n" << r.out;
    EXPECT_FALSE(std::filesystem::exists(out)) << c.apply;
  }
  std::string bad = temp("bad.json");
  std::ofstream(bad) << "{\"format\": \"nasx-arch\", \"version\": 1}";
  expect_user_error("check " + bad, "malformed architecture file");
  expect_user_error("transform resnet18_cifar --apply 'conv1: group(1)' --out x.txt",
                    "--out must name a .json file");
}

TEST(Cli, FisherAndLegal) {
  Result f = nasx("fisher resnet18_cifar --data synthetic --batch 8 --json");
  ASSERT_EQ(f.code, 0) << f.out;
  nasx::Json j = nasx::Json::parse(f.out);
  EXPECT_EQ(j["proxy"], "fisher");
  EXPECT_GT(j["total"].get<double>(), 0);
  ASSERT_EQ(j["blocks"].size(), 8u);
  EXPECT_EQ(j["blocks"][0]["name"], "layer1.0");
  EXPECT_TRUE(j["blocks"][0].contains("value"));
  Result again = nasx("fisher resnet18_cifar --data synthetic --batch 8 --json");
  EXPECT_EQ(nasx::Json::parse(again.out)["total"], j["total"]) << "deterministic";

  std::string arch = temp("legal.json");
  ASSERT_EQ(nasx("transform resnet18_cifar --apply 'layer2.1.conv1: group(2)' --out " + arch).code,
            0);
  Result low =
      nasx("legal " + arch + " --data synthetic --batch 8 --rule paired-fisher --tau 0.01 --json");
  EXPECT_EQ(low.code, 0) << low.out;
  nasx::Json l = nasx::Json::parse(low.out);
  EXPECT_EQ(l["legal"], true);
  EXPECT_EQ(l["layers"][0]["name"], "layer2.1.conv1");
  EXPECT_EQ(l["layers"][0]["by"], "layer2.1");
  EXPECT_EQ(l["rule"]["name"], "custom");  // a named rule with tau overridden
  ASSERT_EQ(l["judged"].size(), 2u);       // the block and the network
  for (const nasx::Json& j : l["judged"]) {
    EXPECT_EQ(j["ratios"].size(), l["rule"]["samples"].get<size_t>()) << j.dump();
    EXPECT_TRUE(j["legal"].get<bool>()) << j.dump();
  }
  Result high = nasx("legal " + arch + " --data synthetic --batch 8 --tau 100 --scope network");
  EXPECT_EQ(high.code, 1) << high.out;
  EXPECT_NE(high.out.find("ILLEGAL"), std::string::npos) << high.out;
  // The default, calibrated by training: Fisher and SNIP must both pass on the network's total.
  Result d = nasx("legal " + arch + " --data synthetic --batch 8 --json");
  ASSERT_TRUE(d.code == 0 || d.code == 1) << d.out;
  nasx::Json dj = nasx::Json::parse(d.out);
  EXPECT_EQ(dj["rule"]["name"], "calibrated");
  ASSERT_EQ(dj["judged"].size(), 2u) << d.out;
  EXPECT_EQ(dj["judged"][0]["name"], "fisher:network");
  EXPECT_EQ(dj["judged"][1]["name"], "snip:network");
  EXPECT_EQ(dj["judged"][0]["ratios"].size(), 3u);
  // The paper's rule by name: Fisher, one sample, the network's total.
  Result paper = nasx("legal " + arch + " --data synthetic --batch 8 --rule paper --json");
  ASSERT_TRUE(paper.code == 0 || paper.code == 1) << paper.out;
  nasx::Json p = nasx::Json::parse(paper.out);
  EXPECT_EQ(p["rule"]["name"], "paper");
  ASSERT_EQ(p["judged"].size(), 1u);
  EXPECT_EQ(p["judged"][0]["name"], "network");
  EXPECT_EQ(p["judged"][0]["ratios"].size(), 1u);
  expect_user_error("legal " + arch + " --rule lenient", "unknown legality rule 'lenient'");
  expect_user_error("legal " + arch + " --proxy fisher,zen", "unknown proxy 'zen'");
}

TEST(Cli, ProxyCommandsRejectBadInput) {
  expect_user_error("fisher resnet18_cifar --proxy zen", "unknown proxy 'zen'");
  expect_user_error("fisher resnet18_cifar --data cifar10:/no/such/dir", "does not exist");
  expect_user_error("fisher resnet18_cifar --data fashion-mnist:/etc/hostname",
                    "is not a directory");
  // Paths of the wrong kind where a file is read: named, never read (a FIFO would hang).
  std::filesystem::create_directories("dir.json");
  expect_user_error("show dir.json", "cannot read dir.json: it is a directory");
  std::filesystem::remove("dir.json");
  // A whole network beyond this machine's memory: refused before anything is allocated.
  expect_user_error("check resnet50 --image-size 4096 --batch 64", "MiB of activations");
  expect_user_error("fisher resnet18_cifar --data fashion-mnist:/no/such/dir", "does not exist");
  expect_user_error("fisher resnet18_cifar --data imagenet", "unknown dataset 'imagenet'");
  expect_user_error("fisher resnet18_cifar --data synthetic --batch 0",
                    "--batch: 0 is out of range");
  std::string bad = temp("bad-fmnist");
  std::filesystem::create_directories(bad);
  std::ofstream(bad + "/train-images-idx3-ubyte.gz") << "not gzip at all";
  std::ofstream(bad + "/train-labels-idx1-ubyte.gz") << "not gzip at all";
  expect_user_error("fisher resnet18_cifar --data fashion-mnist:" + bad,
                    "train-images-idx3-ubyte.gz is corrupt or truncated (gzip: incorrect header");
  expect_user_error("legal resnet18_cifar", "takes an architecture file");
  std::string arch = temp("legal2.json");
  ASSERT_EQ(nasx("transform resnet18_cifar --apply 'layer2.1.conv1: group(2)' --out " + arch).code,
            0);
  expect_user_error("legal " + arch + " --scope everywhere --data synthetic", "--scope must be");
  expect_user_error("legal " + arch + " --tau -1 --data synthetic", "-1 is out of range (0, 100]");
  expect_user_error("legal " + arch + " --tau inf --data synthetic",
                    "'inf' is not a finite number");
  expect_user_error("legal " + arch + " --tau nan --data synthetic",
                    "'nan' is not a finite number");
}

TEST(Cli, ModelCommandsRejectBadInput) {
  for (const char* cmd : {"show", "check", "bench"})
    expect_user_error(std::string(cmd) + " resnet19", "unknown model 'resnet19'");
  expect_user_error("check resnet18_cifar --batch 0", "--batch: 0 is out of range");
  expect_user_error("bench resnet18_cifar --batch -1", "--batch: -1 is out of range");
  expect_user_error("bench resnet18_cifar --vs tvm", "--vs accepts 'torch'");
  expect_user_error("bench resnet18_cifar --repeat 0", "--repeat: 0 is out of range");
  expect_user_error("show", "model is required");
  expect_user_error("run resnet18_cifar --output y.npy", "--input is required");
}

}  // namespace

namespace {

// nasx train / eval as a user runs them: a short run, its checkpoint evaluated by LibTorch and by
// the compiled runtime (within 0.1 point), and the bad inputs that must be exit code 2.
TEST(Cli, TrainEvalAndTheirBadInput) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / "nasx_cli_train";
  fs::remove_all(dir);
  std::string ck = (dir / "ck").string();
  Result t = nasx(
      "train resnet18_cifar --width 0.125 --epochs 1 --subset 128 --test-subset 64 "
      "--batch 32 --json --out " +
      ck);
  ASSERT_EQ(t.code, 0) << t.out;
  EXPECT_NE(t.out.find("test accuracy"), std::string::npos) << t.out;  // progress on stderr
  auto accuracy = [&](const std::string& extra) {
    Result r =
        nasx("eval resnet18_cifar --width 0.125 --json --weights " + ck + extra, "NASX_LOG=error ");
    EXPECT_EQ(r.code, 0) << r.out;
    return nasx::Json::parse(r.out)["test_accuracy"].get<double>();
  };
  double lt = accuracy(""), compiled = accuracy(" --compiled");
  EXPECT_LE(std::abs(lt - compiled), 0.1) << lt << " vs " << compiled;
  // The checkpoint knows its width: eval, run and export need no --width.
  Result plain = nasx("eval resnet18_cifar --json --weights " + ck, "NASX_LOG=error ");
  ASSERT_EQ(plain.code, 0) << plain.out;
  EXPECT_EQ(nasx::Json::parse(plain.out)["test_accuracy"].get<double>(), lt);
  nasx::write_npy((dir / "x.npy").string(), nasx::Tensor::random_normal({1, 3, 32, 32}, 3));
  Result run = nasx("run resnet18_cifar --weights " + ck + " --input " + (dir / "x.npy").string() +
                    " --output " + (dir / "y.npy").string());
  EXPECT_EQ(run.code, 0) << run.out;
  Result exp =
      nasx("export resnet18_cifar --weights " + ck + " --onnx " + (dir / "m.onnx").string());
  EXPECT_EQ(exp.code, 0) << exp.out;

  struct Case {
    std::string args, message;
  };
  fs::create_directories(dir / "corrupt");
  std::ofstream(dir / "corrupt" / "checkpoint.json") << "{\"format\": \"nasx-checkpoint\", \"epo";
  for (const Case& c : std::vector<Case>{
           {"train resnet18_cifar --width 0.125 --epochs 1 --data fashion-mnist:/nonexistent "
            "--out " +
                (dir / "x").string(),
            "Fashion-MNIST directory /nonexistent does not exist"},
           {"eval resnet18_cifar --width 0.125 --weights " + (dir / "corrupt").string(),
            "corrupt checkpoint"},
           {"eval resnet18_cifar --width 0.25 --weights " + ck,
            "was trained at --width 0.125, not 0.25"},
           {"eval resnet34_cifar --weights " + ck, "is a checkpoint of resnet18_cifar"},
           {"train resnet18_cifar --width 0.125 --epochs 1 --subset 128 --out " + ck,
            "already holds a checkpoint"},
           {"train resnet18_cifar --width 0.125 --epochs 2 --subset 128 --resume --out " + ck,
            "other options"},
           {"train resnet18_cifar --width 0 --out " + ck, "--width: 0 is out of range"},
           {"train resnet18_cifar --lr nan --out " + ck, "--lr: 'nan' is not a finite number"}}) {
    Result r = nasx(c.args);
    EXPECT_EQ(r.code, 2) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.message), std::string::npos) << c.args << "\n" << r.out;
  }
  EXPECT_FALSE(fs::exists(dir / "x" / "checkpoint.json"));

  // nasx verify: the original with 2 seeds and the transformed network, one verdict.
  std::string arch = (dir / "g.json").string(), v = (dir / "v").string();
  ASSERT_EQ(nasx("transform resnet18_cifar --width 0.0625 --apply 'layer1.*.conv1: group(2)' "
                 "--out " +
                 arch)
                .code,
            0);
  const std::string recipe = " --data synthetic --epochs 1 --subset 64 --test-subset 32 --batch 32";
  Result ver = nasx("verify " + arch + recipe + " --seeds 2 --json --out " + v, "NASX_LOG=error ");
  ASSERT_EQ(ver.code, 0) << ver.out;
  nasx::Json j = nasx::Json::parse(ver.out);
  EXPECT_EQ(j["original"].size(), 2u);
  EXPECT_EQ(j["transformed"].size(), 1u);
  EXPECT_TRUE(j["verdict"] == "within noise" || j["verdict"] == "kept" || j["verdict"] == "lost");
  Result twice = nasx("verify " + arch + recipe + " --seeds 2 --out " + v);
  EXPECT_EQ(twice.code, 0) << twice.out;
  EXPECT_NE(twice.out.find(j["verdict"].get<std::string>() + ": "), std::string::npos) << twice.out;
  for (const Case& c : std::vector<Case>{
           {"verify resnet18_cifar --out " + v, "verify takes an ARCH.json"},
           {"verify " + arch + recipe + " --seeds 3 --out " + v, "verification of another seeds"},
           {"verify " + arch + " --seeds 0 --out " + v, "--seeds: 0 is out of range"},
           {"verify " + arch + recipe + " --out " + ck, "holds no nasx verification"},
           {"verify " + (dir / "missing.json").string(), "missing.json"}}) {
    Result r = nasx(c.args);
    EXPECT_EQ(r.code, 2) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.message), std::string::npos) << c.args << "\n" << r.out;
  }
  fs::remove_all(dir);
}

}  // namespace

namespace {

// nasx export --pytorch: the generated module, run by Debian's python3-torch on the weights nasx
// wrote, gives nasx's output (split, peeled, row-tiled, bottlenecked, grouped and depthwise
// convolutions all in one network), and it trains (every parameter gets a gradient).
TEST(Cli, ExportedPyTorchModuleMatchesNasx) {
  namespace fs = std::filesystem;
  const std::string py = "/usr/bin/python3";
  if (std::system((py + " -c 'import torch, numpy' 2>/dev/null").c_str()) != 0)
    GTEST_SKIP() << "Debian's python3-torch is not installed (scripts/install-deps.sh installs it)";
  fs::path dir = fs::temp_directory_path() / "nasx_cli_export";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string d = dir.string();
  Result t = nasx("transform resnet18_cifar --width 0.125 --out " + d +
                  "/a.json"
                  " --apply 'layer1.*.conv1: split(2); group([2,4])'"
                  " --apply 'layer2.*.conv1: peel(4); group(4)'"
                  " --apply 'layer3.0.conv1: spatial_split(2)'"
                  " --apply 'layer4.*.conv1: bottleneck(2); group(2)'"
                  " --apply 'layer3.1.conv2: depthwise'");
  ASSERT_EQ(t.code, 0) << t.out;
  Result e =
      nasx("export " + d + "/a.json --pytorch " + d + "/model.py --save-weights " + d + "/w");
  ASSERT_EQ(e.code, 0) << e.out;
  nasx::Tensor x = nasx::Tensor::random_normal({2, 3, 32, 32}, 7);
  nasx::write_npy(d + "/x.npy", x);
  Result r = nasx("run " + d + "/a.json --input " + d + "/x.npy --output " + d +
                  "/y.npy --weights " + d + "/w");
  ASSERT_EQ(r.code, 0) << r.out;
  std::string script =
      "import sys, numpy as np, torch\n"
      "sys.path.insert(0, '" +
      d +
      "')\n"
      "import model\n"
      "m = model.load_npy(model.Net(), '" +
      d +
      "/w').eval()\n"
      "x = torch.from_numpy(np.load('" +
      d +
      "/x.npy'))\n"
      "y = m(x).detach().numpy(); ref = np.load('" +
      d +
      "/y.npy')\n"
      "err = float(np.abs(y - ref).max() / np.abs(ref).max())\n"
      "m.train(); m(x).sum().backward()\n"
      "grads = all(p.grad is not None for p in m.parameters())\n"
      "print(err, grads, sum(p.numel() for p in m.parameters()))\n";
  std::ofstream(dir / "check.py") << script;
  FILE* p = popen((py + " " + d + "/check.py 2>&1").c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ASSERT_EQ(pclose(p), 0) << out;
  double err = 1;
  char grads[16] = {0};
  long long params = 0;
  ASSERT_EQ(std::sscanf(out.c_str(), "%lf %15s %lld", &err, grads, &params), 3) << out;
  EXPECT_LE(err, 1e-5) << out;
  EXPECT_STREQ(grads, "True") << out;
  Result show = nasx("show " + d + "/a.json --json", "NASX_LOG=error ");
  EXPECT_EQ(params, nasx::Json::parse(show.out)["params"].get<long long>());
  EXPECT_EQ(nasx("export " + d + "/a.json --pytorch " + d + "/m.txt").code, 2);
  fs::remove_all(dir);
}

}  // namespace
