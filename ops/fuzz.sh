#!/usr/bin/env bash
# Fuzzes every decoder the network reaches (fuzz/fuzz_targets/: payment
# codes, link and enrollment codes, public keys, RFC 9421 signature headers,
# Content-Digest, the JSON bodies of the redemption endpoints) with cargo fuzz
# (libFuzzer), each target for a bounded time, starting from the committed
# seeds in fuzz/corpus/. Fails on the first crash, panic or failed property.
# Usage:
#   ops/fuzz.sh [SECONDS] [TARGET...]   default: 20 s for each target
# Run by ops/test.sh (shorter); runnable alone. A crash leaves its input in
# $CARGO_TARGET_DIR/fuzz/artifacts/TARGET/; replay it with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz TARGET FILE
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=ops/lib.sh
source ops/lib.sh

case "${1:-}" in
-h | --help)
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
esac

seconds=${1:-20}
[[ $seconds =~ ^[1-9][0-9]*$ ]] || die "SECONDS must be a positive whole number, not '$seconds'"
shift $(($# > 0 ? 1 : 0))

ensure_cargo_tool cargo fuzz --version -- cargo-fuzz --locked

# cargo fuzz needs nightly-only flags (-Z sanitizer coverage); only the stable
# toolchain is installed, and RUSTC_BOOTSTRAP lets it take them.
export RUSTC_BOOTSTRAP=1

# Its own target dir, beside the workspace's: fuzz builds use other flags and
# would otherwise rebuild the main build's dependencies and back again.
target_root=$(cargo_target_dir)
work="$target_root/fuzz"
mkdir -p "$work"

# No address sanitizer: every crate of ours forbids unsafe code, so ASan
# would find nothing in it, and it makes the build and each run about twice
# as slow. Debug assertions and overflow checks stay on (cargo fuzz's default).
build_args=(--fuzz-dir fuzz --sanitizer none --target-dir "$work/target")

if (($# > 0)); then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list --fuzz-dir fuzz)
fi
((${#targets[@]} > 0)) || die "no fuzz targets found in fuzz/"

log "fuzz: building ${#targets[@]} targets"
cargo fuzz build "${build_args[@]}"

for target in "${targets[@]}"; do
    [[ -d fuzz/corpus/$target ]] || die "no seed corpus fuzz/corpus/$target (run fuzz/seed_corpus.py)"
    # libFuzzer writes what it finds to the first directory: a scratch one
    # kept between runs, never the committed seeds.
    mkdir -p "$work/corpus/$target" "$work/artifacts/$target"
    log "fuzz: $target for ${seconds}s"
    if ! cargo fuzz run "${build_args[@]}" "$target" "$work/corpus/$target" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 -max_len=4096 \
        -artifact_prefix="$work/artifacts/$target/" -print_final_stats=1 \
        >"$work/$target.log" 2>&1; then
        tail -n 60 "$work/$target.log" >&2
        die "fuzz target $target failed; its input is in $work/artifacts/$target/"
    fi
    grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$work/$target.log" |
        tr '\n' ' ' | sed "s/^/    $target: /; s/\$/\n/" >&2
done
log "fuzz: ${#targets[@]} targets ran ${seconds}s each without a crash"
