#!/usr/bin/env bash
# Sets up everything anchor needs on a fresh Debian machine: system packages (when root),
# a Python 3.11 venv in .venv with the pinned dependencies, and the package itself (editable).
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(fonts-noto-cjk nginx libnginx-mod-rtmp redis-server chromium festival festvox-us-slt-hts festvox-kallpc16k)

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  missing=()
  for p in "${DEBIAN_PACKAGES[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
else
  echo "setup: not root; skipping Debian packages (${DEBIAN_PACKAGES[*]}) - install them yourself (CJK captions, RTMP tests, lip-sync training)"
fi

PY=""
for c in python3.11 python3; do
  if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    PY="$c"; break
  fi
done
if [ -z "$PY" ]; then
  echo "setup: Python 3.11 is required (python3.11 not found)" >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $PY"
  "$PY" -m venv .venv
fi
stamp=.venv/.anchor-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing Python packages into .venv (first run takes a minute)"
  .venv/bin/python -m pip install -q --upgrade pip
  # the CPU build of torch, pinned exactly, before anything can pull a CUDA build
  .venv/bin/python -m pip install -q "torch==2.13.0"
  .venv/bin/python -m pip install -q -e ".[test]"
  touch "$stamp"
fi
