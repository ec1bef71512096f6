#!/usr/bin/env bash
# Runs every test of Tillcode. CI runs it through .ci/run; developers run it
# directly. Usage:
#   ops/test.sh            all checks and all tests
#   ops/test.sh FILTER...  only the tests nextest matches with FILTER (for a
#                          quick loop: lint and schema checks are skipped)
# Environment:
#   TILLCODE_TEST_DATABASE_URL  admin URL; tests create their own databases
#                               (default postgres://postgres@127.0.0.1:5432/postgres)
#   TILLCODE_TEST_REDIS_URL     (default redis://127.0.0.1:6379)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=ops/lib.sh
source ops/lib.sh

case "${1:-}" in
-h | --help)
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
esac

filters=("$@")
full_run=true
((${#filters[@]} == 0)) || full_run=false

generated=""
on_exit() {
    local rc=$?
    [[ -z $generated ]] || rm -f "$generated"
    # Always say how long it took, also when it failed: CI has a time budget.
    log "ops/test.sh $( ((rc == 0)) && echo passed || echo FAILED) after $((SECONDS / 60))m$((SECONDS % 60))s"
}
trap on_exit EXIT

export TILLCODE_TEST_DATABASE_URL="${TILLCODE_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export TILLCODE_TEST_REDIS_URL="${TILLCODE_TEST_REDIS_URL:-redis://127.0.0.1:6379}"

# ---------------------------------------------------------------- tools

log "checking tools"
packages=(
    "libpq-dev have_libpq_dev"
    "postgresql-client have_cmd psql"
    "redis-tools have_cmd redis-cli"
)
$full_run && packages+=("shellcheck have_cmd shellcheck" "prometheus have_cmd promtool")
ensure_apt_packages "${packages[@]}"

ensure_cargo_tool cargo nextest --version -- cargo-nextest --locked
if $full_run; then
    ensure_diesel_cli
    # rustfmt and clippy come with the toolchain (rustup components); they
    # cannot be fetched from the package registries, so only say what is wrong.
    cargo fmt --version >/dev/null 2>&1 || die "rustfmt missing: rustup component add rustfmt"
    cargo clippy --version >/dev/null 2>&1 || die "clippy missing: rustup component add clippy"
fi

# ---------------------------------------------------------------- services

log "checking PostgreSQL and Redis"
require_postgres "$TILLCODE_TEST_DATABASE_URL" TILLCODE_TEST_DATABASE_URL
require_redis "$TILLCODE_TEST_REDIS_URL" TILLCODE_TEST_REDIS_URL

# Tests drop their databases when they finish, but a killed run cannot; left
# alone these pile up across runs and slow Postgres down. Only a full run
# sweeps them: a filtered run may share the server with another run in
# progress, whose databases these would be.
if $full_run; then
    log "dropping databases left over by earlier runs"
    pg_drop_dbs_with_prefix "$TILLCODE_TEST_DATABASE_URL" tillcode_test_ tillcode_tpl_ tillcode_schema_check_
fi

# ---------------------------------------------------------------- checks

if $full_run; then
    log "cargo fmt --check"
    cargo fmt --all -- --check

    log "cargo clippy"
    cargo clippy --workspace --all-targets --locked -- -D warnings

    log "shellcheck"
    shellcheck -x ops/*.sh .ci/run

    log "promtool: ops/prometheus config and alert rules"
    promtool check config ops/prometheus/prometheus.yml
    promtool check rules ops/prometheus/alerts.yml

    # Issue 18: the document clients generate code from must be valid
    # OpenAPI 3.1 (schemathesis, below, tolerates what a validator refuses).
    log "OpenAPI: ops/openapi.sh"
    ops/openapi.sh

    log "schema drift: migrations/ vs db/src/schema.rs"
    generated=$(mktemp)
    render_schema "$TILLCODE_TEST_DATABASE_URL" "$generated"
    diff -u --label db/src/schema.rs --label 'from migrations/' db/src/schema.rs "$generated" ||
        die "db/src/schema.rs does not match migrations/; regenerate it with ops/schema.sh and commit it"
else
    log "filter given (${filters[*]}): skipping fmt, clippy, shellcheck and the schema drift check"
fi

# ---------------------------------------------------------------- tests

if $full_run; then
    # customer-sdk: what the CLI renders must scan with an independent decoder
    # (zbar), not only with the rqrr the unit tests use.
    log "QR round trip with zbarimg"
    ensure_apt_packages "zbar-tools have_cmd zbarimg"
    bin=$(build_debug)
    qr_png=$(mktemp)
    # A numeric code's QR carries its bare digits (docs/protocol.md, section 3).
    for payload in TC1KAAISEM2EKVTHPCEZVK54ZXPO74 123456789938022008 \
        TC1FRU7ADJ6ELOPSAAAAAGQ64VS6POQ3FQ6U7QGH5Z6YF6KMGIHYBJ3VIOL3TIDURHA76VIME6LS6J5DTEEUBA3SUBMOLTAWQZPPUYJNOCFOSQFJNF4QONQR4LYGJJMGLGXMVORJECI; do
        "$bin/tillcode-customer" qr "$payload" --png "$qr_png" >/dev/null
        scanned=$(zbarimg --nodbus --raw -q "$qr_png") || die "zbarimg found no QR code in the PNG of $payload"
        [[ $scanned == "$payload" ]] || die "zbarimg read '$scanned' from the QR code of $payload"
    done
    rm -f "$qr_png"

    log "end to end: tillcode-api, the customer CLI and the cashier CLI"
    ops/e2e.sh

    log "browser: the till, the dashboard and the wallet in headless Chromium"
    ops/browser-test.sh

    # Issue 7, scale past one machine: a private 3-master Redis Cluster, then
    # e2e.sh, the Redis-heavy tests and two API processes behind one port on it.
    log "Redis Cluster: ops/redis-cluster.sh"
    ops/redis-cluster.sh

    # Faults under load (issue 8): Redis, Postgres and the API killed or
    # starved mid-run; private servers only. About 3 minutes.
    log "faults under load: ops/chaos.sh"
    ops/chaos.sh

    # Bad input (issue 8): every network decoder fuzzed from its seeds, and
    # the API against its own OpenAPI document. Bounded: 15 s per fuzz
    # target, 25 examples per operation and phase.
    log "fuzz: every target in fuzz/ for 15 s"
    ops/fuzz.sh 15
    log "schemathesis: /openapi.json against a live API"
    ops/schemathesis.sh 25
fi

nextest_args=(--workspace --locked --no-fail-fast)
[[ ${CI:-} == true ]] && nextest_args+=(--profile ci)

log "cargo nextest run ${nextest_args[*]} ${filters[*]}"
cargo nextest run "${nextest_args[@]}" "${filters[@]}"
