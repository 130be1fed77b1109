#include "graph/onnx_import.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "graph/onnx_common.h"
#include "graph/onnx_proto.h"
#include "support/error.h"
#include "support/file.h"
#include "support/text.h"

namespace nasx {
namespace {

constexpr const char* kSupported =
    "Conv, BatchNormalization, Relu, Add, Concat, MaxPool, AveragePool, GlobalAveragePool, Gemm, "
    "MatMul, Flatten, Reshape, Identity, Dropout, Constant, and Pad before AveragePool";

// An activation: the node that produces it (or kNetworkInput) and its shape at batch 1.
struct Activation {
  int node = kNetworkInput;
  Shape shape;
};

// torch's scoped node name "/layer1/layer1.0/downsample/downsample.0/Conv" as the module path
// "layer1.0.downsample.0" and the operator "conv". Each scope repeats its parent's name when it
// is a numbered child ("layer1" then "layer1.0"), otherwise it is the attribute name alone.
std::pair<std::string, std::string> split_scoped_name(const std::string& name) {
  std::vector<std::string> parts;
  for (const std::string& p : split(name, '/'))
    if (!p.empty()) parts.push_back(p);
  std::string path, previous;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    const std::string& p = parts[i];
    if (!previous.empty() && p.rfind(previous + ".", 0) == 0)
      path += p.substr(previous.size());
    else
      path += (path.empty() ? "" : ".") + p;
    previous = p;
  }
  std::string op = parts.empty() ? "" : parts.back();
  std::transform(op.begin(), op.end(), op.begin(), [](unsigned char c) { return std::tolower(c); });
  return {path, op};
}

class Importer {
 public:
  Importer(const onnx::ModelProto& model, const std::string& origin, int64_t image_size)
      : model_(model), g_(model.graph()), origin_(origin), image_size_(image_size) {}

  Network run() {
    read_metadata();
    for (const onnx::TensorProto& t : g_.initializer()) {
      NASX_USER_CHECK(!constants_.count(t.name()), origin_, ": initializer '", t.name(),
                      "' appears twice (which one holds the weights?)");
      constants_[t.name()] = read_tensor(t, origin_ + ": initializer '" + t.name() + "'");
    }
    read_input();
    for (const onnx::NodeProto& n : g_.node()) {
      for (const std::string& in : n.input()) ++uses_[in];
      count_scope(n);
    }
    for (const onnx::NodeProto& n : g_.node()) import_node(n);
    return finish();
  }

 private:
  const onnx::ModelProto& model_;
  const onnx::GraphProto& g_;
  std::string origin_;
  int64_t image_size_;
  Network net_;
  std::map<std::string, Activation> values_;
  std::map<std::string, Constant> constants_;
  std::map<std::string, int> uses_;
  std::set<std::string> names_;
  std::set<int> matmul_without_bias_;  // Linear nodes from MatMul, waiting for their Add
  std::map<std::string, std::pair<Activation, int64_t>> pads_;  // Pad outputs: input, padding
  std::map<std::string, Json> programs_;       // layer -> multi-statement program (nasx's exports)
  std::map<std::string, int> nodes_in_scope_;  // torch module path -> nodes that become layers
  std::set<std::string> enclosing_scopes_;     // module paths with modules inside

  void count_scope(const onnx::NodeProto& n) {
    static const std::set<std::string> helpers{"Constant", "Pad", "Identity", "Dropout"};
    if (n.name().empty() || n.name()[0] != '/' || helpers.count(n.op_type())) return;
    std::string path = split_scoped_name(n.name()).first;
    ++nodes_in_scope_[path];
    for (size_t dot = path.find('.'); dot != std::string::npos; dot = path.find('.', dot + 1))
      enclosing_scopes_.insert(path.substr(0, dot));
  }

  std::string where(const onnx::NodeProto& n) const {
    return origin_ + ": node '" + n.name() + "' (" + n.op_type() + ")";
  }

  void read_metadata() {
    for (const onnx::StringStringEntryProto& e : model_.metadata_props()) {
      if (e.key().rfind(kOnnxProgramKeyPrefix, 0) != 0) continue;
      std::string layer = e.key().substr(std::strlen(kOnnxProgramKeyPrefix));
      Json j = Json::parse(e.value(), nullptr, false);
      NASX_USER_CHECK(!j.is_discarded() && j.is_object(), origin_, ": metadata '", e.key(),
                      "' is not a JSON object");
      programs_[layer] = j;
    }
  }

  void read_input() {
    std::set<std::string> initializers;
    for (const onnx::TensorProto& t : g_.initializer()) initializers.insert(t.name());
    const onnx::ValueInfoProto* input = nullptr;
    for (const onnx::ValueInfoProto& v : g_.input()) {
      if (initializers.count(v.name())) continue;  // older exports list weights as inputs
      NASX_USER_CHECK(!input, origin_, ": the graph has several inputs ('", input->name(), "', '",
                      v.name(), "'); nasx imports networks with one image input");
      input = &v;
    }
    NASX_USER_CHECK(input, origin_, ": the graph has no input (not an ONNX model?)");
    const onnx::TypeProto& type = input->type();
    NASX_USER_CHECK(
        type.has_tensor_type() && type.tensor_type().elem_type() == onnx::TensorProto::FLOAT,
        origin_, ": the input '", input->name(), "' must be a float tensor");
    const onnx::TensorShapeProto& shape = type.tensor_type().shape();
    NASX_USER_CHECK(shape.dim_size() == 4, origin_, ": the input '", input->name(),
                    "' must be N x C x H x W, it has ", shape.dim_size(), " dimensions");
    net_.input_chw.clear();
    for (int d = 1; d < 4; ++d) {
      NASX_USER_CHECK(shape.dim(d).has_dim_value() && shape.dim(d).dim_value() > 0 &&
                          shape.dim(d).dim_value() <= 4096 * 16,
                      origin_, ": the input's dimension ", d,
                      " (C, H, W) must be a fixed positive size; only N may be symbolic");
      net_.input_chw.push_back(shape.dim(d).dim_value());
    }
    if (image_size_ > 0) net_.input_chw[1] = net_.input_chw[2] = image_size_;
    values_[input->name()] = {kNetworkInput, net_.input_shape(1)};
  }

  // A layer name: the weight initializer's (minus ".weight") when torch kept the state_dict
  // name, else from the node name; unique.
  std::string layer_name(const onnx::NodeProto& n, const std::string& weight) {
    std::string name;
    const std::string suffix = ".weight";
    if (weight.size() > suffix.size() && weight.rfind("onnx::", 0) != 0 &&
        weight.compare(weight.size() - suffix.size(), suffix.size(), suffix) == 0) {
      name = weight.substr(0, weight.size() - suffix.size());
    } else if (!n.name().empty() && n.name()[0] == '/') {
      auto [path, op] = split_scoped_name(n.name());
      // A parameterless node is a module of its own (nn.ReLU, nn.AvgPool2d) when it is the one
      // node of a scope with no module inside; otherwise a call in its parent's forward (F.relu,
      // the residual +), named after the parent and the operator.
      bool module =
          !path.empty() &&
          (!weight.empty() || (!enclosing_scopes_.count(path) && nodes_in_scope_[path] == 1));
      name = module ? path : path.empty() ? op : path + "." + op;
    } else {
      name = n.name();
    }
    if (name.empty()) name = n.op_type();
    std::string unique = name;
    for (int k = 2; names_.count(unique); ++k) unique = name + "_" + std::to_string(k);
    names_.insert(unique);
    return unique;
  }

  const Activation& activation(const onnx::NodeProto& n, int i) {
    NASX_USER_CHECK(i < n.input_size() && !n.input(i).empty(), where(n), ": input ", i,
                    " is missing");
    auto it = values_.find(n.input(i));
    NASX_USER_CHECK(it != values_.end() || !pads_.count(n.input(i)), where(n),
                    ": reads a Pad; nasx imports Pad only before AveragePool (torch's export of "
                    "count_include_pad)");
    NASX_USER_CHECK(it != values_.end(), where(n), ": input '", n.input(i),
                    "' is not an activation computed before it (a constant where nasx expects "
                    "an activation, or nodes out of order)");
    return it->second;
  }
  const Constant* constant(const onnx::NodeProto& n, int i) {
    if (i >= n.input_size() || n.input(i).empty()) return nullptr;
    auto it = constants_.find(n.input(i));
    return it == constants_.end() ? nullptr : &it->second;
  }
  const Constant& required_constant(const onnx::NodeProto& n, int i, const char* what) {
    const Constant* c = constant(n, i);
    NASX_USER_CHECK(c, where(n), ": its ", what, " (input ", i,
                    ") must be a constant (an initializer)");
    return *c;
  }
  Tensor float_tensor(const onnx::NodeProto& n, const Constant& c, Shape shape, const char* what) {
    NASX_USER_CHECK(c.ints.empty() && int64_t(c.floats.size()) == num_elements(shape), where(n),
                    ": its ", what, " must be a float tensor of ", num_elements(shape),
                    " values (shape ", shape_string(shape), "), got shape ", shape_string(c.dims));
    Tensor t(std::move(shape));
    t.data = c.floats;
    return t;
  }

  int add_node(const onnx::NodeProto& n, const std::string& name, Op op, std::vector<int> inputs,
               std::vector<Tensor> params) {
    std::vector<Shape> in;
    for (int k : inputs) in.push_back(k == kNetworkInput ? net_.input_shape(1) : shapes_.at(k));
    Shape out;
    try {
      out = infer_shape(op, in);
    } catch (const UserError& e) {
      user_error(where(n), ": ", e.what());
    }
    net_.nodes.push_back({name, std::move(op), std::move(inputs), std::move(params)});
    shapes_.push_back(out);
    int k = int(net_.nodes.size()) - 1;
    NASX_USER_CHECK(n.output_size() >= 1, where(n), ": no output");
    values_[n.output(0)] = {k, out};
    return k;
  }
  std::vector<Shape> shapes_;

  // The output `i` of `n` must not be read (Dropout's mask, BatchNormalization's statistics).
  void expect_unused_outputs(const onnx::NodeProto& n) {
    for (int i = 1; i < n.output_size(); ++i)
      NASX_USER_CHECK(n.output(i).empty() || uses_[n.output(i)] == 0, where(n), ": its output ", i,
                      " ('", n.output(i), "') is used; nasx imports inference graphs only");
  }

  int64_t square(const onnx::NodeProto& n, const std::vector<int64_t>& v, const char* what) {
    NASX_USER_CHECK(v.size() == 2 && v[0] == v[1], where(n), ": ", what,
                    " must be two equal values (nasx has square kernels, equal strides)");
    return v[0];
  }
  int64_t symmetric_pad(const onnx::NodeProto& n) {
    const onnx::AttributeProto* ap = find_attr(n, "auto_pad");
    std::string auto_pad = ap ? ap->s() : "NOTSET";
    if (auto_pad == "VALID") return 0;
    NASX_USER_CHECK(auto_pad == "NOTSET", where(n), ": auto_pad ", auto_pad,
                    " is not supported (give explicit pads)");
    std::vector<int64_t> p = attr_ints(n, "pads", {0, 0, 0, 0});
    NASX_USER_CHECK(p.size() == 4 && p[0] == p[1] && p[0] == p[2] && p[0] == p[3], where(n),
                    ": asymmetric pads are not supported (nasx pads every side alike)");
    return p[0];
  }

  void import_node(const onnx::NodeProto& n) {
    NASX_USER_CHECK(n.domain().empty() || n.domain() == "ai.onnx", where(n), ": operator domain '",
                    n.domain(), "' is not supported");
    NASX_USER_CHECK(n.output_size() >= 1 && !n.output(0).empty(), where(n),
                    ": a node without an output");
    if (import_program_part(n)) return;
    const std::string& op = n.op_type();
    if (op == "Constant") return import_constant(n);
    if (op == "Identity" || op == "Dropout") return alias(n);
    if (op == "Conv") return import_conv(n);
    if (op == "BatchNormalization") return import_batch_norm(n);
    if (op == "Relu") {
      add_node(n, layer_name(n, ""), Relu{}, {activation(n, 0).node}, {});
      return;
    }
    if (op == "Add") return import_add(n);
    if (op == "Concat") return import_concat(n);
    if (op == "MaxPool" || op == "AveragePool") return import_pool(n);
    if (op == "GlobalAveragePool") {
      add_node(n, layer_name(n, ""), GlobalAvgPool{}, {activation(n, 0).node}, {});
      return;
    }
    if (op == "Gemm" || op == "MatMul") return import_linear(n);
    if (op == "Flatten" || op == "Reshape") return import_flatten(n);
    if (op == "Pad") return import_pad(n);
    user_error(where(n), ": operator ", op, " is not supported (nasx imports ", kSupported, ")");
  }

  void import_constant(const onnx::NodeProto& n) {
    const onnx::AttributeProto* v = find_attr(n, "value");
    const onnx::AttributeProto* ints = find_attr(n, "value_ints");
    NASX_USER_CHECK(v || ints, where(n), ": only 'value' and 'value_ints' constants are supported");
    Constant c;
    if (v) {
      c = read_tensor(v->t(), where(n));
    } else {
      c.ints.assign(ints->ints().begin(), ints->ints().end());
      c.dims = {int64_t(c.ints.size())};
    }
    constants_[n.output(0)] = std::move(c);
  }

  void alias(const onnx::NodeProto& n) {
    expect_unused_outputs(n);
    NASX_USER_CHECK(n.input_size() >= 1 && n.output_size() >= 1, where(n), ": no input");
    if (const Constant* c = constant(n, 0)) {
      constants_[n.output(0)] = *c;
      return;
    }
    values_[n.output(0)] = activation(n, 0);
  }

  void import_conv(const onnx::NodeProto& n) {
    const Activation& x = activation(n, 0);
    const Constant& w = required_constant(n, 1, "weight");
    NASX_USER_CHECK(x.shape.size() == 4 && w.dims.size() == 4, where(n),
                    ": only 2-D convolutions are supported");
    int64_t groups = attr_int(n, "group", 1);
    int64_t k = square(n, {w.dims[2], w.dims[3]}, "the kernel");
    if (find_attr(n, "kernel_shape"))
      NASX_USER_CHECK(attr_ints(n, "kernel_shape", {}) == std::vector<int64_t>({k, k}), where(n),
                      ": kernel_shape differs from the weight's shape");
    NASX_USER_CHECK(groups > 0 && groups <= x.shape[1] && w.dims[1] * groups == x.shape[1],
                    where(n), ": the weight ", shape_string(w.dims), " with ", groups,
                    " groups does not read ", x.shape[1], " input channels");
    ConvSpec spec{x.shape[1],
                  x.shape[2],
                  x.shape[3],
                  w.dims[0],
                  k,
                  square(n, attr_ints(n, "strides", {1, 1}), "strides"),
                  symmetric_pad(n),
                  square(n, attr_ints(n, "dilations", {1, 1}), "dilations"),
                  groups,
                  constant(n, 2) != nullptr};
    NASX_USER_CHECK(spec.bias || n.input_size() < 3 || n.input(2).empty(), where(n),
                    ": the bias must be a constant (an initializer), not an activation");
    ConvProgram p;
    try {
      p = ConvProgram::make(spec);
    } catch (const UserError& e) {
      user_error(where(n), ": ", e.what());
    }
    std::vector<Tensor> params{float_tensor(n, w, w.dims, "weight")};
    if (spec.bias) params.push_back(float_tensor(n, *constant(n, 2), {w.dims[0]}, "bias"));
    add_node(n, layer_name(n, n.input(1)), p, {x.node}, std::move(params));
  }

  void import_batch_norm(const onnx::NodeProto& n) {
    expect_unused_outputs(n);
    NASX_USER_CHECK(attr_int(n, "training_mode", 0) == 0, where(n),
                    ": training_mode batch norm is not supported (export in eval mode)");
    const Activation& x = activation(n, 0);
    NASX_USER_CHECK(x.shape.size() == 4, where(n), ": the input must be N x C x H x W");
    int64_t c = x.shape[1];
    std::vector<Tensor> params;
    const char* what[] = {"scale", "bias", "mean", "variance"};
    for (int i = 0; i < 4; ++i)
      params.push_back(float_tensor(n, required_constant(n, i + 1, what[i]), {c}, what[i]));
    BatchNorm bn{c, double(attr_float(n, "epsilon", 1e-5f)), false};
    add_node(n, layer_name(n, n.input(1)), bn, {x.node}, std::move(params));
  }

  void import_add(const onnx::NodeProto& n) {
    NASX_USER_CHECK(n.input_size() == 2, where(n), ": expected two inputs");
    const Constant* c0 = constant(n, 0);
    const Constant* c1 = constant(n, 1);
    if (!c0 && !c1) {
      add_node(n, layer_name(n, ""), ResidualAdd{}, {activation(n, 0).node, activation(n, 1).node},
               {});
      return;
    }
    // A constant added to an activation: only the bias after a MatMul (a Linear layer).
    int i = c0 ? 1 : 0;
    const Activation& x = activation(n, i);
    bool fuses = x.node >= 0 && matmul_without_bias_.count(x.node) && uses_[n.input(i)] == 1;
    NASX_USER_CHECK(fuses, where(n),
                    ": adding a constant is supported only as the bias after "
                    "a MatMul");
    Node& linear = net_.nodes[x.node];
    Linear& l = std::get<Linear>(linear.op);
    linear.params.push_back(float_tensor(n, c0 ? *c0 : *c1, {l.out_features}, "bias"));
    l.bias = true;
    matmul_without_bias_.erase(x.node);
    values_[n.output(0)] = x;
  }

  void import_concat(const onnx::NodeProto& n) {
    Concat c;
    std::vector<int> inputs;
    for (int i = 0; i < n.input_size(); ++i) {
      const Activation& a = activation(n, i);
      NASX_USER_CHECK(a.shape.size() == 4, where(n), ": inputs must be N x C x H x W");
      inputs.push_back(a.node);
      c.channels.push_back(a.shape[1]);
    }
    int64_t axis = attr_int(n, "axis", 1);
    NASX_USER_CHECK(axis == 1 || axis == -3, where(n),
                    ": only concatenation along channels "
                    "(axis 1) is supported, got axis ",
                    axis);
    add_node(n, layer_name(n, ""), c, inputs, {});
  }

  void import_pool(const onnx::NodeProto& n) {
    expect_unused_outputs(n);
    // torch exports an average pool that counts its padding as Pad + AveragePool.
    auto padded =
        n.input_size() > 0 && n.op_type() == "AveragePool" ? pads_.find(n.input(0)) : pads_.end();
    const Activation& x = padded != pads_.end() ? padded->second.first : activation(n, 0);
    int64_t k = square(n, attr_ints(n, "kernel_shape", {}), "kernel_shape");
    int64_t stride = square(n, attr_ints(n, "strides", {1, 1}), "strides");
    int64_t pad = symmetric_pad(n);
    NASX_USER_CHECK(attr_int(n, "ceil_mode", 0) == 0, where(n), ": ceil_mode is not supported");
    if (padded != pads_.end()) {
      NASX_USER_CHECK(pad == 0 && uses_[n.input(0)] == 1, where(n),
                      ": a Pad before a padded or shared AveragePool is not supported");
      // The padded zeros are averaged in: nasx's AvgPool (count_include_pad) with that pad.
      add_node(n, layer_name(n, ""), AvgPool{k, stride, padded->second.second}, {x.node}, {});
      return;
    }
    NASX_USER_CHECK(square(n, attr_ints(n, "dilations", {1, 1}), "dilations") == 1, where(n),
                    ": dilated pooling is not supported");
    if (n.op_type() == "MaxPool") {
      add_node(n, layer_name(n, ""), MaxPool{k, stride, pad}, {x.node}, {});
      return;
    }
    NASX_USER_CHECK(pad == 0 || attr_int(n, "count_include_pad", 0) == 1, where(n),
                    ": padded average pooling must count the padding (count_include_pad=1)");
    add_node(n, layer_name(n, ""), AvgPool{k, stride, pad}, {x.node}, {});
  }

  // Zero padding of H and W alike: nothing when zero, else it waits for its AveragePool.
  void import_pad(const onnx::NodeProto& n) {
    const Activation& x = activation(n, 0);
    const onnx::AttributeProto* mode = find_attr(n, "mode");
    NASX_USER_CHECK(!mode || mode->s() == "constant", where(n), ": only constant padding");
    std::vector<int64_t> p = constant(n, 1) ? constant(n, 1)->ints : attr_ints(n, "pads", {});
    const Constant* value = constant(n, 2);
    NASX_USER_CHECK(!value || std::all_of(value->floats.begin(), value->floats.end(),
                                          [](float v) { return v == 0; }),
                    where(n), ": only zero padding is supported");
    NASX_USER_CHECK(x.shape.size() == 4 && p.size() == 8 && p[0] == 0 && p[1] == 0 && p[4] == 0 &&
                        p[5] == 0 && p[2] == p[3] && p[2] == p[6] && p[2] == p[7] && p[2] >= 0,
                    where(n), ": only equal padding of H and W is supported");
    if (p[2] == 0) {
      values_[n.output(0)] = x;
      return;
    }
    pads_[n.output(0)] = {x, p[2]};
  }

  // Gemm: y = alpha * x op(B) + beta * C; MatMul: y = x B (its bias comes with the next Add).
  void import_linear(const onnx::NodeProto& n) {
    const Activation& x = activation(n, 0);
    NASX_USER_CHECK(x.shape.size() == 2, where(n), ": the input must be N x features, got ",
                    shape_string(x.shape), " (flatten first)");
    const Constant& b = required_constant(n, 1, "weight");
    bool gemm = n.op_type() == "Gemm";
    bool trans_b = gemm && attr_int(n, "transB", 0) != 0;
    NASX_USER_CHECK(!gemm || attr_int(n, "transA", 0) == 0, where(n), ": transA is not supported");
    NASX_USER_CHECK(b.dims.size() == 2, where(n), ": the weight must be a matrix");
    int64_t in = trans_b ? b.dims[1] : b.dims[0], out = trans_b ? b.dims[0] : b.dims[1];
    Tensor stored = float_tensor(n, b, b.dims, "weight");
    float alpha = gemm ? attr_float(n, "alpha", 1) : 1, beta = gemm ? attr_float(n, "beta", 1) : 1;
    Tensor w({out, in});  // nasx's Linear holds [out, in], as torch does
    for (int64_t o = 0; o < out; ++o)
      for (int64_t i = 0; i < in; ++i)
        w.data[o * in + i] = alpha * stored.data[trans_b ? o * in + i : i * out + o];
    Linear l{in, out, false};
    std::vector<Tensor> params{w};
    NASX_USER_CHECK(!gemm || n.input_size() < 3 || n.input(2).empty() || constant(n, 2), where(n),
                    ": C must be a constant (an initializer), not an activation");
    if (const Constant* c = gemm ? constant(n, 2) : nullptr) {
      Tensor bias = float_tensor(n, *c, {out}, "bias (C, one value per output)");
      for (float& v : bias.data) v *= beta;
      params.push_back(bias);
      l.bias = true;
    }
    int k = add_node(n, layer_name(n, n.input(1)), l, {x.node}, std::move(params));
    if (!l.bias) matmul_without_bias_.insert(k);
  }

  // Flatten(axis 1), or a Reshape to [N, C*H*W]: nasx's Flatten; on N x F already, nothing.
  void import_flatten(const onnx::NodeProto& n) {
    const Activation& x = activation(n, 0);
    int64_t features = num_elements(x.shape);  // at batch 1
    if (n.op_type() == "Flatten") {
      NASX_USER_CHECK(attr_int(n, "axis", 1) == 1, where(n), ": only axis 1 is supported");
    } else {
      const Constant& s = required_constant(n, 1, "shape");
      std::vector<int64_t> t = s.ints;
      // 0 copies the batch; -1 infers; a fixed batch (an export without dynamic axes) stands for
      // whatever batch nasx runs.
      bool ok = t.size() == 2 && (t[0] == 0 || t[0] == -1 || t[0] == 1) &&
                (t[1] == -1 || t[1] == features) && !(t[0] == -1 && t[1] == -1);
      NASX_USER_CHECK(ok, where(n), ": only a reshape to N x features ([0, -1], [-1, ", features,
                      "] or [N, -1]) is supported");
    }
    if (x.shape.size() == 2) {
      values_[n.output(0)] = x;
      return;
    }
    NASX_USER_CHECK(x.shape.size() == 4, where(n), ": the input must be N x C x H x W");
    add_node(n, layer_name(n, ""), Flatten{}, {x.node}, {});
  }

  // Nodes "<layer>/..." of a multi-statement convolution that nasx exported: skipped, and the
  // one producing the program's output becomes the convolution, read from the metadata.
  bool import_program_part(const onnx::NodeProto& n) {
    size_t slash = n.name().find('/');
    if (slash == std::string::npos || slash == 0) return false;
    auto it = programs_.find(n.name().substr(0, slash));
    if (it == programs_.end()) return false;
    const std::string& layer = it->first;
    const Json& j = it->second;
    std::string w = origin_ + ": metadata of layer '" + layer + "'";
    NASX_USER_CHECK(j.contains("input") && j["input"].is_string() && j.contains("output") &&
                        j["output"].is_string() && j.contains("program"),
                    w, ": needs input, output and program");
    if (n.output_size() < 1 || n.output(0) != j["output"].get<std::string>()) return true;
    ConvProgram p = conv_program_from_json(j["program"], w);
    auto in = values_.find(j["input"].get<std::string>());
    NASX_USER_CHECK(in != values_.end(), w, ": its input is not an activation computed before it");
    NASX_USER_CHECK(in->second.shape == p.input_shape(1), w, ": the program reads ",
                    shape_string(p.input_shape(1)), ", its input is ",
                    shape_string(in->second.shape));
    std::vector<Tensor> params;
    for (const ParamSpec& s : param_specs(p)) {
      auto c = constants_.find(layer + "." + s.name);
      NASX_USER_CHECK(c != constants_.end(), w, ": initializer '", layer, ".", s.name,
                      "' is missing");
      params.push_back(float_tensor(n, c->second, s.shape, s.name.c_str()));
    }
    NASX_USER_CHECK(!names_.count(layer), w, ": the name is used twice");
    names_.insert(layer);
    add_node(n, layer, p, {in->second.node}, std::move(params));
    return true;
  }

  Network finish() {
    NASX_USER_CHECK(g_.output_size() == 1, origin_, ": the graph must have one output, it has ",
                    g_.output_size());
    auto out = values_.find(g_.output(0).name());
    NASX_USER_CHECK(out != values_.end() && out->second.node >= 0, origin_, ": the output '",
                    g_.output(0).name(), "' is not computed by the graph");
    NASX_USER_CHECK(out->second.node == int(net_.nodes.size()) - 1, origin_,
                    ": nodes computed after the output are not supported");
    NASX_USER_CHECK(out->second.shape.size() == 2, origin_,
                    ": the output must be N x classes, it is ", shape_string(out->second.shape));
    net_.num_classes = out->second.shape[1];
    bool concat = std::any_of(net_.nodes.begin(), net_.nodes.end(),
                              [](const Node& n) { return std::holds_alternative<Concat>(n.op); });
    // The family decides how transformed layers are re-initialised (zoo.h): DenseNet's fan_in
    // rule for concatenating networks, ResNet's fan_out otherwise.
    net_.family = concat ? "densenet" : "resnet";
    return std::move(net_);
  }
};

}  // namespace

bool is_onnx_path(const std::string& model) {
  return model.size() > 5 && model.compare(model.size() - 5, 5, ".onnx") == 0;
}

Network import_onnx(const std::string& path, int64_t image_size) {
  check_regular_file(path, "an ONNX model");
  std::ifstream f(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  NASX_USER_CHECK(f.good() || f.eof(), "cannot read ", path);
  onnx::ModelProto model;
  NASX_USER_CHECK(model.ParseFromString(bytes), path,
                  ": not a valid ONNX model (the protobuf does not parse; corrupt or truncated?)");
  NASX_USER_CHECK(model.has_graph() && model.graph().node_size() > 0, path,
                  ": not an ONNX model with a graph (corrupt or truncated?)");
  bool default_domain = false;
  for (const onnx::OperatorSetIdProto& o : model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") {
      default_domain = true;
      // The operators' meaning changes across opsets (Pad's and Clip's inputs, Squeeze's axes,
      // ReduceMean's axes at 18): outside the range imported and tested, refused, not guessed.
      NASX_USER_CHECK(o.version() >= 11 && o.version() <= 17, path, ": ONNX opset ", o.version(),
                      " is not supported (nasx imports opsets 11 to 17; export with "
                      "opset_version=13)");
    }
  NASX_USER_CHECK(default_domain, path, ": the model imports no standard ONNX operator set");
  Network net = Importer(model, path, image_size).run();
  net.name = std::filesystem::path(path).stem().string();
  return net;
}

}  // namespace nasx
