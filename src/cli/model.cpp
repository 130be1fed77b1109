#include "cli/model.h"

#include <iostream>

#include "graph/arch.h"
#include "graph/onnx_import.h"
#include "graph/torch_save.h"
#include "graph/weights.h"
#include "graph/zoo.h"
#include "support/format.h"
#include "support/log.h"
#include "torch/train.h"

namespace nasx::cli {

bool is_arch_file(const std::string& model) {
  return is_arch_path(model);
}

Network load_model(const std::string& model, uint64_t seed, int64_t image_size, double width) {
  if (is_arch_file(model)) {
    Arch arch = Arch::read(model);  // its own seed and image size
    if (image_size > 0) arch.image_size = image_size;
    if (width > 0) arch.width = width;
    return arch.build();
  }
  if (is_onnx_path(model)) {
    NASX_USER_CHECK(width <= 0 || width == 1.0, "--width scales zoo models only, not ", model);
    return import_onnx(model, image_size);  // the file's weights; the seed is not used
  }
  return build_zoo_model(model, {seed, image_size, width > 0 ? width : 1.0});
}

int64_t load_weights_file(Network& net, const std::string& path, bool partial) {
  if (is_torch_weights_path(path))
    return assign_weights(net, read_torch_state_dict(path), path, partial);
  return load_weights(net, checkpoint_weights(path), partial);  // a nasx train checkpoint too
}

double width_for_weights(const std::string& weights, double width) {
  std::optional<CheckpointInfo> info = checkpoint_info(weights);
  if (!info || info->width <= 0) return width;
  NASX_USER_CHECK(width <= 0 || width == info->width, weights, " was trained at --width ",
                  fmt(info->width, "%g"), ", not ", fmt(width, "%g"),
                  " (leave --width out: the checkpoint's is used)");
  return info->width;
}

void check_checkpoint_network(const Network& net, const std::string& weights) {
  std::optional<CheckpointInfo> info = checkpoint_info(weights);
  NASX_USER_CHECK(!info || info->network.empty() || info->network == net.name, weights,
                  " is a checkpoint of ", info ? info->network : "", " (", info ? info->model : "",
                  "), not of ", net.name);
}

void progress(const std::string& message) {
  if (log_level() >= LogLevel::Warn) std::cerr << "nasx: " << message << "\n";
}

}  // namespace nasx::cli
