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

Tensor read_npy(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  NASX_USER_CHECK(f.good(), "cannot open ", path);
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto bad = [&](const std::string& why) {
    user_error(path, ": not a valid .npy file (", why, ")");
  };
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) bad("missing magic");
  int major = static_cast<unsigned char>(bytes[6]);
  size_t header_len, header_start;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) bad("truncated header");
    uint32_t len;
    std::memcpy(&len, bytes.data() + 8, 4);
    header_len = len;
    header_start = 12;
  } else {
    bad("unsupported version " + std::to_string(major));
  }
  if (bytes.size() < header_start + header_len) bad("truncated header");
  std::string header = bytes.substr(header_start, header_len);
  std::string descr = find_value(header, "descr");
  if (descr != "'<f4'" && descr != "'float32'")
    user_error(path, ": nasx reads float32 (<f4) arrays; this one has dtype ", descr);
  if (find_value(header, "fortran_order") != "False") bad("Fortran order is not supported");
  std::string shape_text = find_value(header, "shape");
  if (shape_text.size() < 2 || shape_text.front() != '(') bad("no shape");
  Shape shape;
  std::stringstream ss(shape_text.substr(1, shape_text.size() - 2));
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.find_first_not_of(' ') == std::string::npos) continue;
    try {
      long long d = std::stoll(item);
      if (d < 0) bad("negative dimension");
      shape.push_back(d);
    } catch (const std::logic_error&) {
      bad("unreadable shape " + shape_text);
    }
  }
  size_t data_start = header_start + header_len;
  size_t expected = static_cast<size_t>(num_elements(shape)) * sizeof(float);
  if (bytes.size() - data_start != expected)
    user_error(path, ": truncated or oversized .npy data: shape ", shape_string(shape), " needs ",
               expected, " bytes, the file holds ", bytes.size() - data_start);
  Tensor t(shape);
  std::memcpy(t.data.data(), bytes.data() + data_start, expected);
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
