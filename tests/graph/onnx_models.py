# Test fixtures for tests/graph/onnx_test.cpp: small CNNs built in PyTorch, exported with
# torch.onnx.export, and PyTorch's own output on a fixed input. Run by Debian's /usr/bin/python3
# (python3-torch); needs no onnx package.
#   python3 onnx_models.py OUT_DIR
# writes, per model NAME: NAME.onnx, NAME.x.npy (input) and NAME.y.npy (PyTorch's output).
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class BasicBlock(nn.Module):
    """torchvision's ResNet basic block, with a 1x1 downsample when the shape changes."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += identity
        return self.relu(out)


class Residual(nn.Module):
    """Stem, max pool, two residual stages, GlobalAveragePool + Flatten + Gemm head."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = nn.Sequential(BasicBlock(8, 8, 1))
        self.layer2 = nn.Sequential(BasicBlock(8, 16, 2))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer2(self.layer1(x))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class DenseLayer(nn.Module):
    def __init__(self, cin, growth):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(cin)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(cin, 2 * growth, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(2 * growth)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(2 * growth, growth, 3, 1, 1, bias=False)

    def forward(self, x):
        return self.conv2(self.relu2(self.norm2(self.conv1(self.relu1(self.norm1(x))))))


class Dense(nn.Module):
    """A DenseNet block (two layers concatenating their features), a transition with average
    pooling, a Dropout (skipped at inference) and a classifier."""

    def __init__(self):
        super().__init__()
        self.conv0 = nn.Conv2d(3, 8, 3, 1, 1, bias=False)
        self.layers = nn.ModuleList([DenseLayer(8, 4), DenseLayer(12, 4)])
        self.norm = nn.BatchNorm2d(16)
        self.conv = nn.Conv2d(16, 8, 1, bias=False)
        self.pool = nn.AvgPool2d(2, 2)
        self.drop = nn.Dropout(0.5)
        self.classifier = nn.Linear(8, 10)

    def forward(self, x):
        x = self.conv0(x)
        for layer in self.layers:
            x = torch.cat([x, layer(x)], 1)
        x = self.pool(self.conv(F.relu(self.norm(x))))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.classifier(self.drop(x))


class Grouped(nn.Module):
    """Grouped, dilated, strided and depthwise convolutions with biases; the classifier is a
    Reshape to N x features and MatMul + Add."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 12, 3, 2, 1)
        self.conv2 = nn.Conv2d(12, 12, 3, 1, 2, dilation=2, groups=3)
        self.depthwise = nn.Conv2d(12, 12, 5, 1, 2, groups=12)
        self.pointwise = nn.Conv2d(12, 8, 1)
        self.weight = nn.Parameter(torch.randn(8 * 4 * 4, 10) * 0.05)
        self.bias = nn.Parameter(torch.randn(10))

    def forward(self, x):
        x = F.relu(self.conv2(F.relu(self.conv1(x))))
        x = F.relu(self.pointwise(self.depthwise(x)))
        x = F.max_pool2d(x, 2, 2)
        return torch.matmul(x.reshape(-1, 8 * 4 * 4), self.weight) + self.bias


class Unsupported(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return torch.sigmoid(self.conv(x)).mean((2, 3))


def randomize_batch_norm(model):
    # Non-trivial running statistics and affine parameters, so that batch norm is tested.
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)


def main(out):
    torch.manual_seed(0)
    cases = [("residual", Residual(), 13, 16), ("dense", Dense(), 11, 16),
             ("grouped", Grouped(), 17, 16), ("unsupported", Unsupported(), 13, 8)]
    for name, model, opset, size in cases:
        randomize_batch_norm(model)
        model.eval()
        x = torch.randn(2, 3, size, size)
        with torch.no_grad():
            y = model(x)
        # A symbolic batch, as deployment exports have it.
        torch.onnx.export(model, x, f"{out}/{name}.onnx", opset_version=opset,
                          input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "N"}, "y": {0: "N"}})
        np.save(f"{out}/{name}.x.npy", x.numpy())
        np.save(f"{out}/{name}.y.npy", y.numpy())


if __name__ == "__main__":
    main(sys.argv[1])
