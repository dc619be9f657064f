#!/usr/bin/env bash
# Sets up anchor and renders a sample news clip with the default avatar; prints where it is.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p out
.venv/bin/anchor say "Good evening. Here is the news. The city council approved a new bridge across the river today, and work begins in the spring." -o out/sample.mp4
echo "sample clip: $(pwd)/out/sample.mp4"
# The same with the built-in video avatar (the GRID corpus speaker s1, CC BY 4.0: see avatars/grid/meta.json).
.venv/bin/anchor say "Good evening. Here is the news. The city council approved a new bridge across the river today, and work begins in the spring." --avatar grid -o out/sample_video.mp4
echo "sample clip with the video avatar: $(pwd)/out/sample_video.mp4"
# Sample bulletins from the rundowns in config/ (English 16:9, Mandarin 16:9, vertical 9:16), with SRT/WebVTT beside them.
for r in example zh vertical; do
  .venv/bin/anchor render "config/rundown.$r.yaml" -o "out/bulletin_$r.mp4"
  echo "sample bulletin: $(pwd)/out/bulletin_$r.mp4 (captions: out/bulletin_$r.srt, out/bulletin_$r.vtt)"
done
# A bulletin assembled from the bundled sample wire (config/feeds/), as the hourly bulletin of a
# feed-driven channel would be: `anchor live config/channel.feeds.yaml` runs that channel itself.
.venv/bin/anchor feeds bulletin --channel config/channel.feeds.yaml -o out/bulletin_feeds.mp4
echo "feed bulletin: $(pwd)/out/bulletin_feeds.mp4"
