#!/usr/bin/env bash
# Regenerates db/src/schema.rs from migrations/: applies them to a scratch
# database and writes `diesel print-schema` output. Run it after adding or
# changing a migration, and commit the result; ops/test.sh fails until you do.
# Environment:
#   TILLCODE_TEST_DATABASE_URL  admin URL of the Postgres to use
#                               (default postgres://postgres@127.0.0.1:5432/postgres)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=ops/lib.sh
source ops/lib.sh

# Same server and variable as the tests, so one setting serves both.
admin_url="${TILLCODE_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

ensure_apt_packages "postgresql-client have_cmd psql"
ensure_diesel_cli
require_postgres "$admin_url" TILLCODE_TEST_DATABASE_URL

render_schema "$admin_url" db/src/schema.rs
log "wrote db/src/schema.rs"
git --no-pager diff --stat -- db/src/schema.rs 2>/dev/null || true
