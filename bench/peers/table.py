#!/usr/bin/env python3
"""The markdown table of docs/performance.md from docs/results/peers/results.jsonl: per network
and batch the latest measurement on one CPU model, every runtime's median (min-max of the round
medians), nasx's speedup over the fastest peer, and the network's physical limit (FLOPs over the
measured FMA peak, weight and activation bytes over the measured read bandwidth).

  bench/peers/table.py [--results docs/results/peers/results.jsonl] [--cpu SUBSTRING]
                       [--peak GFLOPS] [--bandwidth GBPS]

--peak / --bandwidth replace the limits recorded with the runs (e.g. when the recorded ones were
measured by an older nasx-bench). Only the Python standard library is used.
"""
import argparse
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
COLUMNS = [("nasx", "nasx"), ("ort", "ONNX Runtime"), ("openvino", "OpenVINO"),
           ("tvm", "TVM untuned"), ("tvm-tuned", "TVM MetaSchedule")]


def cell(v):
    if v is None:
        return "-"
    if "median_ms" not in v:
        return "failed"
    return f"{v['median_ms']:.2f} ({v['min_ms']:.2f}-{v['max_ms']:.2f})"


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", default=os.path.join(ROOT, "docs", "results", "peers",
                                                      "results.jsonl"))
    ap.add_argument("--cpu", default="", help="only runs on a CPU whose name contains this")
    ap.add_argument("--peak", type=float, help="FMA peak GFLOP/s for the limit column")
    ap.add_argument("--bandwidth", type=float, help="read bandwidth GB/s for the limit column")
    a = ap.parse_args()
    latest = {}
    for line in open(a.results):
        r = json.loads(line)
        if a.cpu not in r.get("machine", {}).get("cpu", ""):
            continue
        key = (r["network"], r["batch"])
        old = latest.get(key, {"runtimes": {}})
        # A later run of some runtimes only (e.g. tuned TVM alone) keeps the others' numbers.
        merged = dict(r)
        merged["runtimes"] = {**old["runtimes"], **r["runtimes"]}
        latest[key] = merged
    print("| network | batch | " + " | ".join(n for _, n in COLUMNS) +
          " | nasx vs fastest peer | limit ms (compute, memory) |")
    print("|---|---:|" + "---:|" * len(COLUMNS) + "---:|---|")
    for (net, batch), r in sorted(latest.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        rts = r["runtimes"]
        peers = [v["median_ms"] for k, v in rts.items() if k != "nasx" and "median_ms" in v]
        vs = (f"{min(peers) / rts['nasx']['median_ms']:.2f}x"
              if peers and "median_ms" in rts.get("nasx", {}) else "-")
        lim = r.get("limit", {})
        limits = (r.get("machine", {}).get("limits") or {})
        peak = a.peak or limits.get("fma_peak_gflops")
        bw = a.bandwidth or limits.get("read_gbps")
        if "flops" in lim and peak and bw:
            c = lim["flops"] / (peak * 1e6)
            m = (lim["weight_bytes"] + lim["activation_bytes"]) / (bw * 1e6)
            limit = f"{max(c, m):.2f} ({c:.2f}, {m:.2f})"
        else:
            limit = "-"
        print(f"| {net} | {batch} | " + " | ".join(cell(rts.get(k)) for k, _ in COLUMNS) +
              f" | {vs} | {limit} |")


if __name__ == "__main__":
    main()
