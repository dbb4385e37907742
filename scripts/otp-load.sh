#!/usr/bin/env bash
# One-time-code benchmark: Temenos pre-login challenge pairs (request + verify) per second over
# HTTP on SQLite, beside the database's own single-row commit rate measured in the same run
# with the same settings (WAL, synchronous=FULL). The server runs one worker pinned to core 0,
# the driver (bins/assentd/examples/load_driver.rs) runs on core 1. Prints lines for
# docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN="${SECONDS_PER_RUN:-15}"
CONCURRENCY="${CONCURRENCY:-16}"
COMMITS="${COMMITS:-3000}"
PORT=18092

cargo build --release -q -p assentd --bin assentd --example load_driver
BIN="$(realpath -m "${CARGO_TARGET_DIR:-target}")/release/assentd"
DRIVER="$(realpath -m "${CARGO_TARGET_DIR:-target}")/release/examples/load_driver"

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

wait_up() { for _ in $(seq 100); do curl -sf "$1" >/dev/null && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }

# 1. The database's own single-row commit rate, on the same disk, same settings.
mkdir -p "$work/commits"
commit_rate=$(taskset -c 0 "$DRIVER" commits "$work/commits" "$COMMITS")

# 2. Challenge pairs over HTTP. Abuse limits are raised so the benchmark measures the engine,
# not the limits (every request comes from one address).
export ASSENT_DATA_DIR="$work/data" ASSENT_DATABASE_URL="sqlite://$work/data/assent.db"
export ASSENT_LISTEN="127.0.0.1:$PORT" ASSENT_WORKERS=1 ASSENT_LOG_LEVEL=warn
export ASSENT_OTP_DELIVERY="file:$work/codes.jsonl"
export ASSENT_OTP_PRELOGIN_REQUESTS_PER_CLIENT_PER_HOUR=4000000000
export ASSENT_OTP_CODES_PER_DESTINATION_PER_DAY=4000000000
mkdir -p "$work/data"
(cd "$work" && exec taskset -c 0 "$BIN" serve 2>"$work/server.log") & pids+=($!)
wait_up "http://127.0.0.1:$PORT/health/ready"
read -r pair_rate p50 p99 failed < <(taskset -c 1 "$DRIVER" pairs "http://127.0.0.1:$PORT" "$work/codes.jsonl" "$SECONDS_PER_RUN" "$CONCURRENCY")

ratio=$(awk -v p="$pair_rate" -v c="$commit_rate" 'BEGIN {printf "%.2f", p / (c / 2)}')
echo "| what | per second | p50 | p99 |"
echo "|---|---|---|---|"
echo "| SQLite single-row commits (WAL, synchronous=FULL), same disk | $commit_rate | | |"
echo "| challenge pairs over HTTP (requestOTPPreLoginMB + verifyOTPPreLoginMB) | $pair_rate | $p50 ms | $p99 ms |"
echo
echo "pairs vs commit rate / 2: $ratio (failed pairs: $failed)"
echo "(driver: $CONCURRENCY concurrent pairs, ${SECONDS_PER_RUN}s, core 1; server: 1 worker, core 0)"
