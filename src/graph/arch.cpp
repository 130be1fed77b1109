#include "graph/arch.h"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "graph/onnx_import.h"
#include "graph/transform_network.h"
#include "graph/zoo.h"
#include "support/file.h"
#include "support/json_in.h"
#include "transform/sequence.h"

namespace nasx {

bool is_arch_path(const std::string& model) {
  return model.size() > 5 && model.compare(model.size() - 5, 5, ".json") == 0;
}

Json arch_steps_json(const std::vector<ArchStep>& steps) {
  Json out = Json::array();
  for (const ArchStep& st : steps)
    out.push_back({{"layers", st.layers}, {"sequence", st.sequence}});
  return out;
}

Json Arch::to_json() const {
  Json steps_json = arch_steps_json(steps);
  Json j{{"format", "nasx-arch"},    {"version", 1},       {"base", base},       {"seed", seed},
         {"image_size", image_size}, {"applied", applied}, {"steps", steps_json}};
  if (width != 1.0) j["width"] = width;
  return j;
}

Arch Arch::from_json(const Json& json, const std::string& origin) {
  // Every field is type- and range-checked with its key named (support/json_in.h); nothing
  // wraps or truncates.
  const std::string malformed = origin + ": malformed architecture file";
  if (!json.is_object()) user_error(malformed, ": not a JSON object");
  JsonIn j(json, malformed);
  if (j.require("format").as_string() != "nasx-arch") j.field("format").fail("\"nasx-arch\"");
  if (j.integer_in("version", 0, 0, INT64_MAX) != 1)
    user_error(malformed, ": unsupported \"version\" (this nasx reads version 1)");
  Arch a;
  a.base = j.require("base").as_string();
  a.seed = static_cast<uint64_t>(j.integer_in("seed", 0, 0, INT64_MAX));
  a.image_size = j.integer_in("image_size", 0, 0, 4096);
  if (j.has("width")) {
    a.width = j.field("width").as_real();
    if (!(a.width > 0 && a.width <= 16)) j.field("width").fail("in (0, 16]");
  }
  a.applied = j.strings("applied");
  if (!j.has("steps") || !j.field("steps").json().is_array()) j.field("steps").fail("a list");
  std::vector<JsonIn> steps = j.list("steps");
  for (size_t k = 0; k < steps.size(); ++k) {
    JsonIn st = steps[k].named("step " + std::to_string(k));
    if (!st.json().is_object()) st.fail("an object");
    st.require("layers");
    a.steps.push_back({st.strings("layers"), st.require("sequence").as_string()});
    if (a.steps.back().layers.empty())
      user_error(malformed, ": \"layers\" of step ", k, " is empty: a step names its layers");
  }
  if (!is_zoo_model(a.base) && !is_onnx_path(a.base))
    user_error(malformed, ": \"base\" is '", a.base, "', not a zoo model or an .onnx file");
  return a;
}

Arch Arch::read(const std::string& path) {
  Arch a =
      from_json(read_json_file(path, "an architecture file", "malformed architecture file"), path);
  // A relative ONNX base names a file beside the ARCH.json when there is one there, else one
  // relative to the current directory (as `nasx search model.onnx` records it).
  namespace fs = std::filesystem;
  if (is_onnx_path(a.base) && fs::path(a.base).is_relative()) {
    fs::path beside = fs::path(path).parent_path() / a.base;
    if (fs::exists(beside)) a.base = beside.string();
  }
  return a;
}

std::string arch_base(const std::string& model) {
  if (!is_onnx_path(model)) return model;
  check_regular_file(model, "an ONNX model");
  return std::filesystem::absolute(model).lexically_normal().string();
}

void Arch::write(const std::string& path) const {
  write_file_atomically(path, to_json().dump(2) + "\n");
}

Network Arch::build() const {
  Network net;
  if (is_onnx_path(base)) {
    NASX_USER_CHECK(width == 1.0, "--width scales zoo models only, not ", base);
    net = import_onnx(base, image_size);  // its own weights; the seed initialises changed layers
  } else {
    net = build_zoo_model(base, {seed, image_size, width});
  }
  for (const ArchStep& st : steps)
    transform_layers(net, st.layers, parse_sequence(st.sequence), seed);
  return net;
}

void apply_to_layers(Network& net, Arch& arch, const std::string& spec) {
  size_t colon = spec.find(':');
  NASX_USER_CHECK(colon != std::string::npos,
                  "--apply expects 'LAYERS: SEQUENCE', as in "
                  "'layer2.*.conv1: group(4)'; got '",
                  spec, "'");
  std::string glob = spec.substr(0, colon), text = spec.substr(colon + 1);
  glob.erase(0, glob.find_first_not_of(' '));
  glob.erase(glob.find_last_not_of(' ') + 1);
  NeuralSequence seq = parse_sequence(text);
  std::vector<std::string> layers = match_conv_layers(net, glob);
  transform_layers(net, layers, seq, arch.seed);
  arch.steps.push_back({layers, print_sequence(seq)});
  arch.applied.push_back(glob + ": " + print_sequence(seq));
}

}  // namespace nasx
