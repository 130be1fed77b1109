"""Network and SearchResult: thin, typed views of what the nasx commands print as JSON."""
from __future__ import annotations

import json
import os
import tempfile
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from ._engine import Error, Progress, run, run_json

ModelLike = Union[str, "os.PathLike[str]", Any]  # a zoo name, a path, or a torch.nn.Module


class Network:
    """A network nasx can search: a zoo model, an .onnx file or an ARCH.json.

    layers: one dict per layer (name, type, inputs, output_shape, params, macs), as `nasx show`.
    """

    def __init__(self, model: str, width: Optional[float] = None, _info: Optional[dict] = None):
        self.model = model
        self.width = width
        info = _info if _info is not None else run_json(["show", model, *self._width_args()])
        self.name: str = info["name"]
        self.input_shape: Tuple[int, ...] = tuple(info["input_shape"])
        self.params: int = info["params"]
        self.macs: int = info["macs"]
        self.layers: List[Dict[str, Any]] = info["layers"]

    def _width_args(self) -> List[str]:
        return ["--width", str(self.width)] if self.width not in (None, 1, 1.0) else []

    def __repr__(self) -> str:
        return (f"nasx.Network({self.name!r}: {len(self.layers)} layers, {self.params:,} "
                f"parameters, {self.macs:,} MACs)")

    def search(self, budget: str = "4m", data: str = "fashion-mnist", rule: Optional[str] = None,
               seed: int = 0, out: Optional[str] = None, progress: bool = True,
               resume: bool = True) -> "SearchResult":
        """Searches for the fastest legal network (`nasx search`). `out` is the report folder
        (default: a new temporary one); a folder that exists is resumed, as on the command
        line. Ctrl-C stops the search with its journal kept: the same call resumes it."""
        if out is None:
            out = tempfile.mkdtemp(prefix="nasx-search-")
            os.rmdir(out)  # nasx creates it
        args = ["search", self.model, "--budget", budget, "--data", data, "--seed", str(seed),
                "--out", out, *self._width_args()]
        if rule:
            args += ["--rule", rule]
        bar = Progress(progress)
        said: List[str] = []

        def show(line: str) -> None:
            said.append(line)
            bar(line)

        try:
            summary = run_json(args, show)
        finally:
            bar.close()
        result = SearchResult(self, summary)
        result.resumed = any(l.startswith("resuming the search") for l in said)
        return result

    def bench(self, batch: int = 1, repeat: int = 30) -> Dict[str, float]:
        """Median latency of the compiled network (`nasx bench`), in milliseconds."""
        j = run_json(["bench", self.model, "--batch", str(batch), "--repeat", str(repeat)])
        return {"median_ms": j["latency_ms"], "min_ms": j["latency_min_ms"],
                "max_ms": j["latency_max_ms"]}

    def run(self, x: Any, weights: Optional[str] = None, seed: int = 0) -> Any:
        """The compiled network's output on a float32 array [N, C, H, W] (`nasx run`)."""
        import numpy as np

        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.ndim != 4:
            raise Error(f"run expects a float32 array [N, C, H, W], got shape {x.shape}")
        with tempfile.TemporaryDirectory(prefix="nasx-run-") as d:
            i, o = os.path.join(d, "in.npy"), os.path.join(d, "out.npy")
            np.save(i, x)
            args = ["run", self.model, "--input", i, "--output", o, "--seed", str(seed)]
            if weights:
                args += ["--weights", weights]
            try:
                run(args)
            except Error as e:  # name the array, not the temporary file it went through
                raise Error(str(e).replace(i + ": ", "the input array: ").replace(i, "the input array"),
                            e.exit_code) from None
            return np.load(o)


class SearchResult:
    """What `nasx search` returned: the speedup with its spread, both networks' latency and
    parameters, the chosen transformations, the report (a dict) and its folder."""

    def __init__(self, original: Network, summary: dict):
        self.original = original
        self.summary = summary
        self.report_dir: str = summary["out"]
        self.arch_path: str = summary["arch"]
        s = summary["speedup"]
        self.speedup: float = s["median"]
        self.speedup_spread: Tuple[float, float] = (s["min"], s["max"])
        self.baseline_ms: float = summary["baseline"]["latency"]["median_ms"]
        self.result_ms: float = summary["result"]["latency"]["median_ms"]
        self.params: Tuple[int, int] = (summary["baseline"]["params"], summary["result"]["params"])
        self.resumed = False  # whether this call resumed an interrupted search in report_dir
        with open(os.path.join(self.report_dir, "report.json")) as f:
            self.report: Dict[str, Any] = json.load(f)
        with open(self.arch_path) as f:
            self.arch: Dict[str, Any] = json.load(f)

    @property
    def sequences(self) -> List[Dict[str, Any]]:
        """The chosen transformations: {"layers": [...], "sequence": "..."} per step."""
        return self.arch.get("steps", [])

    @property
    def network(self) -> Network:
        """The transformed network (its ARCH.json), to bench, run or search further."""
        return Network(self.arch_path)

    def __repr__(self) -> str:
        lo, hi = self.speedup_spread
        return (f"nasx.SearchResult({self.original.name}: {self.speedup:.2f}x ({lo:.2f}-{hi:.2f}x), "
                f"{self.baseline_ms:.3f} -> {self.result_ms:.3f} ms, params {self.params[0]:,} -> "
                f"{self.params[1]:,}; {self.report_dir})")

    def _repr_markdown_(self) -> str:  # Jupyter shows the report inline
        with open(os.path.join(self.report_dir, "report.md")) as f:
            return f.read()

    def export_onnx(self, path: str) -> str:
        """The transformed network as ONNX (`nasx export --onnx`)."""
        run(["export", self.arch_path, "--onnx", path])
        return path

    def export_library(self, directory: str) -> str:
        """The compiled C library of the transformed network (`nasx export --lib`)."""
        run(["export", self.arch_path, "--lib", directory])
        return directory

    def to_torch(self) -> Any:
        """A torch.nn.Module of the transformed network (nasx's PyTorch export, built in this
        process with the user's own torch): unchanged layers keep the original's weights (the
        seeded zoo weights, or those of the .onnx / nn.Module it was loaded from), changed
        layers have fresh ones, as `nasx transform` initialises them."""
        import importlib.util

        d = tempfile.mkdtemp(prefix="nasx-torch-")
        source, weights = os.path.join(d, "model.py"), os.path.join(d, "weights")
        run(["export", self.arch_path, "--pytorch", source, "--save-weights", weights])
        spec = importlib.util.spec_from_file_location("nasx_generated_model", source)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.load_npy(module.Net(), weights).eval()


def load(model: ModelLike, input_shape: Optional[Sequence[int]] = None,
         width: Optional[float] = None) -> Network:
    """A zoo name, an .onnx or ARCH.json path, or a torch.nn.Module (exported to ONNX with the
    caller's own torch.onnx, for which `input_shape` [N, C, H, W] is required)."""
    if isinstance(model, (str, os.PathLike)):
        return Network(os.fspath(model), width)
    try:
        import torch
    except ImportError:
        raise Error(f"load: {type(model).__name__} is neither a model name, a path, nor a "
                    "torch.nn.Module (torch is not importable)") from None
    if not isinstance(model, torch.nn.Module):
        raise Error(f"load: expected a model name, a path or a torch.nn.Module, got "
                    f"{type(model).__name__}")
    if input_shape is None or len(input_shape) != 4:
        raise Error("load: a torch.nn.Module needs input_shape=(N, C, H, W) for its export")
    d = tempfile.mkdtemp(prefix="nasx-module-")
    path = os.path.join(d, type(model).__name__.lower() + ".onnx")
    was_training = model.training
    model.eval()
    with torch.no_grad():
        torch.onnx.export(model, torch.zeros(*input_shape), path, opset_version=13,
                          input_names=["input"], output_names=["output"])
    model.train(was_training)
    return Network(path, width)


def transform(net: Network, spec: Union[str, Sequence[str]], out: Optional[str] = None,
              seed: int = 0) -> Network:
    """Applies neural transformations ("layer2.*.conv1: group(4)"; several as a list) and
    returns the transformed network (`nasx transform`; its ARCH.json in `out`)."""
    specs = [spec] if isinstance(spec, str) else list(spec)
    if out is None:
        out = os.path.join(tempfile.mkdtemp(prefix="nasx-transform-"), "arch.json")
    args = ["transform", net.model, "--out", out, "--seed", str(seed)]
    for s in specs:
        args += ["--apply", s]
    run(args + net._width_args())
    return Network(out)


def legal(net: Union[Network, SearchResult], rule: Optional[str] = None,
          data: str = "fashion-mnist") -> Dict[str, Any]:
    """Are an architecture's transformations legal (`nasx legal`)? The verdict as a dict."""
    arch = net.arch_path if isinstance(net, SearchResult) else net.model
    args = ["legal", arch, "--data", data]
    if rule:
        args += ["--rule", rule]
    return run_json(args)
