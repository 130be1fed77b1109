"""The Python package (issue 23), installed with `pip install .` into a virtual environment
(make test-python; .ci/run runs it after make test). Each test runs the engine the package
carries; nothing here loads nasx's LibTorch into this process."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import nasx

torch = pytest.importorskip("torch")  # Debian's python3-torch, beside nasx


def test_the_package_carries_its_engine():
    exe = nasx.executable()
    assert exe.startswith(os.path.dirname(nasx.__file__))
    assert os.path.exists(os.path.join(os.path.dirname(exe), "nasx-worker"))


def test_load_a_zoo_model_and_run_it_beside_torch():
    net = nasx.load("resnet18_cifar", width=0.25)
    assert net.input_shape == (1, 3, 32, 32)
    assert net.params == 701466 and net.macs > 0
    assert any(l["name"] == "layer2.0.conv1" for l in net.layers)
    x = np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32)
    y = net.run(x)
    assert y.shape == (2, 10) and np.isfinite(y).all()
    assert torch.__version__  # the user's torch stays usable in this process


@pytest.mark.parametrize("call, message", [
    (lambda: nasx.load("resnet99"), "resnet99"),
    (lambda: nasx.load(3), "expected a model name, a path or a torch.nn.Module"),
    (lambda: nasx.load(torch.nn.Conv2d(3, 8, 3)), "needs input_shape"),
    (lambda: nasx.load("/nonexistent/model.onnx"), "/nonexistent/model.onnx"),
    (lambda: nasx.transform(nasx.load("resnet18_cifar", width=0.25), "layer2.*.conv1: grop(2)"),
     "unknown transformation 'grop'"),
    (lambda: nasx.load("resnet18_cifar", width=0.25).run(np.zeros((1, 3, 8, 8), np.float32)),
     "the input array: resnet18_cifar expects an input of shape [N,3,32,32], got [1,3,8,8]"),
    (lambda: nasx.load("resnet18_cifar", width=0.25).run(np.zeros((3, 32, 32), np.float32)),
     "[N, C, H, W]"),
    (lambda: nasx.load("resnet18_cifar", width=0.25).search(budget="soon"), "soon"),
])
def test_bad_inputs_raise_nasx_error_with_the_message(call, message):
    with pytest.raises(nasx.Error) as e:
        call()
    assert isinstance(e.value, ValueError)
    assert message in str(e.value)


def test_a_torchvision_module_searched_and_back_to_torch(tmp_path):
    torchvision = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    module = torchvision.models.resnet18(num_classes=10)
    net = nasx.load(module, input_shape=(1, 3, 32, 32))
    # torch.onnx folds each batch norm into its convolution (a bias of C for 2C parameters)
    batch_norm = sum(m.num_features for m in module.modules()
                     if isinstance(m, torch.nn.BatchNorm2d))
    assert net.params == sum(p.numel() for p in module.parameters()) - batch_norm
    result = net.search(budget="30s", out=str(tmp_path / "search"), progress=False)
    assert result.speedup > 0 and result.params[0] == net.params
    assert os.path.exists(os.path.join(result.report_dir, "report.md"))
    assert "speedup" in result.report
    x = np.random.default_rng(1).standard_normal((2, 3, 32, 32)).astype(np.float32)
    want = result.network.run(x)
    model = result.to_torch()
    with torch.no_grad():
        got = model(torch.from_numpy(x)).numpy()
    assert np.abs(got - want).max() <= 1e-5 * max(1.0, np.abs(want).max())
    onnx = result.export_onnx(str(tmp_path / "result.onnx"))
    assert nasx.load(onnx).params == result.params[1]


def test_an_interrupted_search_resumes(tmp_path):
    out = str(tmp_path / "search")
    script = textwrap.dedent(f"""
        import nasx
        try:
            nasx.load("resnet18_cifar", width=0.25).search(budget="30s", out={out!r},
                                                             progress=False)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
    """)
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    journal = os.path.join(out, "search.json")
    while not os.path.exists(journal) and time.time() < deadline:
        time.sleep(0.5)
    time.sleep(8)  # into the exploration
    p.send_signal(signal.SIGINT)
    stdout, _ = p.communicate(timeout=120)
    assert "interrupted" in stdout
    assert os.path.exists(journal)
    result = nasx.load("resnet18_cifar", width=0.25).search(budget="30s", out=out, progress=False)
    assert result.speedup > 0
    assert result.resumed  # from the journal, not started again
