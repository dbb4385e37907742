#!/usr/bin/env bash
# Account-access benchmark: OBP grant + revoke pairs per second over HTTP on SQLite (one
# account, 16 users each granted and revoked `auditor` in a loop by the holder), beside the
# database's own single-row commit rate measured in the same run with the same settings.
# Server: one worker pinned to core 0; driver (bins/assentd/examples/load_driver.rs) on core 1.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN="${SECONDS_PER_RUN:-15}"
USERS="${USERS:-16}"
COMMITS="${COMMITS:-3000}"
PORT=18094
PASSWORD='Tr0ub4dour&3x'

cargo build --release -q -p assentd --bin assentd --example load_driver
BIN="$(realpath -m "${CARGO_TARGET_DIR:-target}")/release/assentd"
DRIVER="$(realpath -m "${CARGO_TARGET_DIR:-target}")/release/examples/load_driver"

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; cp "$work/server.log" /tmp/access-server.log 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

wait_up() { for _ in $(seq 100); do curl -sf "$1" >/dev/null && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }
base="http://127.0.0.1:$PORT"

mkdir -p "$work/commits"
commit_rate=$(taskset -c 0 "$DRIVER" commits "$work/commits" "$COMMITS")

export ASSENT_DATA_DIR="$work/data" ASSENT_DATABASE_URL="sqlite://$work/data/assent.db"
export ASSENT_LISTEN="127.0.0.1:$PORT" ASSENT_WORKERS=1 ASSENT_LOG_LEVEL=warn
# Every friend signs up from this one loopback address.
export ASSENT_SIGNUPS_PER_CLIENT_PER_HOUR=1000
mkdir -p "$work/data"
"$BIN" migrate >/dev/null  # creates the pepper and first key that admin commands use
consumer=$("$BIN" admin create-consumer --name load | sed -n 's/.*"key": "\(.*\)".*/\1/p')
"$BIN" admin create-user --username holder --password "$PASSWORD" --email holder@example.com >/dev/null
"$BIN" admin grant-role --username holder --role CanCreateBank >/dev/null
(cd "$work" && exec taskset -c 0 "$BIN" serve 2>"$work/server.log") & pids+=($!)
wait_up "$base/health/ready"
token=$(curl -sf -X POST "$base/my/logins/direct" \
    -H "DirectLogin: username=holder, password=\"$PASSWORD\", consumer_key=$consumer" | sed 's/.*"token":"\([^"]*\)".*/\1/')
holder=$(curl -sf "$base/obp/v5.1.0/users/current" -H "DirectLogin: token=$token" | sed 's/.*"user_id":"\([^"]*\)".*/\1/')
curl -sf -X POST "$base/obp/v5.1.0/banks" -H "DirectLogin: token=$token" -H 'Content-Type: application/json' \
    -d '{"id":"bank.load","short_name":"load","full_name":"Load bank","logo":"","website":""}' >/dev/null
account="/obp/v5.1.0/banks/bank.load/accounts/acc-load"
curl -sf -X PUT "$base$account" -H "DirectLogin: token=$token" -H 'Content-Type: application/json' \
    -d "{\"user_id\":\"$holder\",\"label\":\"Load\",\"product_code\":\"current\",\"balance\":{\"currency\":\"EUR\",\"amount\":\"0\"}}" >/dev/null
users=()
for i in $(seq "$USERS"); do
    users+=("$(curl -sf -X POST "$base/obp/v5.1.0/users" -H 'Content-Type: application/json' \
        -d "{\"username\":\"friend$i\",\"password\":\"$PASSWORD\",\"email\":\"friend$i@example.com\",\"first_name\":\"F\",\"last_name\":\"L\"}" \
        | sed 's/.*"user_id":"\([^"]*\)".*/\1/')")
done
read -r pair_rate p50 p99 failed < <(taskset -c 1 "$DRIVER" grants "$base" "$account" "$token" "$SECONDS_PER_RUN" "${users[@]}")

ratio=$(awk -v p="$pair_rate" -v c="$commit_rate" 'BEGIN {printf "%.2f", p / (c / 2)}')
echo "| what | per second | p50 | p99 |"
echo "|---|---|---|---|"
echo "| SQLite single-row commits (WAL, synchronous=FULL), same disk | $commit_rate | | |"
echo "| grant + revoke pairs over HTTP (one account) | $pair_rate | $p50 ms | $p99 ms |"
echo
echo "pairs vs commit rate / 2: $ratio (failed: $failed)"
echo "(driver: $USERS users, ${SECONDS_PER_RUN}s, core 1; server: 1 worker, core 0)"
