#!/usr/bin/env bash
# Build the wheels the image installs: the core and the packs a hosted server serves (no emulator,
# no devkit). Usage: build-wheels.sh SOURCE_DIR OUT_DIR. The Containerfile's build stage runs it, and
# so does CI (tests/test_deploy.py), so the image's build steps are tested without a container engine.
set -euo pipefail
src="$(cd "${1:?source directory}" && pwd)"
out="${2:?output directory}"
mkdir -p "$out"
packages=(core pack-incidents pack-health pack-dcr pack-tables pack-hunting pack-rules)
args=()
for p in "${packages[@]}"; do args+=("$src/packages/$p"); done
# --no-build-isolation: hatchling comes from the build environment (the Containerfile installs it first)
python3 -m pip wheel --quiet --disable-pip-version-check --no-deps --no-build-isolation --wheel-dir "$out" "${args[@]}"
ls "$out"
