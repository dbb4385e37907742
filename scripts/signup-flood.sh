#!/usr/bin/env bash
# Login latency while sign-ups flood the server. Sign-up needs no authentication and costs an
# Argon2id hash, as a login does; this measures DirectLogin's p50 and p99 with the server idle,
# then during a flood of sign-ups from one client (its hourly allowance answers all but the first
# few with 429), then during a flood from many clients (each request from another address, so
# every one is hashed). The server runs on core 0 (so one hashing thread), the load on core 1:
# logins over 4 connections, the flood over 64. Prints a Markdown table for
# docs/benchmarks.md. Loopback only; each phase lasts DURATION.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-20s}"
PORT=18093

command -v wrk >/dev/null || { echo "installing wrk" >&2; apt-get install -y -q wrk >/dev/null; }
cargo build --release -q -p assentd --bin assentd
BIN="$(realpath -m "${CARGO_TARGET_DIR:-target}")/release/assentd"
LUA="$(pwd)/scripts/lua"

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

export ASSENT_DATA_DIR="$work/data" ASSENT_DATABASE_URL="sqlite://$work/data/assent.db"
export ASSENT_LISTEN="127.0.0.1:$PORT" ASSENT_WORKERS=1 ASSENT_LOG_LEVEL=error
# The load generator is the "proxy": with SPREAD, the flood's X-Forwarded-For names the client.
export ASSENT_TRUSTED_PROXIES=127.0.0.1
export CONSUMER_KEY
"$BIN" migrate >/dev/null  # creates the pepper and first key that admin commands use
CONSUMER_KEY=$("$BIN" admin create-consumer --name flood | sed -n 's/.*"key": "\(.*\)".*/\1/p')
(cd "$work" && exec taskset -c 0 "$BIN" serve 2>"$work/server.log") & pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health/ready" >/dev/null && break; sleep 0.1; done
curl -sf -X POST "http://127.0.0.1:$PORT/obp/v5.1.0/users" -H 'Content-Type: application/json' \
    -H 'X-Forwarded-For: 192.0.2.1' \
    -d '{"username":"load","password":"Tr0ub4dour&3x","email":"load@example.com","first_name":"Load","last_name":"Test"}' >/dev/null

# wrk's summary -> "rps p50 p99 non-2xx"
logins() {
    local out
    out=$(taskset -c 1 wrk -t1 -c4 -d"$DURATION" --latency -s "$LUA/login.lua" "http://127.0.0.1:$PORT/my/logins/direct")
    awk '/Requests\/sec/ {rps=$2} $1=="50%" {p50=$2} $1=="99%" {p99=$2} /Non-2xx/ {bad=$5}
        END {printf "%s %s %s %s\n", rps, p50, p99, bad ? bad : 0}' <<<"$out"
}
# Starts a sign-up flood in the background for the length of one login measurement: usernames
# with prefix $1, and with $2 = spread, each from another client address.
start_flood() {
    local spread=()
    [ "${2:-}" = spread ] && spread=(SPREAD=1)
    env PREFIX="$1" "${spread[@]}" taskset -c 1 wrk -t1 -c64 -d"$DURATION" --timeout 30s \
        -s "$LUA/sign-up.lua" "http://127.0.0.1:$PORT/obp/v5.1.0/users" >"$work/flood.out" &
    flood_pid=$!
}
flood_summary() {
    awk '/Requests\/sec/ {rps=$2} /requests in/ {total=$1} /Non-2xx/ {bad=$5}
        END {printf "%s req/s, %d created", rps, total - (bad ? bad : 0)}' "$work/flood.out"
}

echo "| phase | logins/s | login p50 | login p99 | failed logins | sign-ups |"
echo "|---|---|---|---|---|---|"
read -r rps p50 p99 bad < <(logins)
echo "| idle | $rps | $p50 | $p99 | $bad | none |"

start_flood one
read -r rps p50 p99 bad < <(logins)
wait "$flood_pid"
echo "| sign-up flood from one client | $rps | $p50 | $p99 | $bad | $(flood_summary) |"

start_flood many spread
read -r rps p50 p99 bad < <(logins)
wait "$flood_pid"
echo "| sign-up flood from many clients | $rps | $p50 | $p99 | $bad | $(flood_summary) |"
