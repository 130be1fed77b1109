"""One runtime, one network, one batch size, in its own process (bench/peers/run.py starts it in
build/peers-venv). It loads or compiles the model, says `ready`, then answers commands on stdin,
one JSON line each:
  {"cmd": "check", "input": X.npy, "output": Y.npy}  runs once, writes the output
  {"cmd": "time", "runs": N}                          N timed runs: {"ms": [...]}
  {"cmd": "profile", "runs": N, "dir": D}             the runtime's own per-operator profile
  {"cmd": "quit"}
Runtimes: nasx (the library of `nasx export --lib`, through ctypes), ort (ONNX Runtime, every
graph optimisation), openvino (latency hint), tvm (Relax's default CPU pipeline, untuned),
tvm-tuned (MetaSchedule; the database in --tvm-db is reused when it exists). Threads: --threads.
"""
import argparse
import ctypes
import json
import os
import sys
import time

import numpy as np


# Replies go to the original stdout; anything a runtime prints (TVM's tuning logs) goes to stderr.
REPLIES = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
sys.stdout = sys.stderr


def reply(obj):
    REPLIES.write(json.dumps(obj) + "\n")
    REPLIES.flush()


class Nasx:
    def __init__(self, a, shape):
        self.lib = ctypes.CDLL(os.path.join(a.lib, "libnasx_model.so"))
        self.lib.nasx_model_create.restype = ctypes.c_void_p
        self.lib.nasx_model_run.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
        self.lib.nasx_model_destroy.argtypes = [ctypes.c_void_p]
        self.m = self.lib.nasx_model_create()
        if not self.m:
            raise RuntimeError("nasx_model_create failed (this CPU lacks the library's ISA?)")
        dims = (ctypes.c_int64 * 8)()
        n = self.lib.nasx_model_output_shape(dims)
        self.out = np.zeros([dims[i] for i in range(n)], dtype=np.float32)

    def run(self, x):
        x = np.ascontiguousarray(x, dtype=np.float32)
        rc = self.lib.nasx_model_run(ctypes.c_void_p(self.m), x.ctypes.data, self.out.ctypes.data)
        if rc != 0:
            raise RuntimeError(f"nasx_model_run returned {rc}")
        return self.out


class Ort:
    def __init__(self, a, shape):
        import onnxruntime as ort
        o = ort.SessionOptions()
        o.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        o.intra_op_num_threads = a.threads
        o.inter_op_num_threads = 1
        o.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.profiling = a.profile
        if a.profile:
            o.enable_profiling = True
            o.profile_file_prefix = os.path.join(a.profile, "ort")
        self.s = ort.InferenceSession(a.onnx, o, providers=["CPUExecutionProvider"])
        self.name = self.s.get_inputs()[0].name

    def run(self, x):
        return self.s.run(None, {self.name: x})[0]

    def end_profile(self):
        return self.s.end_profiling() if self.profiling else None


class OpenVino:
    def __init__(self, a, shape):
        import openvino as ov
        core = ov.Core()
        model = core.read_model(a.onnx)
        model.reshape({model.inputs[0].get_any_name(): shape})
        cfg = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": str(a.threads),
               "INFERENCE_PRECISION_HINT": "f32"}
        if a.profile:
            cfg["PERF_COUNT"] = "YES"
        self.c = core.compile_model(model, "CPU", cfg)
        self.r = self.c.create_infer_request()

    def run(self, x):
        self.r.infer({0: x})
        return self.r.get_output_tensor(0).data

    def perf(self):
        return [{"name": p.node_name, "type": p.node_type, "exec": p.exec_type,
                 "us": p.real_time.total_seconds() * 1e6} for p in self.r.get_profiling_info()]


def tvm_target(tvm, threads):
    flags = open("/proc/cpuinfo").read()
    mcpu = "skylake-avx512" if " avx512f" in flags else "core-avx2"
    if "AuthenticAMD" in flags and " avx512f" in flags:
        mcpu = "znver4"
    return tvm.target.Target({"kind": "llvm", "mcpu": mcpu, "num-cores": threads})


class Tvm:
    def __init__(self, a, shape):
        import onnx
        import tvm
        from tvm import relax
        from tvm.relax.frontend.onnx import from_onnx
        self.tvm = tvm
        m = onnx.load(a.onnx)
        target = tvm_target(tvm, a.threads)
        self.target = str(target)
        self.params = []
        if a.runtime == "tvm":  # the weights as constants; Relax's default CPU pipeline
            mod = from_onnx(m, shape_dict={m.graph.input[0].name: shape},
                            keep_params_in_input=False)
            self.vm = relax.VirtualMachine(tvm.compile(mod, target=target), tvm.cpu())
            return
        # MetaSchedule, weights pre-packed for the tuned layouts (TVM's static-shape tuning
        # recipe, with one build worker: the default two time out on 2 cores). The records in the
        # work folder are reused: a tuned network is not tuned again.
        from tvm.relax import transform as T
        from tvm.s_tir import meta_schedule as ms
        mod = from_onnx(m, shape_dict={m.graph.input[0].name: shape}, keep_params_in_input=True)
        mod, params = relax.frontend.detach_params(mod)
        work = a.tvm_db
        os.makedirs(work, exist_ok=True)
        with target:
            mod = tvm.transform.Sequential([
                T.DecomposeOpsForInference(), T.CanonicalizeBindings(), relax.get_pipeline("zero"),
                T.AttachAttrLayoutFreeBuffers()])(mod)
        records = os.path.join(work, "database_tuning_record.json")
        if not (os.path.exists(records) and os.path.getsize(records) > 0):
            t0 = time.time()
            ms.relax_integration.tune_relax(
                mod, {}, target, work_dir=work, max_trials_global=a.tvm_trials,
                num_trials_per_iter=32, builder=ms.builder.LocalBuilder(max_workers=1),
                runner=ms.runner.LocalRunner(), database="json", seed=0)
            with open(os.path.join(work, "tuned.json"), "w") as f:
                json.dump({"trials": a.tvm_trials, "seconds": time.time() - t0}, f)
        with target:
            mod = tvm.transform.Sequential([
                T.MetaScheduleApplyDatabase(work), T.SplitLayoutRewritePreproc(),
                T.LiftTransformParams(), T.FoldConstant()])(mod)
        self.vm = relax.VirtualMachine(tvm.compile(mod, target=target), tvm.cpu())
        self.params = self.vm["main_transform_params"](params["main"])

    def run(self, x):
        out = self.vm["main"](self.tvm.runtime.tensor(x), *self.params)
        if isinstance(out, (list, tuple)) or not hasattr(out, "numpy"):
            out = out[0]
        return out.numpy()

    def profile(self, x):
        if hasattr(self.vm, "profile"):
            return str(self.vm.profile("main", self.tvm.runtime.tensor(x)))
        return "this TVM's VirtualMachine has no profiler"


RUNTIMES = {"nasx": Nasx, "ort": Ort, "openvino": OpenVino, "tvm": Tvm, "tvm-tuned": Tvm}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("runtime", choices=sorted(RUNTIMES))
    ap.add_argument("--onnx", required=True)
    ap.add_argument("--lib", help="nasx export --lib folder (runtime nasx)")
    ap.add_argument("--shape", required=True, help="input shape, e.g. 1,3,32,32")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tvm-db", help="MetaSchedule work folder (tvm-tuned)")
    ap.add_argument("--tvm-trials", type=int, default=600)
    ap.add_argument("--profile", help="folder for the runtime's own profile")
    a = ap.parse_args()
    shape = [int(s) for s in a.shape.split(",")]
    t0 = time.time()
    try:
        rt = RUNTIMES[a.runtime](a, shape)
    except Exception as e:  # reported, not fatal to the whole benchmark
        reply({"error": f"{type(e).__name__}: {e}"[:2000]})
        return
    x0 = np.zeros(shape, dtype=np.float32)
    rt.run(x0)
    reply({"ready": True, "setup_seconds": time.time() - t0})
    for line in sys.stdin:
        c = json.loads(line)
        try:
            if c["cmd"] == "check":
                np.save(c["output"], np.array(rt.run(np.load(c["input"])), copy=True))
                reply({"ok": True})
            elif c["cmd"] == "time":
                x = np.load(c["input"]) if "input" in c else x0
                ms = []
                for _ in range(c["runs"]):
                    t = time.perf_counter()
                    rt.run(x)
                    ms.append((time.perf_counter() - t) * 1e3)
                reply({"ms": ms})
            elif c["cmd"] == "profile":
                x = np.load(c["input"])
                for _ in range(c["runs"]):
                    rt.run(x)
                if isinstance(rt, Ort):
                    reply({"profile_file": rt.end_profile()})
                elif isinstance(rt, OpenVino):
                    reply({"ops": rt.perf()})
                elif isinstance(rt, Tvm):
                    reply({"table": rt.profile(x)})
                else:
                    reply({"ops": None})
            elif c["cmd"] == "quit":
                reply({"bye": True})
                return
        except Exception as e:
            reply({"error": f"{type(e).__name__}: {e}"[:2000]})


if __name__ == "__main__":
    main()
