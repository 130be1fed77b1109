#include "graph/pytorch_export.h"

#include <sstream>

#include "support/error.h"
#include "support/overloaded.h"

namespace nasx {
namespace {

// The runtime part of the generated file: building nested modules from dotted names, the
// multi-statement convolution (the same slicing and padding as src/torch/reference.cpp), and
// loading a folder of .npy tensors.
constexpr const char* kPrelude = R"PY(import torch
import torch.nn as nn
import torch.nn.functional as F


class ConvProgram(nn.Module):
    """A convolution computed by several statements (split, peel, spatial_split, group lists).
    Statement i writes output channels [co_begin, co_end) and rows [y_begin, y_end) with its own
    weight `weight{i}` of shape [co_end - co_begin, ci_per_group, K, K] and `groups` groups,
    reading input channels from ci_base and input rows [row_begin, row_end) (a row tile)."""

    def __init__(self, in_h, in_w, out_channels, out_h, out_w, kernel, stride, dilation,
                 statements, bias):
        super().__init__()
        self.in_h, self.in_w, self.out_channels = in_h, in_w, out_channels
        self.out_h, self.out_w, self.kernel = out_h, out_w, kernel
        self.stride, self.dilation, self.statements = stride, dilation, statements
        for i, s in enumerate(statements):
            shape = (s["co_end"] - s["co_begin"], s["ci_per_group"], kernel, kernel)
            self.register_parameter(f"weight{i}", nn.Parameter(torch.empty(shape)))
            nn.init.kaiming_normal_(getattr(self, f"weight{i}"), mode="fan_out",
                                    nonlinearity="relu")
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None

    def forward(self, x):
        p = self
        span = p.dilation * (p.kernel - 1) + 1
        out = x.new_zeros(x.shape[0], p.out_channels, p.out_h, p.out_w)
        for i, s in enumerate(p.statements):
            rows = s["row_end"] - s["row_begin"]
            top = p.stride * s["y_begin"] + s["row_offset"] - s["row_begin"]
            bottom = p.stride * (s["y_end"] - 1) + span + s["row_offset"] - s["row_begin"]
            left = s["col_offset"]
            right = p.stride * (p.out_w - 1) + span + s["col_offset"]
            c0 = s["ci_base"]
            t = x[:, c0:c0 + s["groups"] * s["ci_per_group"], s["row_begin"]:s["row_end"], :]
            t = t[:, :, max(top, 0):min(bottom, rows), max(left, 0):min(right, p.in_w)]
            t = F.pad(t, (max(-left, 0), max(right - p.in_w, 0), max(-top, 0),
                          max(bottom - rows, 0)))
            y = F.conv2d(t, getattr(self, f"weight{i}"), None, p.stride, 0, p.dilation,
                         s["groups"])
            out[:, s["co_begin"]:s["co_end"], s["y_begin"]:s["y_end"]] = \
                y[:, :, :s["y_end"] - s["y_begin"], :p.out_w]
        if self.bias is not None:
            out = out + self.bias.view(1, -1, 1, 1)
        return out


def _add(root, name, module):
    parts = name.split(".")
    for part in parts[:-1]:
        if not hasattr(root, part):
            root.add_module(part, nn.Module())
        root = getattr(root, part)
    root.add_module(parts[-1], module)
    return module


def load_npy(model, folder):
    """Loads <name>.npy for every tensor of model.state_dict() (num_batches_tracked aside)."""
    import numpy as np
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith("num_batches_tracked"):
                continue
            a = torch.from_numpy(np.load(f"{folder}/{name}.npy"))
            if tuple(a.shape) != tuple(t.shape):
                raise ValueError(f"{name}: the file has shape {tuple(a.shape)}, "
                                 f"the model needs {tuple(t.shape)}")
            t.copy_(a)
    return model

)PY";

bool plain_conv(const ConvProgram& p) {
  if (p.statements.size() != 1) return false;
  const ConvStatement& s = p.statements[0];
  return s.co_begin == 0 && s.co_end == p.out_channels && s.y_begin == 0 && s.y_end == p.out_h &&
         s.ci_base == 0 && s.ci_per_group * s.groups == p.in_channels && s.row_begin == 0 &&
         s.row_end == p.in_h && s.row_offset == s.col_offset && s.row_offset <= 0;
}

std::string conv_module(const ConvProgram& p) {
  std::ostringstream o;
  if (plain_conv(p)) {
    const ConvStatement& s = p.statements[0];
    o << "nn.Conv2d(" << p.in_channels << ", " << p.out_channels << ", " << p.kernel
      << ", stride=" << p.stride << ", padding=" << -s.row_offset << ", dilation=" << p.dilation
      << ", groups=" << s.groups << ", bias=" << (p.bias ? "True" : "False") << ")";
    return o.str();
  }
  o << "ConvProgram(" << p.in_h << ", " << p.in_w << ", " << p.out_channels << ", " << p.out_h
    << ", " << p.out_w << ", " << p.kernel << ", " << p.stride << ", " << p.dilation << ", [";
  for (size_t i = 0; i < p.statements.size(); ++i) {
    const ConvStatement& s = p.statements[i];
    o << (i ? ",\n            " : "") << "dict(co_begin=" << s.co_begin << ", co_end=" << s.co_end
      << ", y_begin=" << s.y_begin << ", y_end=" << s.y_end << ", ci_base=" << s.ci_base
      << ", ci_per_group=" << s.ci_per_group << ", groups=" << s.groups
      << ", row_begin=" << s.row_begin << ", row_end=" << s.row_end
      << ", row_offset=" << s.row_offset << ", col_offset=" << s.col_offset << ")";
  }
  o << "], " << (p.bias ? "True" : "False") << ")";
  return o.str();
}

std::string py_repr(double v) {
  std::ostringstream o;
  o.precision(17);
  o << v;
  return o.str();
}

}  // namespace

std::string pytorch_module_source(const Network& net) {
  std::ostringstream init, fwd;
  auto value = [](int k) {
    return k == kNetworkInput ? std::string("x") : "v" + std::to_string(k);
  };
  int modules = 0;
  for (size_t i = 0; i < net.nodes.size(); ++i) {
    const Node& n = net.nodes[i];
    std::string out = "v" + std::to_string(i);
    std::vector<std::string> in;
    for (int k : n.inputs) in.push_back(value(k));
    auto module = [&](const std::string& ctor) {
      init << "        m.append(_add(self, \"" << n.name << "\", " << ctor << "))\n";
      return "m[" + std::to_string(modules++) + "]";
    };
    std::string expr = std::visit(
        Overloaded{
            [&](const ConvProgram& p) { return module(conv_module(p)) + "(" + in[0] + ")"; },
            [&](const FusedConv& f) -> std::string {
              std::string e = module(conv_module(f.program)) + "(" + in[0] + ")";
              if (f.residual) e = "(" + e + " + " + in[1] + ")";
              return f.relu ? "F.relu(" + e + ")" : e;
            },
            [&](const BatchNorm& b) {
              std::string e = module("nn.BatchNorm2d(" + std::to_string(b.channels) +
                                     ", eps=" + py_repr(b.eps) + ")") +
                              "(" + in[0] + ")";
              return b.relu ? "F.relu(" + e + ")" : e;
            },
            [&](const Relu&) { return "F.relu(" + in[0] + ")"; },
            [&](const ResidualAdd&) { return in[0] + " + " + in[1]; },
            [&](const Concat&) {
              std::string list;
              for (const std::string& s : in) list += (list.empty() ? "" : ", ") + s;
              return "torch.cat([" + list + "], 1)";
            },
            [&](const MaxPool& m) {
              return "F.max_pool2d(" + in[0] + ", " + std::to_string(m.kernel) + ", " +
                     std::to_string(m.stride) + ", " + std::to_string(m.pad) + ")";
            },
            [&](const AvgPool& a) {
              return "F.avg_pool2d(" + in[0] + ", " + std::to_string(a.kernel) + ", " +
                     std::to_string(a.stride) + ", " + std::to_string(a.pad) +
                     ", count_include_pad=True)";
            },
            [&](const GlobalAvgPool&) { return "F.adaptive_avg_pool2d(" + in[0] + ", 1)"; },
            [&](const Linear& l) {
              return module("nn.Linear(" + std::to_string(l.in_features) + ", " +
                            std::to_string(l.out_features) +
                            ", bias=" + (l.bias ? "True" : "False") + ")") +
                     "(" + in[0] + ")";
            },
            [&](const Flatten&) { return "torch.flatten(" + in[0] + ", 1)"; },
        },
        n.op);
    fwd << "        " << out << " = " << expr << "  # " << n.name << "\n";
  }
  std::ostringstream py;
  py << "# " << net.name << " as a PyTorch module, written by `nasx export --pytorch` ("
     << net.params() << " parameters, input [N, " << net.input_chw[0] << ", " << net.input_chw[1]
     << ", " << net.input_chw[2] << "], " << net.num_classes
     << " classes).\n# Usage: model = load_npy(Net(), 'WEIGHTS_DIR'); y = model(x)\n"
     << kPrelude << "\nclass Net(nn.Module):\n"
     << "    input_shape = (" << net.input_chw[0] << ", " << net.input_chw[1] << ", "
     << net.input_chw[2] << ")\n    num_classes = " << net.num_classes << "\n\n"
     << "    def __init__(self):\n        super().__init__()\n        m = []\n"
     << init.str() << "        self._modules_in_order = m\n\n"
     << "    def forward(self, x):\n        m = self._modules_in_order\n"
     << fwd.str() << "        return v" << net.nodes.size() - 1 << "\n";
  return py.str();
}

}  // namespace nasx
