#!/usr/bin/env bash
# End to end through the real binaries: `tillcode-api` on a random port with
# a throw-away database; the customer CLI signing up, registering its device
# key, showing every kind of code, linking a second device and changing the
# password; and the cashier CLI enrolling a terminal and running the till:
# accrual, redemptions with each kind of code, replays, a race of 20 tills
# on one online key, a retried request, a tampered body, void and a revoked
# terminal; both CLIs through the API's own HTTPS listener with a private CA
# (certificates from openssl); `verify-ledger --textfile` (checked with promtool) and its
# systemd units (systemd-analyze, where it works). Run by ops/test.sh;
# runnable alone.
# Environment: TILLCODE_TEST_DATABASE_URL, TILLCODE_TEST_REDIS_URL (as test.sh),
# TILLCODE_TEST_REDIS_CLUSTER=true when that URL is a Redis Cluster
# (ops/redis-cluster.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=ops/lib.sh
source ops/lib.sh

admin_url="${TILLCODE_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
db="tillcode_test_e2e_$$"
work=$(mktemp -d)
api_pid=""
tls_pid=""
cleanup() {
    [[ -z $api_pid ]] || kill "$api_pid" 2>/dev/null || true
    [[ -z $tls_pid ]] || kill "$tls_pid" 2>/dev/null || true
    pg_drop_db "$admin_url" "$db" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

bin=$(build_debug)

pg_create_db "$admin_url" "$db"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export TILLCODE_DATABASE_URL TILLCODE_REDIS_URL TILLCODE_BIND TILLCODE_REDIS_PREFIX TILLCODE_API TILLCODE_LOG=warn
TILLCODE_DATABASE_URL=$(pg_url_with_db "$admin_url" "$db")
TILLCODE_REDIS_URL="${TILLCODE_TEST_REDIS_URL:-redis://127.0.0.1:6379}"
export TILLCODE_REDIS_CLUSTER="${TILLCODE_TEST_REDIS_CLUSTER:-false}"
TILLCODE_BIND="127.0.0.1:$port"
TILLCODE_REDIS_PREFIX="tillcode-e2e-$$:"
TILLCODE_API="http://$TILLCODE_BIND"

"$bin/tillcode-api" migrate >/dev/null
"$bin/tillcode-api" demo-seed >"$work/demo.json"
demo() { python3 -c "import json,sys; print(json.load(open('$work/demo.json'))['$1'])"; }
merchant=$(demo merchant_id)
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
wait "$link_pid" || die "link create failed: $(cat "$work/link" "$work/link.err")"
phone tablet balance >/dev/null || die "the approved tablet cannot use the API"

log "e2e: a password change revokes the tablet"
printf 'demo password for dana\na new passphrase for dana\n' | phone dana change-password >/dev/null
if phone tablet balance >/dev/null 2>&1; then die "the tablet still works after the password change"; fi
[[ $(phone dana devices | python3 -c 'import json,sys; print(sorted(d["status"] for d in json.load(sys.stdin)))') == "['active', 'revoked']" ]] ||
    die "expected one active and one revoked device"
# ------------------------------------------------------------------ till
till() { "$bin/tillcode-cashier" --home "$work/till" "$@"; }
# expect_problem SLUG CMD...: CMD must be refused (exit 1) with that problem type.
expect_problem() {
    local slug=$1 rc=0
    shift
    "$@" >"$work/refused" 2>/dev/null || rc=$?
    ((rc == 1)) || die "expected a refusal ($slug), got exit $rc: $(cat "$work/refused")"
    [[ $(field "$work/refused" type) == "https://tillcode.dev/problems/$slug" ]] || die "expected $slug, got $(cat "$work/refused")"
}

log "e2e: a terminal enrolls with the demo code and a manager approves it"
till enroll --store "$(demo store_id)" --code "$(demo terminal_enrollment_code)" --name "Till 1" >"$work/out"
terminal=$(field "$work/out" terminal_id)
[[ $(till status | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])') == pending ]] || die "a new terminal is not pending"
"$bin/tillcode-api" admin approve-terminal "$terminal" >/dev/null

log "e2e: a new customer earns 100 and redeems 30 with an offline code"
echo "ana's long passphrase" | phone ana signup --merchant "$merchant" --email ana@example.com --display-name "Ana Lima" --device-name "Ana's phone" >"$work/out"
ana=$(field "$work/out" customer_id)
till accrue --customer "$ana" --amount 100 >"$work/out"
[[ $(field "$work/out" balance_after) == 100 ]] || die "accrual: $(cat "$work/out")"
offline=$(phone ana code --kind offline | python3 -c 'import json,sys; print(json.load(sys.stdin)["payload"])')
till redeem --code "$offline" --amount 30 --idempotency-key sale-1 >"$work/out"
[[ $(field "$work/out" balance_after) == 70 && $(field "$work/out" customer) == "Ana L." ]] || die "redemption: $(cat "$work/out")"
first=$(field "$work/out" redemption_id)

log "e2e: a retry with the same idempotency key answers the same, and debits once"
till redeem --code "$offline" --amount 30 --idempotency-key sale-1 >"$work/out"
[[ $(field "$work/out" redemption_id) == "$first" && $(field "$work/out" replayed) == True ]] || die "retry: $(cat "$work/out")"
expect_problem code-replayed till redeem --code "$offline" --amount 30

log "e2e: 20 tills race for one online key; exactly one wins"
online=$(phone ana code --kind online | python3 -c 'import json,sys; print(json.load(sys.stdin)["payload"])')
racers=()
for i in $(seq 20); do
    (till redeem --code "$online" --amount 10 >"$work/race.$i" 2>/dev/null || true) &
    racers+=($!)
done
wait "${racers[@]}"
wins=$(cat "$work"/race.* | grep -c '"redemption_id"' || true)
((wins == 1)) || die "$wins of 20 racing redemptions of one online key succeeded"

log "e2e: a numeric code works once"
numeric=$(phone ana code --kind numeric | python3 -c 'import json,sys; print(json.load(sys.stdin)["payload"])')
till redeem --code "$numeric" --amount 5 >"$work/out"
[[ $(field "$work/out" balance_after) == 55 ]] || die "numeric: $(cat "$work/out")"
expect_problem code-replayed till redeem --code "$numeric" --amount 5

log "e2e: a tampered body is refused"
till sign-request --method POST --path /v1/redemptions --body '{"code":"x","amount":1}' --idempotency-key t1 >"$work/headers"
curl_args=()
while IFS= read -r line; do curl_args+=(-H "$line"); done < <(python3 -c "import json; [print(f'{k}: {v}') for k, v in json.load(open('$work/headers')).items()]")
status=$(curl -s -o "$work/out" -w '%{http_code}' "${curl_args[@]}" --data '{"code":"x","amount":99}' "$TILLCODE_API/v1/redemptions")
[[ $status == 401 && $(field "$work/out" type) == https://tillcode.dev/problems/digest-mismatch ]] || die "tampered body: $status $(cat "$work/out")"

log "e2e: void restores the balance once"
till void "$first" >"$work/out"
[[ $(field "$work/out" balance_after) == 85 ]] || die "void: $(cat "$work/out")"
expect_problem already-voided till void "$first"
"$bin/tillcode-api" verify-ledger >/dev/null || die "verify-ledger found violations"

log "e2e: both CLIs through the API's own HTTPS listener, trusting a private CA"
ensure_apt_packages "openssl have_cmd openssl"
pki="$work/pki"
mkdir -p "$pki"
ec_key=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
openssl req -x509 "${ec_key[@]}" -days 1 -subj "/CN=Tillcode e2e CA" -keyout "$pki/ca.key" -out "$pki/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
openssl req "${ec_key[@]}" -subj "/CN=localhost" -keyout "$pki/server.key" -out "$pki/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$pki/server.ext"
openssl x509 -req -in "$pki/server.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -CAcreateserial -days 1 \
    -extfile "$pki/server.ext" -out "$pki/server.pem" 2>/dev/null
tls_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
tls_api="https://localhost:$tls_port"
TILLCODE_BIND="127.0.0.1:$tls_port" TILLCODE_TLS_CERT="$pki/server.pem" TILLCODE_TLS_KEY="$pki/server.key" \
    "$bin/tillcode-api" serve 2>"$work/tls.log" &
tls_pid=$!
for _ in $(seq 50); do curl -fs --cacert "$pki/ca.pem" "$tls_api/readyz" >/dev/null && break; sleep 0.2; done
curl -fs --cacert "$pki/ca.pem" "$tls_api/readyz" >/dev/null || die "the HTTPS API did not become ready: $(cat "$work/tls.log")"
[[ $(phone dana balance --api "$tls_api" --ca-cert "$pki/ca.pem" | python3 -c 'import json,sys; print(json.load(sys.stdin)["balance"])') == 10000 ]] ||
    die "the customer CLI cannot read the balance over HTTPS"
[[ $(TILLCODE_CA_CERT="$pki/ca.pem" till status --api "$tls_api" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])') == active ]] ||
    die "the cashier CLI cannot read its status over HTTPS"
# Without the CA (the system's CAs do not know it): refused, naming why.
if phone dana balance --api "$tls_api" >/dev/null 2>"$work/untrusted"; then die "an untrusted certificate was accepted"; fi
grep -q "invalid peer certificate" "$work/untrusted" || die "no certificate problem named: $(cat "$work/untrusted")"
kill "$tls_pid"
wait "$tls_pid" || die "the HTTPS API exited with status $? after SIGTERM: $(tail -3 "$work/tls.log")"
tls_pid=""

log "e2e: verify-ledger --textfile writes the gauge the ledger alert reads"
ensure_apt_packages "prometheus have_cmd promtool"
prom="$work/textfile/tillcode-verify-ledger.prom"
mkdir -p "$work/textfile"
echo "stale" >"$prom"
"$bin/tillcode-api" verify-ledger --textfile "$prom" >/dev/null || die "verify-ledger --textfile failed"
promtool check metrics <"$prom" || die "promtool check metrics refuses $prom: $(cat "$prom")"
grep -qx 'tillcode_verify_ledger_ok 1' "$prom" || die "no tillcode_verify_ledger_ok 1 in $prom: $(cat "$prom")"
ran_at=$(sed -n 's/^tillcode_verify_ledger_last_run_timestamp_seconds //p' "$prom")
python3 -c "import sys, time; sys.exit(abs(time.time() - float('$ran_at')) > 300)" ||
    die "the last-run timestamp '$ran_at' is not now"
[[ $(find "$work/textfile" -mindepth 1 | wc -l) == 1 ]] || die "a temporary file was left beside $prom: $(ls -a "$work/textfile")"
[[ $(stat -c %a "$prom") == 644 ]] || die "$prom is not readable by the node exporter: $(stat -c %a "$prom")"
# A check that cannot run (no database) leaves the last result alone.
cp "$prom" "$work/prom.before"
if TILLCODE_DATABASE_URL="$(pg_url_with_db "$admin_url" "${db}_missing")" \
    "$bin/tillcode-api" verify-ledger --textfile "$prom" >/dev/null 2>&1; then
    die "verify-ledger succeeded without a database"
fi
cmp -s "$prom" "$work/prom.before" || die "a failed check changed $prom"
# A balance changed behind the ledger's back: exit 1 and the gauge says 0;
# put back, 1 again.
mend() { pg_psql -d "$TILLCODE_DATABASE_URL" -c "UPDATE accounts SET balance = balance + ($1) WHERE customer_id = '$ana'"; }
mend 1
if "$bin/tillcode-api" verify-ledger --textfile "$prom" >/dev/null; then
    die "verify-ledger passed a balance changed outside the ledger"
fi
grep -qx 'tillcode_verify_ledger_ok 0' "$prom" || die "a violation did not set tillcode_verify_ledger_ok 0: $(cat "$prom")"
promtool check metrics <"$prom" || die "promtool check metrics refuses $prom after a violation"
mend -1
"$bin/tillcode-api" verify-ledger --textfile "$prom" >/dev/null || die "verify-ledger still fails after the balance was put back"
grep -qx 'tillcode_verify_ledger_ok 1' "$prom" || die "tillcode_verify_ledger_ok is not 1 again: $(cat "$prom")"

# The units that run it: systemd-analyze where it works (not in every
# container), with the binary path pointed at the one just built.
printf '[Service]\nType=oneshot\nExecStart=/bin/true\n' >"$work/probe.service"
if have_cmd systemd-analyze && systemd-analyze verify "$work/probe.service" >/dev/null 2>&1; then
    log "e2e: systemd-analyze verifies ops/systemd/*"
    mkdir -p "$work/units"
    for unit in ops/systemd/*.service ops/systemd/*.timer; do
        sed "s#/usr/local/bin/tillcode-api#$bin/tillcode-api#g" "$unit" >"$work/units/$(basename "$unit")"
    done
    # It warns (exit 0) about settings it ignores: any output is a failure.
    systemd-analyze verify "$work"/units/* >"$work/units.log" 2>&1 || die "systemd-analyze verify: $(cat "$work/units.log")"
    [[ ! -s $work/units.log ]] || die "systemd-analyze verify warns: $(cat "$work/units.log")"
else
    warn "systemd-analyze cannot verify units here; ops/systemd/* not checked"
fi

log "e2e: a revoked terminal is refused"
"$bin/tillcode-api" admin revoke-terminal "$terminal" >/dev/null
expect_problem terminal-not-active till accrue --customer "$ana" --amount 1

if have_cmd promtool; then
    log "e2e: promtool lints a live /metrics scrape"
    curl -fs "$TILLCODE_API/metrics" >"$work/metrics"
    promtool check metrics <"$work/metrics" || die "promtool check metrics failed on the live scrape"
    grep -q 'tillcode_fraud_events_total{reason="code-replayed"}' "$work/metrics" || die "no replay counted in /metrics"
fi

log "e2e: every metric the Grafana dashboard and the alerts query exists in the live scrape"
python3 - "$work/metrics" ops/grafana/tillcode.json ops/prometheus/alerts.yml <<'PY' || die "a dashboard or alert queries a metric the API does not export"
import json, re, sys
scrape = open(sys.argv[1]).read()
exported = set(re.findall(r"^(tillcode_[a-z_]+)", scrape, re.M))
json.load(open(sys.argv[2]))  # the dashboard must be valid JSON
wanted = set(re.findall(r"tillcode_[a-z_]+", open(sys.argv[2]).read() + open(sys.argv[3]).read()))
# Written by `verify-ledger --textfile` (checked above), not by the API.
wanted -= {"tillcode_verify_ledger_ok", "tillcode_verify_ledger_last_run_timestamp_seconds"}
missing = sorted(w for w in wanted if w not in exported)
if missing:
    sys.exit(f"not in /metrics: {missing}")
PY
log "e2e: SIGTERM lets an in-flight request finish, then the server exits cleanly"
# A second server whose Redis never answers: its /readyz takes 2 s, long
# enough to be in flight when SIGTERM arrives.
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
print(s.getsockname()[1], flush=True); time.sleep(60)' >"$work/blackhole.port" &
blackhole=$!
for _ in $(seq 50); do [[ -s $work/blackhole.port ]] && break; sleep 0.1; done
slow_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
TILLCODE_BIND="127.0.0.1:$slow_port" TILLCODE_REDIS_URL="redis://127.0.0.1:$(cat "$work/blackhole.port")" TILLCODE_REDIS_CLUSTER=false \
    "$bin/tillcode-api" serve 2>"$work/slow.log" &
slow=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$slow_port/healthz" >/dev/null && break; sleep 0.2; done
curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$slow_port/readyz" >"$work/inflight.status" &
inflight=$!
sleep 0.5
kill -TERM "$slow"
wait "$inflight" || true
[[ $(cat "$work/inflight.status") == 503 ]] || die "the in-flight request got '$(cat "$work/inflight.status")', not its answer"
wait "$slow" || die "the API exited with status $? after SIGTERM: $(tail -3 "$work/slow.log")"
kill "$blackhole" 2>/dev/null || true
log "e2e: passed"
