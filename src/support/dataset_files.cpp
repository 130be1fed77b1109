#include "support/dataset_files.h"

#include <zlib.h>

#include "support/error.h"

namespace nasx {

std::string gunzip(const std::string& compressed, const std::string& origin, size_t max_bytes) {
  z_stream z{};
  NASX_ASSERT(inflateInit2(&z, 16 + MAX_WBITS) == Z_OK, "inflateInit2 failed");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  z.avail_in = static_cast<uInt>(compressed.size());
  std::string out;
  char buf[1 << 16];
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
    if (out.size() > max_bytes) {
      inflateEnd(&z);
      user_error(origin, " decompresses to more than ", max_bytes >> 20,
                 " MiB: not a dataset file");
    }
  }
  std::string why = z.msg ? z.msg : (rc == Z_BUF_ERROR ? "unexpected end of data" : "");
  inflateEnd(&z);
  NASX_USER_CHECK(rc == Z_STREAM_END, origin, " is corrupt or truncated (gzip: ", why, ")");
  return out;
}

namespace {

uint32_t big_endian(const std::string& b, size_t at) {
  return (uint32_t(uint8_t(b[at])) << 24) | (uint32_t(uint8_t(b[at + 1])) << 16) |
         (uint32_t(uint8_t(b[at + 2])) << 8) | uint32_t(uint8_t(b[at + 3]));
}

}  // namespace

LabelledImages parse_idx(const std::string& img, const std::string& images_origin,
                         const std::string& lab, const std::string& labels_origin) {
  NASX_USER_CHECK(img.size() >= 16 && big_endian(img, 0) == 2051, images_origin,
                  " is not an IDX image file (bad magic number)");
  NASX_USER_CHECK(lab.size() >= 8 && big_endian(lab, 0) == 2049, labels_origin,
                  " is not an IDX label file (bad magic number)");
  uint32_t n = big_endian(img, 4), rows = big_endian(img, 8), cols = big_endian(img, 12);
  NASX_USER_CHECK(rows == 28 && cols == 28, images_origin, " holds ", rows, "x", cols,
                  " images; Fashion-MNIST's are 28x28");
  NASX_USER_CHECK(img.size() == 16 + size_t(n) * 784, images_origin, " is truncated: ", n,
                  " images need ", 16 + size_t(n) * 784, " bytes, it holds ", img.size());
  NASX_USER_CHECK(big_endian(lab, 4) == n && lab.size() == 8 + size_t(n), labels_origin,
                  " does not hold one label for each of the ", n, " images");
  LabelledImages out{n, 1, 28, 28, {img.begin() + 16, img.end()}, {lab.begin() + 8, lab.end()}};
  for (size_t i = 0; i < out.labels.size(); ++i)
    NASX_USER_CHECK(out.labels[i] < 10, labels_origin, ": label ", i, " is ", int(out.labels[i]),
                    " (Fashion-MNIST has 10 classes)");
  return out;
}

LabelledImages parse_cifar(const std::string& bytes, const std::string& origin) {
  constexpr size_t kRecord = 1 + 3 * 32 * 32;
  NASX_USER_CHECK(!bytes.empty() && bytes.size() % kRecord == 0, "CIFAR-10 file ", origin,
                  " is truncated or not in the binary format (", bytes.size(),
                  " bytes, not a multiple of 3073-byte records)");
  int64_t n = static_cast<int64_t>(bytes.size() / kRecord);
  LabelledImages out{n, 3, 32, 32, {}, {}};
  out.pixels.reserve(size_t(n) * (kRecord - 1));
  for (int64_t r = 0; r < n; ++r) {
    const char* rec = bytes.data() + size_t(r) * kRecord;
    out.labels.push_back(uint8_t(rec[0]));
    NASX_USER_CHECK(out.labels.back() < 10, "CIFAR-10 file ", origin, ": record ", r, " has label ",
                    int(out.labels.back()), " (corrupt file?)");
    out.pixels.insert(out.pixels.end(), rec + 1, rec + kRecord);
  }
  return out;
}

}  // namespace nasx
