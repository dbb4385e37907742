#!/usr/bin/env bash
# Call limits: GET /obp/v3.1.0/users/current for a consumer with limits (high enough never to
# refuse, so every call is counted) on SQLite, counted in the process and counted in Redis
# (ASSENT_RATE_LIMIT_URL), on one node and on two replicas sharing the database and Redis,
# beside the same call for a consumer without limits (nothing counted) in the same run.
# Servers run one worker each, pinned to core 0; wrk runs on core 1 (for two replicas, two wrk
# of half the connections each, one per replica, rates summed). Needs a Redis at REDIS_URL.
# Prints a Markdown table for docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-64}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
PORT_A=18094
PORT_B=18095

command -v wrk >/dev/null || { echo "installing wrk" >&2; apt-get install -y -q wrk >/dev/null; }
cargo build --release -q -p assentd --bin assentd
BIN="$(realpath -m "${CARGO_TARGET_DIR:-target}")/release/assentd"

work=$(mktemp -d)
pids=()
stop_servers() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; pids=(); }
cleanup() { stop_servers; rm -rf "$work"; }
trap cleanup EXIT

wait_up() { for _ in $(seq 100); do curl -sf "$1" >/dev/null && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }

export ASSENT_DATA_DIR="$work/data" ASSENT_DATABASE_URL="sqlite://$work/data/assent.db"
export ASSENT_WORKERS=1 ASSENT_LOG_LEVEL=warn
PASSWORD='Tr0ub4dour&3x'
"$BIN" migrate >/dev/null
limited_id=$("$BIN" admin create-consumer --name limited | tee "$work/limited.json" | sed -n 's/.*"consumer_id": "\(.*\)".*/\1/p')
limited_key=$(sed -n 's/.*"key": "\(.*\)".*/\1/p' "$work/limited.json")
unlimited_key=$("$BIN" admin create-consumer --name unlimited | sed -n 's/.*"key": "\(.*\)".*/\1/p')
"$BIN" admin create-user --username load --password "$PASSWORD" --email load@example.com >/dev/null
"$BIN" admin grant-role --username load --role CanSetCallLimits >/dev/null

start() { # port, extra env...
    local port=$1; shift
    (cd "$work" && exec env ASSENT_LISTEN="127.0.0.1:$port" "$@" taskset -c 0 "$BIN" serve 2>>"$work/server.log") & pids+=($!)
    wait_up "http://127.0.0.1:$port/health/ready"
}
login() { # port, consumer key
    curl -sf -X POST "http://127.0.0.1:$1/my/logins/direct" \
        -H "DirectLogin: username=load, password=\"$PASSWORD\", consumer_key=$2" | sed 's/.*"token":"\([^"]*\)".*/\1/'
}
measure() { # url, token, connections -> "rps p99"
    local out
    out=$(taskset -c 1 wrk -t1 -c"$3" -d"$DURATION" --latency -H "DirectLogin: token=$2" "$1")
    if grep -q "Non-2xx" <<<"$out"; then echo "non-2xx answers: $out" >&2; exit 1; fi
    echo "$(awk '/Requests\/sec/ {print $2}' <<<"$out") $(awk '$1=="99%" {print $2}' <<<"$out")"
}

# Limits far above what one machine can send, so every call is counted and none refused.
start "$PORT_A"
admin_token=$(login "$PORT_A" "$unlimited_key")
curl -sf -X PUT "http://127.0.0.1:$PORT_A/obp/v5.1.0/management/consumers/$limited_id/consumer/call-limits" \
    -H "DirectLogin: token=$admin_token" -H 'Content-Type: application/json' \
    -d '{"per_second_call_limit":"1000000000","per_minute_call_limit":"1000000000","per_hour_call_limit":"-1","per_day_call_limit":"-1","per_week_call_limit":"-1","per_month_call_limit":"-1"}' >/dev/null
unlimited_token=$admin_token
limited_token=$(login "$PORT_A" "$limited_key")

echo "| how | req/s | p99 | / no limits, same node |"
echo "|---|---|---|---|"
read -r base_rps base_p99 < <(measure "http://127.0.0.1:$PORT_A/obp/v3.1.0/users/current" "$unlimited_token" "$CONNECTIONS")
echo "| no limits (nothing counted), one node | ${base_rps%.*} | $base_p99 | 1.00 |"
read -r rps p99 < <(measure "http://127.0.0.1:$PORT_A/obp/v3.1.0/users/current" "$limited_token" "$CONNECTIONS")
echo "| limited, counted in the process, one node | ${rps%.*} | $p99 | $(awk -v a="$rps" -v b="$base_rps" 'BEGIN {printf "%.2f", a / b}') |"
stop_servers

start "$PORT_A" ASSENT_RATE_LIMIT_URL="$REDIS_URL"
read -r rps p99 < <(measure "http://127.0.0.1:$PORT_A/obp/v3.1.0/users/current" "$limited_token" "$CONNECTIONS")
echo "| limited, counted in Redis, one node | ${rps%.*} | $p99 | $(awk -v a="$rps" -v b="$base_rps" 'BEGIN {printf "%.2f", a / b}') |"
start "$PORT_B" ASSENT_RATE_LIMIT_URL="$REDIS_URL"
half=$((CONNECTIONS / 2))
measure "http://127.0.0.1:$PORT_A/obp/v3.1.0/users/current" "$limited_token" "$half" >"$work/a" &
first=$!
measure "http://127.0.0.1:$PORT_B/obp/v3.1.0/users/current" "$limited_token" "$half" >"$work/b"
wait "$first"
read -r a_rps a_p99 <"$work/a"; read -r b_rps b_p99 <"$work/b"
sum=$(awk -v a="$a_rps" -v b="$b_rps" 'BEGIN {print a + b}')
echo "| limited, counted in Redis, two replicas (sum) | ${sum%.*} | $a_p99, $b_p99 | $(awk -v a="$sum" -v b="$base_rps" 'BEGIN {printf "%.2f", a / b}') |"
echo
echo "(wrk: 1 thread, $CONNECTIONS connections in all, $DURATION, core 1; servers: 1 worker each, core 0; SQLite)"
