#!/usr/bin/env bash
# Installs what nasx needs on Debian 12, and nothing when it is all there.
# Idempotent: asks dpkg first, calls apt-get only for missing packages, uses sudo when not root.
set -euo pipefail

packages=(
  make cmake ninja-build g++ git ca-certificates
  libtorch-dev          # LibTorch 1.13: only src/torch and tests
  libdnnl-dev           # oneDNN: only bench/, the vendor anchor
  nlohmann-json3-dev libcli11-dev libgtest-dev zlib1g-dev
  libzip-dev            # the zip archive of a torch.save state_dict (--weights w.pt)
  dataset-fashion-mnist # real data for Fisher Potential and training
  gnuplot-nox           # the search report's plots
  clang libclang-rt-dev libomp-dev # make fuzz (libFuzzer, ASan + UBSan) and CI's fuzz minute
  libonnx-dev libprotobuf-dev # ONNX import and export (the protobuf classes of onnx.proto)
  python3-torch python3-torchvision # test fixtures only: the exported PyTorch module, torchvision's ResNet-18
  python3-onnx          # test fixtures only: checks and runs the exported ONNX files
  python3-venv          # make test-python: the package (pip install .) in a virtual environment
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "install-deps: need root or sudo to install: ${missing[*]}" >&2
    exit 1
  fi
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
