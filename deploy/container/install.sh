#!/usr/bin/env bash
# Install the wheels of build-wheels.sh into a virtual environment: install.sh WHEEL_DIR PREFIX.
# The core with its `hosted` extra (redis-py, PyJWT) and every pack wheel found; PREFIX/bin/sentinelkit
# is the command. PIP_INSTALL_ARGS adds pip options (CI passes --no-deps and brings the dependencies
# from its own environment, to stay offline and quick; the image resolves them from PyPI).
set -euo pipefail
wheels="$(cd "${1:?wheel directory}" && pwd)"
prefix="${2:?install prefix}"
python3 -m venv "$prefix"
core=("$wheels"/sentinelkit-[0-9]*.whl)
packs=()
for w in "$wheels"/sentinelkit_*.whl; do packs+=("$w"); done
# shellcheck disable=SC2086
"$prefix/bin/python" -m pip install --quiet --disable-pip-version-check ${PIP_INSTALL_ARGS:-} \
    "${core[0]}[hosted]" "${packs[@]}"
"$prefix/bin/sentinelkit" --version
