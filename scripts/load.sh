#!/usr/bin/env bash
# HTTP load benchmark: GET /obp/v3.1.0/users/current with a valid token on SQLite, the same
# call made by a third party with a consent (Consent-JWT + Consumer-Key), and an API gateway's
# introspection of the session token (POST /oauth2/introspect), beside a bare actix-web
# hello-world measured in the same run on the same machine.
# Each server runs with one worker pinned to core 0; wrk runs on core 1 with 64 connections.
# The machine's speed drifts between measurements (other tenants), so the endpoints are
# measured in ROUNDS alternating rounds, users/current between two measurements of the ceiling
# (its ratio is to their mean, so a drift during the round biases neither way), and the
# medians reported. Loopback only; every run is bounded by DURATION.
# Prints Markdown tables for docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-10s}"
ROUNDS="${ROUNDS:-3}"
CONNECTIONS="${CONNECTIONS:-64}"
PORT_HELLO=18090
PORT_ASSENT=18091

command -v wrk >/dev/null || { echo "installing wrk" >&2; apt-get install -y -q wrk >/dev/null; }
wait_up() { for _ in $(seq 100); do curl -sf "$1" >/dev/null && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }

# PostgreSQL mode (BACKEND=postgres): users/current served from PostgreSQL (two workers, as a
# small deployment runs), beside `pgbench -S -M prepared` (single-row selects) and pgbench
# sending users/current's own statement (scripts/pg/users-current.sql, for the same session)
# against the same database in the same run, each with 64 connections. Nothing is pinned: the
# database, the server and the load share both cores, as they do for pgbench.
if [ "${BACKEND:-sqlite}" = postgres ]; then
    PG_ADMIN_URL="${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
    DB=assent_load
    cargo build --release -q -p assentd --bin assentd
    BIN="$(realpath -m "${CARGO_TARGET_DIR:-target}")/release/assentd"
    work=$(mktemp -d)
    pids=()
    cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
    trap cleanup EXIT
    psql -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
    url="${PG_ADMIN_URL%/*}/$DB"
    pgbench -q -i -s 10 "$url" >/dev/null 2>&1
    export ASSENT_DATA_DIR="$work/data" ASSENT_DATABASE_URL="$url" ASSENT_LISTEN="127.0.0.1:$PORT_ASSENT"
    export ASSENT_WORKERS=2 ASSENT_LOG_LEVEL=warn
    "$BIN" migrate >/dev/null
    key=$("$BIN" admin create-consumer --name load | sed -n 's/.*"key": "\(.*\)".*/\1/p')
    "$BIN" admin create-user --username load --password 'Tr0ub4dour&3x' --email load@example.com >/dev/null
    (cd "$work" && exec "$BIN" serve 2>"$work/server.log") & pids+=($!)
    wait_up "http://127.0.0.1:$PORT_ASSENT/health/ready"
    token=$(curl -sf -X POST "http://127.0.0.1:$PORT_ASSENT/my/logins/direct" \
        -H "DirectLogin: username=load, password=\"Tr0ub4dour&3x\", consumer_key=$key" | sed 's/.*"token":"\([^"]*\)".*/\1/')
    sid=$(psql -tA "$url" -c "SELECT session_id FROM sessions LIMIT 1")
    echo "| round | pgbench -S -M prepared selects/s | pgbench, users/current's statement/s | users/current on PostgreSQL req/s, p50, p99 | users/current / pgbench -S | users/current / its statement |"
    echo "|---|---|---|---|---|---|"
    for round in $(seq "$ROUNDS"); do
        tps=$(pgbench -S -M prepared -c "$CONNECTIONS" -j 2 -T "${DURATION%s}" "$url" 2>/dev/null | awk '/^tps/ {print $3; exit}')
        statement=$(pgbench -n -M prepared -f scripts/pg/users-current.sql -D "sid=$sid" -c "$CONNECTIONS" -j 2 -T "${DURATION%s}" "$url" 2>/dev/null | awk '/^tps/ {print $3; exit}')
        out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -H "DirectLogin: token=$token" "http://127.0.0.1:$PORT_ASSENT/obp/v3.1.0/users/current")
        if grep -q "Non-2xx" <<<"$out"; then echo "non-2xx answers: $out" >&2; exit 1; fi
        rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
        echo "| $round | ${tps%.*} | ${statement%.*} | ${rps%.*}, $(awk '$1=="50%" {print $2}' <<<"$out"), $(awk '$1=="99%" {print $2}' <<<"$out") | $(awk -v a="$rps" -v b="$tps" 'BEGIN {printf "%.2f", a / b}') | $(awk -v a="$rps" -v b="$statement" 'BEGIN {printf "%.2f", a / b}') |"
    done
    echo
    echo "(PostgreSQL $(psql -tA "$url" -c 'SHOW server_version'), $CONNECTIONS connections each, $DURATION; assentd: 2 workers; nothing pinned)"
    psql -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
    exit 0
fi

cargo build --release -q -p assentd --bin assentd --example hello
BIN="$(realpath -m "${CARGO_TARGET_DIR:-target}")/release/assentd"
HELLO="$(realpath -m "${CARGO_TARGET_DIR:-target}")/release/examples/hello"

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT


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

# The ceiling: bare actix-web, same runtime settings (one worker, SCHED_BATCH).
taskset -c 0 "$HELLO" "127.0.0.1:$PORT_HELLO" 1 & pids+=($!)
hello_pid=$!
wait_up "http://127.0.0.1:$PORT_HELLO/hello"

# Assent on SQLite, fresh data directory.
export ASSENT_DATA_DIR="$work/data" ASSENT_DATABASE_URL="sqlite://$work/data/assent.db"
export ASSENT_LISTEN="127.0.0.1:$PORT_ASSENT" ASSENT_WORKERS=1 ASSENT_LOG_LEVEL=warn
export ASSENT_OTP_DELIVERY="file:$work/codes.jsonl"
"$BIN" migrate >/dev/null  # creates the pepper and first key that admin commands use
key=$("$BIN" admin create-consumer --name load | sed -n 's/.*"key": "\(.*\)".*/\1/p')
system_key=$("$BIN" admin create-system-key --name gateway | sed -n 's/.*"key": "\(.*\)".*/\1/p')
# The consent's code goes to the user's email, which must be verified: from the bank's records.
"$BIN" admin create-user --username load --password 'Tr0ub4dour&3x' --email load@example.com \
    --first-name Load --last-name Test --email-verified >/dev/null
(cd "$work" && exec taskset -c 0 "$BIN" serve 2>"$work/server.log") & pids+=($!)
assent_pid=$!
wait_up "http://127.0.0.1:$PORT_ASSENT/health/ready"
token=$(curl -sf -X POST "http://127.0.0.1:$PORT_ASSENT/my/logins/direct" \
    -H "DirectLogin: username=load, password=\"Tr0ub4dour&3x\", consumer_key=$key" | sed 's/.*"token":"\([^"]*\)".*/\1/')

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

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
median() { tr ' ' '\n' | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

echo "| round | hello-world (ceiling) req/s before, after; p99s | users/current req/s, p50, p99 | /health/ready req/s, p99 | with a consent req/s, p99 | introspection req/s, p99 | users/current / ceiling | consent / session token | introspection / users/current |"
echo "|---|---|---|---|---|---|---|---|---|"
ratios=() consent_ratios=() introspection_ratios=()
for round in $(seq "$ROUNDS"); do
    read -r hello_rps _ hello_p99 < <(measure "http://127.0.0.1:$PORT_HELLO/hello")
    read -r assent_rps assent_p50 assent_p99 < <(measure -H "DirectLogin: token=$token" "http://127.0.0.1:$PORT_ASSENT/obp/v3.1.0/users/current")
    read -r hello_after_rps _ hello_after_p99 < <(measure "http://127.0.0.1:$PORT_HELLO/hello")
    read -r ready_rps _ ready_p99 < <(measure "http://127.0.0.1:$PORT_ASSENT/health/ready")
    read -r consent_rps _ consent_p99 < <(measure -H "Consent-JWT: $consent_jwt" -H "Consumer-Key: $key" "http://127.0.0.1:$PORT_ASSENT/obp/v3.1.0/users/current")
    read -r introspect_rps _ introspect_p99 < <(INTROSPECT_TOKEN="$token" INTROSPECT_SYSTEM_KEY="$system_key" \
        measure -s scripts/lua/introspect.lua "http://127.0.0.1:$PORT_ASSENT/oauth2/introspect")
    ceiling=$(awk -v a="$hello_rps" -v b="$hello_after_rps" 'BEGIN {print (a + b) / 2}')
    r=$(ratio "$assent_rps" "$ceiling") cr=$(ratio "$consent_rps" "$assent_rps") ir=$(ratio "$introspect_rps" "$assent_rps")
    ratios+=("$r") consent_ratios+=("$cr") introspection_ratios+=("$ir")
    echo "| $round | ${hello_rps%.*}, ${hello_after_rps%.*}; $hello_p99, $hello_after_p99 | ${assent_rps%.*}, $assent_p50, $assent_p99 | ${ready_rps%.*}, $ready_p99 | ${consent_rps%.*}, $consent_p99 | ${introspect_rps%.*}, $introspect_p99 | $r | $cr | $ir |"
done
hello_rss=$(awk '/VmHWM/ {print $2}' "/proc/$hello_pid/status")
assent_rss=$(awk '/VmHWM/ {print $2}' "/proc/$assent_pid/status")
echo
echo "medians over $ROUNDS rounds: users/current / ceiling $(echo "${ratios[*]}" | median); consent / session token $(echo "${consent_ratios[*]}" | median); introspection / users/current $(echo "${introspection_ratios[*]}" | median)"
echo "peak RSS: assentd $((assent_rss / 1024)) MiB, hello-world $((hello_rss / 1024)) MiB"
echo "(wrk: 1 thread, $CONNECTIONS connections, $DURATION per measurement, core 1; servers: 1 worker, core 0)"
