#!/usr/bin/env bash
# Customer-session benchmark: Apiture resumedCustomerSessions per second over HTTP on SQLite,
# beside the database's own single-row commit rate measured in the same run with the same
# settings (WAL, synchronous=FULL). The server runs one worker pinned to core 0; the driver
# (bins/assentd/examples/load_driver.rs) runs on core 1, one task per session. Prints lines for
# docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN="${SECONDS_PER_RUN:-15}"
SESSIONS="${SESSIONS:-16}"
COMMITS="${COMMITS:-3000}"
PORT=18093

cargo build --release -q -p assentd --bin assentd --example load_driver
BIN="$(realpath -m "${CARGO_TARGET_DIR:-target}")/release/assentd"
DRIVER="$(realpath -m "${CARGO_TARGET_DIR:-target}")/release/examples/load_driver"

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; cp "$work/server.log" /tmp/session-server.log 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

wait_up() { for _ in $(seq 100); do curl -sf "$1" >/dev/null && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }

# 1. The database's own single-row commit rate, on the same disk, same settings.
mkdir -p "$work/commits"
commit_rate=$(taskset -c 0 "$DRIVER" commits "$work/commits" "$COMMITS")

# 2. Resumes over HTTP, each task on its own session.
export ASSENT_DATA_DIR="$work/data" ASSENT_DATABASE_URL="sqlite://$work/data/assent.db"
export ASSENT_LISTEN="127.0.0.1:$PORT" ASSENT_WORKERS=1 ASSENT_LOG_LEVEL=warn
mkdir -p "$work/data"
"$BIN" migrate >/dev/null  # creates the pepper and first key that admin commands use
consumer=$("$BIN" admin create-consumer --name load | sed -n 's/.*"key": "\(.*\)".*/\1/p')
system=$("$BIN" admin create-system-key --name load | sed -n 's/.*"key": "\(.*\)".*/\1/p')
(cd "$work" && exec taskset -c 0 "$BIN" serve 2>"$work/server.log") & pids+=($!)
wait_up "http://127.0.0.1:$PORT/health/ready"
curl -sf -X POST "http://127.0.0.1:$PORT/obp/v5.1.0/users" -H 'Content-Type: application/json' \
    -d '{"username":"load","password":"Tr0ub4dour&3x","email":"load@example.com","first_name":"Load","last_name":"Test"}' >/dev/null
tokens=()
for _ in $(seq "$SESSIONS"); do
    tokens+=("$(curl -sf -X POST "http://127.0.0.1:$PORT/my/logins/direct" \
        -H "DirectLogin: username=load, password=\"Tr0ub4dour&3x\", consumer_key=$consumer" | sed 's/.*"token":"\([^"]*\)".*/\1/')")
done
read -r resume_rate p50 p99 failed < <(taskset -c 1 "$DRIVER" resumes "http://127.0.0.1:$PORT" "$system" "$SECONDS_PER_RUN" "${tokens[@]}")

ratio=$(awk -v r="$resume_rate" -v c="$commit_rate" 'BEGIN {printf "%.2f", r / c}')
echo "| what | per second | p50 | p99 |"
echo "|---|---|---|---|"
echo "| SQLite single-row commits (WAL, synchronous=FULL), same disk | $commit_rate | | |"
echo "| resumedCustomerSessions over HTTP | $resume_rate | $p50 ms | $p99 ms |"
echo
echo "resumes vs commit rate: $ratio (failed: $failed)"
echo "(driver: $SESSIONS sessions, ${SECONDS_PER_RUN}s, core 1; server: 1 worker, core 0)"
