#!/usr/bin/env python3
"""The proxy verification experiment (issue 12): train the original network, transformed
variants and uniformly narrowed versions with one recipe, and measure every zero-cost proxy on
each as a paired ratio to the original. Resumable: every finished variant is one line of
RESULTS (appended as it completes); a variant whose training was interrupted resumes from its
checkpoint. Run it again with the same arguments to continue; nothing finished is redone.

  bench/proxy-experiment/run.py [--nasx build/nasx]
                                [--phase all|search|train|verdicts|latency]

Phases: `search` runs nasx search on the experiment's network (timed: run it on a quiet
machine); `train` computes proxies and trains every variant; `verdicts` records, per variant,
every proxy's paired ratios for the network and for each block holding a transformed layer
(`nasx legal` with all proxies at once), so analyze.py can judge any rule in either scope;
`latency` times each variant with nasx bench (timed: quiet machine). `all` runs them in that
order. The analysis is analyze.py.
Only the Python standard library is used.
"""
import argparse
import json
import os
import subprocess
import sys
import time

BASE = "resnet18_cifar"
WIDTH = 0.25  # 16/32/64/128 channels, 0.70M parameters
DATA = "fashion-mnist"
RECIPE = {"epochs": 10, "subset": 10000, "test_subset": 2000, "batch": 128, "lr": 0.1}
SEEDS = [0, 1, 2]  # the original is trained with each: the training noise
SAMPLES = 3  # paired proxy samples (weights seed k, minibatch seed k)
PROXY_BATCH = 64
PROXIES = ["fisher", "grad_norm", "snip", "synflow", "naswot", "zico", "params"]
SEARCH_BUDGET = "4m"
SEARCHES = {"searched": ("search", "paired-fisher"),  # variant: (directory, --rule)
            "searched-calibrated": ("search-calibrated", "calibrated")}

ALL = "layer*.*.conv1"
SOME = "layer3.*.conv1,layer4.*.conv1"
CONVS = "layer*.*.conv1,layer*.*.conv2"
KINDS = [("group2", "group(2)"), ("group4", "group(4)"), ("group8", "group(8)"),
         ("group16", "group(16)"), ("depthwise", "depthwise"), ("bottleneck2", "bottleneck(2)"),
         ("bottleneck4", "bottleneck(4)"), ("seq1", "split(2); group([2,4])"),
         ("seq2", "peel(4); group(4)"), ("seq3", "spatial_split(2)")]


def variants():
    """(name, kind, where, list of --apply specs, width); width None: the experiment's."""
    out = [("original", "original", "-", [], None)]
    for where, layers in (("all", ALL), ("some", SOME)):
        for kind, seq in KINDS:
            out.append((f"{kind}-{where}", kind, where, [f"{layers}: {seq}"], None))
    out.append(("group2-convs", "group2", "convs", [f"{CONVS}: group(2)"], None))
    out.append(("group4-convs", "group4", "convs", [f"{CONVS}: group(4)"], None))
    out.append(("depthwise-convs", "depthwise", "convs", [f"{CONVS}: depthwise"], None))
    out.append(("bottleneck2+group4-all", "bottleneck2+group4", "all",
                [f"{ALL}: bottleneck(2); group(4)"], None))
    # The search's choice under the rule it ran with (paired-fisher, then the default), and
    # under the rule this experiment calibrated (the default since).
    out.append(("searched", "searched", "search", [], None))
    out.append(("searched-calibrated", "searched", "search-calibrated", [], None))
    for frac in (0.25, 0.5, 0.75):
        out.append((f"narrow{frac}", "narrow", "-", [], WIDTH * frac))
    return out


def log(*a):
    print("[proxy-experiment]", *a, file=sys.stderr, flush=True)


class Experiment:
    def __init__(self, args):
        self.nasx = os.path.abspath(args.nasx)
        self.docs = os.path.abspath(args.results)
        self.work = os.path.abspath(args.work)
        os.makedirs(self.docs, exist_ok=True)
        for d in ("archs", "ckpt"):
            os.makedirs(os.path.join(self.work, d), exist_ok=True)
        self.results_path = os.path.join(self.docs, "results.jsonl")
        self.reference = {}  # (proxy, sample) -> the original's value
        self.done = {}
        if os.path.exists(self.results_path):
            for line in open(self.results_path):
                try:
                    r = json.loads(line)
                    self.done[(r["name"], r.get("seed", 0))] = r
                except (ValueError, KeyError):
                    log("skipping a torn line in", self.results_path)

    def run(self, *cmd, check=True):
        p = subprocess.run([self.nasx, *map(str, cmd)], capture_output=True, text=True)
        if check and p.returncode != 0:
            raise RuntimeError(f"nasx {' '.join(map(str, cmd))} failed ({p.returncode}):\n"
                               + p.stderr[-2000:])
        return p

    def arch_for(self, name, applies, width, seed=0):
        """The variant's ARCH.json with weights from `seed` (None: it is not an arch)."""
        w = width if width is not None else WIDTH
        if name in SEARCHES:
            src = os.path.join(self.work, SEARCHES[name][0], "arch.json")
            if not os.path.exists(src):
                return None
            arch = json.load(open(src))
        elif applies:
            path = os.path.join(self.work, "archs", f"{name}.json")
            if not os.path.exists(path):
                cmd = ["transform", BASE, "--width", w, "--out", path]
                for a in applies:
                    cmd += ["--apply", a]
                self.run(*cmd)
            arch = json.load(open(path))
        else:
            arch = {"format": "nasx-arch", "version": 1, "base": BASE, "seed": 0,
                    "image_size": 0, "applied": [], "steps": []}
            if w != 1:
                arch["width"] = w
        arch["seed"] = seed
        path = os.path.join(self.work, "archs", f"{name}.seed{seed}.json")
        with open(path + ".tmp", "w") as f:
            json.dump(arch, f, indent=2)
        os.replace(path + ".tmp", path)
        return path

    def proxy_value(self, arch, proxy, sample):
        p = self.run("fisher", arch, "--proxy", proxy, "--seed", sample, "--batch", PROXY_BATCH,
                     "--data", DATA, "--json")
        return json.loads(p.stdout)["total"]

    def proxies(self, name, applies, width):
        """Per proxy, the paired ratios candidate / original over SAMPLES samples."""
        out = {}
        for proxy in PROXIES:
            ratios = []
            for k in range(SAMPLES):
                if (proxy, k) not in self.reference:
                    self.reference[(proxy, k)] = self.proxy_value(
                        self.arch_for("original", [], None, k), proxy, k)
                ref = self.reference[(proxy, k)]
                cand = self.proxy_value(self.arch_for(name, applies, width, k), proxy, k)
                # As nasx's judge: 0/0 is no change, x/0 unbounded.
                ratios.append(cand / ref if ref != 0 else (1.0 if cand == 0 else float("inf")))
            out[proxy] = {"ratios": ratios, "mean": sum(ratios) / len(ratios),
                          "min": min(ratios), "max": max(ratios)}
        return out

    def train(self, name, arch, seed):
        ckpt = os.path.join(self.work, "ckpt", f"{name}.seed{seed}")
        cmd = ["train", arch, "--data", DATA, "--seed", seed, "--out", ckpt, "--json",
               "--epochs", RECIPE["epochs"], "--subset", RECIPE["subset"],
               "--test-subset", RECIPE["test_subset"], "--batch", RECIPE["batch"],
               "--lr", RECIPE["lr"]]
        if os.path.exists(os.path.join(ckpt, "checkpoint.json")):
            cmd.append("--resume")
            log(name, "seed", seed, ": resuming its training")
        t0 = time.time()
        p = subprocess.run([self.nasx, *map(str, cmd)], text=True, stdout=subprocess.PIPE)
        if p.returncode != 0:
            raise RuntimeError(f"training {name} failed ({p.returncode})")
        history = json.loads(p.stdout)["history"]
        e = json.loads(self.run("eval", arch, "--weights", ckpt, "--data", DATA, "--json").stdout)
        return {"test_accuracy": e["test_accuracy"], "history": history,
                "train_seconds": time.time() - t0}

    def record(self, r):
        with open(self.results_path, "a") as f:
            f.write(json.dumps(r) + "\n")
        self.done[(r["name"], r.get("seed", 0))] = r

    def phase_search(self):
        for directory, rule in SEARCHES.values():
            out = os.path.join(self.work, directory)
            if os.path.exists(os.path.join(out, "arch.json")):
                continue
            log("searching", BASE, "at width", WIDTH, "for", SEARCH_BUDGET, "with rule", rule)
            p = subprocess.run([self.nasx, "search", BASE, "--width", str(WIDTH), "--data", DATA,
                                "--budget", SEARCH_BUDGET, "--rule", rule, "--out", out,
                                "--json"], stdout=subprocess.DEVNULL)
            if p.returncode != 0:
                raise RuntimeError("nasx search failed")

    def phase_train(self):
        for name, kind, where, applies, width in variants():
            seeds = SEEDS if name == "original" else [0]
            for seed in seeds:
                if (name, seed) in self.done:
                    continue
                arch = self.arch_for(name, applies, width, seed)
                if arch is None:
                    log(name, ": no search result yet (run the search phase); skipped")
                    continue
                log(name, "seed", seed, ": proxies and training")
                t0 = time.time()
                r = {"name": name, "kind": kind, "where": where, "apply": applies,
                     "width": width if width is not None else WIDTH, "seed": seed}
                info = json.loads(self.run("show", arch, "--json").stdout)
                r["params"], r["macs"] = info["params"], info["macs"]
                r["proxies"] = self.proxies(name, applies, width) if seed == 0 else None
                r.update(self.train(name, arch, seed))
                r["seconds"] = time.time() - t0
                self.record(r)
                log(name, "seed", seed, ": test accuracy", r["test_accuracy"],
                    f"({r['seconds']:.0f} s)")

    def phase_verdicts(self):
        path = os.path.join(self.docs, "verdicts.jsonl")
        have = set()
        if os.path.exists(path):
            have = {json.loads(l)["name"] for l in open(path) if l.strip()}
        for name, kind, where, applies, width in variants():
            if name in have or kind in ("original", "narrow"):
                continue
            arch = self.arch_for(name, applies, width, 0)
            if arch is None:
                continue
            p = self.run("legal", arch, "--proxy", ",".join(PROXIES), "--samples", SAMPLES,
                         "--scope", "block", "--tau", 1, "--batch", PROXY_BATCH, "--data", DATA,
                         "--json", check=False)
            if p.returncode not in (0, 1):
                raise RuntimeError(f"nasx legal {arch} failed ({p.returncode}):\n"
                                   + p.stderr[-2000:])
            j = json.loads(p.stdout)
            rec = {"name": name, "judged": {v["name"]: v["ratios"] for v in j["judged"]},
                   "judged_by": {v["name"]: v["by"] for v in j["layers"]}}
            with open(path, "a") as f:
                f.write(json.dumps(rec) + "\n")
            log(name, ": verdicts of", len(rec["judged"]), "judged names")

    def phase_latency(self):
        path = os.path.join(self.docs, "latency.jsonl")
        have = set()
        if os.path.exists(path):
            have = {json.loads(l)["name"] for l in open(path) if l.strip()}
        for name, kind, where, applies, width in variants():
            if name in have:
                continue
            arch = self.arch_for(name, applies, width, 0)
            if arch is None:
                continue
            b = json.loads(self.run("bench", arch, "--repeat", 50, "--json").stdout)
            with open(path, "a") as f:
                f.write(json.dumps({"name": name, "latency_ms": b["latency_ms"],
                                    "latency_min_ms": b["latency_min_ms"],
                                    "latency_max_ms": b["latency_max_ms"]}) + "\n")
            log(name, ": latency", b["latency_ms"], "ms")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nasx", default="build/nasx")
    ap.add_argument("--results", default="docs/results/proxies",
                    help="where results.jsonl and latency.jsonl are appended (committed)")
    ap.add_argument("--work", default="bench-results/proxy-experiment",
                    help="architectures, checkpoints and the search (not committed)")
    ap.add_argument("--phase", default="all", choices=["all", "search", "train", "verdicts", "latency"])
    ap.add_argument("--quick", action="store_true",
                    help="a smoke test: 1 epoch on 256 images, 1 sample, 3 variants")
    args = ap.parse_args()
    if args.quick:
        global SAMPLES, SEARCH_BUDGET, variants
        RECIPE.update(epochs=1, subset=256, test_subset=100)
        SAMPLES, SEARCH_BUDGET = 1, "1m"
        full = variants
        variants = lambda: [v for v in full() if v[0] in ("original", "seq2-all", "narrow0.5")]
    e = Experiment(args)
    if args.phase in ("all", "search"):
        e.phase_search()
    if args.phase in ("all", "train"):
        e.phase_train()
    if args.phase in ("all", "verdicts"):
        e.phase_verdicts()
    if args.phase in ("all", "latency"):
        e.phase_latency()


if __name__ == "__main__":
    main()
