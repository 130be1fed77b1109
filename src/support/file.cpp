#include "support/file.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "support/error.h"
#include "support/temp_files.h"

namespace nasx {

void write_file_atomically(const std::string& path, const std::string& bytes) {
  TempFile guard(temp_name_for(path));
  const std::string& tmp = guard.path();
  {
    std::ofstream f(tmp, std::ios::binary);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    f.flush();
    if (!f) {
      std::remove(tmp.c_str());
      user_error("cannot write ", path);
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (!ec) guard.release();
  if (ec) {
    std::remove(tmp.c_str());
    user_error("cannot write ", path, ": ", ec.message());
  }
}

}  // namespace nasx
