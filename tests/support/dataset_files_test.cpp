// The dataset file parsers on bytes: gzip (round trip, truncation, the decompression bound), IDX
// and CIFAR-10 (valid files, and each way they can be wrong).
#include "support/dataset_files.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include "support/error.h"

namespace nasx {
namespace {

std::string gzip(const std::string& data) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, data.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string be32(uint32_t v) {
  return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
}

template <class F>
std::string user_error_of(F f) {
  try {
    f();
  } catch (const UserError& e) {
    return e.what();
  }
  return "no error";
}

TEST(DatasetFiles, GunzipRoundTripTruncationAndBound) {
  std::string data;
  for (int i = 0; i < 100000; ++i) data += char(i * 7);
  EXPECT_EQ(gunzip(gzip(data), "x", 1 << 20), data);
  EXPECT_EQ(gunzip(gzip(""), "x", 1 << 20), "");
  std::string z = gzip(data);
  EXPECT_NE(user_error_of([&] {
              gunzip(z.substr(0, z.size() / 2), "half.gz", 1 << 20);
            }).find("half.gz is corrupt or truncated"),
            std::string::npos);
  EXPECT_NE(user_error_of([&] {
              gunzip("not gzip at all", "plain", 1 << 20);
            }).find("plain is corrupt or truncated"),
            std::string::npos);
  // 64 MiB of zeros compress to about 64 KB: refused at the 1 MiB bound, not inflated whole.
  std::string bomb = gzip(std::string(size_t(64) << 20, '\0'));
  EXPECT_LT(bomb.size(), size_t(1) << 20);
  EXPECT_NE(user_error_of([&] {
              gunzip(bomb, "bomb.gz", 1 << 20);
            }).find("bomb.gz decompresses to more than 1 MiB"),
            std::string::npos);
}

TEST(DatasetFiles, IdxPairs) {
  std::string img = be32(2051) + be32(2) + be32(28) + be32(28) + std::string(2 * 784, '\x7f');
  std::string lab = be32(2049) + be32(2) + std::string{'\x03', '\x09'};
  LabelledImages d = parse_idx(img, "i", lab, "l");
  EXPECT_EQ(d.count, 2);
  EXPECT_EQ(d.pixels.size(), 2u * 784);
  EXPECT_EQ(d.labels, (std::vector<uint8_t>{3, 9}));
  auto err = [](const std::string& i, const std::string& l) {
    return user_error_of([&] { parse_idx(i, "images", l, "labels"); });
  };
  EXPECT_NE(err(lab, lab).find("images is not an IDX image file"), std::string::npos);
  EXPECT_NE(err(img, img).find("labels is not an IDX label file"), std::string::npos);
  EXPECT_NE(err(img.substr(0, img.size() - 1), lab).find("images is truncated"), std::string::npos);
  std::string big = be32(2051) + be32(2) + be32(32) + be32(32);
  EXPECT_NE(err(big, lab).find("32x32 images"), std::string::npos);
  EXPECT_NE(err(img, lab.substr(0, 9)).find("one label for each of the 2 images"),
            std::string::npos);
  std::string bad = be32(2049) + be32(2) + std::string{'\x03', '\x0a'};
  EXPECT_NE(err(img, bad).find("labels: label 1 is 10"), std::string::npos);
}

TEST(DatasetFiles, CifarBatches) {
  std::string rec = std::string(1, '\x04') + std::string(3072, '\x01');
  LabelledImages d = parse_cifar(rec + rec, "b.bin");
  EXPECT_EQ(d.count, 2);
  EXPECT_EQ(d.labels, (std::vector<uint8_t>{4, 4}));
  EXPECT_EQ(d.pixels.size(), 2u * 3072);
  EXPECT_NE(user_error_of([&] {
              parse_cifar(rec.substr(1), "t.bin");
            }).find("t.bin is truncated or not in the binary format"),
            std::string::npos);
  EXPECT_NE(user_error_of([&] { parse_cifar("", "e.bin"); }).find("e.bin is truncated"),
            std::string::npos);
  std::string bad = rec + std::string(1, '\x0b') + std::string(3072, '\0');
  EXPECT_NE(user_error_of([&] { parse_cifar(bad, "c.bin"); }).find("record 1 has label 11"),
            std::string::npos);
}

}  // namespace
}  // namespace nasx
