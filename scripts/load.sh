#!/usr/bin/env bash
# HTTP load benchmark: GET /obp/v3.1.0/users/current with a valid token on SQLite, and the same
# call made by a third party with a consent (Consent-JWT + Consumer-Key), beside a bare
# actix-web hello-world measured in the same run on the same machine.
# Each server runs with one worker pinned to core 0; wrk runs on core 1 with 64 connections.
# Loopback only; every run is bounded by DURATION. Prints a Markdown table for
# docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-15s}"
CONNECTIONS="${CONNECTIONS:-64}"
PORT_HELLO=18090
PORT_ASSENT=18091

command -v wrk >/dev/null || { echo "installing wrk" >&2; apt-get install -y -q wrk >/dev/null; }
cargo build --release -q -p assentd --bin assentd --example hello
BIN=target/release/assentd
HELLO=target/release/examples/hello

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

wait_up() { for _ in $(seq 100); do curl -sf "$1" >/dev/null && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }

# wrk's summary -> "rps p50 p99"
measure() {
    local out
    out=$(taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency "$@")
    local rps p50 p99
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1=="50%" {print $2}' <<<"$out")
    p99=$(awk '$1=="99%" {print $2}' <<<"$out")
    local non2xx
    non2xx=$(awk '/Non-2xx/ {print $4}' <<<"$out")
    if [ -n "$non2xx" ]; then echo "wrk saw $non2xx non-2xx answers" >&2; exit 1; fi
    echo "$rps $p50 $p99"
}

# 1. The ceiling: bare actix-web.
taskset -c 0 "$HELLO" "127.0.0.1:$PORT_HELLO" 1 & pids+=($!)
wait_up "http://127.0.0.1:$PORT_HELLO/hello"
read -r hello_rps hello_p50 hello_p99 < <(measure "http://127.0.0.1:$PORT_HELLO/hello")
hello_rss=$(awk '/VmHWM/ {print $2}' "/proc/${pids[0]}/status")

# 2. Assent on SQLite, fresh data directory.
export ASSENT_DATA_DIR="$work/data" ASSENT_DATABASE_URL="sqlite://$work/data/assent.db"
export ASSENT_LISTEN="127.0.0.1:$PORT_ASSENT" ASSENT_WORKERS=1 ASSENT_LOG_LEVEL=warn
export ASSENT_OTP_DELIVERY="file:$work/codes.jsonl"
key=$("$BIN" admin create-consumer --name load | sed -n 's/.*"key": "\(.*\)".*/\1/p')
(cd "$work" && exec taskset -c 0 "$OLDPWD/$BIN" serve 2>"$work/server.log") & pids+=($!)
wait_up "http://127.0.0.1:$PORT_ASSENT/health/ready"
curl -sf -X POST "http://127.0.0.1:$PORT_ASSENT/obp/v5.1.0/users" -H 'Content-Type: application/json' \
    -d '{"username":"load","password":"Tr0ub4dour&3x","email":"load@example.com","first_name":"Load","last_name":"Test"}' >/dev/null
token=$(curl -sf -X POST "http://127.0.0.1:$PORT_ASSENT/my/logins/direct" \
    -H "DirectLogin: username=load, password=\"Tr0ub4dour&3x\", consumer_key=$key" | sed 's/.*"token":"\([^"]*\)".*/\1/')
read -r assent_rps assent_p50 assent_p99 < <(measure -H "DirectLogin: token=$token" "http://127.0.0.1:$PORT_ASSENT/obp/v3.1.0/users/current")

# A consent for everything, given to the same consumer and accepted with the emailed code.
"$BIN" admin grant-role --username load --role CanCreateBank >/dev/null
curl -sf -X POST "http://127.0.0.1:$PORT_ASSENT/obp/v5.1.0/banks" -H "DirectLogin: token=$token" -H 'Content-Type: application/json' \
    -d '{"id":"bank.load","short_name":"load","full_name":"Load bank","logo":"","website":""}' >/dev/null
consent=$(curl -sf -X POST "http://127.0.0.1:$PORT_ASSENT/obp/v5.1.0/banks/bank.load/my/consents/EMAIL" \
    -H "DirectLogin: token=$token" -H 'Content-Type: application/json' -d '{"everything":true}')
consent_id=$(sed 's/.*"consent_id":"\([^"]*\)".*/\1/' <<<"$consent")
consent_jwt=$(sed 's/.*"jwt":"\([^"]*\)".*/\1/' <<<"$consent")
code=$(tail -n1 "$work/codes.jsonl" | sed 's/.*"code":"\([0-9]*\)".*/\1/')
curl -sf -X POST "http://127.0.0.1:$PORT_ASSENT/obp/v5.1.0/banks/bank.load/consents/$consent_id/challenge" \
    -H "DirectLogin: token=$token" -H 'Content-Type: application/json' -d "{\"answer\":\"$code\"}" >/dev/null
read -r consent_rps consent_p50 consent_p99 < <(measure -H "Consent-JWT: $consent_jwt" -H "Consumer-Key: $key" "http://127.0.0.1:$PORT_ASSENT/obp/v3.1.0/users/current")
assent_pid=${pids[1]}
read -r ready_rps ready_p50 ready_p99 < <(measure "http://127.0.0.1:$PORT_ASSENT/health/ready")
assent_rss=$(awk '/VmHWM/ {print $2}' "/proc/$assent_pid/status")

ratio=$(awk -v a="$assent_rps" -v h="$hello_rps" 'BEGIN {printf "%.2f", a / h}')
ready_ratio=$(awk -v a="$assent_rps" -v h="$ready_rps" 'BEGIN {printf "%.2f", a / h}')
echo "| endpoint | req/s | p50 | p99 | peak RSS |"
echo "|---|---|---|---|---|"
echo "| bare actix-web hello-world (ceiling) | $hello_rps | $hello_p50 | $hello_p99 | $((hello_rss / 1024)) MiB |"
echo "| assentd GET /health/ready (one blocking hop + SELECT 1: the floor of any database-backed endpoint) | $ready_rps | $ready_p50 | $ready_p99 | |"
echo "| assentd GET /obp/v3.1.0/users/current, SQLite | $assent_rps | $assent_p50 | $assent_p99 | $((assent_rss / 1024)) MiB |"
echo "| assentd GET /obp/v3.1.0/users/current with a consent (Consent-JWT + Consumer-Key) | $consent_rps | $consent_p50 | $consent_p99 | |"
echo
consent_ratio=$(awk -v c="$consent_rps" -v a="$assent_rps" 'BEGIN {printf "%.2f", c / a}')
echo "users/current vs the ceiling: $ratio; vs /health/ready: $ready_ratio; consent vs session token: $consent_ratio"
echo "(wrk: 1 thread, $CONNECTIONS connections, $DURATION, core 1; servers: 1 worker, core 0)"
