#!/usr/bin/env bash
# Two `tillcode-api serve` processes on one database and one Redis, behind a
# round-robin TCP proxy (ops/tcp-proxy.py) on one port, as a load balancer
# would put them. Through that port two enrolled tills redeem codes of five
# customers with the cashier CLI, every code submitted four times at once
# (two of them with the same idempotency key), so the copies of one code land
# on both processes; and ten tills race for one online key per customer.
# Then: `verify-ledger` clean, exactly one redemption per code, each code
# fingerprint redeemed once, the successes the tills saw equal to the
# ledger's redeem transfers, and both processes served redemptions.
# Environment: TILLCODE_TEST_DATABASE_URL, TILLCODE_TEST_REDIS_URL and
# TILLCODE_TEST_REDIS_CLUSTER (as test.sh; ops/redis-cluster.sh runs this
# against a Redis Cluster). Runnable alone.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=ops/lib.sh
source ops/lib.sh

rounds=6 # codes per customer

admin_url="${TILLCODE_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
db="tillcode_test_two_apis_$$"
work=$(mktemp -d)
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    pg_drop_db "$admin_url" "$db" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

bin=$(build_debug)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

pg_create_db "$admin_url" "$db"
export TILLCODE_DATABASE_URL TILLCODE_REDIS_URL TILLCODE_REDIS_CLUSTER TILLCODE_REDIS_PREFIX TILLCODE_API TILLCODE_LOG=warn
TILLCODE_DATABASE_URL=$(pg_url_with_db "$admin_url" "$db")
TILLCODE_REDIS_URL="${TILLCODE_TEST_REDIS_URL:-redis://127.0.0.1:6379}"
TILLCODE_REDIS_CLUSTER="${TILLCODE_TEST_REDIS_CLUSTER:-false}"
TILLCODE_REDIS_PREFIX="tillcode-two-apis-$$:"

"$bin/tillcode-api" migrate >/dev/null
"$bin/tillcode-api" demo-seed >"$work/demo.json"
demo() { python3 -c "import json,sys; print(json.load(open('$work/demo.json'))['$1'])"; }
merchant=$(demo merchant_id)
# Limits above this test's load: the refusals here must come from replays
# only, and replays must not get the tills suspended.
pg_psql -d "$TILLCODE_DATABASE_URL" -v merchant="$merchant" <<'SQL'
INSERT INTO merchant_settings (merchant_id, customer_max_count, device_max_count, terminal_max_count, terminal_bad_codes_max)
VALUES (:'merchant', 1000, 1000, 100000, 100000);
SQL

backends=()
for i in 1 2; do
    port=$(free_port)
    TILLCODE_BIND="127.0.0.1:$port" "$bin/tillcode-api" serve 2>"$work/api$i.log" &
    pids+=($!)
    backends+=("127.0.0.1:$port")
done
for i in 0 1; do
    for _ in $(seq 50); do curl -fs "http://${backends[i]}/readyz" >/dev/null && break; sleep 0.2; done
    curl -fs "http://${backends[i]}/readyz" >/dev/null || die "API $((i + 1)) did not become ready: $(cat "$work/api$((i + 1)).log")"
done
python3 ops/tcp-proxy.py --listen 127.0.0.1:0 --backend "${backends[0]}" --backend "${backends[1]}" >"$work/proxy.log" &
pids+=($!)
for _ in $(seq 50); do grep -q '^listening' "$work/proxy.log" && break; sleep 0.1; done
TILLCODE_API="http://127.0.0.1:$(sed -n 's/^listening //p' "$work/proxy.log")"
log "two-apis: ${backends[*]} behind $TILLCODE_API (Redis cluster: $TILLCODE_REDIS_CLUSTER)"

# field FILE KEY: a top-level field of the last JSON line of FILE.
field() { tail -n 1 "$1" | python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"; }
phone() { "$bin/tillcode-customer" --home "$work/phone-$1" "${@:2}"; }
till() { "$bin/tillcode-cashier" --home "$work/till-$1" "${@:2}"; }

log "two-apis: two tills enroll through the proxy and are approved"
"$bin/tillcode-api" admin create-enrollment --store "$(demo store_id)" >"$work/enrollment"
for t in 1 2; do
    code=$(demo terminal_enrollment_code)
    [[ $t == 1 ]] || code=$(python3 -c "import json; print(json.load(open('$work/enrollment'))['code'])")
    till "$t" enroll --store "$(demo store_id)" --code "$code" --name "Till $t" >"$work/out"
    "$bin/tillcode-api" admin approve-terminal "$(field "$work/out" terminal_id)" >/dev/null
done

log "two-apis: five customers with balances"
customers=(dana c2 c3 c4 c5)
echo "demo password for dana" | phone dana login --merchant "$merchant" --email dana@example.com --device-name "Dana's phone" >/dev/null
for c in "${customers[@]:1}"; do
    echo "the long passphrase of $c" | phone "$c" signup --merchant "$merchant" --email "$c@example.com" \
        --display-name "Customer $c" --device-name "$c's phone" >"$work/out"
    till 1 accrue --customer "$(field "$work/out" customer_id)" --amount 1000 >/dev/null
done

# One customer's codes, one after another (a newer offline code supersedes
# an older one); each code four times at once through the proxy.
shop() {
    local c=$1 r code
    for r in $(seq "$rounds"); do
        code=$(phone "$c" code --kind offline | python3 -c 'import json,sys; print(json.load(sys.stdin)["payload"])')
        till 1 redeem --code "$code" --amount 7 --idempotency-key "$c-$r" >"$work/sale.$c.$r.a" 2>/dev/null &
        till 1 redeem --code "$code" --amount 7 --idempotency-key "$c-$r" >"$work/sale.$c.$r.b" 2>/dev/null &
        till 2 redeem --code "$code" --amount 7 --idempotency-key "$c-$r-c" >"$work/sale.$c.$r.c" 2>/dev/null &
        till 2 redeem --code "$code" --amount 7 --idempotency-key "$c-$r-d" >"$work/sale.$c.$r.d" 2>/dev/null &
        wait
    done
    code=$(phone "$c" code --kind online | python3 -c 'import json,sys; print(json.load(sys.stdin)["payload"])')
    for r in $(seq 10); do
        till $((r % 2 + 1)) redeem --code "$code" --amount 3 >"$work/sale.$c.online.$r" 2>/dev/null &
    done
    wait
}

log "two-apis: $((${#customers[@]} * rounds)) offline codes x4 and ${#customers[@]} online keys x10, all at once"
shoppers=()
for c in "${customers[@]}"; do
    shop "$c" &
    shoppers+=($!)
done
for pid in "${shoppers[@]}"; do wait "$pid" || die "the shopper $pid failed"; done

log "two-apis: checking for double spends"
read -r codes sales < <(python3 - "$work" "$rounds" "${customers[@]}" <<'PY'
import collections, glob, json, os, sys
ids = collections.defaultdict(set)
sales = 0
for path in glob.glob(os.path.join(sys.argv[1], "sale.*")):
    _, customer, round_, _ = os.path.basename(path).split(".")
    text = open(path).read().strip()
    if not text:
        sys.exit(f"{path}: no answer")
    answer = json.loads(text.splitlines()[-1])
    if "redemption_id" in answer:
        ids[(customer, round_)].add(answer["redemption_id"])
        sales += not answer.get("replayed", False)
    elif not answer.get("type", "").endswith("/code-replayed"):
        sys.exit(f"{path}: neither a redemption nor code-replayed: {answer}")
rounds, customers = int(sys.argv[2]), sys.argv[3:]
expected = {(c, r) for c in customers for r in [*map(str, range(1, rounds + 1)), "online"]}
wrong = {code: len(ids.get(code, ())) for code in expected if len(ids.get(code, ())) != 1}
if wrong:
    sys.exit(f"codes not redeemed exactly once (code: redemptions): {wrong}")
distinct = {i for v in ids.values() for i in v}
if sales != len(distinct):
    sys.exit(f"{sales} first answers for {len(distinct)} redemptions")
print(len(expected), len(distinct))
PY
) || die "the tills' answers show a double spend or an unexpected refusal"
"$bin/tillcode-api" verify-ledger >"$work/verify.json" || die "verify-ledger found violations: $(cat "$work/verify.json")"
read -r redeems fingerprints distinct_fingerprints < <(pg_psql -At -F ' ' -d "$TILLCODE_DATABASE_URL" -c \
    "SELECT count(*) FILTER (WHERE kind = 'redeem'), count(code_fingerprint), count(DISTINCT code_fingerprint) FROM ledger_transfers")
((redeems == sales)) || die "the tills saw $sales redemptions, the ledger holds $redeems"
((fingerprints == codes && distinct_fingerprints == codes)) ||
    die "$codes codes, but the ledger holds $fingerprints spent codes ($distinct_fingerprints fingerprints)"

# Every process must have done real work, not just answered the proxy.
for i in 0 1; do
    served=$(curl -fs "http://${backends[i]}/metrics" |
        awk '/^tillcode_sales_total\{.*operation="redeem",result="ok"\}/ { n += $NF } END { print n + 0 }')
    ((served > 0)) || die "API $((i + 1)) (${backends[i]}) made no redemption"
    log "two-apis: API $((i + 1)) made ${served} of the $sales redemptions"
done
log "two-apis: passed: $codes codes, $sales redemptions, no double spend, verify-ledger clean"
