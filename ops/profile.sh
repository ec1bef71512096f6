#!/usr/bin/env bash
# Where a redemption's time goes: a release `tillcode-api` under the goose
# workload `redeem`, against a private PostgreSQL with pg_stat_statements
# (track = all, so the statements inside `ledger_post_batch_v1` and the
# foreign-key triggers are counted) and a private Redis, then
#   - the rate, latency and CPU split (goose-load's summary),
#   - the statements by total time (calls, us per call),
#   - Redis's commands by calls,
#   - with --perf, `perf record` of the API and of its Postgres backends for
#     5 s in the middle of the run (reports in the printed directory).
# docs/performance.md ("2026-12-05, profiling") is what it found first.
#
# Usage: ops/profile.sh [--users 32] [--seconds 15] [--customers 10000] [--rate N] [--warmup S]
#                       [--api-bin PATH] [--sign-at-send] [--perf]
# --rate paces the users to N redemptions/s in all (default: as fast as they can).
# --warmup runs the same load S seconds first, unmeasured (caches warm, as in
# ops/bench.sh's run at half the peak).
# --api-bin profiles that build of tillcode-api instead of this tree's (A/B
# runs alternating two builds, e.g. one copied out before a change). Build the
# other commit (a `git worktree`) with a CARGO_TARGET_DIR of its own: cargo
# tells workspace crates apart by name and by their files' mtimes, not their
# path, so after building an older worktree into this tree's target dir it
# can take this tree's older-dated sources as built and leave the worktree's
# binary in place.
# --sign-at-send has goose-load sign each redemption when it sends it, not in
# advance (the tills' signing then also runs on this machine).
# Extra environment for the API (e.g. TILLCODE_LEDGER_WRITERS=1) is passed on;
# it logs at TILLCODE_LOG=warn unless given another level (production's
# default, info, writes two lines per redemption into the run's api.log).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=ops/lib.sh
source ops/lib.sh

users=32 seconds=15 customers=10000 perf=false rate=() warmup=0 api_bin="" signing=()
while (($#)); do
    case $1 in
    --users) users=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --customers) customers=$2; shift 2 ;;
    --rate) rate=(--rate "$2"); shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --api-bin) api_bin=$2; shift 2 ;;
    --sign-at-send) signing=(--sign-at-send); shift ;;
    --perf) perf=true; shift ;;
    *) die "unknown option $1 (see the comment at the top of $0)" ;;
    esac
done

have_pg_server() { find_pg_bin >/dev/null; }
ensure_apt_packages \
    "postgresql have_pg_server" \
    "postgresql-contrib have_pg_server" \
    "postgresql-client have_cmd psql" \
    "redis-server have_cmd redis-server" \
    "redis-tools have_cmd redis-cli" \
    "curl have_cmd curl"
! $perf || ensure_apt_packages "linux-perf have_cmd perf"
pg_bin=$(find_pg_bin) || die "PostgreSQL server binaries (initdb, pg_ctl) not found"

log "profile: building tillcode-api and goose-load (release)"
cargo build --release --locked -q -p tillcode-api -p tillcode-load-tests --bin tillcode-api --bin goose-load
target=$(cargo_target_dir)
bin=$target/release
api_bin=${api_bin:-$bin/tillcode-api}
[[ -x $api_bin ]] || die "--api-bin $api_bin is not an executable"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
out=$target/profile/last
rm -rf "$out"
mkdir -p "$out"
work=$(mktemp -d /tmp/tillcode-profile.XXXXXX)
redis_pid="" api_pid=""
perf_pids=()
cleanup() {
    local pid
    for pid in "$api_pid" "$redis_pid"; do
        [[ -z $pid ]] || kill -KILL "$pid" 2>/dev/null || true
    done
    [[ ! -f $work/pg/postmaster.pid ]] || as_pg_user "$pg_bin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
((EUID != 0)) || chown postgres: "$work"

pg_port=$(free_port)
as_pg_user "$pg_bin/initdb" -D "$work/pg" -U postgres --auth=trust --encoding=UTF8 --locale=C >/dev/null
cat >>"$work/pg/postgresql.conf" <<EOF

# ops/profile.sh: durable like a real server, and counting every statement.
port = $pg_port
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 100
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all
EOF
as_pg_user "$pg_bin/pg_ctl" -D "$work/pg" -l "$work/postgres.log" -w -t 60 start >/dev/null ||
    die "the private PostgreSQL did not start: $(tail -n 20 "$work/postgres.log")"
db_url="postgres://postgres@127.0.0.1:$pg_port/tillcode_profile"
pg_create_db "postgres://postgres@127.0.0.1:$pg_port/postgres" tillcode_profile
pg_psql -q -d "$db_url" -c "CREATE EXTENSION pg_stat_statements"

redis_port=$(free_port)
redis_url="redis://127.0.0.1:$redis_port"
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
    --logfile "$work/redis.log" &
redis_pid=$!
require_redis "$redis_url" profile-redis 15

api_port=$(free_port)
api="http://127.0.0.1:$api_port"
TILLCODE_DATABASE_URL=$db_url TILLCODE_REDIS_URL=$redis_url TILLCODE_BIND="127.0.0.1:$api_port" \
    TILLCODE_DATABASE_POOL_SIZE=32 TILLCODE_REDIS_POOL_SIZE=32 TILLCODE_LOG=${TILLCODE_LOG:-warn} \
    "$api_bin" serve >"$out/api.log" 2>&1 &
api_pid=$!
for _ in $(seq 100); do
    curl -fs "$api/readyz" >/dev/null && break
    sleep 0.2
done
curl -fs "$api/readyz" >/dev/null || die "the API did not become ready: $(tail -n 20 "$out/api.log")"

log "profile: seeding $customers customers"
"$bin/goose-load" seed --api "$api" --database-url "$db_url" --dir "$work/data" \
    --customers "$customers" --terminals 20 --hot-devices "$users" >/dev/null
if ((warmup > 0)); then
    log "profile: warming up, $users users, ${warmup}s"
    "$bin/goose-load" run --dir "$work/data" --database-url "$db_url" --api "$api" --summary "$out/warmup.json" \
        --workload redeem --users "$users" --seconds "$warmup" "${rate[@]}" "${signing[@]}" >"$out/warmup.out" 2>&1 ||
        warn "goose-load reported wrong answers while warming up (see $out/warmup.out)"
fi
pg_psql -q -d "$db_url" -c "SELECT pg_stat_statements_reset(), pg_stat_reset(), pg_stat_reset_shared('wal')" >/dev/null
redis-cli -u "$redis_url" config resetstat >/dev/null

if $perf; then
    backends=$(pg_psql -At -d "$db_url" -c \
        "SELECT string_agg(pid::text, ',') FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
    (sleep 5 && perf record -F 999 -g -p "$api_pid" -o "$out/api.perf" -- sleep 5) >/dev/null 2>&1 &
    perf_pids+=($!)
    (sleep 5 && perf record -F 999 -g -p "$backends" -o "$out/postgres.perf" -- sleep 5) >/dev/null 2>&1 &
    perf_pids+=($!)
fi
: >"$out/metrics-before.txt"
curl -fs "$api/metrics" >"$out/metrics-before.txt" || true
log "profile: goose redeem, $users users, ${seconds}s"
"$bin/goose-load" run --dir "$work/data" --database-url "$db_url" --api "$api" --summary "$out/summary.json" \
    --cpu "api=$api_pid" --cpu "redis=$redis_pid" --workload redeem --users "$users" --seconds "$seconds" "${rate[@]}" "${signing[@]}" \
    >"$out/goose.out" 2>&1 || warn "goose-load reported wrong answers (see $out/goose.out)"
((${#perf_pids[@]} == 0)) || wait "${perf_pids[@]}"
curl -fs "$api/metrics" >"$out/metrics.txt" || true

python3 - "$out/summary.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
r = d["ops"]["redeem"]
print(f"redemptions/s {r['per_sec']:.0f}, p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, failed {r['failed']}, "
      f"late codes {d.get('late_codes')}, late signatures {d.get('late_signatures')}")
print("CPU % of a core:", {k: v for k, v in d["cpu_percent_of_a_core"].items() if k != "seconds"})
PY
# Where the time of a redemption is spent inside the API (the rest of what
# goose measured is the load generator and the network): the server's own
# histograms over the measured run (less what the warm-up counted), one line
# per label set: the mean, and cumulative shares per bucket.
python3 - "$out/metrics.txt" "$out/metrics-before.txt" <<'PY'
import re, sys
def histograms(path):
    found = {}
    for line in open(path):
        m = re.match(r'(tillcode_\w+)_(bucket|sum|count)\{?(.*?)(?:,?le="([^"]+)")?\}? (\S+)$', line)
        if m:
            name, part, labels, le, value = m.groups()
            found[(name, labels, part, le)] = float(value)
    return found
before = histograms(sys.argv[2])
series = {}
for (name, labels, part, le), value in histograms(sys.argv[1]).items():
    if name.endswith("http_request_duration_seconds") and not (
            'route="/v1/redemptions"' in labels and 'status="201"' in labels):
        continue
    series.setdefault((name, labels), {}).setdefault(part, []).append(
        (float(le or 0), value - before.get((name, labels, part, le), 0)))
for (name, labels), parts in sorted(series.items()):
    count = sum(v for _, v in parts.get("count", []))
    if not count:
        continue
    total = sum(v for _, v in parts.get("sum", []))
    unit, scale = (" ms", 1000) if name.endswith("_seconds") else ("", 1)
    shares = ", ".join(f"<={le:g}: {v / count:.0%}" for le, v in sorted(parts.get("bucket", []))
                       if le != float("inf"))
    print(f"{name}{{{labels}}}: mean {total / count * scale:.3g}{unit}; {shares}")
PY
echo
pg_psql -d "$db_url" -c "SELECT calls, round(total_exec_time) AS total_ms,
    round(total_exec_time / calls * 1000) AS us_per_call, rows,
    left(regexp_replace(query, '\s+', ' ', 'g'), 100) AS statement
    FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 15"
# Row writes per table (HOT updates write no index entries) and the WAL
# the run wrote, per redemption.
redeemed=$(python3 -c 'import json,sys; print(max(1, json.load(open(sys.argv[1]))["ops"]["redeem"]["acknowledged"]))' "$out/summary.json" 2>/dev/null || echo 1)
pg_psql -d "$db_url" -c "SELECT relname AS table, n_tup_ins AS inserted, n_tup_upd AS updated,
    n_tup_hot_upd AS hot_updated FROM pg_stat_user_tables WHERE n_tup_ins + n_tup_upd > 0 ORDER BY relname"
pg_psql -d "$db_url" -c "SELECT wal_records, pg_size_pretty(wal_bytes) AS wal, wal_fpi AS full_page_images,
    round(wal_bytes / $redeemed) AS wal_bytes_per_redemption FROM pg_stat_wal"
redis-cli -u "$redis_url" info commandstats | tr -d '\r' | grep '^cmdstat' |
    sed -E 's/^cmdstat_([^:]*):calls=([0-9]+),usec=([0-9]+),usec_per_call=([0-9.]+).*/\2 calls  \4 us each  \1/' |
    sort -rn | head -n 10
log "profile: logs and summary in $out (perf report -i $out/api.perf, with --perf)"
