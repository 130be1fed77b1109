// The one tokenizer of nasx's little languages (schedules, layer lists, proxy lists, knob and
// thread lists, compiler flags): trimming, splitting and strict integers, so every parser cuts
// text the same way.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nasx {

// `s` without spaces and tabs at either end.
std::string trim(std::string_view s);

// Every field between separators, empty ones included ("a,,b," gives "a", "", "b", ""; "" gives
// one empty field), untrimmed: a parser decides what an empty field means.
std::vector<std::string> split(std::string_view text, char separator);

// The words of `s`, split at white space (a compiler command and its flags; never a shell).
std::vector<std::string> split_words(std::string_view s);

// A decimal integer that is the whole of `s`: an optional '-', then digits only (no spaces, no
// '+', no hex, nothing after); nullopt otherwise or when it does not fit in 64 bits.
std::optional<int64_t> parse_int(std::string_view s);

}  // namespace nasx
