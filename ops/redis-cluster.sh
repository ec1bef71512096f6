#!/usr/bin/env bash
# Tillcode against a Redis Cluster: starts three `redis-server` masters on
# random loopback ports (cluster mode, no persistence, data under the cargo
# target directory), joins them with `redis-cli --cluster create`, and then
#   - ops/e2e.sh, both CLIs against a live API on the cluster;
#   - the Redis-heavy api tests (codes, redemptions, fraud, links, devices,
#     customers, staff, terminals, rate limits) on the cluster;
#   - ops/two-apis.sh, two API processes behind one port, on the cluster.
# Every process it started is stopped on exit. Run by ops/test.sh.
# Usage:
#   ops/redis-cluster.sh              the tests above
#   ops/redis-cluster.sh CMD [ARG...] only CMD, with TILLCODE_TEST_REDIS_URL
#                                     and TILLCODE_TEST_REDIS_CLUSTER=true set
# Environment: TILLCODE_TEST_DATABASE_URL (as test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=ops/lib.sh
source ops/lib.sh

masters=3
ensure_apt_packages "redis-server have_cmd redis-server" "redis-tools have_cmd redis-cli"

target=$(cargo_target_dir)
data="$target/redis-cluster/$$"
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$data"
    rmdir "$target/redis-cluster" 2>/dev/null || true
}
trap cleanup EXIT

# Two free ports per node: clients, and the cluster bus (by default client
# port + 10000, which may not be free or may not exist).
read -r -a ports < <(python3 -c "
import socket
socks = [socket.socket() for _ in range(2 * $masters)]
for s in socks: s.bind(('127.0.0.1', 0))
print(' '.join(str(s.getsockname()[1]) for s in socks))")

nodes=() urls=()
for ((i = 0; i < masters; i++)); do
    port=${ports[2 * i]}
    mkdir -p "$data/$port"
    redis-server --bind 127.0.0.1 --port "$port" --cluster-port "${ports[2 * i + 1]}" \
        --cluster-enabled yes --cluster-config-file "$data/$port/nodes.conf" --cluster-node-timeout 5000 \
        --dir "$data/$port" --save '' --appendonly no --daemonize no --logfile "$data/$port/redis.log" &
    pids+=($!)
    nodes+=("127.0.0.1:$port")
    urls+=("redis://127.0.0.1:$port")
done
for url in "${urls[@]}"; do
    for _ in $(seq 100); do redis_reachable "$url" && break; sleep 0.1; done
    redis_reachable "$url" || die "redis-server on $url did not start: $(tail -5 "$data/${url##*:}/redis.log")"
done

log "redis-cluster: joining ${nodes[*]}"
redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >"$data/create.log" ||
    die "redis-cli --cluster create failed: $(cat "$data/create.log")"
# Every node must agree that all 16384 slots are served before the tests start.
for _ in $(seq 100); do
    ok=0
    for url in "${urls[@]}"; do
        redis-cli -u "$url" cluster info | grep -q '^cluster_state:ok' && ok=$((ok + 1))
    done
    ((ok == masters)) && break
    sleep 0.1
done
((ok == masters)) || die "the cluster did not reach cluster_state:ok: $(redis-cli -u "${urls[0]}" cluster info)"

export TILLCODE_TEST_REDIS_CLUSTER=true
TILLCODE_TEST_REDIS_URL=$(
    IFS=,
    echo "${urls[*]}"
)
export TILLCODE_TEST_REDIS_URL

if (($# > 0)); then
    "$@"
    exit
fi

log "redis-cluster: end to end (ops/e2e.sh) on the cluster"
ops/e2e.sh

log "redis-cluster: the Redis-heavy api tests on the cluster"
# --workspace with a package filter, not -p: the same build as every other
# step's (ops/lib.sh build_debug), where -p would compile another variant.
cargo nextest run --workspace -E 'package(tillcode-api)' --locked --no-fail-fast \
    codes:: redemptions:: fraud:: links:: devices:: customers:: staff:: terminals:: rate_limit dashboard::actions

log "redis-cluster: two API processes behind one port on the cluster"
ops/two-apis.sh

# The keys must really have spread: every master served a share of the data
# commands (a layout that put everything in one slot would leave two idle).
# Connection upkeep (PING, CLUSTER SLOTS, INFO...) and what goes to every
# master anyway (SCRIPT LOAD, the tests' KEYS) do not count.
for url in "${urls[@]}"; do
    served=$(redis-cli -u "$url" info commandstats |
        awk -F'[=,]' '/^cmdstat_/ && !/^cmdstat_(ping|cluster|info|client|hello|command|config|readonly|select|keys|script)/ { n += $2 } END { print n + 0 }')
    log "redis-cluster: $url served $served data commands"
    ((served > 100)) || die "$url served only $served data commands: the keys did not spread over the cluster"
done
log "redis-cluster: passed"
