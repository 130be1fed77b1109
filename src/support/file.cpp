#include "support/file.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "support/error.h"
#include "support/temp_files.h"

namespace nasx {

void write_file_atomically(const std::string& path, const std::string& bytes) {
  // Only a regular file or a new path is replaced: never a device, a FIFO, a directory, or a
  // symbolic link (the rename would replace the link, not what it points to).
  namespace fs = std::filesystem;
  std::error_code ec0;
  fs::file_status st = fs::symlink_status(path, ec0);
  if (fs::exists(st)) {
    NASX_USER_CHECK(!fs::is_symlink(st), "will not write ", path,
                    ": it is a symbolic link (name the file it points to)");
    NASX_USER_CHECK(fs::is_regular_file(st), "will not write ", path, ": it is ",
                    fs::is_directory(st) ? "a directory" : "not a regular file");
  }
  remove_orphaned_temps_of(path);  // a killed earlier write of this path left its temporary
  TempFile guard(temp_name_for(path));
  const std::string& tmp = guard.path();
  {
    errno = 0;
    std::ofstream f(tmp, std::ios::binary);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    f.flush();
    if (!f) {
      int e = errno;  // the reason: no such directory, read-only, disk full, ...
      std::remove(tmp.c_str());
      user_error("cannot write ", path, e ? std::string(": ") + std::strerror(e) : std::string());
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

void check_regular_file(const std::string& path, const std::string& what) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  NASX_USER_CHECK(!ec && fs::exists(st), "cannot open ", path, ": no such file");
  NASX_USER_CHECK(fs::is_regular_file(st), "cannot read ", path, ": ",
                  fs::is_directory(st) ? "it is a directory" : "it is not a regular file", " (",
                  what, " expected)");
}

void check_appendable_file(const std::string& path, const std::string& what) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  if (!fs::exists(st)) return;
  const char* kind = fs::is_directory(st)        ? "a directory"
                     : fs::is_fifo(st)           ? "a FIFO"
                     : fs::is_character_file(st) ? "a character device"
                     : fs::is_block_file(st)     ? "a block device"
                     : fs::is_socket(st)         ? "a socket"
                                                 : "not a regular file";
  NASX_USER_CHECK(fs::is_regular_file(st), "will not use ", path, " as ", what, ": it is ", kind);
}

std::string read_file(const std::string& path, const std::string& what, size_t max_bytes) {
  check_regular_file(path, what);
  std::ifstream f(path, std::ios::binary);
  NASX_USER_CHECK(f.good(), "cannot open ", path, " (", what, ")");
  std::string out;
  char buf[1 << 16];
  while (f.read(buf, sizeof buf) || f.gcount() > 0) {
    out.append(buf, size_t(f.gcount()));
    NASX_USER_CHECK(out.size() <= max_bytes, path, " is larger than ", max_bytes >> 20,
                    " MiB: not ", what);
  }
  NASX_USER_CHECK(f.eof(), "cannot read ", path, " (", what, ")");
  return out;
}

Json read_json_file(const std::string& path, const std::string& what,
                    const std::string& malformed) {
  check_regular_file(path, what);
  std::ifstream f(path);
  NASX_USER_CHECK(f.good(), "cannot open ", path);
  try {
    return Json::parse(f);
  } catch (const Json::exception& e) {  // parse_error, or out_of_range for a number overflow
    user_error(path, ": ", malformed, ": not valid JSON (", e.what(), ")");
  }
}

}  // namespace nasx
