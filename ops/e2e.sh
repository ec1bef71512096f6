#!/usr/bin/env bash
# End to end through the real binaries: `tillcode-api` on a random port with
# a throw-away database, and the customer CLI signing up, registering its
# device key, opening sessions, showing every kind of code, linking a second
# device and changing the password. Run by ops/test.sh; runnable alone.
# Environment: TILLCODE_TEST_DATABASE_URL, TILLCODE_TEST_REDIS_URL (as test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=ops/lib.sh
source ops/lib.sh

admin_url="${TILLCODE_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
db="tillcode_test_e2e_$$"
work=$(mktemp -d)
api_pid=""
cleanup() {
    [[ -z $api_pid ]] || kill "$api_pid" 2>/dev/null || true
    pg_drop_db "$admin_url" "$db" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

cargo build --locked -q -p tillcode-api -p tillcode-customer
bin=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug

pg_create_db "$admin_url" "$db"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export TILLCODE_DATABASE_URL TILLCODE_REDIS_URL TILLCODE_BIND TILLCODE_REDIS_PREFIX TILLCODE_API TILLCODE_LOG=warn
TILLCODE_DATABASE_URL=$(pg_url_with_db "$admin_url" "$db")
TILLCODE_REDIS_URL="${TILLCODE_TEST_REDIS_URL:-redis://127.0.0.1:6379}"
TILLCODE_BIND="127.0.0.1:$port"
TILLCODE_REDIS_PREFIX="tillcode-e2e-$$:"
TILLCODE_API="http://$TILLCODE_BIND"

"$bin/tillcode-api" migrate >/dev/null
merchant=$("$bin/tillcode-api" demo-seed | python3 -c 'import json,sys; print(json.load(sys.stdin)["merchant_id"])')
"$bin/tillcode-api" serve 2>"$work/api.log" &
api_pid=$!
for _ in $(seq 50); do curl -fs "$TILLCODE_API/readyz" >/dev/null && break; sleep 0.2; done
curl -fs "$TILLCODE_API/readyz" >/dev/null || die "the API did not become ready: $(cat "$work/api.log")"

# field FILE KEY: a top-level field of the last JSON line of FILE.
field() { tail -n 1 "$1" | python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"; }
phone() { "$bin/tillcode-customer" --home "$work/$1" "${@:2}"; }

log "e2e: the demo customer signs in and registers a device"
echo "demo password for dana" | phone dana login --merchant "$merchant" --email dana@example.com --device-name "Dana's phone" >"$work/out"
[[ $(phone dana balance | tee "$work/out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["balance"])') == 10000 ]] ||
    die "the demo balance is not 10000: $(cat "$work/out")"

log "e2e: every kind of code"
for kind in offline online numeric; do
    phone dana code --kind "$kind" --png "$work/$kind.png" >"$work/out"
    payload=$(field "$work/out" payload)
    if have_cmd zbarimg; then
        [[ $(zbarimg --nodbus --raw -q "$work/$kind.png") == "${payload}" ]] || die "the $kind QR does not scan back"
    fi
done

log "e2e: a second device joins through a link and is approved"
phone dana link create --approve >"$work/link" 2>"$work/link.err" &
link_pid=$!
for _ in $(seq 50); do [[ -s $work/link ]] && break; sleep 0.2; done
link_payload=$(head -n 1 "$work/link" | python3 -c 'import json,sys; print(json.load(sys.stdin)["payload"])')
phone tablet link join "$link_payload" --merchant "$merchant" --device-name Tablet >/dev/null
wait "$link_pid" || die "link create failed: $(cat "$work/link")"
phone tablet balance >/dev/null || die "the approved tablet cannot use the API"

log "e2e: a password change revokes the tablet"
printf 'demo password for dana\na new passphrase for dana\n' | phone dana change-password >/dev/null
if phone tablet balance >/dev/null 2>&1; then die "the tablet still works after the password change"; fi
[[ $(phone dana devices | python3 -c 'import json,sys; print(sorted(d["status"] for d in json.load(sys.stdin)))') == "['active', 'revoked']" ]] ||
    die "expected one active and one revoked device"
log "e2e: passed"
