#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# periscope benchmark: CPU of the daemon per viewer of an H.264 camera at 1080p30, passed
# through (no decoder, no encoder) against the same stream decoded and encoded again
# (docs/performance.md, "H.264 passed through").
#
#   bench/passthrough.sh [BUILD_DIR] [VIEWERS...]       (defaults: build, 1 10)
#
# The camera is a file recorded here (x264, 1080p30, a moving test pattern, a keyframe every
# 2 s, 4 Mbit/s),
# played at its own rate and looped, so both runs get the very same stream, and no camera
# process shares the machine's cores with the daemon: passed through as
# `filesrc ! qtdemux ! h264parse`, re-encoded as `… ! h264parse ! decodebin` (then periscope's
# own H.264 encoder, as for any raw source). For each mode and viewer count, psc-bench-load
# connects receiving webrtcbin peers (no decoding) for DURATION s (default 20) and reports the
# daemon's CPU (user+sys from /proc, % of one core). Everything on 127.0.0.1.
set -eu

build=${1:-build}
[ $# -gt 0 ] && shift
viewers=${*:-1 10}
duration=${DURATION:-20}
work=$(mktemp -d /tmp/periscope-passthrough-XXXXXX)
daemon_pid=
trap 'if [ -n "$daemon_pid" ]; then kill "$daemon_pid" 2>/dev/null || true; fi; rm -rf "$work"' EXIT

clip=$work/camera.mp4
gst-launch-1.0 -q videotestsrc pattern=smpte horizontal-speed=4 num-buffers=300 \
  ! video/x-raw,width=1920,height=1080,framerate=30/1 \
  ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=60 bitrate=4000 \
  ! video/x-h264,profile=constrained-baseline ! mp4mux ! filesink location="$clip"

echo "| mode | viewers | connected | CPU % of one core | frames/s per viewer (median) | loss % |"
echo "|---|---|---|---|---|---|"
for mode in passthrough re-encoded; do
  source="filesrc location=$clip ! qtdemux ! h264parse"
  [ "$mode" = re-encoded ] && source="$source ! decodebin"
  for n in $viewers; do
    "$build/src/periscope" --bind 127.0.0.1 --port 0 --ice-address 127.0.0.1 --codec h264 \
      --width 1920 --height 1080 --framerate 30 --bitrate 4000 --always-on --loop \
      --source "$source" > "$work/daemon.log" 2>&1 &
    daemon_pid=$!
    url=
    for _ in $(seq 100); do
      url=$(sed -n 's|^periscope: open http://\([^ ]*\)/.*|ws://\1/ws/camera|p' "$work/daemon.log")
      [ -n "$url" ] && break
      sleep 0.1
    done
    [ -n "$url" ] || { cat "$work/daemon.log" >&2; exit 1; }
    "$build/bench/psc-bench-load" --target periscope --url "$url" --viewers "$n" \
      --duration "$duration" --server-pid "$daemon_pid" > "$work/load.json" 2> "$work/load.err" || true
    python3 - "$mode" "$n" "$work/load.json" <<'EOF'
import json, sys
mode, n, path = sys.argv[1:4]
text = open(path).read()
s = json.loads(text[text.index('{'):])
peers = s.get('peers', {})
fps = peers.get('frames_per_s', {}).get('median', float('nan'))
print(f"| {mode} | {n} | {s.get('connected', '?')} | "
      f"{s['server']['cpu_percent_of_one_core']:.1f} | {fps:.1f} | "
      f"{peers.get('loss_percent', float('nan')):.2f} |")
EOF
    kill "$daemon_pid"
    wait "$daemon_pid" 2>/dev/null || true
    daemon_pid=
  done
done
