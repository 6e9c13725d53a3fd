#!/usr/bin/env bash
# Replays a synthetic 24 h capture (86,400 DSMR 5 telegrams, one per second; or TELEGRAMS)
# as fast as possible into a CSV file through `dsmrd run`, and prints wall time and peak
# memory.
# Usage: benches/replay_day.sh [TELEGRAMS]   (from the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."
# Built one after the other: built with the example, the binary would get the
# dev-dependencies' features, and would not be the one `cargo build --release` makes.
cargo build --release --quiet --example synth_day
cargo build --release --quiet --bin dsmrd
release=${CARGO_TARGET_DIR:-$PWD/target}/release
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$release/examples/synth_day" "$dir/day.txt" "${1:-86400}"
cat > "$dir/day.toml" <<TOML
[sources.meter]
type = "replay"
path = "$dir/day.txt"
pace = "fast"

[sinks.file]
type = "csv"
path = "$dir/day.csv"
TOML
for run in 1 2 3; do
    rm -f "$dir/day.csv"
    /usr/bin/time -f "run $run: %e s wall, %U s user, %S s sys, max RSS %M KB" \
        "$release/dsmrd" --log-level warn run --config "$dir/day.toml"
done
echo "rows: $(($(wc -l < "$dir/day.csv") - 1)), input $(du -h "$dir/day.txt" | cut -f1)"
