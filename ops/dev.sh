#!/usr/bin/env bash
# Runs Tillcode on a developer machine, from a fresh clone, in one command:
# finds or starts PostgreSQL and Redis, builds the API, migrates, seeds a demo
# merchant, prints where everything is, then runs the API in the foreground.
# Safe to run again: it reuses what the last run started and created.
# Usage:
#   ops/dev.sh         run (Ctrl-C stops the API; private services keep running)
#   ops/dev.sh stop    stop the private Postgres and Redis started under target/
# Environment (defaults in brackets):
#   TILLCODE_DATABASE_URL  [postgres://postgres@127.0.0.1:5432/tillcode]
#   TILLCODE_REDIS_URL     [redis://127.0.0.1:6379]
#   TILLCODE_BIND          [127.0.0.1:8080]
#   TILLCODE_LOG           [info]    tracing filter
#   TILLCODE_LOG_FORMAT    [pretty]  or json
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=ops/lib.sh
source ops/lib.sh

# When no Postgres or Redis is reachable at the configured URLs, private ones
# run from here on ports of their own, so they never clash with system services.
services_dir="$PWD/target/dev-services"
pg_data="$services_dir/pg"
pg_run_dir="$services_dir/pg-run" # socket and log; must be writable by the server's user
pg_ready_marker="$services_dir/pg.initialized"
redis_dir="$services_dir/redis"
private_pg_port=55432
private_redis_port=56379
private_redis_url="redis://127.0.0.1:$private_redis_port"

export TILLCODE_DATABASE_URL="${TILLCODE_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/tillcode}"
export TILLCODE_REDIS_URL="${TILLCODE_REDIS_URL:-redis://127.0.0.1:6379}"
export TILLCODE_BIND="${TILLCODE_BIND:-127.0.0.1:8080}"
export TILLCODE_LOG="${TILLCODE_LOG:-info}"
export TILLCODE_LOG_FORMAT="${TILLCODE_LOG_FORMAT:-pretty}"

db_name=$(pg_db_of "$TILLCODE_DATABASE_URL")
db_name=${db_name:-tillcode}

# ---------------------------------------------------------------- helpers

private_pg_url() { printf 'postgres://postgres@127.0.0.1:%s/%s\n' "$private_pg_port" "$1"; }

start_private_postgres() {
    local admin_url pg_bin sock_dir
    admin_url=$(private_pg_url postgres)
    if pg_reachable "$admin_url"; then
        log "reusing the private PostgreSQL on port $private_pg_port"
        return 0
    fi
    pg_bin=$(find_pg_bin) || die "PostgreSQL server binaries not found (initdb, pg_ctl)"

    mkdir -p "$pg_run_dir"
    if ((EUID == 0)); then
        id postgres >/dev/null 2>&1 ||
            die "running as root needs a 'postgres' user to run the private PostgreSQL as"
        chown postgres: "$pg_run_dir"
        as_pg_user test -w "$pg_run_dir" ||
            die "user postgres cannot reach $pg_run_dir (a parent directory is closed to others);
    run ops/dev.sh as a normal user, or set TILLCODE_DATABASE_URL to a running server"
    fi

    if [[ ! -f $pg_ready_marker ]]; then
        # No marker means no initdb ever finished here; a half-made data dir
        # would make initdb refuse to run, so start it over.
        log "creating a private PostgreSQL cluster in ${pg_data#"$PWD"/}"
        rm -rf "$pg_data"
        mkdir -p "$pg_data"
        ((EUID != 0)) || chown postgres: "$pg_data"
        as_pg_user "$pg_bin/initdb" -D "$pg_data" -U postgres --auth=trust \
            --encoding=UTF8 --locale=C >"$services_dir/initdb.log"
        # A Unix socket path is limited to ~107 bytes; in a deep checkout,
        # listen on TCP only (everything here connects over TCP anyway).
        sock_dir=$pg_run_dir
        ((${#sock_dir} + ${#private_pg_port} + 10 <= 107)) || sock_dir=""
        cat >>"$pg_data/postgresql.conf" <<EOF

# Added by ops/dev.sh: a private development server.
port = $private_pg_port
listen_addresses = '127.0.0.1'
unix_socket_directories = '${sock_dir//\'/\'\'}'
EOF
        touch "$pg_ready_marker"
    fi

    log "starting the private PostgreSQL on port $private_pg_port"
    if ! as_pg_user "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_run_dir/postgres.log" -w -t 60 start >/dev/null; then
        tail -n 20 "$pg_run_dir/postgres.log" >&2 || true
        die "the private PostgreSQL did not start (log: $pg_run_dir/postgres.log)"
    fi
    require_postgres "$admin_url" TILLCODE_DATABASE_URL 30
}

start_private_redis() {
    if redis_reachable "$private_redis_url"; then
        log "reusing the private Redis on port $private_redis_port"
        return 0
    fi
    log "starting a private Redis on port $private_redis_port"
    mkdir -p "$redis_dir"
    # Nothing is persisted: Redis only holds short-lived state by design.
    redis-server --port "$private_redis_port" --bind 127.0.0.1 --daemonize yes \
        --dir "$redis_dir" --save '' --appendonly no \
        --pidfile "$redis_dir/redis.pid" --logfile "$redis_dir/redis.log"
    require_redis "$private_redis_url" TILLCODE_REDIS_URL 15
}

stop_private_services() {
    local pg_bin
    if [[ -f $pg_data/postmaster.pid ]] && pg_bin=$(find_pg_bin); then
        log "stopping the private PostgreSQL"
        as_pg_user "$pg_bin/pg_ctl" -D "$pg_data" -m fast -w stop || true
    fi
    if redis_reachable "$private_redis_url"; then
        log "stopping the private Redis"
        redis-cli -u "$private_redis_url" shutdown nosave >/dev/null || true
    fi
}

# ---------------------------------------------------------------- main

case "${1:-}" in
"") ;;
stop)
    stop_private_services
    exit 0
    ;;
-h | --help)
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
*) die "unknown argument: $1 (see ops/dev.sh --help)" ;;
esac

# The toolchain comes from rustup, not from apt (Debian's is too old for
# edition 2024), so we cannot install it for the user.
if ! have_cmd cargo; then
    cat >&2 <<'EOF'
error: cargo (the Rust toolchain) is not installed. Install it with rustup:
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh
then run `source "$HOME/.cargo/env"` (or open a new shell) and ops/dev.sh again.
EOF
    exit 1
fi

log "checking system packages"
ensure_apt_packages \
    "libpq-dev have_libpq_dev" \
    "postgresql-client have_cmd psql" \
    "redis-tools have_cmd redis-cli" \
    "python3 have_cmd python3"

# Decide for both services before installing anything, so that a user who is
# not root gets one complete list of packages to install.
admin_url=$(pg_url_with_db "$TILLCODE_DATABASE_URL" postgres)
use_private_pg=false
use_private_redis=false
pg_reachable "$admin_url" || use_private_pg=true
redis_reachable "$TILLCODE_REDIS_URL" || use_private_redis=true

server_packages=()
if $use_private_pg && ! pg_reachable "$(private_pg_url postgres)"; then
    find_pg_bin >/dev/null || server_packages+=(postgresql)
fi
if $use_private_redis && ! redis_reachable "$private_redis_url"; then
    have_cmd redis-server || server_packages+=(redis-server)
fi
apt_install "${server_packages[@]}"

if $use_private_pg; then
    warn "no PostgreSQL at $(redact_url "$TILLCODE_DATABASE_URL"); using a private one under target/dev-services/"
    start_private_postgres
    TILLCODE_DATABASE_URL=$(private_pg_url "$db_name")
    admin_url=$(private_pg_url postgres)
else
    log "using PostgreSQL at $(redact_url "$TILLCODE_DATABASE_URL")"
fi
if $use_private_redis; then
    warn "no Redis at $(redact_url "$TILLCODE_REDIS_URL"); using a private one under target/dev-services/"
    start_private_redis
    TILLCODE_REDIS_URL=$private_redis_url
else
    log "using Redis at $(redact_url "$TILLCODE_REDIS_URL")"
fi

pg_create_db "$admin_url" "$db_name"

log "building tillcode-api (release)"
cargo build --release -p tillcode-api --locked
# Ask cargo where the binary is: CARGO_TARGET_DIR or .cargo/config may move it.
target_dir=$(cargo_target_dir)
api="$target_dir/release/tillcode-api"

log "migrating"
"$api" migrate

log "seeding the demo merchant"
seed=$("$api" demo-seed)

# Show a wildcard bind address as one a browser can open.
host_port=$TILLCODE_BIND
case $host_port in
0.0.0.0:*) host_port="127.0.0.1:${host_port#*:}" ;;
"[::]:"*) host_port="[::1]:${host_port##*:}" ;;
esac
base="http://$host_port"

cat <<EOF

Tillcode is starting at $base
  wallet   $base/wallet/demo (the demo merchant's customers; over plain HTTP on 127.0.0.1/localhost only)
  till     $base/till
  dashboard $base/dashboard
  health   $base/healthz
  ready    $base/readyz
  metrics  $base/metrics
  API docs $base/docs
  OpenAPI  $base/openapi.json

PostgreSQL $(redact_url "$TILLCODE_DATABASE_URL")
Redis      $(redact_url "$TILLCODE_REDIS_URL")
EOF
if $use_private_pg || $use_private_redis; then
    echo "(private services keep running after Ctrl-C; stop them with: ops/dev.sh stop)"
fi
echo
echo "Demo data:"
python3 -m json.tool <<<"$seed" 2>/dev/null || printf '%s\n' "$seed"
echo

exec "$api" serve
