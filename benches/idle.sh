#!/usr/bin/env bash
# Measures the daemon at rest: `dsmrd serve` plays a recording in real time (1 telegram/s)
# over TCP, `dsmrd run` reads it into a CSV file and stdout; after a 5 s warm-up, CPU time
# and RSS of `dsmrd run` are read from /proc over SECONDS (default 60).
# Usage: benches/idle.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/served_address.sh
secs=${1:-60}
cargo build --release --quiet --bin dsmrd
bin=${CARGO_TARGET_DIR:-$PWD/target}/release/dsmrd
dir=$(mktemp -d)
# The server takes a free port and says which.
"$bin" serve recordings/Iskra-AM550-M550T-1012-recording_dsmr5.0_dsmrtools.txt \
    --listen 127.0.0.1:0 --pace realtime 2>"$dir/serve.log" &
serve=$!
trap 'kill $serve 2>/dev/null; rm -rf "$dir"' EXIT
addr=$(served_address "$dir/serve.log")
cat > "$dir/idle.toml" <<TOML
[sources.meter]
type = "tcp"
address = "$addr"

[sinks.file]
type = "csv"
path = "$dir/idle.csv"

[sinks.console]
type = "stdout"
TOML
"$bin" run --config "$dir/idle.toml" >/dev/null 2>"$dir/run.log" &
run=$!
trap 'kill $run $serve 2>/dev/null; rm -rf "$dir"' EXIT
sleep 5
hz=$(getconf CLK_TCK)
t0=$(awk '{print $14 + $15}' "/proc/$run/stat")
sleep "$secs"
t1=$(awk '{print $14 + $15}' "/proc/$run/stat")
rss=$(awk '/VmRSS/ {print $2}' "/proc/$run/status")
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$run/status")
rows=$(($(wc -l < "$dir/idle.csv") - 1))
awk -v t="$((t1 - t0))" -v hz="$hz" -v s="$secs" -v rss="$rss" -v hwm="$hwm" -v rows="$rows" 'BEGIN {
    printf "over %d s: CPU %.3f s = %.3f %% of one core; RSS %d KB (peak %d KB); %d telegrams written\n",
        s, t / hz, 100 * t / hz / s, rss, hwm, rows }'
