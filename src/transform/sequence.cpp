#include "transform/sequence.h"

#include <cctype>

#include "support/error.h"

namespace nasx {

std::string print_sequence(const NeuralSequence& seq) {
  std::string s;
  for (size_t i = 0; i < seq.size(); ++i) s += (i ? "; " : "") + to_string(seq[i]);
  return s;
}

namespace {

class Parser {
 public:
  explicit Parser(const std::string& text) : text_(text) {}

  NeuralSequence parse() {
    NeuralSequence seq;
    skip();
    if (pos_ == text_.size())
      user_error(
          "the transformation sequence is empty (expected e.g. 'group(4)' or "
          "'split(2); group([1,2])')");
    while (true) {
      seq.push_back(step());
      skip();
      if (pos_ == text_.size()) return seq;
      expect(';');
      skip();
      if (pos_ == text_.size()) return seq;  // a trailing ';' is harmless
    }
  }

 private:
  NeuralTransform step() {
    size_t start = pos_;
    while (pos_ < text_.size() && (std::isalnum(uchar()) || text_[pos_] == '_')) ++pos_;
    std::string name = text_.substr(start, pos_ - start);
    if (name.empty()) fail("a transformation name");
    skip();
    std::vector<int64_t> args;
    bool list = false, has_args = false;
    if (pos_ < text_.size() && text_[pos_] == '(') {
      has_args = true;
      ++pos_;
      skip();
      if (pos_ < text_.size() && text_[pos_] == '[') {
        list = true;
        ++pos_;
        do {
          skip();
          args.push_back(integer());
          skip();
        } while (pos_ < text_.size() && text_[pos_] == ',' && ++pos_);
        expect(']');
        skip();
      } else {
        args.push_back(integer());
        skip();
      }
      expect(')');
    }
    auto one = [&](const char* what) {
      if (!has_args || list)
        user_error("transformation '", name, "' takes one integer ", what, ", as in ", name,
                   "(2) (in '", text_, "')");
      return args[0];
    };
    if (name == "bottleneck") return Bottleneck{one("factor")};
    if (name == "split") return IndexSplit{one("number of parts")};
    if (name == "peel") return Peel{one("channel count")};
    if (name == "spatial_split") return SpatialSplit{one("number of row tiles")};
    if (name == "group") {
      if (!has_args)
        user_error("transformation 'group' needs a count, as in group(4) or group([1,2])");
      return Group{args};
    }
    if (name == "depthwise") {
      if (has_args) user_error("transformation 'depthwise' takes no argument (in '", text_, "')");
      return Depthwise{};
    }
    user_error("unknown transformation '", name, "' in '", text_,
               "' (known: bottleneck, group, depthwise, split, peel, spatial_split)");
  }

  int64_t integer() {
    size_t start = pos_;
    if (pos_ < text_.size() && text_[pos_] == '-') ++pos_;
    while (pos_ < text_.size() && std::isdigit(uchar())) ++pos_;
    if (pos_ == start || (pos_ == start + 1 && text_[start] == '-')) fail("an integer");
    try {
      return std::stoll(text_.substr(start, pos_ - start));
    } catch (const std::out_of_range&) {
      fail("an integer that fits in 64 bits");
    }
  }

  void expect(char c) {
    if (pos_ >= text_.size() || text_[pos_] != c) fail(std::string("'") + c + "'");
    ++pos_;
  }
  void skip() {
    while (pos_ < text_.size() && std::isspace(uchar())) ++pos_;
  }
  unsigned char uchar() const { return static_cast<unsigned char>(text_[pos_]); }
  [[noreturn]] void fail(const std::string& expected) {
    user_error("cannot parse the sequence '", text_, "': expected ", expected, " at position ",
               pos_ + 1, pos_ < text_.size() ? " ('" + text_.substr(pos_, 8) + "')" : " (the end)");
  }

  const std::string& text_;
  size_t pos_ = 0;
};

}  // namespace

NeuralSequence parse_sequence(const std::string& text) {
  return Parser(text).parse();
}

}  // namespace nasx
