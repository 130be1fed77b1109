#!/bin/sh
# Issue 20's trainings, resumable: the search's own outputs (3 seeds per family, held out of every
# calibration: the direct answer to "does the network nasx search returns keep its accuracy?"),
# the variants of the two new families, then their verdicts. Run it in the background and again
# after any stop; finished networks are never redone (their lines are in
# docs/results/proxies/<family>/results.jsonl: commit them as they land), nor finished searches
# (bench-results/proxy-experiment/<family>/search-s<seed>; each search holds the quiet lock). It
# uses a copy of build/nasx (bench-results/bin/nasx), so a rebuild never changes the binary
# mid-run, and it pauses while anyone holds /tmp/nasx-quiet.lock (take it for builds and timings).
#   nohup bench/proxy-experiment/families.sh > bench-results/families.log 2>&1 &
set -e
cd "$(dirname "$0")/../.."
mkdir -p bench-results/bin
[ -x bench-results/bin/nasx ] || cp build/nasx bench-results/bin/nasx
run() { python3 bench/proxy-experiment/run.py --nasx bench-results/bin/nasx "$@"; }
for fam in resnet18_cifar resnet34_cifar resnext29_2x64d; do
  run --family "$fam" --phase search
  run --family "$fam" --phase train --tier searched
done
# The core variants of both new families first (they bound the rule), then the rest; verdicts
# after each pass (cheap; a finished one is never redone).
for tier in core all; do
  for fam in resnet34_cifar resnext29_2x64d; do run --family "$fam" --phase train --tier "$tier"; done
  for fam in resnet34_cifar resnext29_2x64d; do run --family "$fam" --phase verdicts --tier "$tier"; done
done
echo "families: all trained"
