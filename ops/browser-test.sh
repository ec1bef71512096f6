#!/usr/bin/env bash
# The cashier web app (/till) in a real headless Chromium against the real
# binaries: `tillcode-api` on a random port with a throw-away database (as
# ops/e2e.sh), a fresh terminal enrollment, the demo customer signed in with
# the customer CLI, then ops/browser-test/till.spec.mjs (playwright-core
# driving Debian's Chromium, its camera fed a video of the customer's QR):
# enroll, approve, scan, replay, typed and pasted codes. Before that, the
# till's signing code is checked against the protocol vectors in node.
# Then ops/browser-test/dashboard.spec.mjs drives /dashboard: a manager and a
# viewer made with `admin create-staff`, sign-in, the overview, an enrollment
# approved in the page (the terminal is the cashier CLI) whose sale then
# shows on the overview, customers (a balance adjustment retried with the
# same Idempotency-Key, a locked device unlocked), fraud, CSV, settings,
# sign-out, and the viewer refused (403) and offered no customer actions.
# Then ops/browser-test/wallet.spec.mjs drives /wallet/demo at 390 px: sign
# up, the /till page's fake camera is shown the QR captured from the page and
# redeems it, a till that is the cashier CLI takes the numeric code read off
# it, and with the network cut a reload still shows a fresh code, which the
# CLI till redeems; sign-out, sign-in, and a revocation
# from the customer's other device (the customer CLI). Before the pages,
# the wallet's code making is checked against the protocol vectors in node.
# Screenshots: target/browser-test/*.png (the dashboard's: dashboard-*.png,
# the wallet's: wallet-*.png).
# Usage: ops/browser-test.sh [till|dashboard|wallet]... runs only those
# pages' tests (default: all three).
# Environment: TILLCODE_TEST_DATABASE_URL, TILLCODE_TEST_REDIS_URL (as
# test.sh); CHROMIUM to use another browser than /usr/bin/chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=ops/lib.sh
source ops/lib.sh

wanted=("$@")
((${#wanted[@]} > 0)) || wanted=(till dashboard wallet)
want() { [[ " ${wanted[*]} " == *" $1 "* ]]; }
for w in "${wanted[@]}"; do
    [[ $w =~ ^(till|dashboard|wallet)$ ]] || die "unknown page test '$w': till, dashboard or wallet"
done

export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
# Debian's Chromium (playwright's own browser download cannot work here) and
# ffmpeg to turn a QR PNG into a video for the fake camera.
if [[ $CHROMIUM == /usr/bin/chromium ]]; then
    ensure_apt_packages "chromium test -x /usr/bin/chromium" "ffmpeg have_cmd ffmpeg"
else
    ensure_apt_packages "ffmpeg have_cmd ffmpeg"
fi
{ have_cmd node && have_cmd npm; } || die "node and npm are needed (Node.js 20 or later)"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
    die "Node.js 20 or later is needed (WebCrypto Ed25519); this is $(node --version)"

log "browser-test: npm ci (playwright-core, no browser download)"
(cd ops/browser-test && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)

log "browser-test: the till's signing code against the protocol vectors"
node --test --test-reporter=dot ops/browser-test/signing.test.mjs
log "browser-test: the wallet's code making against the protocol vectors"
node --test --test-reporter=dot ops/browser-test/wallet-codes.test.mjs

admin_url="${TILLCODE_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
db="tillcode_test_browser_$$"
work=$(mktemp -d)
api_pid=""
cleanup() {
    [[ -z $api_pid ]] || kill "$api_pid" 2>/dev/null || true
    pg_drop_db "$admin_url" "$db" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

bin=$(build_debug)
target=$(dirname "$bin")
"$bin/tillcode-api" admin --help 2>/dev/null | grep -q create-enrollment ||
    die "this tillcode-api has no 'admin create-enrollment' command"

pg_create_db "$admin_url" "$db"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export TILLCODE_DATABASE_URL TILLCODE_REDIS_URL TILLCODE_BIND TILLCODE_REDIS_PREFIX TILLCODE_API TILLCODE_LOG=warn
TILLCODE_DATABASE_URL=$(pg_url_with_db "$admin_url" "$db")
TILLCODE_REDIS_URL="${TILLCODE_TEST_REDIS_URL:-redis://127.0.0.1:6379}"
TILLCODE_BIND="127.0.0.1:$port"
TILLCODE_REDIS_PREFIX="tillcode-browser-$$:"
TILLCODE_API="http://$TILLCODE_BIND"

"$bin/tillcode-api" migrate >/dev/null
"$bin/tillcode-api" demo-seed >"$work/seed.json"
json() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
merchant=$(json merchant_id <"$work/seed.json")
store=$(json store_id <"$work/seed.json")
"$bin/tillcode-api" serve 2>"$work/api.log" &
api_pid=$!
for _ in $(seq 50); do curl -fs "$TILLCODE_API/readyz" >/dev/null && break; sleep 0.2; done
curl -fs "$TILLCODE_API/readyz" >/dev/null || die "the API did not become ready: $(cat "$work/api.log")"
curl -fs -o /dev/null "$TILLCODE_API/till" ||
    die "the API does not serve /till: add .configure(till::routes) in api/src/server.rs"

log "browser-test: the demo customer signs in; a manager creates an enrollment"
echo "demo password for dana" |
    "$bin/tillcode-customer" --home "$work/dana" login --merchant "$merchant" \
        --email dana@example.com --device-name "Dana's phone" >/dev/null
code=$("$bin/tillcode-api" admin create-enrollment --store "$store" | json code)

shots="$target/browser-test"
rm -rf "$shots"
mkdir -p "$shots"
if want till; then
    log "browser-test: headless Chromium drives /till"
    TILL_URL="$TILLCODE_API" TILL_STORE_ID="$store" TILL_ENROLL_CODE="$code" \
        TILLCODE_API_BIN="$bin/tillcode-api" TILLCODE_CUSTOMER_BIN="$bin/tillcode-customer" \
        TILL_CUSTOMER_HOME="$work/dana" TILL_WORK="$work" TILL_SCREENSHOTS="$shots" \
        node ops/browser-test/till.spec.mjs ||
        die "the browser test failed (screenshots in $shots); API log:
$(tail -n 40 "$work/api.log")"
    log "browser-test: passed; screenshots in $shots"
fi

if want dashboard; then
    log "browser-test: headless Chromium drives /dashboard"
    curl -fs -o /dev/null "$TILLCODE_API/dashboard" ||
        die "the API does not serve /dashboard: add .configure(dashboard::routes) in api/src/server.rs"
    DASH_URL="$TILLCODE_API" DASH_MERCHANT_ID="$merchant" DASH_STORE_ID="$store" \
        TILLCODE_API_BIN="$bin/tillcode-api" TILLCODE_CASHIER_BIN="$bin/tillcode-cashier" \
        TILLCODE_CUSTOMER_BIN="$bin/tillcode-customer" DASH_CUSTOMER_HOME="$work/dana" \
        DASH_WORK="$work" DASH_SCREENSHOTS="$shots" \
        node ops/browser-test/dashboard.spec.mjs ||
        die "the dashboard browser test failed (screenshots in $shots); API log:
$(tail -n 40 "$work/api.log")"
    log "browser-test: dashboard passed; screenshots in $shots"
fi

if want wallet; then
    log "browser-test: headless Chromium drives /wallet"
    curl -fs -o /dev/null "$TILLCODE_API/wallet/demo" ||
        die "the API does not serve /wallet/demo: add .configure(wallet::routes) in api/src/server.rs"
    WALLET_URL="$TILLCODE_API" WALLET_SLUG="$(json merchant_slug <"$work/seed.json")" WALLET_STORE_ID="$store" \
        TILLCODE_API_BIN="$bin/tillcode-api" TILLCODE_CASHIER_BIN="$bin/tillcode-cashier" \
        TILLCODE_CUSTOMER_BIN="$bin/tillcode-customer" WALLET_WORK="$work" WALLET_SCREENSHOTS="$shots" \
        node ops/browser-test/wallet.spec.mjs ||
        die "the wallet browser test failed (screenshots in $shots); API log:
$(tail -n 40 "$work/api.log")"
    log "browser-test: wallet passed; screenshots in $shots"
fi
