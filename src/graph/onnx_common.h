// What the ONNX importer and exporter share: a multi-statement ConvProgram as JSON, the form in
// which the exporter stores it in the model's metadata so that the importer reads it back exactly.
#pragma once

#include <string>

#include "program/conv_program.h"
#include "support/json.h"

namespace nasx {

Json conv_program_json(const ConvProgram& p);
// UserError (naming `where`) for a missing or out-of-range field or an inconsistent program.
ConvProgram conv_program_from_json(const Json& j, const std::string& where);

}  // namespace nasx
