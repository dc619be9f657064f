#!/usr/bin/env bash
# Sets up anchor and renders a sample news clip with the default avatar; prints where it is.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p out
.venv/bin/anchor say "Good evening. Here is the news. The city council approved a new bridge across the river today, and work begins in the spring." -o out/sample.mp4
echo "sample clip: $(pwd)/out/sample.mp4"
