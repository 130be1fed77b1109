#include "cli/model.h"

#include <iostream>

#include "graph/zoo.h"
#include "support/log.h"

namespace nasx::cli {

Network load_model(const std::string& model, uint64_t seed, int64_t image_size) {
  return build_zoo_model(model, {seed, image_size});
}

void progress(const std::string& message) {
  if (log_level() >= LogLevel::Warn) std::cerr << "nasx: " << message << "\n";
}

}  // namespace nasx::cli
