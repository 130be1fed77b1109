// nasx search as a user runs it: a tiny search killed mid-run and resumed gives the same
// candidates and verdicts as an uninterrupted one with the same seed, repeating no legality check;
// its arch.json passes nasx check and nasx legal; a crashing candidate is recorded and skipped;
// a different command line on the same directory and bad options are clear errors (exit 2).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "run_nasx.h"
#include "search/report.h"
#include "support/file_lock.h"
#include "support/journal.h"
#include "support/json.h"

namespace {

namespace fs = std::filesystem;
using nasx::Json;
using nasx::testing::nasx;
using nasx::testing::Result;

// resnet18_cifar, two layers and their coupled class left alone, tiny proxy batches: a search
// that explores everything it is given well within its budget.
const std::string kTiny =
    "search resnet18_cifar --layers 'layer4.1.conv1,layer3.0.downsample.0' --data synthetic "
    "--batch 8 --samples 2 --max-len 2 --judges-per-layer 3 --budget 10m --seed 5";

fs::path dir_for(const std::string& name) {
  fs::path d =
      fs::temp_directory_path() / ("nasx-search-cli-" + name + "-" + std::to_string(getpid()));
  fs::remove_all(d);
  return d;
}

Json report(const fs::path& d) {
  std::ifstream f(d / "report.json");
  return Json::parse(f);
}

// The verdicts of a journal (the lines beside them hold the references' values).
std::vector<Json> verdict_lines(const fs::path& d) {
  std::vector<Json> out;
  for (const Json& l : nasx::JsonLines((d / "verdicts.jsonl").string()).read_all())
    if (l.contains("key")) out.push_back(l);
  return out;
}

// What must not depend on timing: the candidates judged and their verdicts.
std::vector<std::string> trials(const Json& r) {
  std::vector<std::string> out;
  for (const Json& t : r["trials"])
    out.push_back(t["move"].get<std::string>() + " " + t["verdict"].dump());
  return out;
}

TEST(SearchCli, KilledAndResumedEqualsUninterruptedAndNothingIsJudgedTwice) {
  fs::path whole = dir_for("whole"), killed = dir_for("killed");
  Result a = nasx(kTiny + " --json --out " + whole.string());
  ASSERT_EQ(a.code, 0) << a.out;
  Json ra = report(whole);
  ASSERT_GE(ra["trials"].size(), 3u);
  // The records this run decided with, kept before --continue below appends fresh ones.
  fs::create_directories(killed);
  fs::copy_file(whole / "records.jsonl", killed / "records.jsonl");
  fs::copy_file(whole / "baseline.json", killed / "baseline.json");
  EXPECT_EQ(ra["counts"]["verdicts_computed"].get<int64_t>(),
            static_cast<int64_t>(verdict_lines(whole).size()));
  for (const char* f :
       {"arch.json", "report.json", "report.md", "speedup.png", "pareto.png", "trajectory.png"})
    EXPECT_TRUE(fs::exists(whole / f)) << f;
  // The report is a typed value: report.json reads back into the struct and writes the same.
  EXPECT_EQ(nasx::SearchReport::from_json(ra).to_json(), ra);
  // Legal by construction: the guard never had to back off.
  EXPECT_FALSE(ra["backoff_acted"].get<bool>());
  EXPECT_EQ(ra["runs"].get<int>(), 1);

  // The same command on the finished folder answers at once: the result, no budget spent.
  Result again = nasx(kTiny + " --json --out " + whole.string());
  ASSERT_EQ(again.code, 0) << again.out;
  EXPECT_NE(again.out.find("finished earlier"), std::string::npos) << again.out;
  EXPECT_EQ(verdict_lines(whole).size(), size_t(ra["counts"]["verdicts_computed"].get<int64_t>()));
  EXPECT_EQ(report(whole), ra);  // nothing rewritten
  // --width 1 is the default width: the same search (before: "a different command line").
  Result width1 = nasx(kTiny + " --width 1 --json --out " + whole.string());
  EXPECT_EQ(width1.code, 0) << width1.out;
  EXPECT_NE(width1.out.find("finished earlier"), std::string::npos) << width1.out;
  // --continue explores further with a fresh budget, and the report counts the runs.
  Result more = nasx(kTiny + " --continue --out " + whole.string());
  ASSERT_EQ(more.code, 0) << more.out;
  EXPECT_NE(more.out.find("continuing the finished search"), std::string::npos) << more.out;
  Json rm = report(whole);
  EXPECT_EQ(rm["runs"].get<int>(), 2);
  EXPECT_GT(rm["seconds_all_runs"].get<double>(), ra["seconds_all_runs"].get<double>());
  EXPECT_EQ(trials(rm),
            trials(ra));  // the budget did not bind: the same verdicts, from the journal

  // Files of the folder that are not what a search wrote: a FIFO or a directory is refused
  // (before: the read of a FIFO hung), a corrupt finished.json is said and the search resumed.
  {
    fs::path odd = dir_for("odd");
    fs::copy(whole, odd, fs::copy_options::recursive);
    fs::remove(odd / "finished.json");
    fs::remove(odd / "baseline.json");
    ASSERT_EQ(mkfifo((odd / "baseline.json").c_str(), 0600), 0);
    Result fifo = nasx(kTiny + " --out " + odd.string());
    EXPECT_EQ(fifo.code, 2) << fifo.out;
    EXPECT_NE(fifo.out.find("baseline.json: it is not a regular file"), std::string::npos)
        << fifo.out;
    fs::remove(odd / "baseline.json");
    fs::remove(odd / "records.jsonl");
    fs::create_directory(odd / "records.jsonl");
    Result dir = nasx(kTiny + " --out " + odd.string());
    EXPECT_EQ(dir.code, 2) << dir.out;
    EXPECT_NE(dir.out.find("records.jsonl as a JSON-lines file: it is a directory"),
              std::string::npos)
        << dir.out;
    fs::remove_all(odd);
    fs::copy(whole, odd, fs::copy_options::recursive);
    std::ofstream(odd / "finished.json") << "{torn";
    Result torn = nasx(kTiny + " --out " + odd.string());
    EXPECT_EQ(torn.code, 0) << torn.out;
    EXPECT_NE(torn.out.find("finished.json is corrupt: the search is resumed as unfinished"),
              std::string::npos)
        << torn.out;
    EXPECT_EQ(trials(report(odd)), trials(ra));
    fs::remove_all(odd);
  }
  // A finished search's report.json edited to a wrong type: exit 2 naming file and key (before:
  // read as NaN, "nanx faster").
  {
    fs::path edited = dir_for("edited");
    fs::copy(whole, edited, fs::copy_options::recursive);
    Json r = report(edited);
    r["speedup"] = "fast";
    std::ofstream(edited / "report.json") << r.dump();
    Result bad = nasx(kTiny + " --out " + edited.string());
    EXPECT_EQ(bad.code, 2) << bad.out;
    EXPECT_NE(bad.out.find("report.json: \"speedup\" must be a number, got \"fast\""),
              std::string::npos)
        << bad.out;
    fs::remove_all(edited);
  }

  // Decisions follow from the seed and the measurements: the killed search gets the same kernel
  // records (a resumed search on one machine reads its own), so it must decide the same.
  // (records.jsonl and baseline.json were copied above, as the first run left them: the
  // --continue run re-measured its baselines, and under load another time may order moves
  // differently.)
  Result k = nasx(kTiny + " --out " + killed.string(), "NASX_TEST_KILL_AFTER_VERDICTS=2 ");
  EXPECT_EQ(k.code, 128 + 9) << k.out;  // SIGKILL: nothing cleaned up
  EXPECT_FALSE(fs::exists(killed / "report.json"));
  EXPECT_EQ(verdict_lines(killed).size(), 2u);
  Result resumed = nasx(kTiny + " --out " + killed.string());
  ASSERT_EQ(resumed.code, 0) << resumed.out;
  EXPECT_NE(resumed.out.find("resuming"), std::string::npos) << resumed.out;
  Json rk = report(killed);
  EXPECT_EQ(trials(rk), trials(ra));  // same seed: same candidates, same verdicts
  std::vector<Json> lines = verdict_lines(killed);
  std::set<std::string> keys;
  for (const Json& l : lines) EXPECT_TRUE(keys.insert(l["key"].get<std::string>()).second);
  EXPECT_EQ(rk["counts"]["verdicts_computed"].get<int64_t>() + 2,
            static_cast<int64_t>(lines.size()));

  // The result replays through the other commands.
  std::string arch = (killed / "arch.json").string();
  Result check = nasx("check " + arch);
  EXPECT_EQ(check.code, 0) << check.out;
  Result legal = nasx("legal " + arch + " --data synthetic --batch 8");
  EXPECT_TRUE(legal.code == 0 || legal.code == 1) << legal.out;  // a verdict, not an error
  EXPECT_NE(legal.out.find("network"), std::string::npos) << legal.out;

  // Another command line on the same directory is refused before any work.
  Result other = nasx(kTiny + " --tau 0.9 --out " + killed.string());
  EXPECT_EQ(other.code, 2) << other.out;
  EXPECT_NE(other.out.find("different command line"), std::string::npos) << other.out;
  fs::remove_all(whole);
  fs::remove_all(killed);
}

// A rule tight enough that only a few choices fit: every verdict judges the network with the
// choices so far, so the result is legal as explored (the guard never acts), stage-wide moves are
// among the candidates, and nasx legal agrees with the search.
TEST(SearchCli, TightRuleReturnsALegalNetworkWithoutBackOff) {
  fs::path d = dir_for("tight");
  std::string args =
      "search resnet18_cifar --layers 'layer1.*,layer2.*' --data synthetic --batch 8 "
      "--samples 2 --tau 0.97 --max-len 1 --judges-per-layer 1 --budget 10m --seed 2 --out " +
      d.string();
  Result r = nasx(args + " --json");
  ASSERT_EQ(r.code, 0) << r.out;
  Json rep = report(d);
  EXPECT_FALSE(rep["backoff_acted"].get<bool>());
  EXPECT_GE(rep["counts"]["illegal"].get<int64_t>(), 1) << "the rule should refuse some moves";
  bool stage = false, network = false;
  for (const Json& t : rep["trials"]) {
    stage = stage || t["level"] == "stage";
    network = network || t["level"] == "network";
  }
  EXPECT_TRUE(stage);
  EXPECT_TRUE(network);
  // Each accepted choice kept the network legal in context: its ratio after is at least tau.
  for (const Json& c : rep["choices"]) EXPECT_GE(c["ratio_after"].get<double>(), 0.97) << c.dump();
  if (!rep["choices"].empty()) {
    EXPECT_TRUE(rep["final_verdict"]["legal"].get<bool>());
    Result legal = nasx("legal " + (d / "arch.json").string() +
                        " --data synthetic --batch 8 --samples 2 --tau 0.97");
    EXPECT_EQ(legal.code, 0) << legal.out;
  }
  fs::remove_all(d);
}

TEST(SearchCli, CrashingCandidateIsRecordedAndSkipped) {
  fs::path d = dir_for("crash");
  Result r = nasx(kTiny + " --out " + d.string(), "NASX_TEST_FAULT='crash:*' ");
  ASSERT_EQ(r.code, 0) << r.out;
  Json rep = report(d);
  EXPECT_GE(rep["counts"]["failed"].get<int64_t>(), 1);
  EXPECT_EQ(rep["counts"]["timed"].get<int64_t>(), 0);
  EXPECT_TRUE(rep["choices"].empty());
  bool crashed = false;
  for (const Json& t : rep["trials"])
    if (t.contains("timing"))
      crashed =
          crashed || t["timing"]["error"].get<std::string>().find("signal 11") != std::string::npos;
  EXPECT_TRUE(crashed) << rep["trials"].dump();
  std::ifstream md(d / "report.md");
  std::string text((std::istreambuf_iterator<char>(md)), {});
  EXPECT_NE(text.find("Failed candidates"), std::string::npos);
  fs::remove_all(d);
}

TEST(SearchCli, BadInputIsAClearErrorAndWritesNothingBeforeTheWorkStarts) {
  fs::path d = dir_for("bad");
  struct Case {
    std::string args, message;
  };
  std::vector<Case> cases{
      {"search resnet18_cifar --budget 0", "--budget must be positive"},
      {"search resnet18_cifar --budget 5x", "unknown unit"},
      // Before: all three read as a budget (1000 s, 0 then unit 'x'... , 4 minutes).
      {"search resnet18_cifar --budget 1e3s", "unknown unit 'e'"},
      {"search resnet18_cifar --budget 0x10s", "unknown unit 'x'"},
      {"search resnet18_cifar --budget 1m1m1m1m", "each unit once, in the order h, m, s"},
      {"search resnet18_cifar --budget 2m30", "a number without its unit"},
      // Before: searched no unit and reported a speedup.
      {"search resnet18_cifar --layers ''", "no layer pattern given"},
      {"search resnet18_cifar --layers 'layer1.*,,layer2.*'", "an empty layer pattern"},
      {"search resnet18_cifar --max-len 5", "--max-len"},
      {"search resnet18_cifar --scope everywhere", "--scope"},
      {"search resnet18_cifar --tau inf", "--tau"},
      {"search resnet18_cifar --seed -1", "--seed"},
      {"search resnet18_cifar --samples 0", "--samples"},
      {"search resnet18_cifar --proxy magic", "unknown proxy"},
      {"search resnet18_cifar --data synthetic:x", "synthetic data takes no argument"},
      {"search resnet18_cifar --layers 'nosuch.*'", "no convolution layer"},
      {"search no_such_model", "no_such_model"},
  };
  for (const Case& c : cases) {
    Result r = nasx(c.args + " --out " + d.string());
    EXPECT_EQ(r.code, 2) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.message), std::string::npos) << c.args << "\n" << r.out;
    EXPECT_FALSE(fs::exists(d)) << c.args;
  }
  // An output path that is a file is reported before any work starts.
  fs::path file = dir_for("file");
  std::ofstream(file) << "x";
  Result r = nasx("search resnet18_cifar --out " + file.string());
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("not a directory"), std::string::npos) << r.out;
  fs::remove(file);
  // A budget too small to time the baseline (the directory keeps the baseline for a retry).
  Result tiny = nasx("search resnet18_cifar --budget 0.001s --out " + d.string());
  EXPECT_EQ(tiny.code, 2) << tiny.out;
  EXPECT_NE(tiny.out.find("too small"), std::string::npos) << tiny.out;
  EXPECT_FALSE(fs::exists(d / "report.json"));
  fs::remove_all(d);
}

// One search per folder and one tuning per records file at a time: while another process holds
// the folder (or the file), a second one is refused before it writes anything.
TEST(SearchCli, SecondSearchOnAFolderInUseIsRefused) {
  fs::path d = dir_for("busy");
  fs::create_directories(d);
  nasx::FileLock held((d / ".nasx-lock").string(), "the test's folder");
  Result r = nasx(kTiny + " --out " + d.string());
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("is in use by another nasx process (pid " + std::to_string(getpid())),
            std::string::npos)
      << r.out;
  EXPECT_FALSE(fs::exists(d / "search.json"));
  fs::path records = d / "tuning.jsonl";
  nasx::FileLock tuning(records.string() + ".lock", "the test's records");
  Result t = nasx("tune resnet18_cifar --budget 5s --records " + records.string());
  EXPECT_EQ(t.code, 2) << t.out;
  EXPECT_NE(t.out.find("in use by another nasx process"), std::string::npos) << t.out;
  fs::remove_all(d);
}

}  // namespace
