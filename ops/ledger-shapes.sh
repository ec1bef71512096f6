#!/usr/bin/env bash
# What a redemption costs Postgres by how many rows it writes: pgbench runs
# batches of redemptions stored two ways (load-tests/pgbench/shapes/, each after updates.sql):
#   six_rows  what `ledger_post_batch` wrote per redemption until migration
#             000011: the device's replay floor and the balance updated, a
#             transfer, two ledger entries, the spent code and the
#             idempotency key;
#   one_row   the same two updates and one transfer row that carries the
#             code's fingerprint and the idempotency key, each unique: what
#             it writes since.
# Same Postgres, same run, fresh tables for each measurement. It prints a
# markdown table; docs/performance.md keeps what it found.
#
# Usage: ops/ledger-shapes.sh [--seconds 10] [--clients 8] [--batches 1,8,16,64]
# Environment: TILLCODE_BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=ops/lib.sh
source ops/lib.sh

seconds=10 clients=8 batches=1,8,16,64
while (($#)); do
    case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --batches) batches=$2; shift 2 ;;
    *) die "unknown option $1 (see the comment at the top of $0)" ;;
    esac
done
[[ $seconds =~ ^[1-9][0-9]*$ && $clients =~ ^[1-9][0-9]*$ ]] || die "--seconds and --clients must be positive integers"
[[ $batches =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "--batches must be like 1,8,16,64, got: $batches"
IFS=, read -r -a batch_sizes <<<"$batches"

ensure_apt_packages "postgresql-client have_cmd psql" "postgresql pgbench --version"
admin_url=${TILLCODE_BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
require_postgres "$admin_url" TILLCODE_BENCH_DATABASE_URL
db="tillcode_shapes_$$_$RANDOM"
script=$(mktemp)
url=$(pg_url_with_db "$admin_url" "$db")
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
    pg_drop_db "$admin_url" "$db" >/dev/null 2>&1 || true
    rm -f "$script"
}
trap cleanup EXIT
pg_create_db "$admin_url" "$db"

accounts=20000
jobs=$(nproc)
((jobs <= clients)) || jobs=$clients
dir=load-tests/pgbench/shapes
rows=()
for batch in "${batch_sizes[@]}"; do
    ((accounts / batch >= clients * 4)) || die "--batches $batch is too big for $accounts accounts and $clients clients"
    declare -A rate=()
    for shape in six_rows one_row; do
        log "$shape: $batch per transaction, $clients clients, ${seconds}s"
        pg_psql -d "$url" -v naccounts="$accounts" -f "$dir/setup.sql" >/dev/null 2>&1 ||
            die "setup failed: $(pg_psql -d "$url" -v naccounts="$accounts" -f "$dir/setup.sql" 2>&1 | tail -n 5)"
        pg_psql -d "$url" -c checkpoint
        # pgbench takes one file per script: the shared start, then the shape's rest.
        # (The shape's own comment lines would land inside the statement.)
        { cat "$dir/updates.sql"; sed '/^--/d' "$dir/$shape.sql"; } >"$script"
        out=$(pgbench -n -M prepared -c "$clients" -j "$jobs" -T "$seconds" -f "$script" \
            -D naccounts="$accounts" -D batch="$batch" "$url" 2>&1) || die "pgbench failed: $out"
        tps=$(awk '/^tps = / { print $3; exit }' <<<"$out")
        [[ -n $tps ]] || die "no 'tps = ' line in pgbench's output: $out"
        rate[$shape]=$(awk -v t="$tps" -v b="$batch" 'BEGIN { printf "%.0f", t * b }')
    done
    rows+=("$(awk -v b="$batch" -v s="${rate[six_rows]}" -v o="${rate[one_row]}" \
        'BEGIN { printf "| %d | %d | %d | %.2f |", b, s, o, (s > 0 ? o / s : 0) }')")
done
printf '\nops/ledger-shapes.sh --seconds %s --clients %s --batches %s; %s cores, PostgreSQL %s\n\n' \
    "$seconds" "$clients" "$batches" "$(nproc)" "$(pg_psql -At -d "$admin_url" -c 'show server_version')"
echo "| redemptions per transaction | six_rows redemptions/s | one_row redemptions/s | one_row / six_rows |"
echo "|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
