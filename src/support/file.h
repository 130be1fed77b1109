// Whole-file I/O. Writes go to a unique temporary file in the same directory and are renamed into
// place, so readers see the old file or the whole new one, never a partial one.
#pragma once

#include <string>

#include "support/json.h"

namespace nasx {

void write_file_atomically(const std::string& path, const std::string& bytes);  // UserError

// UserError unless `path` is an existing regular file (not a directory, FIFO or device, which
// could not be read or would never end): "cannot read PATH (WHAT): it is a directory".
void check_regular_file(const std::string& path, const std::string& what);

// UserError unless `path` is a regular file (after symbolic links) or does not exist yet: what a
// file appended to (a journal, tuning records) may be. A FIFO would hang its reader, a device
// swallow its records: "will not use PATH as WHAT: it is a character device".
void check_appendable_file(const std::string& path, const std::string& what);

// Reads a whole file: check_regular_file, then a UserError when it holds more than `max_bytes`
// (read in bounded pieces, so nothing larger is ever held) or cannot be read.
std::string read_file(const std::string& path, const std::string& what, size_t max_bytes);

// Reads a JSON file: check_regular_file, then any parse failure (syntax, or a number too large
// for a double) is a UserError "PATH: MALFORMED: not valid JSON (...)".
Json read_json_file(const std::string& path, const std::string& what, const std::string& malformed);

}  // namespace nasx
