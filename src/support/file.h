// Whole-file I/O. Writes go to a unique temporary file in the same directory and are renamed into
// place, so readers see the old file or the whole new one, never a partial one.
#pragma once

#include <string>

namespace nasx {

void write_file_atomically(const std::string& path, const std::string& bytes);  // UserError

}  // namespace nasx
