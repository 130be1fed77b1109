"""nasx from Python: neural architecture search as program transformation exploration.

    import nasx
    net = nasx.load("resnet18_cifar")            # a zoo name, an .onnx or ARCH.json path,
                                                 # or a torch.nn.Module with input_shape=
    result = net.search(budget="4m")             # the fastest legal network
    print(result.speedup, result.report_dir)
    model = result.to_torch()                    # a torch.nn.Module of the result

Every call runs the nasx engine this package carries in its own process (nasx's LibTorch never
enters this one), so any PyTorch may be imported beside it. Bad inputs raise nasx.Error (a
ValueError) with nasx's message; docs/python.md maps each call to its command line.
"""
from __future__ import annotations

from ._engine import Error, executable
from ._network import Network, SearchResult, legal, load, transform

__all__ = ["Error", "Network", "SearchResult", "load", "transform", "legal", "executable",
           "__version__"]
__version__ = "0.1.0"
