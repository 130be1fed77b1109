#!/usr/bin/env python3
"""nasx against the runtimes a user would pick instead (issue 21), whole networks, one run:
nasx's compiled network (the library of `nasx export --lib`), ONNX Runtime, OpenVINO, and TVM
untuned and tuned with MetaSchedule, every one on the same ONNX file (`nasx export --onnx`, the
same weights), 2 threads, batch 1 and 16.

Each runtime runs in its own process (bench/peers/worker.py, in build/peers-venv), so no two
thread pools share one process. Before any time counts, every runtime's output on one seeded
input is checked against nasx's (relative error = max |a - b| / max |b| <= 1e-4); a runtime
that fails the check or fails to load is reported, not timed. Then ROUNDS interleaved rounds
(the order rotates each round) of up to RUNS timed runs per runtime (fewer for a runtime slower
than --round-seconds a round), after a warm-up; per runtime the median of all runs and the
spread (min and max of the round medians).

Timed work: run it on a quiet machine. It holds /tmp/nasx-quiet.lock per network and batch
(MetaSchedule's tuning measures too), which pauses bench/proxy-experiment runs.

  make bench-peers                     # build/peers-venv, then this with the defaults
  build/peers-venv/bin/python bench/peers/run.py [--networks a,b] [--batches 1,16]
      [--runtimes nasx,ort,openvino,tvm,tvm-tuned] [--tvm-trials N] [--rounds R] [--runs N]

Results: one JSON per network and batch in --out (bench-results/peers, not committed) and a line
each in docs/results/peers/results.jsonl; docs/performance.md explains them.
"""
import argparse
import fcntl
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DEFAULT_NETWORKS = ["resnet18_cifar", "resnet34_cifar", "resnext29_2x64d", "densenet121_cifar",
                    "resnet50", "docs/results/search-targets/make-run/arch.json",
                    "docs/results/search-targets/resnet34_cifar/arch.json",
                    "docs/results/search-targets/resnext29_2x64d/arch.json",
                    "docs/results/search-targets/densenet161_cifar/arch.json"]
RUNTIMES = ["nasx", "ort", "openvino", "tvm", "tvm-tuned"]
TOLERANCE = 1e-4
QUIET_LOCK = os.environ.get("NASX_QUIET_LOCK", "/tmp/nasx-quiet.lock")


def log(*a):
    print("[bench-peers]", *a, file=sys.stderr, flush=True)


def label(network):
    if network.endswith(".json"):
        return "searched:" + os.path.basename(os.path.dirname(network))
    return network


def nasx(a, *args):
    p = subprocess.run([a.nasx, *map(str, args)], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"nasx {' '.join(map(str, args))}: {p.stderr.strip()[-1500:]}")
    return p.stdout


class Worker:
    def __init__(self, a, runtime, onnx, lib, shape, db, profile_dir=None):
        cmd = [a.python, os.path.join(HERE, "worker.py"), runtime, "--onnx", onnx, "--shape",
               ",".join(map(str, shape)), "--threads", str(a.threads)]
        if profile_dir:  # the runtime's own profiler, on from the start (ORT, OpenVINO)
            os.makedirs(profile_dir, exist_ok=True)
            cmd += ["--profile", profile_dir]
        if lib:
            cmd += ["--lib", lib]
        if runtime == "tvm-tuned":
            cmd += ["--tvm-db", db, "--tvm-trials", str(a.tvm_trials)]
        env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), TVM_NUM_THREADS=str(a.threads),
                   NASX_NUM_THREADS=str(a.threads))
        self.runtime = runtime
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                  env=env)
        self.hello = self.read()

    def read(self):
        line = self.p.stdout.readline()
        if not line:
            return {"error": f"{self.runtime} worker exited ({self.p.wait()})"}
        return json.loads(line)

    def ask(self, **cmd):
        self.p.stdin.write(json.dumps(cmd) + "\n")
        self.p.stdin.flush()
        return self.read()

    def close(self):
        if self.p.poll() is None:
            try:
                self.ask(cmd="quit")
            except (BrokenPipeError, ValueError):
                pass
        self.p.wait()


def relative_error(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        return float("inf")
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30))


def machine():
    info = {"platform": platform.platform(), "python": platform.python_version()}
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            info["cpu"] = line.split(":", 1)[1].strip()
            break
    vers = {}
    for mod in ("onnxruntime", "openvino", "tvm", "numpy", "onnx"):
        try:
            vers[mod] = __import__(mod).__version__
        except Exception as e:  # a runtime that does not import is reported by its worker
            vers[mod] = f"unavailable ({type(e).__name__})"
    info["versions"] = vers
    return info


def machine_limits(a):
    """The FMA peak and the read bandwidth of a.threads threads, measured now (nasx-bench
    --machine: vector FMA chains and vector loads of 1 GiB, compiled like nasx's kernels)."""
    env = dict(os.environ, NASX_NUM_THREADS=str(a.threads), OMP_NUM_THREADS=str(a.threads))
    p = subprocess.run([a.nasx_bench, "--machine"], capture_output=True, text=True, env=env)
    if p.returncode != 0:
        log("machine limits not measured:", p.stderr.strip()[-300:])
        return None
    return json.loads(p.stdout.strip().splitlines()[-1])


# Layers nasx folds or fuses into a convolution's epilogue where a convolution precedes them:
# the activation traffic counts the others' outputs only (a lower bound: DenseNet's pre-activation
# batch norms and ReLUs do reach memory), so the limit stays a limit.
FUSED_TYPES = {"batch_norm", "relu", "add", "flatten"}


def physical_limit(shape_info, batch, limits):
    """The network's roofline at this batch: its FLOPs over the FMA peak, and its weight bytes
    plus activation bytes (every unfused layer's output written once and read once) over the read
    bandwidth. The larger term bounds any runtime on this machine."""
    flops = 2.0 * shape_info["macs"] * batch
    weight_bytes = 4.0 * shape_info["params"]
    act = sum(4.0 * batch * np.prod(l["output_shape"][1:]) for l in shape_info["layers"]
              if l.get("type", "").lower() not in FUSED_TYPES)
    act_bytes = 2.0 * act
    out = {"flops": flops, "weight_bytes": weight_bytes, "activation_bytes": act_bytes}
    if limits:
        out["compute_ms"] = flops / (limits["fma_peak_gflops"] * 1e6)
        out["memory_ms"] = (weight_bytes + act_bytes) / (limits["read_gbps"] * 1e6)
        out["limit_ms"] = max(out["compute_ms"], out["memory_ms"])
    return out


def bench_one(a, network, batch, work):
    name = label(network)
    d = os.path.join(work, name.replace(":", "-"), f"b{batch}")
    os.makedirs(d, exist_ok=True)
    onnx = os.path.join(d, "model.onnx")
    lib = os.path.join(d, "lib")
    # The exports are kept between runs, but only for the nasx binary that made them (before: a
    # rebuilt nasx was timed with the previous build's library).
    stamp = os.path.join(d, "nasx.sha256")
    digest = hashlib.sha256(open(a.nasx, "rb").read()).hexdigest()
    if not os.path.exists(stamp) or open(stamp).read() != digest:
        for f in (onnx, os.path.join(lib, "libnasx_model.so")):
            if os.path.exists(f):
                os.remove(f)
        with open(stamp, "w") as f:
            f.write(digest)
    if not os.path.exists(onnx):
        nasx(a, "export", network, "--onnx", onnx)
    if not os.path.exists(os.path.join(lib, "libnasx_model.so")):
        log(name, f"batch {batch}: compiling nasx's library")
        nasx(a, "export", network, "--lib", lib, "--batch", batch)
    shape_info = json.loads(nasx(a, "show", network, "--json"))
    chw = shape_info["input_shape"][1:]
    shape = [batch, *chw]
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    xin = os.path.join(d, "input.npy")
    np.save(xin, x)
    db = os.path.join(a.tvm_db, name.replace(":", "-"), f"b{batch}")
    result = {"network": name, "source": network, "batch": batch, "threads": a.threads,
              "rounds": a.rounds, "runs": a.runs, "params": shape_info.get("params"),
              "macs": shape_info.get("macs"), "runtimes": {},
              "limit": physical_limit(shape_info, batch, a.limits)}
    workers = {}
    for rt in a.runtimes:
        log(name, f"batch {batch}: loading {rt}")
        w = Worker(a, rt, onnx, lib if rt == "nasx" else None, shape, db,
                   os.path.join(d, f"profile-{rt}") if a.profile else None)
        if "error" in w.hello:
            log(name, rt, "failed to load:", w.hello["error"][:300])
            result["runtimes"][rt] = {"error": w.hello["error"]}
            w.close()
            continue
        workers[rt] = w
        result["runtimes"][rt] = {"setup_seconds": w.hello["setup_seconds"]}
    # Outputs against nasx's before anything is timed.
    ref = None
    if "nasx" in workers:
        out = os.path.join(d, "out-nasx.npy")
        workers["nasx"].ask(cmd="check", input=xin, output=out)
        ref = np.load(out)
    for rt, w in list(workers.items()):
        if rt == "nasx":
            continue
        out = os.path.join(d, f"out-{rt}.npy")
        r = w.ask(cmd="check", input=xin, output=out)
        if "error" in r:
            err = r["error"]
        else:
            e = relative_error(np.load(out), ref) if ref is not None else float("nan")
            result["runtimes"][rt]["relative_error"] = e
            err = None if e <= TOLERANCE else f"output differs from nasx's: relative error {e:.2e}"
        if err:
            log(name, rt, "not timed:", err)
            result["runtimes"][rt]["error"] = err
            w.close()
            del workers[rt]
    order = list(workers)
    time.sleep(3)  # the experiment's runs notice the quiet lock within 2 s and stop
    # A warm-up round, discarded; it also sizes each runtime's runs per round so that a slow one
    # (untuned TVM takes seconds a run at batch 16) spends about ROUND_SECONDS a round.
    runs = {}
    for rt, w in workers.items():
        ms = w.ask(cmd="time", runs=2, input=xin)["ms"]
        runs[rt] = max(1, min(a.runs, int(a.round_seconds * 1e3 / max(min(ms), 1e-3))))
    rounds = {rt: [] for rt in order}
    for k in range(a.rounds):
        for rt in order[k % len(order):] + order[:k % len(order)]:
            r = workers[rt].ask(cmd="time", runs=runs[rt], input=xin)
            rounds[rt].append(r["ms"])
    for rt in order:
        allms = [m for rd in rounds[rt] for m in rd]
        med = [statistics.median(rd) for rd in rounds[rt]]
        result["runtimes"][rt].update({"runs_per_round": runs[rt],
                                       "median_ms": statistics.median(allms),
                                       "min_ms": min(med), "max_ms": max(med)})
    if a.profile:
        if "nasx" in workers:  # nasx's per-kernel timings: the same kernels, in process
            result["runtimes"]["nasx"]["profile"] = json.loads(
                nasx(a, "bench", network, "--batch", batch, "--repeat", a.runs * a.rounds,
                     "--profile", "--json"))["profile"]
        for rt, w in workers.items():
            if rt == "nasx":
                continue
            pdir = os.path.join(d, f"profile-{rt}")
            os.makedirs(pdir, exist_ok=True)
            result["runtimes"][rt]["profile"] = w.ask(cmd="profile", runs=a.runs, input=xin,
                                                      dir=pdir)
    for w in workers.values():
        w.close()
    if "nasx" in order:
        base = result["runtimes"]["nasx"]["median_ms"]
        for rt in order:
            result["runtimes"][rt]["nasx_speedup"] = result["runtimes"][rt]["median_ms"] / base
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nasx", default=os.path.join(ROOT, "build", "nasx"))
    ap.add_argument("--nasx-bench", default=os.path.join(ROOT, "build", "bench", "nasx-bench"),
                    help="measures the machine's FMA peak and read bandwidth (--machine)")
    ap.add_argument("--python", default=sys.executable, help="the venv's python for the workers")
    ap.add_argument("--networks", default=",".join(DEFAULT_NETWORKS))
    ap.add_argument("--batches", default="1,16")
    ap.add_argument("--runtimes", default=",".join(RUNTIMES))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--runs", type=int, default=10, help="timed runs per round, at most")
    ap.add_argument("--round-seconds", type=float, default=1.0,
                    help="fewer runs per round for a runtime slower than this per round")
    ap.add_argument("--tvm-trials", type=int, default=600,
                    help="MetaSchedule's trials per network and batch, records kept and reused "
                    "(600: about 20 minutes on 2 cores, at about 2 s a trial)")
    ap.add_argument("--tvm-db", default=os.path.join(ROOT, "bench-results", "peers-tvm"))
    ap.add_argument("--profile", action="store_true", help="also each runtime's own profile")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench-results", "peers"))
    ap.add_argument("--results", default=os.path.join(ROOT, "docs", "results", "peers"))
    a = ap.parse_args()
    a.runtimes = [r for r in a.runtimes.split(",") if r]
    for r in a.runtimes:
        if r not in RUNTIMES:
            sys.exit(f"bench-peers: unknown runtime {r} (known: {', '.join(RUNTIMES)})")
    os.makedirs(a.out, exist_ok=True)
    os.makedirs(a.results, exist_ok=True)
    info = machine()
    with open(QUIET_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        time.sleep(3)  # the experiment's runs notice the quiet lock within 2 s and stop
        a.limits = info["limits"] = machine_limits(a)
    log("machine:", info.get("cpu"), json.dumps(info["versions"]), json.dumps(a.limits))
    for network in [n for n in a.networks.split(",") if n]:
        for batch in [int(b) for b in a.batches.split(",")]:
            t0 = time.time()
            try:
                with open(QUIET_LOCK, "a") as lock:  # tuning measures too: quiet throughout
                    fcntl.flock(lock, fcntl.LOCK_EX)
                    r = bench_one(a, network, batch, a.out)
            except RuntimeError as e:
                log(network, f"batch {batch}: skipped:", e)
                continue
            r["machine"] = info
            r["date"] = time.strftime("%Y-%m-%d %H:%M:%S")
            r["seconds"] = time.time() - t0
            path = os.path.join(a.out, f"{label(network).replace(':', '-')}-b{batch}.json")
            with open(path, "w") as f:
                json.dump(r, f, indent=2)
            with open(os.path.join(a.results, "results.jsonl"), "a") as f:
                f.write(json.dumps(r) + "\n")
            cells = [f"{rt} {v['median_ms']:.3f} ms" if "median_ms" in v else f"{rt} failed"
                     for rt, v in r["runtimes"].items()]
            if "limit_ms" in r["limit"]:
                cells.append(f"limit {r['limit']['limit_ms']:.3f} ms (compute "
                             f"{r['limit']['compute_ms']:.3f}, memory {r['limit']['memory_ms']:.3f})")
            log(label(network), f"batch {batch}:", "; ".join(cells))


if __name__ == "__main__":
    main()
