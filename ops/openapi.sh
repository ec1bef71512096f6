#!/usr/bin/env bash
# Validates the OpenAPI document (what /openapi.json serves, printed by
# `tillcode-api openapi`) against the OpenAPI 3.1 specification with
# openapi-spec-validator (from PyPI, in a venv under the target dir). Needs
# no database, Redis or running API: a few seconds once built.
# Usage:
#   ops/openapi.sh [FILE]   also leave the document in FILE
# Run by ops/test.sh; runnable alone.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=ops/lib.sh
source ops/lib.sh

case "${1:-}" in
-h | --help)
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
esac

# Pinned: a new release may check more, or differently.
VALIDATOR_VERSION=0.9.0

venv="$(cargo_target_dir)/openapi-venv"
doc=$(mktemp --suffix=.json)
trap 'rm -f "$doc"' EXIT

have_venv() { python3 -c 'import ensurepip'; }
ensure_apt_packages "python3-venv have_venv"
installed() {
    [[ $("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("openapi-spec-validator"))' 2>/dev/null) == "$VALIDATOR_VERSION" ]]
}
if ! installed; then
    log "openapi: installing openapi-spec-validator $VALIDATOR_VERSION into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "openapi-spec-validator==$VALIDATOR_VERSION"
fi

bin=$(build_debug)
"$bin/tillcode-api" openapi >"$doc"
[[ -z ${1:-} ]] || cp "$doc" "$1"
log "openapi: validating the document of tillcode-api (OpenAPI $(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['openapi'])" "$doc"))"
"$venv/bin/openapi-spec-validator" --schema 3.1 --validation-errors all "$doc" >&2 ||
    die "the OpenAPI document does not validate (see above)"
