#!/usr/bin/env python3
"""Across architecture families (issue 20): does a legality rule fitted on some families keep
the networks of another? Reads every family's results of run.py (resnet18_cifar's in
RESULTS, the others' in RESULTS/<family>), and writes RESULTS/families.md and families.json
(and, with gnuplot, RESULTS/families.png):

- per family and pooled: the original's accuracy and noise, Spearman of each proxy's mean
  ratio with the accuracy drop (bootstrap intervals), keepers and losers;
- rule forms beyond today's: a unanimous vote of one or two proxies (today's form), a vote of
  k of three proxies, ratios normalised by the parameter ratio, and a threshold per
  transformation kind; each fitted on two families and judged on the third (leave one family
  out), and the fixed rules that accept no loser in any family, ranked by keepers accepted;
- the search's own outputs (held out of every calibration) against their original.

Works on partial results (a family with no trained original is skipped). Only the standard
library (gnuplot for the plot).

  bench/proxy-experiment/families.py [--results docs/results/proxies]
"""
import argparse
import itertools
import json
import math
import os
import shutil
import subprocess

from analyze import LOSS_POINTS, PROXIES, bootstrap_interval, spearman

FAMILIES = {"resnet18_cifar": "", "resnet34_cifar": "resnet34_cifar",
            "resnext29_2x64d": "resnext29_2x64d"}
TAUS = [round(0.3 + 0.025 * i, 3) for i in range(45)]  # 0.3 .. 1.4
JUDGES = [p for p in PROXIES if p != "params"]
TODAY = {"form": "all", "proxies": ["fisher", "snip"], "tau": 0.7, "samples": 3}
PAPER = {"form": "all", "proxies": ["fisher"], "tau": 1.0, "samples": 1}


def kind_of(r):
    """The transformation kind a per-kind threshold keys on: the first step's primitive."""
    k = r["kind"]
    for prefix in ("group", "depthwise", "bottleneck"):
        if k.startswith(prefix):
            return prefix
    return {"seq1": "split", "seq2": "peel", "seq3": "spatial_split"}.get(k, k)


def load_family(results, sub):
    path = os.path.join(results, sub, "results.jsonl")
    if not os.path.exists(path):
        return None
    rows = {}
    for line in open(path):
        try:
            r = json.loads(line)
            rows[(r["name"], r.get("seed", 0))] = r
        except (ValueError, KeyError):
            pass
    rows = list(rows.values())
    originals = [r["test_accuracy"] for r in rows if r["name"] == "original"]
    if not originals:
        return None
    base = sum(originals) / len(originals)
    noise = (max(originals) - min(originals)) / 2 if len(originals) > 1 else float("nan")
    fam = {"original": originals, "mean": base, "noise": noise,
           "threshold": LOSS_POINTS + (0 if math.isnan(noise) else noise),
           "variants": [], "searched": [], "narrowed": []}
    for r in rows:
        if r["name"] == "original" or not r.get("proxies") and r["kind"] != "searched":
            continue
        r["drop"] = base - r["test_accuracy"]
        r["loses"] = r["drop"] > fam["threshold"]
        r["family_kind"] = kind_of(r)
        group = {"searched": "searched", "narrow": "narrowed"}.get(r["kind"], "variants")
        fam[group].append(r)
    # Each search's end-to-end speedup (median and spread, run.py's searches.jsonl).
    speedups = {}
    searches = os.path.join(results, sub, "searches.jsonl")
    if os.path.exists(searches):
        for line in open(searches):
            try:
                j = json.loads(line)
                speedups[j["name"]] = j["summary"]["speedup"]
            except (ValueError, KeyError):
                pass
    for r in fam["searched"]:
        r["speedup"] = speedups.get(r["name"])
    return fam


def ratio(r, proxy, samples):
    rs = r["proxies"][proxy]["ratios"][:samples]
    return sum(rs) / len(rs)


def accepts(rule, r):
    if not r.get("proxies"):
        return False
    s = rule["samples"]
    if rule["form"] == "all":
        return all(ratio(r, p, s) >= rule["tau"] for p in rule["proxies"])
    if rule["form"] == "vote":
        return sum(ratio(r, p, s) >= rule["tau"] for p in rule["proxies"]) >= rule["k"]
    if rule["form"] == "normalised":  # the proxy's ratio over the parameter ratio
        return all(ratio(r, p, s) / ratio(r, "params", s) >= rule["tau"]
                   for p in rule["proxies"])
    if rule["form"] == "per-kind":
        tau = rule["taus"].get(r["family_kind"])
        return tau is not None and all(ratio(r, p, s) >= tau for p in rule["proxies"])
    raise ValueError(rule["form"])


def rule_text(rule):
    s = f", mean of {rule['samples']} sample{'s' if rule['samples'] > 1 else ''}"
    ps = " and ".join(rule["proxies"])
    if rule["form"] == "all":
        return f"{ps} >= {rule['tau']:g}{s}"
    if rule["form"] == "vote":
        return f"{rule['k']} of {', '.join(rule['proxies'])} >= {rule['tau']:g}{s}"
    if rule["form"] == "normalised":
        return f"{ps} / params >= {rule['tau']:g}{s}"
    taus = ", ".join(f"{k} {t:g}" for k, t in sorted(rule["taus"].items()))
    return f"{ps} >= tau per kind ({taus}){s}"


def fixed_rules():
    """Every fixed rule of the first three forms."""
    for samples in (1, 3):
        for n in (1, 2):
            for ps in itertools.combinations(JUDGES + ["params"], n):
                for tau in TAUS:
                    yield {"form": "all", "proxies": list(ps), "tau": tau, "samples": samples}
        for ps in itertools.combinations(JUDGES, 3):
            for tau in TAUS:
                yield {"form": "vote", "k": 2, "proxies": list(ps), "tau": tau,
                       "samples": samples}
        for p in JUDGES:
            for tau in TAUS:
                yield {"form": "normalised", "proxies": [p], "tau": tau, "samples": samples}


def score(rule, variants):
    acc = [r for r in variants if accepts(rule, r)]
    keepers = [r for r in variants if not r["loses"]]
    return {"accepted": len(acc), "losers_accepted": [r["name"] for r in acc if r["loses"]],
            "keepers": len(keepers), "keepers_accepted": sum(not r["loses"] for r in acc)}


def fit(form, variants, rules):
    """The rule of `form` accepting the most keepers of `variants` and no loser; ties go to
    fewer proxies, more samples, then the higher tau (the margin kept)."""
    if form == "per-kind":
        return fit_per_kind(variants)
    best = None
    for rule in rules:
        if rule["form"] != form:
            continue
        s = score(rule, variants)
        if s["losers_accepted"]:
            continue
        key = (s["keepers_accepted"], -len(rule["proxies"]), rule["samples"], rule["tau"])
        if best is None or key > best[0]:
            best = (key, rule)
    return best[1] if best else None


def fit_per_kind(variants):
    """Per kind, the lowest tau (on the best single proxy overall) that accepts no loser of
    that kind; a kind with no loser gets the lowest tau that keeps every keeper, bounded below
    by the lowest tau seen to keep a loser out for any kind (no evidence is not leniency)."""
    best = None
    for p in JUDGES:
        for samples in (1, 3):
            taus, floor = {}, min(TAUS)
            for r in variants:
                if r["loses"]:
                    floor = max(floor, min((t for t in TAUS if ratio(r, p, samples) < t),
                                           default=max(TAUS)))
            for kind in sorted({r["family_kind"] for r in variants}):
                mine = [r for r in variants if r["family_kind"] == kind]
                need = max([min((t for t in TAUS if ratio(r, p, samples) < t), default=9)
                            for r in mine if r["loses"]] + [floor])
                taus[kind] = need
            rule = {"form": "per-kind", "proxies": [p], "taus": taus, "samples": samples}
            s = score(rule, variants)
            key = (s["keepers_accepted"], samples)
            if not s["losers_accepted"] and (best is None or key > best[0]):
                best = (key, rule)
    return best[1] if best else None


def spearman_rows(variants, pooled=False):
    out = {}
    ys = [-r["drop"] for r in variants]
    for p in PROXIES:
        xs = [r["proxies"][p]["mean"] for r in variants]
        lo, hi = bootstrap_interval(xs, ys)
        out[p] = {"spearman": spearman(xs, ys), "interval": [lo, hi], "n": len(xs)}
    return out


def analyse(fams):
    rules = list(fixed_rules())
    names = sorted(fams)
    a = {"families": {}, "folds": [], "fixed": [], "rules_considered": len(rules)}
    for f in names:
        fam = fams[f]
        v = fam["variants"]
        a["families"][f] = {
            "original": fam["original"], "mean": fam["mean"], "noise": fam["noise"],
            "threshold": fam["threshold"], "variants": len(v),
            "losers": [r["name"] for r in v if r["loses"]],
            "spearman": spearman_rows(v) if len(v) >= 3 else {},
            "today": score(TODAY, v), "paper": score(PAPER, v),
            "searched": [{"name": r["name"], "accuracy": r["test_accuracy"],
                          "drop": r["drop"], "loses": r["loses"], "params": r["params"],
                          "speedup": r.get("speedup")}
                         for r in fam["searched"]]}
    pooled = [r for f in names for r in fams[f]["variants"]]
    a["pooled"] = {"variants": len(pooled), "spearman": spearman_rows(pooled) if pooled else {}}
    forms = ["all", "vote", "normalised", "per-kind"]
    if len(names) >= 2:
        for left in names:
            train = [r for f in names if f != left for r in fams[f]["variants"]]
            test = fams[left]["variants"]
            for form in forms:
                rule = fit(form, train, rules)
                a["folds"].append({"left_out": left, "form": form,
                                   "rule": rule and rule_text(rule),
                                   "fitted": rule and score(rule, train),
                                   "judged": rule and score(rule, test)})
    # The fixed rules with no loser in any family, by keepers accepted in all.
    ranked = []
    for rule in rules:
        per = {f: score(rule, fams[f]["variants"]) for f in names}
        if any(s["losers_accepted"] for s in per.values()):
            continue
        total = sum(s["keepers_accepted"] for s in per.values())
        worst = min((s["keepers_accepted"] / s["keepers"] if s["keepers"] else 1.0)
                    for s in per.values())
        ranked.append((total, worst, -len(rule["proxies"]), rule["samples"], rule["tau"],
                       rule, per))
    ranked.sort(key=lambda x: x[:5], reverse=True)
    for total, worst, _, _, _, rule, per in ranked[:12]:
        a["fixed"].append({"rule": rule_text(rule), "spec": rule, "keepers_accepted": total,
                           "worst_family_fraction": worst, "per_family": per})
    return a


def markdown(a):
    L = ["# Legality across architecture families", ""]
    L += ["| family | original (seeds) | noise | variants | losers | today's rule accepts "
          "(losers) | paper's rule accepts (losers) |", "|---|---|---|---|---|---|---|"]
    for f, x in a["families"].items():
        t, p = x["today"], x["paper"]
        L.append(f"| {f} | {x['mean']:.2f} ({', '.join(f'{o:.2f}' for o in x['original'])}) | "
                 f"{x['noise']:.2f} | {x['variants']} | {len(x['losers'])} | "
                 f"{t['accepted']} ({len(t['losers_accepted'])}) | "
                 f"{p['accepted']} ({len(p['losers_accepted'])}) |")
    L += ["", "Spearman of each proxy's mean ratio (3 paired samples) with trained accuracy "
          "(minus the family's original mean, so families pool), 95% bootstrap intervals:", "",
          "| proxy | " + " | ".join(a["families"]) + " | pooled |",
          "|---|" + "---|" * (len(a["families"]) + 1)]
    for p in PROXIES:
        cells = []
        for x in list(a["families"].values()) + [a["pooled"]]:
            s = x["spearman"].get(p)
            cells.append(f"{s['spearman']:.2f} ({s['interval'][0]:.2f}..{s['interval'][1]:.2f})"
                         if s else "-")
        L.append(f"| {p} | " + " | ".join(cells) + " |")
    if a["folds"]:
        L += ["", "Leave one family out: each form fitted on the other families (most keepers, "
              "no loser), judged on the one left out:", "",
              "| left out | form | rule fitted on the others | accepts | losers accepted | "
              "keepers accepted |", "|---|---|---|---|---|---|"]
        for fo in a["folds"]:
            j = fo["judged"]
            if j is None:
                L.append(f"| {fo['left_out']} | {fo['form']} | (none without a loser) | | | |")
                continue
            L.append(f"| {fo['left_out']} | {fo['form']} | {fo['rule']} | {j['accepted']} | "
                     f"{len(j['losers_accepted'])} {', '.join(j['losers_accepted'])} | "
                     f"{j['keepers_accepted']} of {j['keepers']} |")
    L += ["", f"Fixed rules ({a['rules_considered']} considered) that accept no loser in any "
          "family, by keepers accepted:", "",
          "| rule | keepers accepted | worst family's fraction |", "|---|---|---|"]
    for x in a["fixed"]:
        L.append(f"| {x['rule']} | {x['keepers_accepted']} | {x['worst_family_fraction']:.2f} |")
    searched = [(f, s) for f, x in a["families"].items() for s in x["searched"]]
    if searched:
        L += ["", "The search's own outputs (held out of every calibration; drop: the "
              "original's mean minus the network's accuracy, LOSES beyond 1 point plus the "
              "noise; speedup end to end, median (min-max), as the search measured it):", "",
              "| family | network | accuracy | drop | speedup | params |",
              "|---|---|---|---|---|---|"]
        for f, s in searched:
            sp = s.get("speedup")
            spt = f"{sp['median']:.2f}x ({sp['min']:.2f}-{sp['max']:.2f})" if sp else "-"
            L.append(f"| {f} | {s['name']} | {s['accuracy']:.2f} | {s['drop']:+.2f}"
                     f"{' LOSES' if s['loses'] else ''} | {spt} | {s['params']:,} |")
    return "\n".join(L) + "\n"


def plot(fams, results):
    if not shutil.which("gnuplot"):
        return
    names = sorted(fams)
    cmds = ["set terminal pngcairo noenhanced size 1600,%d" % (380 * len(names)),
            f"set output '{results}/families.png'",
            f"set multiplot layout {len(names)},{len(JUDGES)}", "set key off", "set grid"]
    for f in names:
        data = os.path.join(results, f"plot-family-{f}.tsv")
        with open(data, "w") as out:
            for r in fams[f]["variants"]:
                legal = accepts(TODAY, r)
                out.write("\t".join(str(r["proxies"][p]["mean"]) for p in JUDGES)
                          + f"\t{r['test_accuracy']}\t{int(legal)}\n")
        for i, p in enumerate(JUDGES):
            n = len(JUDGES)
            cmds += [f"set title '{f}: {p}'", "set xlabel 'ratio to original'",
                     "set ylabel 'test accuracy %'",
                     f"plot '{data}' using (${n+2}==1?${i+1}:1/0):{n+1} pt 7 lc rgb 'forest-green',"
                     f" '' using (${n+2}==0?${i+1}:1/0):{n+1} pt 6 lc rgb 'red',"
                     f" {fams[f]['mean'] - fams[f]['threshold']} lc rgb 'gray' dt 2"]
    cmds.append("unset multiplot")
    subprocess.run(["gnuplot"], input="\n".join(cmds), text=True, check=False,
                   stderr=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", default="docs/results/proxies")
    args = ap.parse_args()
    fams = {f: fam for f, sub in FAMILIES.items()
            if (fam := load_family(args.results, sub)) is not None}
    a = analyse(fams)
    with open(os.path.join(args.results, "families.json"), "w") as f:
        json.dump(a, f, indent=2)
    md = markdown(a)
    with open(os.path.join(args.results, "families.md"), "w") as f:
        f.write(md)
    plot(fams, args.results)
    print(md)


if __name__ == "__main__":
    main()
