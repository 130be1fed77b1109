#include "support/text.h"

#include <cerrno>
#include <cstdlib>

namespace nasx {

std::string trim(std::string_view s) {
  size_t first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return "";
  return std::string(s.substr(first, s.find_last_not_of(" \t") - first + 1));
}

std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t at = text.find(separator, start);
    out.emplace_back(text.substr(start, at == std::string_view::npos ? at : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

std::vector<std::string> split_words(std::string_view s) {
  std::vector<std::string> words;
  size_t i = 0;
  while (true) {
    i = s.find_first_not_of(" \t\n\r\f\v", i);
    if (i == std::string_view::npos) return words;
    size_t end = s.find_first_of(" \t\n\r\f\v", i);
    words.emplace_back(s.substr(i, end == std::string_view::npos ? end : end - i));
    if (end == std::string_view::npos) return words;
    i = end;
  }
}

std::optional<int64_t> parse_int(std::string_view s) {
  size_t digits = !s.empty() && s[0] == '-' ? 1 : 0;
  if (s.size() == digits || s.find_first_not_of("0123456789", digits) != std::string_view::npos)
    return std::nullopt;
  std::string text(s);
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno == ERANGE || *end != '\0') return std::nullopt;
  return static_cast<int64_t>(v);
}

}  // namespace nasx
