#!/usr/bin/env bash
# Measures the ledger's redemption throughput and puts it next to what the
# same Postgres does with the bare minimum a redemption needs (pgbench running
# load-tests/pgbench/conditional_debit.sql at the same concurrency). The ratio
# says how much of the database's capacity the ledger's extra work costs, which
# is the number docs/scaling.md reasons from.
# Usage: ops/bench.sh [--seconds N] [--concurrency N]     (defaults 20 and 32)
# Environment:
#   TILLCODE_BENCH_DATABASE_URL  admin URL; both benchmarks make their own
#                                databases (default postgres://postgres@127.0.0.1:5432/postgres)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=ops/lib.sh
source ops/lib.sh

seconds=20
concurrency=32
# Few enough that setting up the ledger side stays quick, enough that 32
# callers rarely meet on one account: the same number on both sides.
naccounts=1000
pgbench_db=tillcode_bench_pgbench

while (($# > 0)); do
    case $1 in
    --seconds) seconds=${2:?--seconds needs a value} && shift 2 ;;
    --seconds=*) seconds=${1#*=} && shift ;;
    --concurrency) concurrency=${2:?--concurrency needs a value} && shift 2 ;;
    --concurrency=*) concurrency=${1#*=} && shift ;;
    -h | --help)
        sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *) die "unknown argument: $1 (see ops/bench.sh --help)" ;;
    esac
done
[[ $seconds =~ ^[1-9][0-9]*$ ]] || die "--seconds must be a positive integer, got: $seconds"
[[ $concurrency =~ ^[1-9][0-9]*$ ]] || die "--concurrency must be a positive integer, got: $concurrency"

export TILLCODE_BENCH_DATABASE_URL="${TILLCODE_BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
admin_url=$TILLCODE_BENCH_DATABASE_URL
# ledger-bench clones its database with the test harness, which reads this.
export TILLCODE_TEST_DATABASE_URL=$admin_url
pgbench_url=$(pg_url_with_db "$admin_url" "$pgbench_db")

ensure_apt_packages \
    "libpq-dev have_libpq_dev" \
    "postgresql-client have_cmd psql" \
    "postgresql pgbench --version"
require_postgres "$admin_url" TILLCODE_BENCH_DATABASE_URL

tmp=$(mktemp -d)
cleanup() {
    pg_drop_db "$admin_url" "$pgbench_db" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT

ledger_bench=(cargo run --release --locked -q -p tillcode-load-tests --bin ledger-bench --
    --concurrency "$concurrency" --seconds "$seconds" --accounts "$naccounts")

# Compile before measuring anything: a build error should fail in the first
# minute, not after the pgbench run, and compiling must not overlap a run.
log "building ledger-bench (release)"
cargo build --release --locked -p tillcode-load-tests --bin ledger-bench

# ---------------------------------------------------------------- pgbench

log "pgbench: preparing $pgbench_db with $naccounts accounts"
pg_drop_db "$admin_url" "$pgbench_db"
pg_create_db "$admin_url" "$pgbench_db"
pg_psql -d "$pgbench_url" -v naccounts="$naccounts" -f load-tests/pgbench/setup.sql

# One pgbench thread per core is enough to keep the clients busy; more would
# only take CPU from the Postgres it is measuring. pgbench refuses more
# threads than clients.
jobs=$(nproc)
((jobs <= concurrency)) || jobs=$concurrency

log "pgbench: ${concurrency} clients, ${jobs} threads, ${seconds}s"
pgbench -n -M prepared -c "$concurrency" -j "$jobs" -T "$seconds" \
    -f load-tests/pgbench/conditional_debit.sql -D naccounts="$naccounts" \
    "$pgbench_url" 2>&1 | tee "$tmp/pgbench.out"
# "tps = 1234.567890 (without initial connection time)"
pgbench_tps=$(awk '/^tps = / { print $3; exit }' "$tmp/pgbench.out")
[[ -n $pgbench_tps ]] || die "no 'tps = ' line in pgbench's output"
pg_drop_db "$admin_url" "$pgbench_db"

# ---------------------------------------------------------------- ledger

log "ledger-bench: concurrency ${concurrency}, ${seconds}s"
"${ledger_bench[@]}" | tee "$tmp/ledger.out"
# The binary prints JSON lines; the summary is the last one that carries
# redemptions_per_sec. Output: "RATE ERRORS".
summary=$(python3 - "$tmp/ledger.out" <<'PY'
import json, sys

summary = None
with open(sys.argv[1]) as lines:
    for line in lines:
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict) and "redemptions_per_sec" in obj:
            summary = obj
if summary is None:
    sys.exit("ledger-bench printed no JSON line with redemptions_per_sec")
print(float(summary["redemptions_per_sec"]), int(summary.get("errors", 0)))
PY
)
read -r ledger_rate ledger_errors <<<"$summary"
((ledger_errors == 0)) || warn "ledger-bench reported $ledger_errors errors: its rate is suspect"

# ---------------------------------------------------------------- report

ratio=$(awk -v a="$ledger_rate" -v b="$pgbench_tps" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
printf '\nconcurrency %s, %ss each, %s\n' "$concurrency" "$seconds" \
    "$(pg_psql -At -d "$admin_url" -c 'show server_version')"
printf '%-28s %12s\n' "measure" "per second"
printf '%-28s %12.1f\n' "ledger redemptions/s" "$ledger_rate"
printf '%-28s %12.1f\n' "pgbench tps" "$pgbench_tps"
printf '%-28s %12s\n' "ratio ledger/pgbench" "$ratio"
# One machine-readable line, for pasting into docs/scaling.md or comparing runs.
printf '{"ledger_redemptions_per_sec": %s, "ledger_errors": %s, "pgbench_tps": %s, "ratio": %s, "concurrency": %s, "seconds": %s}\n' \
    "$ledger_rate" "$ledger_errors" "$pgbench_tps" "$ratio" "$concurrency" "$seconds"
