#!/usr/bin/env bash
# The whole test suite: install what is missing, configure, build, run every CTest label.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh
BUILD=${BUILD:-build}
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$(nproc)"
ctest --test-dir "$BUILD" --output-on-failure -j"$(nproc)" "$@"
