#include "graph/arch.h"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "graph/onnx_import.h"
#include "graph/transform_network.h"
#include "graph/zoo.h"
#include "support/file.h"
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

Arch Arch::from_json(const Json& j, const std::string& origin) {
  auto bad = [&](const std::string& why) {
    user_error(origin, ": malformed architecture file: ", why);
  };
  if (!j.is_object()) bad("not a JSON object");
  // Every field is type- and range-checked with its key named; nothing wraps or truncates.
  auto string_at = [&](const Json& o, const std::string& key, const std::string& where) {
    if (!o.contains(key)) bad("missing \"" + key + "\"" + where);
    if (!o[key].is_string())
      bad("\"" + key + "\"" + where + " must be a string, got " + o[key].dump());
    return o[key].get<std::string>();
  };
  auto integer_at = [&](const std::string& key, int64_t fallback, int64_t lo, int64_t hi) {
    if (!j.contains(key)) return fallback;
    const Json& v = j[key];
    bool fits = v.is_number_integer() &&
                (!v.is_number_unsigned() || v.get<uint64_t>() <= uint64_t(INT64_MAX));
    if (!fits) bad("\"" + key + "\" must be an integer, got " + v.dump());
    int64_t x = v.get<int64_t>();
    if (x < lo || x > hi)
      bad("\"" + key + "\" must be in [" + std::to_string(lo) + ", " + std::to_string(hi) +
          "], got " + std::to_string(x));
    return x;
  };
  auto strings_at = [&](const Json& o, const std::string& key, const std::string& where) {
    std::vector<std::string> out;
    if (!o[key].is_array()) bad("\"" + key + "\"" + where + " must be a list of strings");
    for (const Json& x : o[key]) {
      if (!x.is_string()) bad("\"" + key + "\"" + where + " must hold strings, got " + x.dump());
      out.push_back(x.get<std::string>());
    }
    return out;
  };
  if (string_at(j, "format", "") != "nasx-arch") bad("\"format\" must be \"nasx-arch\"");
  if (integer_at("version", 0, 0, INT64_MAX) != 1)
    bad("unsupported \"version\" (this nasx reads version 1)");
  Arch a;
  a.base = string_at(j, "base", "");
  a.seed = static_cast<uint64_t>(integer_at("seed", 0, 0, INT64_MAX));
  a.image_size = integer_at("image_size", 0, 0, 4096);
  if (j.contains("width")) {
    const Json& w = j["width"];
    if (!w.is_number()) bad("\"width\" must be a number, got " + w.dump());
    a.width = w.get<double>();
    if (!(a.width > 0 && a.width <= 16)) bad("\"width\" must be in (0, 16], got " + w.dump());
  }
  if (j.contains("applied")) a.applied = strings_at(j, "applied", "");
  if (!j.contains("steps") || !j["steps"].is_array()) bad("\"steps\" must be a list");
  for (size_t k = 0; k < j["steps"].size(); ++k) {
    const Json& st = j["steps"][k];
    std::string where = " of step " + std::to_string(k);
    if (!st.is_object()) bad("step " + std::to_string(k) + " must be an object");
    if (!st.contains("layers")) bad("missing \"layers\"" + where);
    a.steps.push_back({strings_at(st, "layers", where), string_at(st, "sequence", where)});
    if (a.steps.back().layers.empty())
      bad("\"layers\"" + where + " is empty: a step names its layers");
  }
  if (!is_zoo_model(a.base) && !is_onnx_path(a.base))
    bad("\"base\" is '" + a.base + "', not a zoo model or an .onnx file");
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
