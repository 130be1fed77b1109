#include "search/moves.h"

#include <cctype>
#include <map>

namespace nasx {
namespace {

std::vector<std::string> parts_of(const std::string& name) {
  std::vector<std::string> out(1);
  for (char c : name) {
    if (c == '.')
      out.emplace_back();
    else
      out.back() += c;
  }
  return out;
}

bool has_digit(const std::string& s) {
  for (char c : s)
    if (std::isdigit(static_cast<unsigned char>(c))) return true;
  return false;
}

std::string digits_as_star(const std::string& s) {
  std::string out;
  for (char c : s) {
    bool digit = std::isdigit(static_cast<unsigned char>(c));
    if (!digit)
      out += c;
    else if (out.empty() || out.back() != '*')
      out += '*';
  }
  return out;
}

// Wildcards the digits of every part but the last, from part `first` on (the parts before keep
// theirs); "" when nothing was wildcarded.
std::string role(const std::string& layer, bool keep_stage) {
  std::vector<std::string> parts = parts_of(layer);
  std::string out;
  bool starred = false, stage_kept = !keep_stage;
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string p = parts[i];
    if (i + 1 < parts.size() && has_digit(p)) {
      if (stage_kept) {
        p = digits_as_star(p);
        starred = true;
      } else {
        stage_kept = true;
      }
    }
    out += (i ? "." : "") + p;
  }
  return starred ? out : "";
}

void add_part(Move& m, size_t u, const Candidate& c) {
  m.parts.push_back({u, &c});
  m.macs_delta += c.macs_delta;
  m.params_delta += c.params_delta;
}

const Candidate* find_candidate(const SearchUnit& u, const std::string& text) {
  for (const Candidate& c : u.candidates)
    if (c.text == text) return &c;
  return nullptr;
}

}  // namespace

const char* move_level_name(MoveLevel level) {
  switch (level) {
    case MoveLevel::Network:
      return "network";
    case MoveLevel::Stage:
      return "stage";
    case MoveLevel::Unit:
      return "unit";
  }
  return "?";
}

std::string network_role(const std::string& layer) {
  return role(layer, false);
}
std::string stage_role(const std::string& layer) {
  return role(layer, true);
}

const std::vector<std::string>& coarse_menu() {
  static const std::vector<std::string> menu = {"group(2)",
                                                "group(4)",
                                                "group(8)",
                                                "group(16)",
                                                "depthwise",
                                                "bottleneck(2)",
                                                "bottleneck(4)",
                                                "bottleneck(2); group(2)",
                                                "bottleneck(2); group(4)"};
  return menu;
}

std::vector<Move> coarse_moves(const std::vector<SearchUnit>& units, MoveLevel level) {
  // Roles in order of first appearance: name -> units.
  std::vector<std::pair<std::string, std::vector<size_t>>> roles;
  auto add_to_role = [&](const std::string& name, size_t u) {
    for (auto& [n, us] : roles)
      if (n == name) {
        us.push_back(u);
        return;
      }
    roles.push_back({name, {u}});
  };
  for (size_t u = 0; u < units.size(); ++u) {
    const SearchUnit& unit = units[u];
    if (unit.joint) {
      if (level == MoveLevel::Network) add_to_role("coupled class", u);
      continue;
    }
    std::string r = level == MoveLevel::Network ? network_role(unit.name) : stage_role(unit.name);
    if (!r.empty()) add_to_role(r, u);
  }
  if (level == MoveLevel::Network) {  // every convolution of the network
    std::vector<size_t> every;
    for (size_t u = 0; u < units.size(); ++u)
      if (!units[u].joint) every.push_back(u);
    roles.push_back({"convolution", every});
  }
  std::vector<Move> moves;
  for (const auto& [name, us] : roles) {
    if (us.size() < 2) continue;
    for (const std::string& text : coarse_menu()) {
      Move m{"every " + name + ": " + text, level, text, {}, 0, 0};
      for (size_t u : us)
        if (const Candidate* c = find_candidate(units[u], text)) add_part(m, u, *c);
      if (m.parts.size() >= 2) moves.push_back(std::move(m));
    }
  }
  return moves;
}

std::vector<Move> unit_moves(const std::vector<SearchUnit>& units, size_t u) {
  std::vector<Move> moves;
  for (const Candidate& c : units[u].candidates) {
    Move m{units[u].name + ": " + c.text, MoveLevel::Unit, c.text, {}, 0, 0};
    add_part(m, u, c);
    moves.push_back(std::move(m));
  }
  return moves;
}

}  // namespace nasx
