#!/usr/bin/env bash
# Installs the Debian 12 packages spinfire needs, only those that are missing.
set -euo pipefail
# ocl-icd-opencl-dev: Debian's oneDNN is built with the OpenCL GPU runtime, so its CMake
# config runs find_package(OpenCL REQUIRED); libdnnl-dev only recommends the package, and
# recommends are not installed below. clang + libclang-rt-14-dev: libFuzzer and the sanitizer
# runtimes of the fuzz preset.
pkgs=(build-essential cmake ninja-build libxtensor-dev libxsimd-dev libboost-dev libtbb-dev
      libdnnl-dev ocl-icd-opencl-dev libbenchmark-dev doctest-dev libcli11-dev
      nlohmann-json3-dev libfmt-dev libstb-dev gnuplot-nox python3-numpy
      libopenmpi-dev openmpi-bin clang libclang-rt-14-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "spinfire: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
