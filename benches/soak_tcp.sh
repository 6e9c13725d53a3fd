#!/usr/bin/env bash
# A long run over a connection that keeps dropping: `dsmrd serve` plays a recording in a loop
# at PACE times real time over TCP and is killed and started again every 90 s (down for 3 s),
# `dsmrd run` reads it into a CSV file, JSON on stdout and a throttled table (one per 10 s of
# meter time). RSS, open files and threads of `dsmrd run` are sampled every minute; at the
# end it gets SIGTERM, and its exit status, last counters and the CSV rows are compared.
# Usage: benches/soak_tcp.sh [MINUTES] [PACE]   (defaults: 60 minutes, 200× real time)
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/served_address.sh
minutes=${1:-60}
pace=${2:-200}
cargo build --release --quiet --bin dsmrd
bin=${CARGO_TARGET_DIR:-$PWD/target}/release/dsmrd
recording=$PWD/recordings/Iskra-AM550-M550T-1012-recording_dsmr5.0_dsmrtools.txt
dir=$(mktemp -d)
# A free port: the one a first server is given, which each restart then takes again.
"$bin" serve "$recording" --listen 127.0.0.1:0 2>"$dir/serve.log" &
first=$!
addr=$(served_address "$dir/serve.log") || { kill $first; exit 1; }
kill $first
wait $first 2>/dev/null || true
cat > "$dir/soak.toml" <<TOML
[sources.meter]
type = "tcp"
address = "$addr"
read_timeout = "5s"
max_backoff = "2s"

[sinks.file]
type = "csv"
path = "$dir/soak.csv"

[sinks.console]
type = "stdout"
format = "json"

[sinks.slow]
type = "stdout"
format = "table"
interval = "10s"

[daemon]
stats_interval = "60s"
TOML
(
    while true; do
        "$bin" serve "$recording" --listen "$addr" --pace "$pace" --loop >/dev/null 2>&1 &
        serve=$!
        trap 'kill $serve 2>/dev/null; exit 0' TERM
        sleep 90 & wait $!
        kill $serve 2>/dev/null || true
        wait $serve 2>/dev/null || true
        sleep 3 & wait $!
    done
) &
server=$!
sleep 0.5
"$bin" run --config "$dir/soak.toml" >/dev/null 2>"$dir/run.log" &
run=$!
trap 'kill $run $server 2>/dev/null; rm -rf "$dir"' EXIT
sample() {
    printf "%4d min: RSS %6d KB, peak %6d KB, %3d open files, %2d threads\n" "$1" \
        "$(awk '/VmRSS/ {print $2}' "/proc/$run/status")" "$(awk '/VmHWM/ {print $2}' "/proc/$run/status")" \
        "$(ls "/proc/$run/fd" | wc -l)" "$(ls "/proc/$run/task" | wc -l)"
}
sleep 5
sample 0
for m in $(seq 1 "$minutes"); do
    sleep 60
    sample "$m"
done
kill -TERM $run
status=0
wait $run || status=$?
kill -TERM $server 2>/dev/null || true
rows=$(($(wc -l < "$dir/soak.csv") - 1))
echo "dsmrd run exited with $status after SIGTERM"
grep -E "source counters|sink counters" "$dir/run.log" | tail -4 | sed -E 's/^[^ ]+ +INFO [^ ]+ //'
echo "CSV rows: $rows"
echo "warnings and errors other than dropped connections:"
grep -E " (WARN|ERROR) " "$dir/run.log" | grep -v -E "Connection lost|Cannot connect|connect" | head -5 || echo "  none"
