// JSON is nlohmann::json, under one name for the whole project.
#pragma once

#include <nlohmann/json.hpp>

namespace nasx {
using Json = nlohmann::ordered_json;
}
