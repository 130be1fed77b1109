#include "support/npy.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/error.h"
#include "support/file.h"

namespace nasx {
namespace {

std::string find_value(const std::string& header, const std::string& key) {
  size_t k = header.find("'" + key + "'");
  if (k == std::string::npos) return "";
  size_t colon = header.find(':', k);
  if (colon == std::string::npos) return "";
  size_t start = header.find_first_not_of(' ', colon + 1);
  if (start == std::string::npos) return "";
  size_t end =
      header[start] == '(' ? header.find(')', start) + 1 : header.find_first_of(",}", start);
  return end == std::string::npos ? "" : header.substr(start, end - start);
}

}  // namespace

// Limits of what nasx reads: a header is small, and an array beyond 2^31 floats (8 GiB) is not
// an input of any network nasx runs.
constexpr size_t kMaxHeader = 1 << 20;
constexpr int64_t kMaxElements = int64_t{1} << 31;

Tensor read_npy(const std::string& path) {
  namespace fs = std::filesystem;
  check_regular_file(path, "a .npy file");
  std::error_code ec;
  uintmax_t size = fs::file_size(path, ec);
  std::ifstream f(path, std::ios::binary);
  NASX_USER_CHECK(f.good() && !ec, "cannot open ", path);
  auto bad = [&](const std::string& why) {
    user_error(path, ": not a valid .npy file (", why, ")");
  };
  // Magic and header first, in bounded pieces: nothing past the header is read before it is valid.
  auto read = [&](size_t n) {
    std::string b(n, '\0');
    f.read(b.data(), static_cast<std::streamsize>(n));
    b.resize(static_cast<size_t>(f.gcount()));
    return b;
  };
  std::string head = read(10);
  if (head.size() < 10 || head.compare(0, 6, "\x93NUMPY") != 0) bad("missing magic");
  int major = static_cast<unsigned char>(head[6]);
  size_t header_len, header_start;
  if (major == 1) {
    header_len = static_cast<unsigned char>(head[8]) | (static_cast<unsigned char>(head[9]) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    std::string more = read(2);
    if (more.size() < 2) bad("truncated header");
    uint32_t len;
    std::memcpy(&len, (head + more).data() + 8, 4);
    header_len = len;
    header_start = 12;
  } else {
    bad("unsupported version " + std::to_string(major));
  }
  if (header_len > kMaxHeader) bad("a header of " + std::to_string(header_len) + " bytes");
  std::string header = read(header_len);
  if (header.size() < header_len) bad("truncated header");
  std::string shape_text = find_value(header, "shape");
  if (shape_text.size() < 2 || shape_text.front() != '(') bad("no shape in the header");
  std::string descr = find_value(header, "descr");
  if (descr.empty()) bad("no dtype (descr) in the header");
  if (descr != "'<f4'" && descr != "'float32'")
    user_error(path, ": nasx reads float32 (<f4) arrays; this one has dtype ", descr);
  std::string order = find_value(header, "fortran_order");
  if (order.empty()) bad("no fortran_order in the header");
  if (order != "False") bad("Fortran order is not supported");
  Shape shape;
  int64_t elements = 1;
  std::stringstream ss(shape_text.substr(1, shape_text.size() - 2));
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.find_first_not_of(' ') == std::string::npos) continue;
    try {
      size_t used = 0;
      long long d = std::stoll(item, &used);
      if (item.find_first_not_of(' ', used) != std::string::npos) throw std::invalid_argument("");
      if (d < 0) bad("negative dimension");
      if (d > 0 && elements > kMaxElements / d)
        user_error(path, ": shape ", shape_text, " has more than ", kMaxElements,
                   " elements, the most nasx reads");
      elements *= d;
      shape.push_back(d);
    } catch (const std::logic_error&) {
      bad("unreadable shape " + shape_text);
    }
  }
  size_t data_start = header_start + header_len;
  size_t expected = static_cast<size_t>(elements) * sizeof(float);
  size_t held = size >= data_start ? static_cast<size_t>(size - data_start) : 0;
  if (held != expected)
    user_error(path, ": truncated or oversized .npy data: shape ", shape_string(shape), " needs ",
               expected, " bytes, the file holds ", held);
  Tensor t(shape);
  f.read(reinterpret_cast<char*>(t.data.data()), static_cast<std::streamsize>(expected));
  NASX_USER_CHECK(static_cast<size_t>(f.gcount()) == expected, path, ": read failed");
  return t;
}

void write_npy(const std::string& path, const Tensor& t) {
  std::string shape = "(";
  for (size_t i = 0; i < t.shape.size(); ++i) shape += std::to_string(t.shape[i]) + ", ";
  if (t.shape.size() > 1) shape.resize(shape.size() - 2);
  if (t.shape.size() == 1) shape.resize(shape.size() - 1);
  shape += ")";
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string bytes = "\x93NUMPY";
  bytes += char(1);
  bytes += char(0);
  bytes += char(header.size() & 0xff);
  bytes += char(header.size() >> 8);
  bytes += header;
  bytes.append(reinterpret_cast<const char*>(t.data.data()), t.data.size() * sizeof(float));
  write_file_atomically(path, bytes);
}

}  // namespace nasx
