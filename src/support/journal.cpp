#include "support/journal.h"

#include <fstream>

#include "support/error.h"
#include "support/file.h"
#include "support/log.h"

namespace nasx {

JsonLines::JsonLines(std::string path) : path_(std::move(path)) {}

JsonLines::~JsonLines() {
  if (out_) std::fclose(out_);
}

std::vector<Json> JsonLines::read_all() const {
  std::vector<Json> out;
  if (path_.empty()) return out;
  check_appendable_file(path_, "a JSON-lines file");
  std::ifstream in(path_);
  if (!in) return out;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    Json j = Json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      log(LogLevel::Warn, "warning: ", path_, ":", number, ": skipping a malformed record");
      continue;
    }
    out.push_back(std::move(j));
  }
  return out;
}

void JsonLines::append(const Json& record) {
  if (path_.empty()) return;
  std::string line = record.dump() + "\n";
  if (!out_) {
    check_appendable_file(path_, "a JSON-lines file");
    // A torn last line from a killed writer must not swallow this record: start a fresh line.
    std::ifstream probe(path_, std::ios::binary | std::ios::ate);
    if (probe && probe.tellg() > 0) {
      probe.seekg(-1, std::ios::end);
      char last = '\n';
      if (probe.get(last) && last != '\n') line = "\n" + line;
    }
    out_ = std::fopen(path_.c_str(), "ae");  // not inherited by child processes
    NASX_USER_CHECK(out_, "cannot append to ", path_);
  }
  bool ok = std::fwrite(line.data(), 1, line.size(), out_) == line.size() && std::fflush(out_) == 0;
  NASX_USER_CHECK(ok, "cannot append to ", path_);
}

}  // namespace nasx
