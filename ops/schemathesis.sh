#!/usr/bin/env bash
# Schema tests: Schemathesis (from PyPI, in a venv under the target dir)
# generates requests from the API's own /openapi.json, valid and invalid, and
# checks every answer: never a 5xx, and status code, content type and body as
# the document says. The API runs on a random port with a throw-away database
# (migrated, demo data) and its own Redis prefix.
#
# Every operation is fuzzed twice: without credentials (every answer must be
# a documented 4xx or success), then as the demo customer (a device session
# of a key registered as a phone does it, ops/device_session.py) and a
# dashboard manager (session cookie and CSRF token), so that the handlers
# behind authentication are reached too.
# Usage:
#   ops/schemathesis.sh [MAX_EXAMPLES]   default 25 per operation and phase
# Run by ops/test.sh; runnable alone. The report (JUnit XML and the failing
# requests as curl commands) is left in $CARGO_TARGET_DIR/schemathesis/.
# Environment: TILLCODE_TEST_DATABASE_URL, TILLCODE_TEST_REDIS_URL (as test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=ops/lib.sh
source ops/lib.sh

case "${1:-}" in
-h | --help)
    sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
esac

max_examples=${1:-25}
[[ $max_examples =~ ^[1-9][0-9]*$ ]] || die "MAX_EXAMPLES must be a positive whole number, not '$max_examples'"
# Pinned: a new release may add checks or change what it generates.
SCHEMATHESIS_VERSION=4.32.5
# For ops/device_session.py: Ed25519 proofs, as a phone signs them.
CRYPTOGRAPHY_VERSION=50.0.2

admin_url="${TILLCODE_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
redis_url="${TILLCODE_TEST_REDIS_URL:-redis://127.0.0.1:6379}"
db="tillcode_test_schemathesis_$$"
prefix="tillcode-schemathesis-$$:"
target_root=$(cargo_target_dir)
out="$target_root/schemathesis"
venv="$target_root/schemathesis-venv"
work=$(mktemp -d)
api_pid=""
cleanup() {
    [[ -z $api_pid ]] || kill "$api_pid" 2>/dev/null || true
    pg_drop_db "$admin_url" "$db" >/dev/null 2>&1 || true
    redis-cli -u "$redis_url" --scan --pattern "${prefix}*" |
        xargs -r redis-cli -u "$redis_url" del >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

have_venv() { python3 -c 'import ensurepip'; }
ensure_apt_packages "python3-venv have_venv" "redis-tools have_cmd redis-cli" "curl have_cmd curl"
installed() {
    [[ $("$venv/bin/schemathesis" --version 2>/dev/null) == *" $SCHEMATHESIS_VERSION" ]] &&
        [[ $("$venv/bin/python" -c 'import cryptography; print(cryptography.__version__)' 2>/dev/null) == "$CRYPTOGRAPHY_VERSION" ]]
}
if ! installed; then
    log "schemathesis: installing $SCHEMATHESIS_VERSION into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        "schemathesis==$SCHEMATHESIS_VERSION" "cryptography==$CRYPTOGRAPHY_VERSION"
fi

log "schemathesis: starting tillcode-api on a throw-away database"
bin=$(build_debug)
pg_create_db "$admin_url" "$db"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export TILLCODE_DATABASE_URL TILLCODE_REDIS_URL TILLCODE_BIND TILLCODE_REDIS_PREFIX TILLCODE_LOG=warn
TILLCODE_DATABASE_URL=$(pg_url_with_db "$admin_url" "$db")
TILLCODE_REDIS_URL=$redis_url
TILLCODE_BIND="127.0.0.1:$port"
TILLCODE_REDIS_PREFIX=$prefix
api="http://$TILLCODE_BIND"
"$bin/tillcode-api" migrate >/dev/null
"$bin/tillcode-api" demo-seed >"$work/demo.json"
merchant=$(python3 -c "import json; print(json.load(open('$work/demo.json'))['merchant_id'])")
echo "a long passphrase for the boss" | "$bin/tillcode-api" admin create-staff --merchant "$merchant" \
    --email boss@example.com --name Boss --role manager >/dev/null
"$bin/tillcode-api" serve 2>"$work/api.log" &
api_pid=$!
for _ in $(seq 50); do curl -fs "$api/readyz" >/dev/null && break; sleep 0.2; done
curl -fs "$api/readyz" >/dev/null || die "the API did not become ready: $(cat "$work/api.log")"

# Credentials for the second pass: a device session of the demo customer
# (a fresh key registered as a phone does), and a manager's session.
json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
customer_token=$("$venv/bin/python" ops/device_session.py "$api" "$merchant" dana@example.com "demo password for dana")
csrf=$(curl -fsS -c "$work/cookies" "$api/v1/staff/sign-in" -H 'Content-Type: application/json' \
    -d "{\"merchant_id\":\"$merchant\",\"email\":\"boss@example.com\",\"password\":\"a long passphrase for the boss\"}" |
    json_field csrf_token)
staff_cookie=$(awk '$6 == "tillcode_staff" { print $6 "=" $7 }' "$work/cookies")
[[ -n $customer_token && -n $csrf && -n $staff_cookie ]] || die "could not sign in the demo customer and manager"

rm -rf "$out"
mkdir -p "$out"
checks=not_a_server_error,status_code_conformance,content_type_conformance
checks+=,response_headers_conformance,response_schema_conformance
phases=examples,coverage,fuzzing
st_args=(
    --checks "$checks"
    --phases "$phases"
    --max-examples "$max_examples"
    # One worker: hypothesis on Python 3.11 can fail parsing its own lambdas
    # when two threads do it at once ("AST constructor recursion depth mismatch").
    --workers 1
    --seed 20261123
    --request-timeout 30
    --suppress-health-check all
    --report junit --report-dir .
    # Signing out would end the session the rest of the run uses.
    --exclude-path /v1/staff/sign-out
)
# Schemathesis keeps its example database in the working directory: run it
# from the report directory so the checkout stays clean.
schemathesis() (cd "$out" && "$venv/bin/schemathesis" "$@")
rc=0
log "schemathesis: without credentials (max $max_examples examples per operation and phase)"
schemathesis run "$api/openapi.json" "${st_args[@]}" \
    --report-junit-path "$out/anonymous.xml" >"$out/anonymous.log" 2>&1 || rc=$?
tail -n 25 "$out/anonymous.log" >&2
log "schemathesis: as the demo customer and a manager"
schemathesis run "$api/openapi.json" "${st_args[@]}" \
    --report-junit-path "$out/signed-in.xml" \
    -H "Authorization: Bearer $customer_token" -H "Cookie: $staff_cookie" -H "X-CSRF-Token: $csrf" \
    >"$out/signed-in.log" 2>&1 || rc=$?
tail -n 25 "$out/signed-in.log" >&2

if grep -q 'panicked' "$work/api.log"; then
    cp "$work/api.log" "$out/api.log"
    die "the API panicked during the schema tests: $out/api.log"
fi
((rc == 0)) || die "schemathesis found failures; see $out/*.log"
log "schemathesis: no 5xx, every answer as documented"
