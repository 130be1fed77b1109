#!/usr/bin/env python3
"""Sweep the blocked convolution template's knobs (OC_V,OH_T,OW_T) on single layers and set the
rule's choice beside the best measured one: the evidence behind default_conv_knobs
(src/lower/conv_blocked.cpp). Each point is one `nasx conv --knobs K --json` (median of
--repeat runs, 2 threads); tiles of fewer than --min-acc accumulators are skipped, and knobs the
template refuses on this machine (registers, L2) are skipped too.

Timed work: it takes /tmp/nasx-quiet.lock for the whole sweep (pausing the proxy experiment).

  python3 bench/knob-sweep/sweep.py [--nasx build/nasx] [--set resnet50-1x1|resnet50-3x3|cifar-3x3]
      [--min-acc 14] [--repeat 100] > bench-results/knob-sweep.jsonl

One JSON line per layer: its shape, the rule's knobs and time, and the five best points.
"""
import argparse
import fcntl
import json
import os
import subprocess
import time

SETS = {  # (in channels, height, width, out channels, kernel, stride)
    "resnet50-1x1": [(64, 56, 56, 64, 1, 1), (64, 56, 56, 256, 1, 1), (256, 56, 56, 64, 1, 1),
                     (256, 56, 56, 128, 1, 1), (512, 28, 28, 128, 1, 1), (128, 28, 28, 512, 1, 1),
                     (256, 56, 56, 512, 1, 2), (512, 28, 28, 256, 1, 1),
                     (1024, 14, 14, 256, 1, 1), (256, 14, 14, 1024, 1, 1),
                     (512, 28, 28, 1024, 1, 2), (1024, 14, 14, 512, 1, 1),
                     (2048, 7, 7, 512, 1, 1), (512, 7, 7, 2048, 1, 1), (1024, 14, 14, 2048, 1, 2)],
    "resnet50-3x3": [(64, 56, 56, 64, 3, 1), (128, 28, 28, 128, 3, 1), (256, 14, 14, 256, 3, 1),
                     (512, 7, 7, 512, 3, 1)],
    "cifar-3x3": [(64, 32, 32, 64, 3, 1), (128, 16, 16, 128, 3, 1), (256, 8, 8, 256, 3, 1),
                  (512, 4, 4, 512, 3, 1)],
}


def space(cout, out_w, rows, min_acc, lanes=16, registers=32):
    """The template's knob space (conv_knob_space, without the L2 bound), dense convs."""
    out = []
    for oc_v in range(1, 9):
        if cout % (oc_v * lanes):
            continue
        for ow_t in range(1, min(out_w, 28) + 1):
            for oh_t in range(1, (rows if ow_t == out_w else 1) + 1):
                acc = oc_v * oh_t * ow_t
                if oh_t * ow_t > 28 or acc + oc_v + 1 > registers:
                    break
                if acc >= min_acc:
                    out.append((oc_v, oh_t, ow_t))
    return out


def measure(a, layer, knobs):
    cin, h, w, cout, k, s = layer
    cmd = [a.nasx, "conv", "--in", f"{cin},{h},{w}", "--out", str(cout), "--kernel", str(k),
           "--pad", str(k // 2), "--stride", str(s), "--repeat", str(a.repeat), "--json"]
    if knobs:
        cmd += ["--knobs", ",".join(map(str, knobs))]
    p = subprocess.run(cmd, capture_output=True, text=True,
                       env=dict(os.environ, OMP_NUM_THREADS="2"))
    if p.returncode != 0:
        return None
    j = json.loads(p.stdout)
    return j["median_ms"], j["templates"][0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nasx", default="build/nasx")
    ap.add_argument("--set", default="resnet50-1x1", choices=sorted(SETS))
    ap.add_argument("--min-acc", type=int, default=14)
    ap.add_argument("--repeat", type=int, default=100)
    a = ap.parse_args()
    with open(os.environ.get("NASX_QUIET_LOCK", "/tmp/nasx-quiet.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        time.sleep(3)  # let paused jobs stop
        for layer in SETS[a.set]:
            cin, h, w, cout, k, s = layer
            out = (h + 2 * (k // 2) - k) // s + 1
            rule = measure(a, layer, None)
            points = []
            for knobs in space(cout, out, out, a.min_acc):
                m = measure(a, layer, knobs)
                if m:
                    points.append((m[0], knobs))
            points.sort()
            print(json.dumps({"layer": layer, "rule": rule[1], "rule_ms": rule[0],
                              "best": points[:5], "points": len(points),
                              "rule_over_best": rule[0] / points[0][0] if points else None}),
                  flush=True)


if __name__ == "__main__":
    main()
