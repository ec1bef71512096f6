#!/usr/bin/env bash
# Faults under load. Each scenario runs `till-load chaos` (signed redemptions
# with real customer-sdk codes, retried with the same idempotency key until
# answered) against `tillcode-api serve`, injects a fault mid-run, and then
# requires: no 5xx but 503 problems with Retry-After, no hung request, every
# acknowledged redemption in the ledger and no other debit, no code or key
# debited twice, spent codes refused when presented again, no retry of a
# till's own unanswered request refused as `code-replayed` (a customer in a
# sale waits for it, so the retry carries the phone's newest code), and a
# clean `tillcode-api verify-ledger`.
#
#   redis     Redis killed (SIGKILL) and restarted empty
#   postgres  Postgres stopped (fast shutdown) and started again
#   lock      a session holds LOCK TABLE accounts: the ledger's statements
#             wait on it and hit statement_timeout, and the redemptions
#             waiting on them are answered 503 (no other read of a
#             redemption touches accounts, so the pool no longer runs dry)
#   sigkill   the API killed with SIGKILL and started again
#
# Faults need servers that may be killed: a private Postgres cluster and a
# private Redis on random ports, data under the cargo target dir, and the
# API's own processes. The shared Postgres and Redis are never touched.
# Usage: ops/chaos.sh [SCENARIO...]   (default: all four)
# Environment: CHAOS_SECONDS (load per scenario, default 16); CHAOS_API_BIN
# (the tillcode-api binary under test, default the debug build of this tree,
# e.g. an older build to see what the checks catch).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=ops/lib.sh
source ops/lib.sh

scenarios=("$@")
((${#scenarios[@]} > 0)) || scenarios=(redis postgres lock sigkill)
seconds=${CHAOS_SECONDS:-16}
# When the fault starts and how long it lasts, seconds into the load.
fault_at=4
fault_for=5

have_pg_server() { find_pg_bin >/dev/null; }
ensure_apt_packages \
    "postgresql have_pg_server" \
    "postgresql-client have_cmd psql" \
    "redis-server have_cmd redis-server" \
    "redis-tools have_cmd redis-cli" \
    "curl have_cmd curl"
pg_bin=$(find_pg_bin) || die "PostgreSQL server binaries (initdb, pg_ctl) not found after installing postgresql"

log "chaos: building the workspace (debug)"
bin=$(build_debug)
target=$(dirname "$bin")
api_bin=${CHAOS_API_BIN:-$bin/tillcode-api}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

work="$target/chaos/run-$$"
# Each scenario's JSON summary (counts by status, problem type and code
# kind, the acknowledged transfer ids) stays here after the run.
summaries="$target/chaos/last"
rm -rf "$summaries"
mkdir -p "$work" "$summaries"
pg_data="$work/pg"
pg_tmp=""
redis_pid="" api_pid="" lock_pid=""
cleanup() {
    local pid
    for pid in "$api_pid" "$redis_pid" "$lock_pid"; do
        [[ -z $pid ]] || kill -KILL "$pid" 2>/dev/null || true
    done
    [[ ! -f $pg_data/postmaster.pid ]] || as_pg_user "$pg_bin/pg_ctl" -D "$pg_data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$work" ${pg_tmp:+"$pg_tmp"}
}
trap cleanup EXIT

# ---------------------------------------------------------------- private servers

# The private cluster runs as user postgres when we are root; it needs a
# data directory that user can reach, which a deep target dir may not be.
if ((EUID == 0)); then
    chown postgres: "$work"
    if ! as_pg_user test -w "$work"; then
        pg_tmp=$(mktemp -d /tmp/tillcode-chaos-pg.XXXXXX)
        pg_data=$pg_tmp/pg
        chown postgres: "$pg_tmp"
    fi
fi
pg_port=$(free_port)
log "chaos: private PostgreSQL on port $pg_port (${pg_data})"
as_pg_user "$pg_bin/initdb" -D "$pg_data" -U postgres --auth=trust --encoding=UTF8 --locale=C >/dev/null
cat >>"$pg_data/postgresql.conf" <<EOF

# ops/chaos.sh: a private server it may stop, start and starve.
port = $pg_port
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
fsync = off
max_connections = 60
lc_messages = 'C'
EOF
pg_start() {
    as_pg_user "$pg_bin/pg_ctl" -D "$pg_data" -l "$(dirname "$pg_data")/postgres.log" -w -t 60 start >/dev/null ||
        die "the private PostgreSQL did not start: $(tail -n 20 "$(dirname "$pg_data")/postgres.log")"
}
pg_stop() { as_pg_user "$pg_bin/pg_ctl" -D "$pg_data" -m fast -w -t 60 stop >/dev/null; }
pg_start
pg_admin="postgres://postgres@127.0.0.1:$pg_port/postgres"
require_postgres "$pg_admin" chaos-postgres 30

redis_port=$(free_port)
redis_url="redis://127.0.0.1:$redis_port"
# No persistence: a restart comes back empty, as after losing the node.
redis_start() {
    redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
        --daemonize no --logfile "$work/redis.log" &
    redis_pid=$!
    require_redis "$redis_url" chaos-redis 15
}
log "chaos: private Redis on port $redis_port"
redis_start

# ---------------------------------------------------------------- the API

api_port=""
# Tight limits, so that a starved dependency shows as 503 within seconds.
# Fewer connections than the load's 8 workers, so a held lock exhausts the pool.
export TILLCODE_DATABASE_POOL_SIZE=4 TILLCODE_DATABASE_POOL_TIMEOUT_MS=2000
export TILLCODE_DATABASE_STATEMENT_TIMEOUT_MS=3000 TILLCODE_REDIS_TIMEOUT_MS=1000
export TILLCODE_LOG=warn TILLCODE_REDIS_URL=$redis_url
# The slowest legitimate answer under these limits (pool wait, then a
# statement) plus slack for a loaded machine: anything slower has hung.
request_timeout_ms=12000

api_start() {
    TILLCODE_BIND="127.0.0.1:$api_port" "$api_bin" serve 2>>"$work/api.log" &
    api_pid=$!
    local _
    for _ in $(seq 100); do
        curl -fs "http://127.0.0.1:$api_port/readyz" >/dev/null && return 0
        kill -0 "$api_pid" 2>/dev/null || break
        sleep 0.2
    done
    die "the API did not become ready: $(tail -n 20 "$work/api.log")"
}

api_ready() { curl -fs -m 5 "http://127.0.0.1:$api_port/readyz" >/dev/null; }

# ---------------------------------------------------------------- faults

fault_redis() {
    log "chaos[redis]: SIGKILL Redis for ${fault_for}s"
    kill -KILL "$redis_pid"
    wait "$redis_pid" 2>/dev/null || true
    redis_pid=""
    sleep "$fault_for"
    log "chaos[redis]: Redis restarted, empty"
    redis_start
}

fault_postgres() {
    log "chaos[postgres]: stopping PostgreSQL (fast: in-flight sessions are cut) for ${fault_for}s"
    pg_stop
    sleep "$fault_for"
    log "chaos[postgres]: PostgreSQL started again"
    pg_start
}

fault_lock() {
    log "chaos[lock]: a session holds LOCK TABLE accounts for ${fault_for}s"
    pg_psql -d "$db_url" -c "BEGIN; LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep($fault_for); COMMIT;" >/dev/null &
    lock_pid=$!
    wait "$lock_pid"
    lock_pid=""
    log "chaos[lock]: lock released"
}

fault_sigkill() {
    log "chaos[sigkill]: SIGKILL the API"
    kill -KILL "$api_pid"
    wait "$api_pid" 2>/dev/null || true
    api_pid=""
    sleep 2
    log "chaos[sigkill]: API started again on the same port"
    api_start
}

# ---------------------------------------------------------------- scenarios

# field SUMMARY PYTHON_EXPR : a value from the summary JSON (s).
field() { python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print($2)" "$1"; }

results=()
run_scenario() {
    local name=$1 summary="$work/$1.json" started="$work/$1.started" load_pid rc=0 _
    db_url=$(pg_url_with_db "$pg_admin" "chaos_$name")
    pg_create_db "$pg_admin" "chaos_$name"
    api_port=$(free_port)
    export TILLCODE_DATABASE_URL=$db_url TILLCODE_REDIS_PREFIX="chaos-$name:"
    api_start
    local replay=0
    [[ $name != redis ]] || replay=30
    log "chaos[$name]: ${seconds}s of redemptions, fault at ${fault_at}s"
    "$bin/till-load" chaos --api "http://127.0.0.1:$api_port" --database-url "$db_url" \
        --duration "$seconds" --concurrency 8 --customers 96 --scenario "$name" \
        --request-timeout-ms "$request_timeout_ms" --replay-spent "$replay" \
        --summary "$summary" --started-file "$started" >"$work/$name.line" 2>"$work/$name.err" &
    load_pid=$!
    for _ in $(seq 300); do
        [[ -f $started ]] && break
        kill -0 "$load_pid" 2>/dev/null || break
        sleep 0.2
    done
    [[ -f $started ]] || die "till-load did not start: $(cat "$work/$name.err")"
    sleep "$fault_at"
    "fault_$name"
    wait "$load_pid" || rc=$?
    cat "$work/$name.line"
    [[ -f $summary ]] || die "chaos[$name]: till-load failed before writing a summary: $(tail -n 20 "$work/$name.err")"
    results+=("$(cat "$work/$name.line")")
    cp "$summary" "$summaries/$name.json"
    ((rc == 0)) || die "chaos[$name]: $(grep -m 1 '^Error' "$work/$name.err" || tail -n 3 "$work/$name.err")"

    # The fault must have been felt, and the API must serve again by itself.
    case $name in
    redis)
        [[ $(field "$summary" 's["by_kind"]["online"]["unavailable_503"]') -gt 0 ]] ||
            die "chaos[redis]: no online-key redemption was answered 503 while Redis was down"
        ;;
    sigkill)
        [[ $(field "$summary" 's["attempts"]["connection_errors"]') -gt 0 ]] ||
            die "chaos[sigkill]: no request saw the API die"
        ;;
    *)
        [[ $(field "$summary" 's["attempts"]["unavailable_503"]') -gt 0 ]] ||
            die "chaos[$name]: no request was answered 503 during the fault"
        ;;
    esac
    if [[ $name == lock ]]; then
        # The postings waited on the lock until statement_timeout, and their
        # redemptions were answered 503 (not some other refusal).
        local metrics timed_out pool_errors
        metrics=$(curl -fs "http://127.0.0.1:$api_port/metrics")
        timed_out=$(awk '/^tillcode_sales_total\{.*operation="redeem".*result="unavailable"/ { n += $2 } END { print n + 0 }' <<<"$metrics")
        pool_errors=$(awk '/pool_errors_total\{pool="postgres"\}/ {print $2}' <<<"$metrics")
        log "chaos[lock]: redemptions answered 503 by the ledger: $timed_out; postgres pool timeouts: ${pool_errors:-0}"
        [[ $timed_out -gt 0 ]] || die "chaos[lock]: no redemption waited on the lock until statement_timeout"
    fi
    [[ $(field "$summary" 's["acknowledged"]') -gt 0 ]] || die "chaos[$name]: nothing was redeemed"
    api_ready || die "chaos[$name]: the API does not serve after the fault: $(tail -n 20 "$work/api.log")"
    "$api_bin" verify-ledger >"$work/$name.verify" ||
        die "chaos[$name]: verify-ledger found violations: $(cat "$work/$name.verify")"
    if [[ $name == redis ]]; then
        log "chaos[redis]: spent codes presented again after the restart: $(field "$summary" 's["replay_of_spent_codes"]')"
    fi
    kill -TERM "$api_pid" 2>/dev/null || true
    wait "$api_pid" 2>/dev/null || true
    api_pid=""
}

for name in "${scenarios[@]}"; do
    declare -F "fault_$name" >/dev/null || die "unknown scenario: $name (redis, postgres, lock, sigkill)"
    run_scenario "$name"
done

log "chaos: every scenario passed (summaries in $summaries)"
printf '%s\n' "${results[@]}"
