#include "graph/arch.h"

#include <fstream>
#include <sstream>

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
  return Json{
      {"format", "nasx-arch"},    {"version", 1},       {"base", base},       {"seed", seed},
      {"image_size", image_size}, {"applied", applied}, {"steps", steps_json}};
}

Arch Arch::from_json(const Json& j, const std::string& origin) {
  auto bad = [&](const std::string& why) {
    user_error(origin, ": malformed architecture file: ", why);
  };
  if (!j.is_object()) bad("not a JSON object");
  if (j.value("format", "") != "nasx-arch") bad("\"format\" must be \"nasx-arch\"");
  if (j.value("version", 0) != 1) bad("unsupported \"version\" (this nasx reads version 1)");
  Arch a;
  try {
    a.base = j.at("base").get<std::string>();
    a.seed = j.value("seed", uint64_t{0});
    a.image_size = j.value("image_size", int64_t{0});
    a.applied = j.value("applied", std::vector<std::string>{});
    for (const Json& st : j.at("steps"))
      a.steps.push_back(
          {st.at("layers").get<std::vector<std::string>>(), st.at("sequence").get<std::string>()});
  } catch (const Json::exception& e) {
    bad(e.what());
  }
  if (!is_zoo_model(a.base)) bad("\"base\" is '" + a.base + "', not a zoo model");
  return a;
}

Arch Arch::read(const std::string& path) {
  std::ifstream f(path);
  NASX_USER_CHECK(f.good(), "cannot open ", path);
  Json j;
  try {
    j = Json::parse(f);
  } catch (const Json::parse_error& e) {
    user_error(path, ": malformed architecture file: not valid JSON (", e.what(), ")");
  }
  return from_json(j, path);
}

void Arch::write(const std::string& path) const {
  write_file_atomically(path, to_json().dump(2) + "\n");
}

Network Arch::build() const {
  Network net = build_zoo_model(base, {seed, image_size});
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
