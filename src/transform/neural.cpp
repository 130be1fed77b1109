#include "transform/neural.h"

#include <numeric>

#include "support/overloaded.h"

namespace nasx {
namespace {

Rejection reject(RejectKind kind, const NeuralTransform& t, const std::string& message) {
  return Rejection{kind, to_string(t), message};
}

std::string stmt_name(size_t i) {
  return "statement S" + std::to_string(i);
}

// Replaces statement `at` with `parts`; returns the indices the parts now have.
std::vector<size_t> replace_statement(ConvProgram& p, size_t at,
                                      const std::vector<ConvStatement>& parts) {
  p.statements.erase(p.statements.begin() + at);
  p.statements.insert(p.statements.begin() + at, parts.begin(), parts.end());
  std::vector<size_t> idx(parts.size());
  std::iota(idx.begin(), idx.end(), at);
  return idx;
}

}  // namespace

std::string to_string(const NeuralTransform& t) {
  return std::visit(
      Overloaded{
          [](const Bottleneck& b) { return "bottleneck(" + std::to_string(b.factor) + ")"; },
          [](const Group& g) {
            if (g.groups.size() == 1) return "group(" + std::to_string(g.groups[0]) + ")";
            std::string s = "group([";
            for (size_t i = 0; i < g.groups.size(); ++i)
              s += (i ? "," : "") + std::to_string(g.groups[i]);
            return s + "])";
          },
          [](const Depthwise&) { return std::string("depthwise"); },
          [](const IndexSplit& s) { return "split(" + std::to_string(s.parts) + ")"; },
          [](const Peel& p) { return "peel(" + std::to_string(p.u) + ")"; },
          [](const SpatialSplit& s) { return "spatial_split(" + std::to_string(s.parts) + ")"; },
      },
      t);
}

FocusedProgram FocusedProgram::all(ConvProgram p) {
  FocusedProgram f{std::move(p), {}};
  for (size_t i = 0; i < f.program.statements.size(); ++i) f.focus.push_back(i);
  return f;
}

Expected<FocusedProgram> apply_neural(const NeuralTransform& t, const FocusedProgram& in) {
  FocusedProgram out = in;
  ConvProgram& p = out.program;
  auto result = std::visit(
      Overloaded{
          [&](const Bottleneck& b) -> std::optional<Rejection> {
            int64_t f = b.factor;
            if (f < 1) return reject(RejectKind::OutOfRange, t, "factor must be at least 1");
            if (p.out_channels % f != 0)
              return reject(RejectKind::NotDivisible, t,
                            "factor " + std::to_string(f) + " does not divide the " +
                                std::to_string(p.out_channels) + " output channels");
            for (size_t i = 0; i < p.statements.size(); ++i) {
              ConvStatement& s = p.statements[i];
              if (s.co_begin % f || s.co_end % f || (s.out_channels() / f) % s.groups)
                return reject(RejectKind::NotDivisible, t,
                              stmt_name(i) + " covers output channels [" +
                                  std::to_string(s.co_begin) + "," + std::to_string(s.co_end) +
                                  ") in " + std::to_string(s.groups) +
                                  " groups, which do not shrink by " + std::to_string(f));
              s.co_begin /= f;
              s.co_end /= f;
            }
            p.out_channels /= f;
            return std::nullopt;
          },
          [&](const Group& g) -> std::optional<Rejection> {
            if (g.groups.size() != 1 && g.groups.size() != in.focus.size())
              return reject(RejectKind::ArityMismatch, t,
                            "gives " + std::to_string(g.groups.size()) + " group counts for " +
                                std::to_string(in.focus.size()) + " focused statements");
            for (size_t k = 0; k < in.focus.size(); ++k) {
              int64_t gk = g.groups.size() == 1 ? g.groups[0] : g.groups[k];
              ConvStatement& s = p.statements[in.focus[k]];
              int64_t co_per_group = s.out_channels() / s.groups;
              if (gk < 1) return reject(RejectKind::OutOfRange, t, "groups must be at least 1");
              if (s.ci_per_group % gk || co_per_group % gk)
                return reject(RejectKind::NotDivisible, t,
                              std::to_string(gk) + " groups do not divide " +
                                  stmt_name(in.focus[k]) + "'s " + std::to_string(s.ci_per_group) +
                                  " input and " + std::to_string(co_per_group) +
                                  " output channels per group");
              s.groups *= gk;
              s.ci_per_group /= gk;
            }
            return std::nullopt;
          },
          [&](const Depthwise&) -> std::optional<Rejection> {
            for (size_t i : in.focus) {
              ConvStatement& s = p.statements[i];
              int64_t co_per_group = s.out_channels() / s.groups;
              if (co_per_group % s.ci_per_group)
                return reject(RejectKind::NotDivisible, t,
                              stmt_name(i) + " has " + std::to_string(co_per_group) +
                                  " output channels per group, not a multiple of its " +
                                  std::to_string(s.ci_per_group) + " input channels");
              s.groups *= s.ci_per_group;
              s.ci_per_group = 1;
            }
            return std::nullopt;
          },
          [&](const IndexSplit& sp) -> std::optional<Rejection> {
            int64_t parts = sp.parts;
            if (parts < 1) return reject(RejectKind::OutOfRange, t, "parts must be at least 1");
            std::vector<size_t> focus;
            for (auto it = in.focus.rbegin(); it != in.focus.rend(); ++it) {
              ConvStatement s = p.statements[*it];
              if (s.out_channels() % parts)
                return reject(RejectKind::NotDivisible, t,
                              std::to_string(parts) + " does not divide " + stmt_name(*it) + "'s " +
                                  std::to_string(s.out_channels()) + " output channels");
              if (s.groups % parts && parts % s.groups)
                return reject(RejectKind::NotDivisible, t,
                              std::to_string(parts) + " parts would cut " + stmt_name(*it) + "'s " +
                                  std::to_string(s.groups) + " groups");
              std::vector<ConvStatement> pieces;
              int64_t width = s.out_channels() / parts;
              for (int64_t j = 0; j < parts; ++j) {
                ConvStatement q = s;
                q.co_begin = s.co_begin + j * width;
                q.co_end = q.co_begin + width;
                if (s.groups % parts == 0) {
                  q.groups = s.groups / parts;
                  q.ci_base = s.ci_base + j * q.groups * s.ci_per_group;
                } else {  // several parts per group
                  q.groups = 1;
                  q.ci_base = s.ci_base + (j / (parts / s.groups)) * s.ci_per_group;
                }
                pieces.push_back(q);
              }
              auto idx = replace_statement(p, *it, pieces);
              for (size_t& f : focus) f += parts - 1;  // later statements moved
              focus.insert(focus.begin(), idx.begin(), idx.end());
            }
            out.focus = focus;
            return std::nullopt;
          },
          [&](const Peel& pe) -> std::optional<Rejection> {
            if (in.focus.size() != 1)
              return reject(
                  RejectKind::Unsupported, t,
                  "peel acts on one statement; the focus has " + std::to_string(in.focus.size()));
            size_t at = in.focus[0];
            ConvStatement s = p.statements[at];
            if (s.groups != 1)
              return reject(RejectKind::Unsupported, t,
                            stmt_name(at) + " is grouped; peel applies to a dense statement");
            if (pe.u <= 0 || pe.u >= s.out_channels() || pe.u >= s.ci_per_group)
              return reject(RejectKind::OutOfRange, t,
                            "u = " + std::to_string(pe.u) + " must be in (0, " +
                                std::to_string(std::min(s.out_channels(), s.ci_per_group)) +
                                ") for " + stmt_name(at) + " (" + std::to_string(s.out_channels()) +
                                " output, " + std::to_string(s.ci_per_group) + " input channels)");
            ConvStatement a = s, b = s;
            a.co_end = s.co_begin + pe.u;
            b.co_begin = s.co_begin + pe.u;
            b.ci_base = s.ci_base + pe.u;
            b.ci_per_group = s.ci_per_group - pe.u;
            auto idx = replace_statement(p, at, {a, b});
            out.focus = {idx[1]};
            return std::nullopt;
          },
          [&](const SpatialSplit& sp) -> std::optional<Rejection> {
            int64_t parts = sp.parts;
            if (parts < 1) return reject(RejectKind::OutOfRange, t, "parts must be at least 1");
            std::vector<size_t> focus;
            for (auto it = in.focus.rbegin(); it != in.focus.rend(); ++it) {
              ConvStatement s = p.statements[*it];
              int64_t rows_out = s.y_end - s.y_begin, rows_in = s.row_end - s.row_begin;
              if (rows_out % parts || rows_in % parts)
                return reject(RejectKind::NotDivisible, t,
                              std::to_string(parts) + " does not divide " + stmt_name(*it) + "'s " +
                                  std::to_string(rows_out) + " output rows and " +
                                  std::to_string(rows_in) + " input rows");
              std::vector<ConvStatement> tiles;
              for (int64_t j = 0; j < parts; ++j) {
                ConvStatement q = s;
                q.y_begin = s.y_begin + j * rows_out / parts;
                q.y_end = s.y_begin + (j + 1) * rows_out / parts;
                q.row_begin = s.row_begin + j * rows_in / parts;
                q.row_end = s.row_begin + (j + 1) * rows_in / parts;
                tiles.push_back(q);
              }
              auto idx = replace_statement(p, *it, tiles);
              for (size_t& f : focus) f += parts - 1;
              focus.insert(focus.begin(), idx.begin(), idx.end());
            }
            out.focus = focus;
            return std::nullopt;
          },
      },
      t);
  if (result) return *result;
  p.verify();
  return out;
}

Expected<ConvProgram> apply_sequence(const NeuralSequence& seq, const ConvProgram& program) {
  FocusedProgram f = FocusedProgram::all(program);
  for (const NeuralTransform& t : seq) {
    Expected<FocusedProgram> next = apply_neural(t, f);
    if (!next.ok()) return next.rejection();
    f = std::move(next.value());
  }
  return f.program;
}

}  // namespace nasx
