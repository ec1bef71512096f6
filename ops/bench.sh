#!/usr/bin/env bash
# Tillcode's end-to-end redemptions next to what the same Postgres does with
# the bare minimum a redemption needs, in one run on one machine:
#   1. pgbench runs load-tests/pgbench/conditional_debit.sql (a conditional
#      UPDATE of a balance + an INSERT of a history row) at each concurrency;
#   2. a release-built `tillcode-api serve`, started here on a random port
#      with a fresh database and its own Redis prefix, gets the goose
#      workload `redeem` (signed offline-token redemptions across 10,000
#      customers and 20 terminals) at the same concurrencies, with the
#      ledger's group commit on (TILLCODE_LEDGER_BATCH_MAX unset) and off (=1).
#      Before them, on the same API, the goose workload `healthz` (GET
#      /healthz: no signature, code, Redis or Postgres) at the same
#      concurrencies: the most requests per second any HTTP service gets
#      through this load generator here, the ceiling the redemptions are under;
#   3. a second run paced at half the peak measures latency under load that
#      is not saturating;
#   4. `tillcode-api verify-ledger` must be clean, and the redemptions the
#      load generator saw acknowledged must equal the ledger's redeem transfers.
# It prints a markdown table (docs/performance.md keeps the history).
#
# Usage: ops/bench.sh [--seconds N] [--clients 1,8,32,128] [--batching both|on|off]
#                     [--customers N] [--terminals N] [--soak SECONDS]
#   --seconds    length of each measured run (default 20)
#   --clients    goose users = pgbench clients, comma-separated (default 1,8,32,128)
#   --batching   which group-commit settings to run (default both)
#   --soak       afterwards, run at half the peak this long, sampling the API's
#                memory (RSS) every 5 s; prints first/last/max
# Environment:
#   TILLCODE_BENCH_DATABASE_URL  admin URL (default postgres://postgres@127.0.0.1:5432/postgres)
#   TILLCODE_BENCH_REDIS_URL     (default redis://127.0.0.1:6379)
#   TILLCODE_BENCH_POOL          the API's Postgres and Redis pool sizes (default 32)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=ops/lib.sh
source ops/lib.sh

seconds=20
clients=1,8,32,128
batching=both
customers=10000
terminals=20
soak=0

while (($# > 0)); do
    case $1 in
    --seconds | --clients | --batching | --customers | --terminals | --soak)
        (($# >= 2)) || die "$1 needs a value"
        declare "${1#--}=$2"
        shift 2
        ;;
    --seconds=* | --clients=* | --batching=* | --customers=* | --terminals=* | --soak=*)
        name=${1%%=*}
        declare "${name#--}=${1#*=}"
        shift
        ;;
    -h | --help)
        sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *) die "unknown argument: $1 (see ops/bench.sh --help)" ;;
    esac
done
positive() { [[ $2 =~ ^[1-9][0-9]*$ ]] || die "$1 must be a positive integer, got: $2"; }
positive --seconds "$seconds"
positive --customers "$customers"
positive --terminals "$terminals"
[[ $soak =~ ^[0-9]+$ ]] || die "--soak must be a number of seconds, got: $soak"
[[ $clients =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "--clients must be like 1,8,32,128, got: $clients"
IFS=, read -r -a client_counts <<<"$clients"
case $batching in
both) modes=(on off) ;;
on | off) modes=("$batching") ;;
*) die "--batching must be both, on or off, got: $batching" ;;
esac
max_clients=0
for c in "${client_counts[@]}"; do ((c > max_clients)) && max_clients=$c; done

admin_url=${TILLCODE_BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
redis_url=${TILLCODE_BENCH_REDIS_URL:-redis://127.0.0.1:6379}
pool=${TILLCODE_BENCH_POOL:-32}
run_id="$$_$RANDOM"
pgbench_db="tillcode_bench_pgbench_$run_id"
api_db="tillcode_bench_api_$run_id"
redis_prefix="tillcode-bench:$run_id:"
pgbench_url=$(pg_url_with_db "$admin_url" "$pgbench_db")
api_url=$(pg_url_with_db "$admin_url" "$api_db")

ensure_apt_packages \
    "libpq-dev have_libpq_dev" \
    "postgresql-client have_cmd psql" \
    "postgresql pgbench --version" \
    "redis-tools have_cmd redis-cli" \
    "curl have_cmd curl" \
    "python3 have_cmd python3"
require_postgres "$admin_url" TILLCODE_BENCH_DATABASE_URL
require_redis "$redis_url" TILLCODE_BENCH_REDIS_URL

# Key files are fsynced one by one: on a tmpfs that costs nothing.
tmp=$(mktemp -d -p "$([[ -d /dev/shm && -w /dev/shm ]] && echo /dev/shm || echo "${TMPDIR:-/tmp}")")
api_pid=
stop_api() {
    if [[ -n $api_pid ]]; then
        kill -TERM "$api_pid" 2>/dev/null || true
        wait "$api_pid" 2>/dev/null || true
        api_pid=
    fi
}
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
    stop_api
    pg_drop_db "$admin_url" "$pgbench_db" >/dev/null 2>&1 || true
    pg_drop_db "$admin_url" "$api_db" >/dev/null 2>&1 || true
    redis-cli -u "$redis_url" --scan --pattern "${redis_prefix}*" 2>/dev/null |
        xargs -r -n 500 redis-cli -u "$redis_url" del >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT

# Compile before measuring anything: a build error should fail in the first
# minute, and compiling must not overlap a run.
log "building tillcode-api and goose-load (release)"
cargo build --release --locked -p tillcode-api -p tillcode-load-tests --bin tillcode-api --bin goose-load
bin=$(cargo_target_dir)/release

# ---------------------------------------------------------------- pgbench

# The server's connection limit is shared with everything else on it; a
# pgbench with more clients than it can take fails, so it runs with fewer
# and the table says so.
pg_max=$(pg_psql -At -d "$admin_url" -c 'show max_connections')
pg_used=$(pg_psql -At -d "$admin_url" -c 'select count(*) from pg_stat_activity')
pg_cap=$((pg_max - pg_used - pool - 10))
((pg_cap >= 1)) || die "Postgres has no connections to spare (max_connections $pg_max, $pg_used in use)"

log "pgbench: preparing $pgbench_db with $customers accounts"
pg_create_db "$admin_url" "$pgbench_db"
pg_psql -d "$pgbench_url" -v naccounts="$customers" -f load-tests/pgbench/setup.sql
: >"$tmp/pgbench.tsv"
for c in "${client_counts[@]}"; do
    pc=$((c < pg_cap ? c : pg_cap))
    # One pgbench thread per core keeps the clients busy; more would take
    # CPU from the Postgres it measures. pgbench refuses more threads than clients.
    jobs=$(nproc)
    ((jobs <= pc)) || jobs=$pc
    log "pgbench: $pc clients, $jobs threads, ${seconds}s"
    pgbench -n -M prepared -c "$pc" -j "$jobs" -T "$seconds" \
        -f load-tests/pgbench/conditional_debit.sql -D naccounts="$customers" \
        "$pgbench_url" >"$tmp/pgbench.out" 2>&1 || die "pgbench failed: $(cat "$tmp/pgbench.out")"
    # "tps = 1234.567890 (without initial connection time)"
    tps=$(awk '/^tps = / { print $3; exit }' "$tmp/pgbench.out")
    [[ -n $tps ]] || die "no 'tps = ' line in pgbench's output: $(cat "$tmp/pgbench.out")"
    printf '%s %s %s\n' "$c" "$pc" "$tps" >>"$tmp/pgbench.tsv"
done
pg_drop_db "$admin_url" "$pgbench_db"

# ---------------------------------------------------------------- the API

redis_pid=$(redis-cli -u "$redis_url" info server | tr -d '\r' | awk -F: '/^process_id:/ { print $2 }')
[[ -n $redis_pid && -r /proc/$redis_pid/stat ]] || {
    warn "Redis is not a local process; its CPU is not measured"
    redis_pid=
}

# start_api BATCH_MAX : serve on a random port; BATCH_MAX empty leaves
# TILLCODE_LEDGER_BATCH_MAX unset (group commit at its default).
start_api() {
    local port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    api_address="http://127.0.0.1:$port"
    (
        [[ -n $1 ]] && export TILLCODE_LEDGER_BATCH_MAX=$1
        [[ -n $1 ]] || unset TILLCODE_LEDGER_BATCH_MAX
        TILLCODE_DATABASE_URL=$api_url TILLCODE_REDIS_URL=$redis_url \
            TILLCODE_REDIS_PREFIX=$redis_prefix TILLCODE_BIND="127.0.0.1:$port" \
            TILLCODE_DATABASE_POOL_SIZE=$pool TILLCODE_REDIS_POOL_SIZE=$pool \
            TILLCODE_LOG=warn exec "$bin/tillcode-api" serve
    ) >>"$tmp/api.log" 2>&1 &
    api_pid=$!
    for _ in $(seq 100); do
        curl -fs "$api_address/readyz" >/dev/null && return 0
        kill -0 "$api_pid" 2>/dev/null || break
        sleep 0.2
    done
    die "the API did not become ready: $(tail -n 20 "$tmp/api.log")"
}

pg_create_db "$admin_url" "$api_db"
start_api ""
log "seeding $customers customers and $terminals terminals through the API"
"$bin/goose-load" seed --api "$api_address" --database-url "$api_url" --dir "$tmp/data" \
    --customers "$customers" --terminals "$terminals" --hot-devices "$max_clients" >/dev/null

acknowledged=0
runs_failed=0
# goose_run NAME [goose-load run options...] : one run; the summary goes to $tmp/NAME.json.
goose_run() {
    local name=$1
    shift
    local cpu=(--cpu "api=$api_pid")
    [[ -z $redis_pid ]] || cpu+=(--cpu "redis=$redis_pid")
    "$bin/goose-load" run --dir "$tmp/data" --database-url "$api_url" --api "$api_address" \
        --summary "$tmp/$name.json" "${cpu[@]}" "$@" >"$tmp/$name.out" 2>&1 ||
        {
            warn "run $name: wrong answers or unreconciled balances (see below)"
            runs_failed=$((runs_failed + 1))
        }
    [[ -s $tmp/$name.json ]] || die "run $name printed no summary: $(tail -n 20 "$tmp/$name.out")"
    acknowledged=$((acknowledged + $(json_field "$tmp/$name.json" redemptions_acknowledged)))
}
json_field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
redeem_field() {
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ops"].get("redeem", {}).get(sys.argv[2], 0))' "$1" "$2"
}

for c in "${client_counts[@]}"; do
    log "goose healthz (the HTTP ceiling): $c users, ${seconds}s"
    goose_run "healthz-$c" --workload healthz --users "$c" --seconds "$seconds"
done

peak_rate=0
peak_clients=0
# The group-commit setting the table leads with runs last, so that the paced
# run at half its peak follows on the same API process: a server that has
# been serving, with its caches of keys, devices and terminals warm, as a
# till meets it on a Saturday (a restart's cold caches are measured by the
# first run of each setting).
run_order=("${modes[@]}")
((${#modes[@]} == 1)) || run_order=("${modes[1]}" "${modes[0]}")
for mode in "${run_order[@]}"; do
    stop_api
    if [[ $mode == on ]]; then start_api ""; else start_api 1; fi
    for c in "${client_counts[@]}"; do
        log "goose redeem: batching $mode, $c users, ${seconds}s"
        goose_run "redeem-$mode-$c" --workload redeem --users "$c" --seconds "$seconds"
        rate=$(redeem_field "$tmp/redeem-$mode-$c.json" per_sec)
        if [[ $mode == "${modes[0]}" ]] && awk -v a="$rate" -v b="$peak_rate" 'BEGIN { exit !(a > b) }'; then
            peak_rate=$rate
            peak_clients=$c
        fi
    done
done

half=$(awk -v r="$peak_rate" 'BEGIN { printf "%.0f", r / 2 }')
((half > 0)) || die "no redemptions went through at any concurrency: $(tail -n 20 "$tmp/api.log")"
log "goose redeem at half the peak: $half/s with $peak_clients users, ${seconds}s"
goose_run half --workload redeem --users "$peak_clients" --seconds "$seconds" --rate "$half"

if ((soak > 0)); then
    log "soak: $half/s for ${soak}s, sampling the API's memory every 5 s"
    rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$api_pid/status"; }
    : >"$tmp/rss"
    (while kill -0 "$api_pid" 2>/dev/null; do
        rss >>"$tmp/rss"
        sleep 5
    done) &
    sampler=$!
    goose_run soak --workload redeem --users "$peak_clients" --seconds "$soak" --rate "$half"
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    rss >>"$tmp/rss"
fi
stop_api

# ---------------------------------------------------------------- checks

log "verify-ledger"
TILLCODE_DATABASE_URL=$api_url "$bin/tillcode-api" verify-ledger >"$tmp/verify.json" 2>&1 &&
    ledger_clean=yes || ledger_clean=NO
in_ledger=$(pg_psql -At -d "$api_url" -c "select count(*) from ledger_transfers where kind = 'redeem'")

# ---------------------------------------------------------------- report

python3 - "$tmp" "$seconds" "$customers" "$terminals" "$peak_clients" "$half" "$clients" "${modes[*]}" \
    "$(nproc)" "$(awk '/^MemTotal:/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)" \
    "$(pg_psql -At -d "$admin_url" -c 'show server_version')" \
    "$(redis-cli -u "$redis_url" info server | tr -d '\r' | awk -F: '/^redis_version:/ { print $2 }')" <<'PY'
import json, sys

tmp, seconds, customers, terminals, peak_clients, half, clients, modes, cores, mem, pg, redis = sys.argv[1:13]
tps, pgc = {}, {}
for line in open(f"{tmp}/pgbench.tsv"):
    c, pc, t = line.split()
    tps[c], pgc[c] = t, pc

def load(name):
    with open(f"{tmp}/{name}.json") as f:
        return json.load(f)

print(f"\nops/bench.sh --seconds {seconds} --clients {clients}: {customers} customers, {terminals} terminals;"
      f" {cores} cores, {mem} GiB, PostgreSQL {pg}, Redis {redis}\n")
def ceiling(c):
    return load(f"healthz-{c}")["ops"].get("healthz", {}).get("per_sec", 0)

print("| group commit | clients | pgbench tps (clients) | HTTP ceiling /s | Tillcode redemptions/s | ratio | p50 ms | p95 ms | p99 ms | failed | CPU % api / postgres / redis / goose |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
for mode in modes.split():
    for c in clients.split(","):
        s = load(f"redeem-{mode}-{c}")
        r = s["ops"].get("redeem", {})
        cpu = s["cpu_percent_of_a_core"]
        ratio = r.get("per_sec", 0) / float(tps[c]) if float(tps[c]) > 0 else 0
        redis_cpu = f"{cpu['redis']:.0f}" if "redis" in cpu else "-"
        print(f"| {mode} | {c} | {float(tps[c]):.0f} ({pgc[c]}) | {ceiling(c):.0f} | {r.get('per_sec', 0):.0f} | {ratio:.2f} |"
              f" {r.get('p50_ms', 0):.1f} | {r.get('p95_ms', 0):.1f} | {r.get('p99_ms', 0):.1f} | {s['failed']} |"
              f" {cpu.get('api', 0):.0f} / {cpu.get('postgres', 0):.0f} / {redis_cpu} / {cpu.get('load_generator', 0):.0f} |")
if len(modes.split()) == 2:
    print("\n| clients | group commit on, redemptions/s | off | on / off |")
    print("|---:|---:|---:|---:|")
    for c in clients.split(","):
        on, off = (load(f"redeem-{m}-{c}")["ops"].get("redeem", {}).get("per_sec", 0) for m in ("on", "off"))
        print(f"| {c} | {on:.0f} | {off:.0f} | {on / off if off else 0:.2f} |")
print("\nThe HTTP ceiling is the goose workload `healthz` (GET /healthz: no signature, code, Redis or Postgres)"
      " against the same API: no HTTP service reaches more through this load generator here.")
print("\n| clients | HTTP ceiling /s | its CPU % api / goose | pgbench tps / ceiling |")
print("|---:|---:|---|---:|")
for c in clients.split(","):
    f = load(f"healthz-{c}")
    cpu = f["cpu_percent_of_a_core"]
    print(f"| {c} | {ceiling(c):.0f} | {cpu.get('api', 0):.0f} / {cpu.get('load_generator', 0):.0f} |"
          f" {float(tps[c]) / ceiling(c) if ceiling(c) else 0:.2f} |")
s = load("half")
r = s["ops"].get("redeem", {})
print(f"\nAt 50% of peak ({half}/s paced, {peak_clients} users, group commit {modes.split()[0]}): "
      f"{r.get('per_sec', 0):.0f}/s, p50 {r.get('p50_ms', 0):.1f} ms, p95 {r.get('p95_ms', 0):.1f} ms,"
      f" p99 {r.get('p99_ms', 0):.1f} ms, {s['failed']} failed")
PY

printf 'verify-ledger clean: %s; redemptions acknowledged to goose: %s; redeem transfers in the ledger: %s\n' \
    "$ledger_clean" "$acknowledged" "$in_ledger"
if [[ -s $tmp/rss ]]; then
    python3 - "$tmp/rss" <<'PY'
import sys
kb = [int(line) for line in open(sys.argv[1]) if line.strip()]
print(f"soak: API RSS first {kb[0] / 1024:.1f} MiB, last {kb[-1] / 1024:.1f} MiB, max {max(kb) / 1024:.1f} MiB ({len(kb)} samples)")
PY
fi

status=0
[[ $ledger_clean == yes ]] || {
    warn "verify-ledger found violations: $(cat "$tmp/verify.json")"
    status=1
}
((acknowledged == in_ledger)) || {
    warn "goose saw $acknowledged redemptions acknowledged but the ledger holds $in_ledger"
    status=1
}
((runs_failed == 0)) || {
    warn "$runs_failed runs had wrong answers or balances that do not reconcile"
    status=1
}
for json in "$tmp"/healthz-*.json "$tmp"/redeem-*.json "$tmp"/half.json "$tmp"/soak.json; do
    [[ -f $json ]] || continue
    failed=$(json_field "$json" failed)
    ((failed == 0)) || {
        warn "$(basename "$json" .json): $failed failed requests: $(python3 -c 'import json,sys; print({k: v["failures"] for k, v in json.load(open(sys.argv[1]))["ops"].items() if v["failures"]})' "$json")"
        status=1
    }
done
exit "$status"
