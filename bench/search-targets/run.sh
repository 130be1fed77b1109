#!/usr/bin/env bash
# The search's targets (issue 19), one search after another on a quiet machine (never beside a
# build or another timing): each search from an empty output folder, then `nasx legal` of the
# returned network under the default rule, then one line of JSON per network appended to
# $OUT/summary.jsonl. A network whose summary line exists is skipped (the script resumes).
#   bench/search-targets/run.sh [OUT=bench-results/search-targets] [NETWORK...]
# Networks: make-run (resnet18_cifar, 4m), resnet34_cifar, resnext29_2x64d, densenet161_cifar
# (15m each), torchvision-resnet18 (torchvision's resnet18 exported by torch.onnx at 32x32, 4m).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-bench-results/search-targets}
NASX=${NASX:-build/nasx}
mkdir -p "$OUT"
nets=("$@")
[ ${#nets[@]} -gt 0 ] || nets=(make-run resnet34_cifar resnext29_2x64d densenet161_cifar torchvision-resnet18)

torchvision_onnx() {
  local f="$OUT/torchvision-resnet18.onnx"
  [ -f "$f" ] || /usr/bin/python3 - "$f" <<'PY'
import sys, torch, torchvision
torch.manual_seed(0)
m = torchvision.models.resnet18().eval()
torch.onnx.export(m, torch.randn(1, 3, 32, 32), sys.argv[1], opset_version=13)
PY
  echo "$f"
}

for net in "${nets[@]}"; do
  if [ -f "$OUT/summary.jsonl" ] && grep -q "\"network\": *\"$net\"" "$OUT/summary.jsonl"; then
    echo "== $net: done already"; continue
  fi
  case "$net" in
    make-run) model=resnet18_cifar; budget=4m ;;
    torchvision-resnet18) model=$(torchvision_onnx); budget=4m ;;
    *) model=$net; budget=15m ;;
  esac
  dir="$OUT/$net"
  rm -rf "$dir"
  echo "== $net: nasx search $model --budget $budget"
  start=$(date +%s)
  "$NASX" search "$model" --data fashion-mnist --budget "$budget" --out "$dir" --json > "$dir.json"
  wall=$(( $(date +%s) - start ))
  set +e
  "$NASX" legal "$dir/arch.json" --json > "$dir.legal.json"
  legal_rc=$?
  set -e
  python3 - "$net" "$dir" "$wall" "$legal_rc" >> "$OUT/summary.jsonl" <<'PY'
import json, sys
net, d, wall, rc = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
r = json.load(open(d + "/report.json"))
legal = json.load(open(d + ".legal.json")) if rc in (0, 1) else {}
print(json.dumps({
    "network": net, "wall_s": wall, "speedup": r["speedup"], "speedup_min": r["speedup_min"],
    "speedup_max": r["speedup_max"], "baseline_ms": r["baseline"]["latency"]["median_ms"],
    "result_ms": r["result"]["latency"]["median_ms"],
    "params_ratio": r["result"]["params"] / r["baseline"]["params"],
    "macs_ratio": r["result"]["macs"] / r["baseline"]["macs"],
    "units": r["counts"]["units"], "units_covered": r["counts"]["units_covered"],
    "judged": r["counts"]["judged"], "accepted": r["counts"]["accepted"],
    "backoff_acted": r["backoff_acted"], "final_ratio": r["final_verdict"].get("mean"),
    "legal_rc": rc, "legal_mean": legal.get("mean"), "legal_binding": legal.get("binding"),
    "seconds": r["seconds"]}))
PY
  tail -1 "$OUT/summary.jsonl"
done
