# An independent check of the ONNX files nasx exports, for tests/graph/onnx_test.cpp: runs the
# graph node by node with PyTorch's functional operators, following the ONNX operator
# definitions (not nasx's code), after onnx.checker has validated it. Debian's python3-onnx and
# python3-torch.
#   python3 onnx_run.py MODEL.onnx X.npy Y.npy
import sys

import numpy as np
import onnx
import onnx.numpy_helper
import torch
import torch.nn.functional as F


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def pads_2d(a):
    # ONNX pads [top, left, bottom, right] -> F.pad's (left, right, top, bottom)
    p = a.get("pads", [0, 0, 0, 0])
    return (p[1], p[3], p[0], p[2])


def run(node, v):
    a, x = attrs(node), [v[i] if i else None for i in node.input]
    op = node.op_type
    if op == "Conv":
        t = F.pad(x[0], pads_2d(a))
        return F.conv2d(t, x[1], x[2] if len(x) > 2 else None, a.get("strides", [1, 1]), 0,
                        a.get("dilations", [1, 1]), a.get("group", 1))
    if op == "Slice":
        t = x[0]
        for start, end, axis in zip(x[1].tolist(), x[2].tolist(), x[3].tolist()):
            t = t.narrow(axis, start, end - start)
        return t
    if op == "Concat":
        return torch.cat(x, a["axis"])
    if op == "Add":
        return x[0] + x[1]
    if op == "Relu":
        return F.relu(x[0])
    if op == "BatchNormalization":
        return F.batch_norm(x[0], x[3], x[4], x[1], x[2], False, 0.0, a.get("epsilon", 1e-5))
    if op == "MaxPool":
        t = F.pad(x[0], pads_2d(a), value=float("-inf"))
        return F.max_pool2d(t, a["kernel_shape"], a.get("strides", [1, 1]))
    if op == "AveragePool":
        assert a.get("count_include_pad", 0) == 1 or a.get("pads", [0] * 4) == [0] * 4
        return F.avg_pool2d(F.pad(x[0], pads_2d(a)), a["kernel_shape"], a.get("strides", [1, 1]))
    if op == "GlobalAveragePool":
        return x[0].mean((2, 3), keepdim=True)
    if op == "Flatten":
        return torch.flatten(x[0], a.get("axis", 1))
    if op == "Gemm":
        w = x[1].t() if a.get("transB", 0) else x[1]
        return x[0] @ w + (x[2] if len(x) > 2 else 0)
    raise ValueError(f"onnx_run.py: no {op}")


def main(model_path, x_path, y_path):
    model = onnx.load(model_path)
    onnx.checker.check_model(model, full_check=True)  # schemas and shape inference
    v = {t.name: torch.from_numpy(onnx.numpy_helper.to_array(t).copy())
         for t in model.graph.initializer}
    v[model.graph.input[0].name] = torch.from_numpy(np.load(x_path))
    with torch.no_grad():
        for node in model.graph.node:
            v[node.output[0]] = run(node, v)
    np.save(y_path, v[model.graph.output[0].name].numpy())
    ops = sorted({n.op_type for n in model.graph.node})
    print(" ".join(ops))


if __name__ == "__main__":
    main(*sys.argv[1:])
