#!/usr/bin/env python3
"""Analysis of the proxy verification experiment (run.py): how well each zero-cost proxy,
as a paired ratio to the original network, predicts trained accuracy; which legality rule keeps
every accepted variant within 1 point; and accuracy against parameters and latency beside the
uniformly narrowed network. Works on partial results (what has been trained so far).

  bench/proxy-experiment/analyze.py [--results docs/results/proxies]

Writes RESULTS/summary.md, RESULTS/summary.json and, with gnuplot, RESULTS/proxies.png and
RESULTS/pareto.png. Only the Python standard library (and gnuplot for the plots).
"""
import argparse
import json
import math
import os
import random
import shutil
import subprocess

PROXIES = ["fisher", "grad_norm", "snip", "synflow", "naswot", "zico", "params"]
LOSS_POINTS = 1.0  # a variant "loses" when it is more than this below the original, beyond noise
BOOTSTRAP = 2000
HELD_OUT = "search-calibrated"  # run.py's `where` of the search under the calibrated rule


def ranks(xs):
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    r = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return r


def spearman(xs, ys):
    if len(xs) < 3:
        return float("nan")
    rx, ry = ranks(xs), ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    vx = math.sqrt(sum((a - mx) ** 2 for a in rx))
    vy = math.sqrt(sum((b - my) ** 2 for b in ry))
    return cov / (vx * vy) if vx > 0 and vy > 0 else float("nan")


def bootstrap_interval(xs, ys, seed=0):
    rng = random.Random(seed)
    n, values = len(xs), []
    for _ in range(BOOTSTRAP):
        idx = [rng.randrange(n) for _ in range(n)]
        v = spearman([xs[i] for i in idx], [ys[i] for i in idx])
        if not math.isnan(v):
            values.append(v)
    if not values:
        return float("nan"), float("nan")
    values.sort()
    return values[int(0.025 * len(values))], values[int(0.975 * len(values)) - 1]


def pareto(points):
    """Indices of points not dominated (lower-or-equal cost and higher-or-equal accuracy)."""
    front = []
    for i, (c, a) in enumerate(points):
        if not any((c2 <= c and a2 >= a) and (c2 < c or a2 > a) for c2, a2 in points):
            front.append(i)
    return front


def load(results_dir):
    rows = []
    path = os.path.join(results_dir, "results.jsonl")
    for line in open(path):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except ValueError:
                pass
    latency = {}
    lpath = os.path.join(results_dir, "latency.jsonl")
    if os.path.exists(lpath):
        for line in open(lpath):
            if line.strip():
                r = json.loads(line)
                latency[r["name"]] = r["latency_ms"]
    vpath = os.path.join(results_dir, "verdicts.jsonl")
    if os.path.exists(vpath):
        verdicts = {}
        for line in open(vpath):
            if line.strip():
                v = json.loads(line)
                verdicts[v["name"]] = v
        for r in rows:
            if r["name"] in verdicts:
                r["verdicts"] = verdicts[r["name"]]
    return rows, latency


def analyze(rows, latency):
    originals = [r["test_accuracy"] for r in rows if r["name"] == "original"]
    if not originals:
        return None
    base = sum(originals) / len(originals)
    noise = (max(originals) - min(originals)) / 2
    variants = [r for r in rows if r.get("proxies") and r["name"] != "original"]
    # The search's choice under the calibrated rule is held out: it checks the rule afterwards.
    held_out = [r for r in variants if r.get("where") == HELD_OUT]
    transformed = [r for r in variants if r["kind"] != "narrow" and r not in held_out]
    for r in variants:
        r["drop"] = base - r["test_accuracy"]
        r["loses"] = r["drop"] > LOSS_POINTS + noise
        r["latency_ms"] = latency.get(r["name"])
    out = {"original": {"accuracy_mean": base, "accuracy": originals, "noise": noise},
           "threshold_points": LOSS_POINTS + noise, "variants": len(variants), "proxies": {}}
    # Proxies and calibration: the transformed variants (narrowing is the co-design baseline).
    out["transformed"] = len(transformed)
    accs = [r["test_accuracy"] for r in transformed]
    for p in PROXIES:
        xs = [r["proxies"][p]["mean"] for r in transformed]
        lo, hi = bootstrap_interval(xs, accs)
        legal = [r for r in transformed if r["proxies"][p]["mean"] >= 1.0]
        out["proxies"][p] = {
            "spearman": spearman(xs, accs), "interval": [lo, hi],
            "legal_at_tau_1": len(legal),
            "legal_that_lose": [r["name"] for r in legal if r["loses"]]}
    out["calibration"] = calibrate(transformed)
    out["paper_rule"] = paper_rule_check(transformed)
    out["held_out"] = [{"name": r["name"], "accuracy": r["test_accuracy"], "drop": r["drop"],
                        "loses": r["loses"], "params": r["params"],
                        "accepted_by_calibrated": bool(out["calibration"]) and
                        rule_accepts(out["calibration"], r)} for r in held_out]
    # Co-design: accuracy against parameters and latency, transformed and narrowed.
    points = [("original", base, rows[0]["params"], latency.get("original"))]
    points += [(r["name"], r["test_accuracy"], r["params"], r["latency_ms"]) for r in variants]
    out["pareto_params"] = [points[i][0] for i in pareto([(p[2], p[1]) for p in points])]
    timed = [p for p in points if p[3] is not None]
    out["pareto_latency"] = [timed[i][0] for i in pareto([(p[3], p[1]) for p in timed])]
    out["rows"] = [{"name": p[0], "accuracy": p[1], "params": p[2], "latency_ms": p[3]}
                   for p in points]
    return out


TAUS = [round(0.5 + 0.025 * i, 3) for i in range(29)]  # 0.5 .. 1.2


def judged_mean(v, proxy, scope, samples):
    """The binding mean ratio of one proxy under a rule: over the first `samples` paired samples,
    the lowest mean of the network and (block scope) of every block holding a transformed layer.
    `v` is a verdicts.jsonl record; None when this variant has none."""
    means = []
    for name, ratios in v["judged"].items():
        p, _, judged = name.partition(":")
        if p != proxy or (scope == "network" and judged != "network"):
            continue
        r = [ratio_value(x) for x in ratios[:samples]]
        means.append(sum(r) / len(r))
    if not means:
        return None
    # As PairedVerdict::decide: the lowest mean binds, and a NaN mean binds (illegal).
    return float("nan") if any(math.isnan(m) for m in means) else min(means)


def ratio_value(x):
    """A ratio as nasx writes it: a number, or "inf", "-inf", "nan" (null: undefined)."""
    if x is None:
        return float("nan")
    return float(x)


def rule_accepts(rule, r):
    v = r.get("verdicts")
    if v is None:  # no block ratios recorded: the network's, from results.jsonl
        if rule["scope"] != "network":
            return False
        return all(sum(r["proxies"][p]["ratios"][:rule["samples"]]) / rule["samples"]
                   >= rule["tau"] for p in rule["proxies"])
    for p in rule["proxies"]:
        m = judged_mean(v, p, rule["scope"], rule["samples"])
        if m is None or math.isnan(m) or m < rule["tau"]:
            return False
    return True


def rule_text(rule):
    return (f"{' and '.join(rule['proxies'])}, mean of {rule['samples']} sample"
            f"{'s' if rule['samples'] > 1 else ''} >= {rule['tau']:g}, {rule['scope']} scope")


def calibrate(variants):
    """The rule, in the form nasx implements (rule.h: proxies that must all pass, tau on the mean
    of the paired samples, samples, scope), accepting the most variants while accepting none
    that loses. Ties go to fewer proxies, then more samples, then block scope, then the higher
    tau (the margin kept). Also every candidate rule's counts, and a leave-one-out check: each
    variant judged by the rule calibrated on the others."""
    def candidates():
        for scope in ("network", "block"):
            for samples in (1, 3):
                for i, p in enumerate(PROXIES):
                    for tau in TAUS:
                        yield {"proxies": [p], "tau": tau, "samples": samples, "scope": scope}
                    for q in PROXIES[i + 1:]:
                        for tau in TAUS:
                            yield {"proxies": [p, q], "tau": tau, "samples": samples,
                                   "scope": scope}

    rules = list(candidates())

    def best_on(rows):
        best = None
        for rule in rules:
            accepted = [r for r in rows if rule_accepts(rule, r)]
            if any(r["loses"] for r in accepted):
                continue
            key = (len(accepted), -len(rule["proxies"]), rule["samples"],
                   rule["scope"] == "block", rule["tau"])
            if best is None or key > best[0]:
                best = (key, dict(rule, accepts=len(accepted),
                                  accepted=[r["name"] for r in accepted]))
        return best[1] if best else None

    # Block-scope ratios exist only for variants whose verdicts were recorded: once any were,
    # every rule is judged on those variants alone, so network and block rules see one set.
    if any(r.get("verdicts") for r in variants):
        variants = [r for r in variants if r.get("verdicts")]
    chosen = best_on(variants)
    if chosen is None:
        return None
    held_out = []
    for r in variants:
        others = best_on([x for x in variants if x is not r])
        if others and rule_accepts(others, r) and r["loses"]:
            held_out.append(r["name"])
    chosen["leave_one_out_losers_accepted"] = held_out
    chosen["calibrated_on"] = len(variants)
    return chosen


def paper_rule_check(variants):
    rule = {"proxies": ["fisher"], "tau": 1.0, "samples": 1, "scope": "network"}
    accepted = [r for r in variants if rule_accepts(rule, r)]
    return {"accepts": len(accepted), "losing": [r["name"] for r in accepted if r["loses"]]}


def markdown(a, rows):
    o = a["original"]
    lines = ["# Proxy verification: results", "",
             f"Original network: test accuracy {o['accuracy_mean']:.2f}% over "
             f"{len(o['accuracy'])} seeds ({', '.join(f'{x:.2f}' for x in o['accuracy'])}); "
             f"noise (half range) {o['noise']:.2f} points. A variant loses when it falls more "
             f"than {a['threshold_points']:.2f} points below the original's mean "
             f"(1 point + the noise). {a['variants']} variants trained, "
             f"{a['transformed']} of them transformed (the proxy rows use those).", "",
             "| proxy | Spearman with accuracy | 95% bootstrap | legal at tau = 1 | of those, losing |",
             "|---|---|---|---|---|"]
    for p, v in a["proxies"].items():
        lo, hi = v["interval"]
        lines.append(f"| {p} | {v['spearman']:.2f} | {lo:.2f} .. {hi:.2f} | "
                     f"{v['legal_at_tau_1']} | {len(v['legal_that_lose'])} "
                     f"{'(' + ', '.join(v['legal_that_lose']) + ')' if v['legal_that_lose'] else ''} |")
    c, pr = a["calibration"], a["paper_rule"]
    lines += ["", "Calibrated rule (accepts the most variants, none losing): " +
              (f"{rule_text(c)}: accepts {c['accepts']} of {c['calibrated_on']} "
               f"(the variants with recorded verdicts) "
               f"({', '.join(c['accepted'])}); left out one at a time, the rule calibrated on "
               f"the others accepts {len(c['leave_one_out_losers_accepted'])} losing variant(s)"
               f"{' (' + ', '.join(c['leave_one_out_losers_accepted']) + ')' if c['leave_one_out_losers_accepted'] else ''}"
               if c else "none"), "",
              f"The paper's rule (fisher, 1 sample, network >= 1) accepts {pr['accepts']}, "
              f"{len(pr['losing'])} of them losing"
              f"{' (' + ', '.join(pr['losing']) + ')' if pr['losing'] else ''}.", "",
              ] + [f"Held out of the calibration: {h['name']} reaches {h['accuracy']:.2f}% "
                   f"({h['drop']:+.2f} points{', LOSES' if h['loses'] else ''}), "
                   f"{'accepted' if h['accepted_by_calibrated'] else 'rejected'} by the "
                   f"calibrated rule." for h in a["held_out"]] + ["",
              "| variant | accuracy | drop | params | latency ms | fisher | zico | params |",
              "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if not r.get("proxies") or r["name"] == "original":
            continue
        pr = r["proxies"]
        lat = f"{r['latency_ms']:.3f}" if r.get("latency_ms") else "-"
        lines.append(f"| {r['name']} | {r['test_accuracy']:.2f} | {r['drop']:+.2f}"
                     f"{' LOSES' if r['loses'] else ''} | {r['params']:,} | {lat} | "
                     f"{pr['fisher']['mean']:.3f} | {pr['zico']['mean']:.3f} | "
                     f"{pr['params']['mean']:.3f} |")
    lines += ["", "Pareto front, accuracy against parameters: " + ", ".join(a["pareto_params"]),
              "", "Pareto front, accuracy against latency: " +
              (", ".join(a["pareto_latency"]) if a["pareto_latency"] else "(latency not measured yet)"),
              ""]
    return "\n".join(lines)


def plots(a, rows, results_dir):
    if not shutil.which("gnuplot"):
        return
    data = os.path.join(results_dir, "plot-data.tsv")
    with open(data, "w") as f:
        o = next(r for r in a["rows"] if r["name"] == "original")
        f.write("\t".join(map(str, [1.0] * len(PROXIES) + [
            o["accuracy"], o["params"], o["latency_ms"] or float("nan"), 2])) + "\n")
        for r in rows:
            if not r.get("proxies") or r["name"] == "original":
                continue
            vals = [r["proxies"][p]["mean"] for p in PROXIES]
            lat = r.get("latency_ms") or float("nan")
            f.write("\t".join(map(str, vals + [r["test_accuracy"], r["params"], lat,
                                               1 if r["kind"] == "narrow" else 0])) + "\n")
    fronts = {}
    for key, col in (("pareto_params", "params"), ("pareto_latency", "latency_ms")):
        path = os.path.join(results_dir, f"plot-{key}.tsv")
        pts = sorted((r[col], r["accuracy"]) for r in a["rows"]
                     if r["name"] in a[key] and r[col] is not None)
        with open(path, "w") as f:
            f.write("".join(f"{c}\t{acc}\n" for c, acc in pts) or "nan\tnan\n")
        fronts[key] = path
    cmds = [f"set terminal pngcairo noenhanced size 1400,800", f"set output '{results_dir}/proxies.png'",
            "set multiplot layout 2,4", "set key off", "set grid"]
    n = len(PROXIES)
    for i, p in enumerate(PROXIES):
        cmds += [f"set title '{p} (Spearman {a['proxies'][p]['spearman']:.2f})'",
                 "set xlabel 'ratio to original'", "set ylabel 'test accuracy %'",
                 f"plot '{data}' using (${i+1}>=1?${i+1}:1/0):{n+1} pt 7 lc rgb 'forest-green',"
                 f" '' using (${i+1}<1?${i+1}:1/0):{n+1} pt 6 lc rgb 'red'"]
    cmds += ["unset multiplot", f"set output '{results_dir}/pareto.png'",
             "set terminal pngcairo noenhanced size 1200,500", "set multiplot layout 1,2", "set key bottom right",
             "set title 'accuracy against parameters'", "set xlabel 'parameters'",
             "set format x '%.0s%c'",
             f"plot '{data}' using (${n+4}==0?${n+2}:1/0):{n+1} pt 7 title 'transformed',"
             f" '' using (${n+4}==1?${n+2}:1/0):{n+1} pt 5 title 'narrowed',"
             f" '' using (${n+4}==2?${n+2}:1/0):{n+1} pt 9 ps 2 title 'original',"
             f" '{fronts['pareto_params']}' using 1:2 with steps lc rgb 'gray' title 'Pareto front'",
             "set title 'accuracy against latency'", "set format x '%g'", "set xlabel 'latency ms (batch 1)'",
             f"plot '{data}' using (${n+4}==0?${n+3}:1/0):{n+1} pt 7 title 'transformed',"
             f" '' using (${n+4}==1?${n+3}:1/0):{n+1} pt 5 title 'narrowed',"
             f" '' using (${n+4}==2?${n+3}:1/0):{n+1} pt 9 ps 2 title 'original',"
             f" '{fronts['pareto_latency']}' using 1:2 with steps lc rgb 'gray' title 'Pareto front'",
             "unset multiplot"]
    subprocess.run(["gnuplot"], input="\n".join(cmds), text=True, check=False,
                   stderr=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", default="docs/results/proxies")
    args = ap.parse_args()
    rows, latency = load(args.results)
    a = analyze(rows, latency)
    if a is None:
        print("no trained original yet")
        return
    with open(os.path.join(args.results, "summary.json"), "w") as f:
        json.dump(a, f, indent=2)
    md = markdown(a, rows)
    with open(os.path.join(args.results, "summary.md"), "w") as f:
        f.write(md)
    plots(a, rows, args.results)
    print(md)


if __name__ == "__main__":
    main()
