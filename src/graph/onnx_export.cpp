#include "graph/onnx_export.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <climits>
#include <set>

#include "graph/onnx_common.h"
#include "graph/onnx_import.h"
#include "support/error.h"
#include "support/overloaded.h"

namespace nasx {
namespace {

constexpr int kOpset = 13;
constexpr int kIrVersion = 7;  // the IR version that introduced opset 13

class Exporter {
 public:
  explicit Exporter(const Network& net) : net_(net) {
    model_.set_ir_version(kIrVersion);
    model_.set_producer_name("nasx");
    onnx::OperatorSetIdProto* opset = model_.add_opset_import();
    opset->set_domain("");
    opset->set_version(kOpset);
    g_ = model_.mutable_graph();
    g_->set_name(net.name);
  }

  onnx::ModelProto run() {
    name_values();
    tensor_info(g_->add_input(), "input", net_.input_chw);
    for (size_t k = 0; k < net_.nodes.size(); ++k) export_node(net_.nodes[k]);
    tensor_info(g_->add_output(), value_[net_.nodes.size() - 1], {net_.num_classes});
    return std::move(model_);
  }

 private:
  const Network& net_;
  onnx::ModelProto model_;
  onnx::GraphProto* g_ = nullptr;
  std::vector<std::string> value_;  // per node: the name of its output value

  // Node k's output value is its name ("output" for the last): unique among values and
  // initializers (<layer>.<param>).
  void name_values() {
    std::set<std::string> taken{"input", "output"};
    for (const Node& n : net_.nodes)
      for (const ParamSpec& p : param_specs(n.op)) taken.insert(n.name + "." + p.name);
    for (size_t k = 0; k < net_.nodes.size(); ++k) {
      std::string v = k + 1 == net_.nodes.size() ? "output" : net_.nodes[k].name;
      for (int i = 2; k + 1 < net_.nodes.size() && taken.count(v); ++i)
        v = net_.nodes[k].name + ":" + std::to_string(i);
      taken.insert(v);
      value_.push_back(v);
    }
  }
  std::string input_of(const Node& n, size_t i) const {
    return n.inputs[i] == kNetworkInput ? "input" : value_[n.inputs[i]];
  }
  std::string output_of(const Node& n) const { return value_[&n - net_.nodes.data()]; }

  // A float tensor [N, dims...] with a symbolic batch.
  void tensor_info(onnx::ValueInfoProto* v, const std::string& name, const Shape& dims) {
    v->set_name(name);
    onnx::TypeProto_Tensor* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    onnx::TensorShapeProto* s = t->mutable_shape();
    s->add_dim()->set_dim_param("N");
    for (int64_t d : dims) s->add_dim()->set_dim_value(d);
  }

  onnx::NodeProto* node(const std::string& op, const std::string& name,
                        const std::vector<std::string>& inputs, const std::string& output) {
    onnx::NodeProto* n = g_->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (const std::string& i : inputs) n->add_input(i);
    n->add_output(output);
    return n;
  }
  static void attr(onnx::NodeProto* n, const char* name, int64_t v) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void attr(onnx::NodeProto* n, const char* name, float v) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }
  static void attr(onnx::NodeProto* n, const char* name, const std::vector<int64_t>& v) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  }

  const std::string& initializer(const std::string& name, const Shape& dims, const Tensor& t) {
    NASX_ASSERT(num_elements(dims) == t.size(), name);
    onnx::TensorProto* p = g_->add_initializer();
    p->set_name(name);
    p->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) p->add_dims(d);
    p->set_raw_data(
        std::string(reinterpret_cast<const char*>(t.data.data()), t.data.size() * sizeof(float)));
    return name;
  }
  std::string ints_initializer(const std::string& name, const std::vector<int64_t>& v) {
    onnx::TensorProto* p = g_->add_initializer();
    p->set_name(name);
    p->set_data_type(onnx::TensorProto::INT64);
    p->add_dims(int64_t(v.size()));
    for (int64_t x : v) p->add_int64_data(x);
    return name;
  }

  void export_node(const Node& n) {
    std::string x = input_of(n, 0), out = output_of(n);
    std::visit(
        Overloaded{
            [&](const ConvProgram& p) { conv(n, p, x, out); },
            [&](const FusedConv& f) {
              // Not what load_model gives, but any Network exports: conv, then add, then relu.
              std::string v = f.residual || f.relu ? n.name + "_conv" : out;
              conv(n, f.program, x, v);
              if (f.residual) {
                std::string sum = f.relu ? n.name + "_sum" : out;
                node("Add", n.name + "_add", {v, input_of(n, 1)}, sum);
                v = sum;
              }
              if (f.relu) node("Relu", n.name + "_relu", {v}, out);
            },
            [&](const BatchNorm& b) {
              std::vector<std::string> in{x};
              for (size_t i = 0; i < 4; ++i) {
                std::string name = n.name + "." + param_specs(n.op)[i].name;
                in.push_back(initializer(name, {b.channels}, n.params[i]));
              }
              std::string v = b.relu ? n.name + "_bn" : out;
              attr(node("BatchNormalization", n.name, in, v), "epsilon", float(b.eps));
              if (b.relu) node("Relu", n.name + "_relu", {v}, out);
            },
            [&](const Relu&) { node("Relu", n.name, {x}, out); },
            [&](const ResidualAdd&) {
              node("Add", n.name, {x, input_of(n, 1)}, out);
            },
            [&](const Concat&) {
              std::vector<std::string> in;
              for (size_t i = 0; i < n.inputs.size(); ++i) in.push_back(input_of(n, i));
              attr(node("Concat", n.name, in, out), "axis", int64_t(1));
            },
            [&](const MaxPool& m) {
              pool(node("MaxPool", n.name, {x}, out), m.kernel, m.stride, m.pad);
            },
            [&](const AvgPool& a) {
              onnx::NodeProto* p = node("AveragePool", n.name, {x}, out);
              pool(p, a.kernel, a.stride, a.pad);
              attr(p, "count_include_pad", int64_t(1));  // torch's default, and nasx's
            },
            [&](const GlobalAvgPool&) { node("GlobalAveragePool", n.name, {x}, out); },
            [&](const Linear& l) {
              std::vector<std::string> in{
                  x, initializer(n.name + ".weight", {l.out_features, l.in_features}, n.params[0])};
              if (l.bias)
                in.push_back(initializer(n.name + ".bias", {l.out_features}, n.params[1]));
              attr(node("Gemm", n.name, in, out), "transB", int64_t(1));
            },
            [&](const Flatten&) { attr(node("Flatten", n.name, {x}, out), "axis", int64_t(1)); },
        },
        n.op);
  }

  void pool(onnx::NodeProto* p, int64_t kernel, int64_t stride, int64_t pad) {
    attr(p, "kernel_shape", std::vector<int64_t>{kernel, kernel});
    attr(p, "strides", std::vector<int64_t>{stride, stride});
    attr(p, "pads", std::vector<int64_t>{pad, pad, pad, pad});
  }

  // Whether the program is exactly one torch-style Conv (groups, symmetric padding).
  static bool plain(const ConvProgram& p) {
    if (p.statements.size() != 1) return false;
    const ConvStatement& s = p.statements[0];
    int64_t pad = -s.row_offset, span = p.dilation * (p.kernel - 1) + 1;
    return s.co_begin == 0 && s.co_end == p.out_channels && s.y_begin == 0 && s.y_end == p.out_h &&
           s.ci_base == 0 && s.ci_per_group * s.groups == p.in_channels && s.row_begin == 0 &&
           s.row_end == p.in_h && s.row_offset == s.col_offset && pad >= 0 &&
           (p.in_h + 2 * pad - span) / p.stride + 1 == p.out_h &&
           (p.in_w + 2 * pad - span) / p.stride + 1 == p.out_w;
  }

  void conv(const Node& n, const ConvProgram& p, const std::string& x, const std::string& out) {
    auto conv_node = [&](const std::string& name, const std::vector<std::string>& in,
                         const std::string& v, int64_t groups, std::vector<int64_t> pads) {
      onnx::NodeProto* c = node("Conv", name, in, v);
      attr(c, "kernel_shape", std::vector<int64_t>{p.kernel, p.kernel});
      attr(c, "strides", std::vector<int64_t>{p.stride, p.stride});
      attr(c, "dilations", std::vector<int64_t>{p.dilation, p.dilation});
      attr(c, "pads", pads);
      attr(c, "group", groups);
    };
    std::vector<ParamSpec> specs = param_specs(p);
    if (plain(p)) {
      std::vector<std::string> in{x, initializer(n.name + ".weight", specs[0].shape, n.params[0])};
      if (p.bias) in.push_back(initializer(n.name + ".bias", {p.out_channels}, n.params[1]));
      int64_t pad = -p.statements[0].row_offset;
      conv_node(n.name, in, out, p.statements[0].groups, {pad, pad, pad, pad});
      return;
    }
    // Each statement: a Slice of the channels and rows it reads, a Conv with the zero padding
    // that its window needs on each side (the same arithmetic as the PyTorch export).
    std::vector<std::string> parts;
    int64_t span = p.dilation * (p.kernel - 1) + 1;
    for (size_t i = 0; i < p.statements.size(); ++i) {
      const ConvStatement& s = p.statements[i];
      std::string prefix = n.name + "/s" + std::to_string(i);
      int64_t rows = s.row_end - s.row_begin;
      int64_t top = p.stride * s.y_begin + s.row_offset - s.row_begin;
      int64_t bottom = p.stride * (s.y_end - 1) + span + s.row_offset - s.row_begin;
      int64_t left = s.col_offset, right = p.stride * (p.out_w - 1) + span + s.col_offset;
      int64_t r0 = s.row_begin + std::max<int64_t>(top, 0);
      int64_t r1 = s.row_begin + std::min(bottom, rows);
      int64_t c0 = std::max<int64_t>(left, 0), c1 = std::min(right, p.in_w);
      NASX_USER_CHECK(r0 < r1 && c0 < c1, "cannot export layer '", n.name, "' to ONNX: statement ",
                      i, " reads only zero padding");
      int64_t ch0 = s.ci_base, ch1 = s.ci_base + s.groups * s.ci_per_group;
      std::string sliced = x;
      if (ch0 != 0 || ch1 != p.in_channels || r0 != 0 || r1 != p.in_h || c0 != 0 || c1 != p.in_w) {
        sliced = prefix + "/input";
        node("Slice", prefix + "/slice",
             {x, ints_initializer(prefix + "/starts", {ch0, r0, c0}),
              ints_initializer(prefix + "/ends", {ch1, r1, c1}),
              ints_initializer(prefix + "/axes", {1, 2, 3})},
             sliced);
      }
      std::string w = initializer(n.name + "." + specs[i].name, specs[i].shape, n.params[i]);
      parts.push_back(prefix + "/output");
      conv_node(prefix + "/conv", {sliced, w}, parts.back(), s.groups,
                {std::max<int64_t>(-top, 0), std::max<int64_t>(-left, 0),
                 std::max<int64_t>(bottom - rows, 0), std::max<int64_t>(right - p.in_w, 0)});
    }
    std::vector<int> all(p.statements.size());
    for (size_t i = 0; i < all.size(); ++i) all[i] = int(i);
    int concats = 0;
    std::string v = assemble(n.name, p, all, parts, concats, p.bias ? "" : out);
    if (p.bias) {
      Tensor b = n.params.back();
      node("Add", n.name + "/bias", {v, initializer(n.name + ".bias", {p.out_channels, 1, 1}, b)},
           out);
    }
    Json meta{{"input", x}, {"output", out}, {"program", conv_program_json(p)}};
    onnx::StringStringEntryProto* e = model_.add_metadata_props();
    e->set_key(kOnnxProgramKeyPrefix + n.name);
    e->set_value(meta.dump());
  }

  // Joins the statements' outputs (`ids`, which tile a box of (channels, rows)) with Concats:
  // cut the box along channels, else rows, where no statement straddles the cut, and recurse.
  // `out`: the value to write ("" for a fresh name).
  std::string assemble(const std::string& layer, const ConvProgram& p, std::vector<int> ids,
                       const std::vector<std::string>& parts, int& concats,
                       const std::string& out) {
    if (ids.size() == 1 && out.empty()) return parts[ids[0]];
    for (int axis : {1, 2}) {
      auto lo = [&](int s) {
        return axis == 1 ? p.statements[s].co_begin : p.statements[s].y_begin;
      };
      auto hi = [&](int s) { return axis == 1 ? p.statements[s].co_end : p.statements[s].y_end; };
      std::sort(ids.begin(), ids.end(), [&](int a, int b) { return lo(a) < lo(b); });
      std::vector<std::vector<int>> bands{{ids[0]}};
      int64_t reach = hi(ids[0]);
      for (size_t i = 1; i < ids.size(); ++i) {
        if (lo(ids[i]) >= reach) bands.emplace_back();
        bands.back().push_back(ids[i]);
        reach = std::max(reach, hi(ids[i]));
      }
      if (bands.size() == 1 && ids.size() > 1) continue;
      std::vector<std::string> in;
      for (const std::vector<int>& band : bands)
        in.push_back(assemble(layer, p, band, parts, concats, ""));
      std::string name = layer + "/concat" + std::to_string(concats++);
      std::string v = out.empty() ? name : out;
      attr(node("Concat", name, in, v), "axis", int64_t(axis));
      return v;
    }
    user_error("cannot export layer '", layer,
               "' to ONNX: its statements' output regions do not nest into channel and row "
               "bands");
  }
};

}  // namespace

std::string onnx_model_bytes(const Network& net) {
  onnx::ModelProto model = Exporter(net).run();
  NASX_USER_CHECK(model.ByteSizeLong() < size_t(INT_MAX), "cannot export ", net.name,
                  " to ONNX: the model is over 2 GiB, the limit of one ONNX file");
  std::string bytes;
  NASX_ASSERT(model.SerializeToString(&bytes), "ONNX serialization failed");
  return bytes;
}

}  // namespace nasx
