// .npy reading and output files at the edges: a FIFO or a directory is refused without reading
// (never a hang), headers are checked before data, shapes are bounded before allocation, and
// only regular files or new paths are written.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "support/error.h"
#include "support/file.h"
#include "support/npy.h"

namespace nasx {
namespace {
namespace fs = std::filesystem;

class Npy : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("nasx-npy-test-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string file(const std::string& name) { return (dir_ / name).string(); }
  // A version-1 .npy with this header dictionary and `data_bytes` zero bytes of data.
  std::string with_header(const std::string& name, std::string dict, size_t data_bytes) {
    std::string bytes = "\x93NUMPY";
    bytes += char(1);
    bytes += char(0);
    dict += "\n";
    bytes += char(dict.size() & 0xff);
    bytes += char(dict.size() >> 8);
    bytes += dict + std::string(data_bytes, '\0');
    std::ofstream(file(name), std::ios::binary) << bytes;
    return file(name);
  }
  std::string error_of(const std::string& path) {
    try {
      read_npy(path);
    } catch (const UserError& e) {
      return e.what();
    }
    return "no error";
  }
  fs::path dir_;
};

TEST_F(Npy, StreamsAndDirectoriesAreRefusedWithoutReading) {
  alarm(20);  // reading the FIFO would block forever: a regression ends the test, not CI
  std::string fifo = file("stream.npy");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_NE(error_of(fifo).find("not a regular file"), std::string::npos) << error_of(fifo);
  EXPECT_NE(error_of(dir_.string()).find("is a directory"), std::string::npos);
  EXPECT_NE(error_of(file("absent.npy")).find("no such file"), std::string::npos);
  alarm(0);
}

TEST_F(Npy, HeadersAreCheckedAndNamed) {
  EXPECT_NE(error_of(with_header("a.npy", "{'descr': '<f4', 'fortran_order': False, }", 0))
                .find("no shape"),
            std::string::npos);
  EXPECT_NE(error_of(with_header("b.npy", "{'descr': '<f4', 'shape': (2,), }", 8))
                .find("no fortran_order"),
            std::string::npos);
  EXPECT_NE(error_of(with_header("c.npy",
                                 "{'descr': '<f4', 'fortran_order': False, 'shape': "
                                 "(2,x), }",
                                 8))
                .find("unreadable shape"),
            std::string::npos);
  // A shape whose size overflows is refused before anything is allocated.
  std::string huge = with_header("d.npy",
                                 "{'descr': '<f4', 'fortran_order': False, 'shape': "
                                 "(4294967296, 4294967296), }",
                                 0);
  EXPECT_NE(error_of(huge).find("the most nasx reads"), std::string::npos) << error_of(huge);
  // The data size is checked against the file's size, in both directions.
  std::string oversized =
      with_header("e.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 12);
  EXPECT_NE(error_of(oversized).find("needs 8 bytes, the file holds 12"), std::string::npos)
      << error_of(oversized);
  Tensor t({2, 3});
  t.data = {1, 2, 3, 4, 5, 6};
  write_npy(file("ok.npy"), t);
  EXPECT_EQ(read_npy(file("ok.npy")).data, t.data);
}

TEST_F(Npy, OnlyRegularFilesOrNewPathsAreWritten) {
  std::string fifo = file("out.fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  Tensor t({1});
  EXPECT_THROW(write_npy(fifo, t), UserError);
  EXPECT_TRUE(fs::is_fifo(fifo));  // still the FIFO
  fs::create_symlink(file("target.npy"), file("link.npy"));
  EXPECT_THROW(write_npy(file("link.npy"), t), UserError);
  EXPECT_THROW(write_npy(dir_.string(), t), UserError);
  write_npy(file("new.npy"), t);  // a new path
  write_npy(file("new.npy"), t);  // a regular file, replaced
  EXPECT_TRUE(fs::is_regular_file(file("new.npy")));
}

}  // namespace
}  // namespace nasx
