// Printing and parsing neural transformation sequences, so a trace is replayable and storable:
//   split(4); group([1,2,4,8])     peel(8); group(4)     spatial_split(2)     bottleneck(2);
//   group(4)
// Grammar: sequence := step (';' step)* ; step := name | name '(' arg ')' ;
//          arg := integer | '[' integer (',' integer)* ']'. Whitespace is free.
// parse_sequence(print_sequence(s)) == s for every sequence.
#pragma once

#include <string>

#include "transform/neural.h"

namespace nasx {

std::string print_sequence(const NeuralSequence& seq);
// UserError naming the position and what was expected, or the unknown transformation.
NeuralSequence parse_sequence(const std::string& text);

}  // namespace nasx
