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
import fcntl
import signal
import json
import os
import subprocess
import sys
import time

DATA = "fashion-mnist"
RECIPE = {"epochs": 10, "subset": 10000, "test_subset": 2000, "batch": 128, "lr": 0.1}
SEEDS = [0, 1, 2]  # the original is trained with each: the training noise
SAMPLES = 3  # paired proxy samples (weights seed k, minibatch seed k)
PROXY_BATCH = 64
PROXIES = ["fisher", "grad_norm", "snip", "synflow", "naswot", "zico", "params"]
SEARCH_BUDGET = "4m"  # make run's budget; the search's own outputs (issue 20)
SEARCH_SEEDS = [0, 1, 2]
# Builds and timings take this lock (`flock /tmp/nasx-quiet.lock CMD`); while anyone holds it,
# every nasx process of this experiment is stopped (SIGSTOP) and continued when it is free.
QUIET_LOCK = os.environ.get("NASX_QUIET_LOCK", "/tmp/nasx-quiet.lock")

KINDS = [("group2", "group(2)"), ("group4", "group(4)"), ("group8", "group(8)"),
         ("group16", "group(16)"), ("depthwise", "depthwise"), ("bottleneck2", "bottleneck(2)"),
         ("bottleneck4", "bottleneck(4)"), ("seq1", "split(2); group([2,4])"),
         ("seq2", "peel(4); group(4)"), ("seq3", "spatial_split(2)")]

# Per family: the zoo network, the width at which one training takes about 4-6 minutes on 2
# cores, where each kind applies (`all`: every block, `some`: the last stage(s)), the layers of
# the `convs` variants, and the results folder (resnet18_cifar's is the experiment's root).
RESNET_BLOCKS = {"all": "layer*.*.conv1", "some": "layer3.*.conv1,layer4.*.conv1",
                 "convs": "layer*.*.conv1,layer*.*.conv2"}
FAMILIES = {
    "resnet18_cifar": dict(base="resnet18_cifar", width=0.25, results="", **RESNET_BLOCKS,
                           searches={"searched": ("search", "paired-fisher"),
                                     "searched-calibrated": ("search-calibrated", "calibrated")},
                           narrow=(0.25, 0.5, 0.75)),
    "resnet34_cifar": dict(base="resnet34_cifar", width=0.25, results="resnet34_cifar",
                           **RESNET_BLOCKS, searches={}, narrow=(0.5, 0.75)),
    # ResNeXt's compute is its grouped 3x3 conv2: the kinds apply there, except those that need
    # a dense statement (peel, and group(16) on 16 channels already in 2 groups): on conv3.
    "resnext29_2x64d": dict(base="resnext29_2x64d", width=0.125, results="resnext29_2x64d",
                            all="layer*.*.conv2", some="layer3.*.conv2",
                            convs="layer*.*.conv1,layer*.*.conv2,layer*.*.conv3",
                            dense_all="layer*.*.conv3", dense_some="layer3.*.conv3",
                            dense_kinds=("group16", "seq2"), searches={}, narrow=(0.5, 0.75)),
}
FAMILY = FAMILIES["resnet18_cifar"]
BASE, WIDTH = FAMILY["base"], FAMILY["width"]
SEARCHES = FAMILY["searches"]


# The variants that bound the rule (the original, the narrowed ones, every kind on every block,
# on every conv): trained first for every family; `some` blocks and the searches come after.
CORE_WHERE = ("-", "all", "convs")


def select_family(name):
    global FAMILY, BASE, WIDTH, SEARCHES
    FAMILY = FAMILIES[name]
    BASE, WIDTH = FAMILY["base"], FAMILY["width"]
    SEARCHES = dict(FAMILY["searches"])
    for seed in SEARCH_SEEDS:  # the default search (today's rule) with each seed
        SEARCHES[f"search-s{seed}"] = (f"search-s{seed}", None, seed)


def variants():
    """(name, kind, where, list of --apply specs, width); width None: the experiment's."""
    f = FAMILY
    out = [("original", "original", "-", [], None)]
    for where in ("all", "some"):
        for kind, seq in KINDS:
            layers = f[where]
            if kind in f.get("dense_kinds", ()):
                layers = f["dense_" + where]
            out.append((f"{kind}-{where}", kind, where, [f"{layers}: {seq}"], None))
    out.append(("group2-convs", "group2", "convs", [f"{f['convs']}: group(2)"], None))
    out.append(("group4-convs", "group4", "convs", [f"{f['convs']}: group(4)"], None))
    if "dense_kinds" in f:  # 1x1 convs with unequal channels have no depthwise form
        out.append(("depthwise-convs", "depthwise", "convs",
                    [f"{f['all']}: depthwise", "layer*.*.conv1,layer*.*.conv3: group(4)"], None))
    else:
        out.append(("depthwise-convs", "depthwise", "convs", [f"{f['convs']}: depthwise"], None))
    out.append(("bottleneck2+group4-all", "bottleneck2+group4", "all",
                [f"{f['all']}: bottleneck(2); group(4)"], None))
    # The search's choices: for resnet18_cifar also under the rules of earlier sessions.
    for name, spec in SEARCHES.items():
        out.append((name, "searched", spec[0], [], None))
    for frac in f["narrow"]:
        out.append((f"narrow{frac}", "narrow", "-", [], WIDTH * frac))
    return out


def log(*a):
    print("[proxy-experiment]", *a, file=sys.stderr, flush=True)


def quiet_wanted():
    """True while a build or a timing holds QUIET_LOCK."""
    try:
        fd = os.open(QUIET_LOCK, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)


PAUSED_SECONDS = [0.0]


def call(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE):
    """subprocess.run with the quiet lock honoured: the child is stopped while it is held.
    Returns (returncode, stdout, stderr)."""
    p = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, text=True, start_new_session=True)
    out, err = [], []
    import threading
    readers = []
    for stream, sink in ((p.stdout, out), (p.stderr, err)):
        if stream is not None:
            t = threading.Thread(target=lambda s=stream, k=sink: k.append(s.read()))
            t.start()
            readers.append(t)
    stopped_at = None
    while p.poll() is None:
        wanted = quiet_wanted()
        if wanted and stopped_at is None:
            os.killpg(p.pid, signal.SIGSTOP)
            stopped_at = time.time()
            log("paused: something holds", QUIET_LOCK)
        elif not wanted and stopped_at is not None:
            os.killpg(p.pid, signal.SIGCONT)
            PAUSED_SECONDS[0] += time.time() - stopped_at
            stopped_at = None
            log("continued")
        try:
            p.wait(timeout=2)
        except subprocess.TimeoutExpired:
            pass
    for t in readers:
        t.join()
    return p.returncode, "".join(out), "".join(err)


def wait_quiet():
    while quiet_wanted():
        time.sleep(2)


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
        wait_quiet()
        rc, out, err = call([self.nasx, *map(str, cmd)])
        p = subprocess.CompletedProcess(cmd, rc, out, err)
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
        t0, paused0 = time.time(), PAUSED_SECONDS[0]
        wait_quiet()
        rc, out, _ = call([self.nasx, *map(str, cmd)], stderr=None)
        if rc != 0:
            raise RuntimeError(f"training {name} failed ({rc})")
        history = json.loads(out)["history"]
        e = json.loads(self.run("eval", arch, "--weights", ckpt, "--data", DATA, "--json").stdout)
        return {"test_accuracy": e["test_accuracy"], "history": history,
                "train_seconds": time.time() - t0 - (PAUSED_SECONDS[0] - paused0)}

    def record(self, r):
        with open(self.results_path, "a") as f:
            f.write(json.dumps(r) + "\n")
        self.done[(r["name"], r.get("seed", 0))] = r

    def phase_search(self):
        """The search's own outputs: timed, so each holds QUIET_LOCK (which pauses any other
        run of this experiment) while it runs."""
        for name, spec in SEARCHES.items():
            directory, rule = spec[0], spec[1]
            seed = spec[2] if len(spec) > 2 else 0
            out = os.path.join(self.work, directory)
            if os.path.exists(os.path.join(out, "arch.json")) or (name, 0) in self.done:
                continue  # searched, or already trained (its work folder may be gone)
            log("searching", BASE, "at width", WIDTH, "for", SEARCH_BUDGET, "with rule",
                rule or "(default)", "seed", seed)
            cmd = [self.nasx, "search", BASE, "--width", str(WIDTH), "--data", DATA, "--budget",
                   SEARCH_BUDGET, "--seed", str(seed), "--out", out, "--json"]
            if rule:
                cmd += ["--rule", rule]
            with open(QUIET_LOCK, "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
            if p.returncode != 0:
                raise RuntimeError("nasx search failed")
            summary = os.path.join(self.docs, "searches.jsonl")
            with open(summary, "a") as f:
                f.write(json.dumps({"name": name, "seed": seed, "rule": rule or "default",
                                    "budget": SEARCH_BUDGET, "summary": json.loads(p.stdout)})
                        + "\n")

    def phase_train(self, tier="all"):
        for name, kind, where, applies, width in variants():
            if tier == "core" and where not in CORE_WHERE:
                continue  # the rest come in a second pass (families.sh)
            if tier == "searched" and kind != "searched":
                continue
            seeds = SEEDS if name == "original" else [0]
            for seed in seeds:
                if (name, seed) in self.done:
                    continue
                arch = self.arch_for(name, applies, width, seed)
                if arch is None:
                    if kind == "searched":
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

    def phase_verdicts(self, tier="all"):
        path = os.path.join(self.docs, "verdicts.jsonl")
        have = set()
        if os.path.exists(path):
            have = {json.loads(l)["name"] for l in open(path) if l.strip()}
        for name, kind, where, applies, width in variants():
            if name in have or kind in ("original", "narrow"):
                continue
            if (tier == "core" and where not in CORE_WHERE) or (tier == "searched" and kind != "searched"):
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
    ap.add_argument("--family", default="resnet18_cifar", choices=sorted(FAMILIES))
    ap.add_argument("--results", default="docs/results/proxies",
                    help="where results.jsonl and latency.jsonl are appended (committed); a "
                    "family other than resnet18_cifar gets a subfolder")
    ap.add_argument("--work", default="bench-results/proxy-experiment",
                    help="architectures, checkpoints and the searches (not committed)")
    ap.add_argument("--phase", default="all", choices=["all", "search", "train", "verdicts", "latency"])
    ap.add_argument("--tier", default="all", choices=["core", "searched", "all"],
                    help="train and judge only the core variants (original, narrowed, every block, every "
                    "conv), only the search's outputs, or all of them")
    ap.add_argument("--quick", action="store_true",
                    help="a smoke test: 1 epoch on 256 images, 1 sample, 3 variants")
    args = ap.parse_args()
    select_family(args.family)
    args.results = os.path.join(args.results, FAMILY["results"])
    args.work = os.path.join(args.work, FAMILY["results"])
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
        e.phase_train(args.tier)
    if args.phase in ("all", "verdicts"):
        e.phase_verdicts(args.tier)
    if args.phase in ("all", "latency"):
        e.phase_latency()


if __name__ == "__main__":
    main()
