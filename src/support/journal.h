// An append-only file of JSON lines: each record is one line, written and flushed as it is
// produced, so a killed process keeps every record it finished. Reading skips a line that does not
// parse (the torn last line of a killed writer, or a corrupted one) with a warning naming the file
// and line, and goes on.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "support/json.h"

namespace nasx {

// An empty path keeps nothing: read_all finds no record and append does nothing.
class JsonLines {
 public:
  explicit JsonLines(std::string path);
  ~JsonLines();
  JsonLines(const JsonLines&) = delete;
  JsonLines& operator=(const JsonLines&) = delete;

  const std::string& path() const { return path_; }
  // Every object in the file (missing file: none). Non-object or malformed lines are skipped.
  std::vector<Json> read_all() const;
  // Appends one line and flushes it to the kernel. UserError when the file cannot be written.
  void append(const Json& record);

 private:
  std::string path_;
  std::FILE* out_ = nullptr;
};

}  // namespace nasx
