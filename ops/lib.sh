# shellcheck shell=bash
# Shared helpers for the ops/ scripts. Sourced, never run: every script does
#   cd "$(dirname "$0")/.." && source ops/lib.sh
# so paths below are relative to the repository root.
#
# Everything a script needs from the system is installed here on demand,
# because CI and new machines start without anything installed by hand.

# Cargo installs tools here; a fresh login shell may not have it on PATH yet.
# Appended, not prepended, so that a tool the user put first on PATH wins.
case ":$PATH:" in
*":${CARGO_HOME:-$HOME/.cargo}/bin:"*) ;;
*) export PATH="$PATH:${CARGO_HOME:-$HOME/.cargo}/bin" ;;
esac

# A dead or firewalled Postgres should fail a check in seconds, not hang it.
export PGCONNECT_TIMEOUT="${PGCONNECT_TIMEOUT:-5}"

# ---------------------------------------------------------------- logging

# Messages go to stderr so that stdout stays usable for data (JSON, SQL).
# The [Ns] prefix is time since the script started, to see where CI time goes.
log() { printf '==> [%ss] %s\n' "$SECONDS" "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

have_cmd() { command -v "$1" >/dev/null 2>&1; }

# Passwords in URLs must not end up in CI logs.
redact_url() { sed -E 's#(://[^:/@]+):[^@/]*@#\1:***@#' <<<"$1"; }

# ---------------------------------------------------------------- installing

# Debian's libpq-dev ships both; diesel's pq-sys needs the header to build and
# pg_config to find it.
have_libpq_dev() { have_cmd pg_config && [[ -f /usr/include/postgresql/libpq-fe.h ]]; }

_apt_updated=0

# apt_install PKG... : install the packages, or, when we may not, stop and
# name them all so the user can install them in one go.
apt_install() {
    (($# > 0)) || return 0
    if ((EUID != 0)); then
        die "missing system packages; install them with:
    sudo apt-get install -y --no-install-recommends $*"
    fi
    have_cmd apt-get || die "no apt-get on this machine; install the equivalents of: $*"
    log "installing system packages: $*"
    # Only refresh the index when we really install: it costs ~10 s and
    # needs the network, and most runs install nothing.
    # Another apt run (a second test script, unattended upgrades) may hold
    # the dpkg lock: wait for it rather than fail.
    local wait_lock=(-o DPkg::Lock::Timeout=600)
    if ((_apt_updated == 0)); then
        DEBIAN_FRONTEND=noninteractive apt-get "${wait_lock[@]}" update -qq
        _apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get "${wait_lock[@]}" install -y --no-install-recommends -qq "$@"
}

# ensure_apt_packages 'PKG PROBE [ARG...]'... : install every PKG whose PROBE
# command fails, with a single apt-get run (and a single message when not root).
ensure_apt_packages() {
    local spec pkg probe missing=()
    for spec in "$@"; do
        read -r -a probe <<<"$spec"
        pkg=${probe[0]}
        probe=("${probe[@]:1}")
        "${probe[@]}" >/dev/null 2>&1 || missing+=("$pkg")
    done
    apt_install "${missing[@]}"
}

# ensure_cargo_tool PROBE [ARG...] -- CARGO_INSTALL_ARG... : `cargo install`
# the tool when PROBE fails. Example:
#   ensure_cargo_tool cargo nextest --version -- cargo-nextest --locked
ensure_cargo_tool() {
    local probe=()
    while (($# > 0)) && [[ $1 != -- ]]; do
        probe+=("$1")
        shift
    done
    shift || die "ensure_cargo_tool: missing -- before the install arguments"
    "${probe[@]}" >/dev/null 2>&1 && return 0
    log "installing ${1} with cargo install (one-off, takes a few minutes)"
    # Build the tool in cargo's own temporary dir, not in CARGO_TARGET_DIR:
    # the project's compile cache must only ever hold the project's crates.
    env -u CARGO_TARGET_DIR cargo install "$@"
    "${probe[@]}" >/dev/null 2>&1 || die "installed ${1} but '${probe[*]}' still fails"
}

# ---------------------------------------------------------------- Postgres

# pg_url_with_db URL NAME : the same server and credentials, another database.
# The query string (sslmode=... etc.) is kept.
pg_url_with_db() {
    local url=$1 db=$2
    [[ $url =~ ^(postgres(ql)?://[^/?]*)(/[^?]*)?(\?.*)?$ ]] ||
        die "not a postgres:// URL: $(redact_url "$url")"
    printf '%s/%s%s\n' "${BASH_REMATCH[1]}" "$db" "${BASH_REMATCH[4]}"
}

# pg_db_of URL : the database name in the URL (empty when it names none).
pg_db_of() {
    [[ $1 =~ ^postgres(ql)?://[^/?]*/([^?]*) ]] && printf '%s\n' "${BASH_REMATCH[2]}"
    return 0
}

# psql that never reads ~/.psqlrc, never prompts for a password (it would hang
# CI) and stops at the first error.
pg_psql() { psql -X -w -q -v ON_ERROR_STOP=1 "$@"; }

pg_reachable() { pg_psql -At -d "$1" -c 'select 1' >/dev/null 2>&1; }

# require_postgres URL VARNAME [SECONDS] : wait for the server (it may still be
# starting when CI begins), else stop with the reason and what to change.
require_postgres() {
    local url=$1 var=$2 deadline=$((SECONDS + ${3:-30})) err
    pg_reachable "$url" && return 0
    log "waiting up to ${3:-30}s for PostgreSQL at $(redact_url "$url")"
    until pg_reachable "$url"; do
        if ((SECONDS >= deadline)); then
            err=$(pg_psql -At -d "$url" -c 'select 1' 2>&1 >/dev/null || true)
            die "PostgreSQL is not reachable at $(redact_url "$url"): ${err}
    Start it, or set $var to an admin URL of a running server."
        fi
        sleep 1
    done
}

# pg_create_db ADMIN_URL NAME : create the database unless it exists.
# Names go through format(%I) so no name can inject SQL.
pg_create_db() {
    pg_psql -d "$1" -v name="$2" <<'SQL'
SELECT format('CREATE DATABASE %I', :'name')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'name')
\gexec
SQL
}

# pg_drop_db ADMIN_URL NAME : drop it if it exists, even with sessions open
# (a crashed run may have left some).
pg_drop_db() {
    pg_psql -d "$1" -v name="$2" <<'SQL'
SET client_min_messages = warning; -- no "does not exist, skipping" noise
SELECT format('DROP DATABASE IF EXISTS %I WITH (FORCE)', :'name')
\gexec
SQL
}

# pg_drop_dbs_with_prefix ADMIN_URL PREFIX... : drop every database whose name
# starts with one of the prefixes. LIKE treats _ as a wildcard, so compare
# with left() instead.
pg_drop_dbs_with_prefix() {
    local url=$1 prefix
    shift
    for prefix in "$@"; do
        pg_psql -d "$url" -v prefix="$prefix" <<'SQL'
SELECT format('DROP DATABASE %I WITH (FORCE)', datname)
FROM pg_database
WHERE left(datname, length(:'prefix')) = :'prefix'
\gexec
SQL
    done
}

# ---------------------------------------------------------------- private servers
# ops/dev.sh and ops/chaos.sh run Postgres clusters of their own.

# Newest server binaries first: Debian keeps one directory per major version.
find_pg_bin() {
    local dirs dir
    mapfile -t dirs < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -rV)
    for dir in "${dirs[@]}"; do
        [[ -x $dir/initdb && -x $dir/pg_ctl ]] && printf '%s\n' "$dir" && return 0
    done
    # Elsewhere (Homebrew, Fedora) they are on PATH.
    have_cmd initdb && have_cmd pg_ctl && dirname "$(command -v pg_ctl)" && return 0
    return 1
}

# initdb and postgres refuse to run as root, so as root the private server
# runs as the `postgres` user that Debian's packages create.
as_pg_user() {
    if ((EUID == 0)); then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# ---------------------------------------------------------------- Redis

redis_reachable() { [[ $(redis-cli -u "$1" ping 2>/dev/null) == PONG ]]; }

# require_redis URL VARNAME [SECONDS] : as require_postgres.
require_redis() {
    local url=$1 var=$2 deadline=$((SECONDS + ${3:-30})) err
    redis_reachable "$url" && return 0
    log "waiting up to ${3:-30}s for Redis at $(redact_url "$url")"
    until redis_reachable "$url"; do
        if ((SECONDS >= deadline)); then
            err=$(redis-cli -u "$url" ping 2>&1 || true)
            die "Redis is not reachable at $(redact_url "$url"): ${err}
    Start it, or set $var to the URL of a running server."
        fi
        sleep 1
    done
}

# ---------------------------------------------------------------- schema

# diesel_cli is pinned so that print-schema output, which is checked in as
# db/src/schema.rs, does not change under us with a new CLI release.
DIESEL_CLI_VERSION=2.3.14

# cargo_target_dir : where cargo puts what it builds, CARGO_TARGET_DIR and
# .cargo/config honoured.
cargo_target_dir() {
    cargo metadata --format-version 1 --no-deps |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])'
}

# build_debug : builds the whole workspace in the dev profile, tests included,
# and prints the directory of its binaries. Every script that runs a debug
# binary builds through here, with this one selection: cargo compiles a
# dependency once per set of features asked of it, and the scripts' earlier
# `-p` selections each asked for another (tokio, diesel, actix-web and
# tillcode-api were compiled four times each on a fresh machine). It is the
# selection `cargo nextest run --workspace` builds, so a full `ops/test.sh`
# compiles each crate once.
build_debug() {
    cargo build --workspace --all-targets --locked -q || return
    printf '%s/debug\n' "$(cargo_target_dir)"
}

ensure_diesel_cli() {
    ensure_apt_packages "libpq-dev have_libpq_dev"
    ensure_cargo_tool diesel --version -- diesel_cli --version "$DIESEL_CLI_VERSION" \
        --no-default-features --features postgres --locked
}

# render_schema ADMIN_URL OUT_FILE : apply migrations/ to a scratch database
# and write what `diesel print-schema` makes of it (with the options in
# diesel.toml) to OUT_FILE. ops/schema.sh and the drift check in ops/test.sh
# both use this, so "regenerate" and "check" can never disagree.
#
# The body is a subshell, ( ... ) not { ... }, so its EXIT trap that drops the
# scratch database is its own and does not replace the caller's traps.
# Call it as a plain command, not inside `if` or `||`: bash ignores set -e
# in those contexts and a failing migration would go unnoticed.
render_schema() (
    local admin_url=$1 out=$2 db url tmp
    db="tillcode_schema_check_$$"
    url=$(pg_url_with_db "$admin_url" "$db")
    tmp=$(mktemp -d)
    trap 'pg_drop_db "$admin_url" "$db" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT

    pg_drop_db "$admin_url" "$db"
    pg_create_db "$admin_url" "$db"

    # `diesel migration run` rewrites [print_schema].file from diesel.toml
    # after migrating. Migrate with a config that has no print_schema, so that
    # checking never touches the checked-in db/src/schema.rs.
    printf '[migrations_directory]\ndir = "%s/migrations"\n' "$PWD" >"$tmp/migrate-only.toml"
    diesel migration run --database-url "$url" --migration-dir migrations \
        --config-file "$tmp/migrate-only.toml" >/dev/null

    diesel print-schema --database-url "$url" --config-file diesel.toml >"$tmp/schema.rs"
    mv "$tmp/schema.rs" "$out"
)
