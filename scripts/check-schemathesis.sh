#!/usr/bin/env bash
# Contract fuzzing: starts the server on 127.0.0.1 with a throw-away data directory and runs
# Schemathesis against its own OpenAPI document, every operation, with the checks that the
# server never fails (5xx), and that every status, content type and body is documented.
# Exits non-zero on any failure. Only 127.0.0.1 is ever contacted: the base URL is pinned, and
# BRIDGE_OUTBOUND_ALLOW keeps fuzzed connection URLs from making the server reach elsewhere.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="$target/schemathesis-venv"
# Small enough that the whole check stays within a few minutes on two cores.
max_examples="${SCHEMATHESIS_MAX_EXAMPLES:-40}"
# Fixed, so CI is reproducible; another seed explores other inputs. One worker: a seed only
# reproduces a run with one, and Hypothesis' lambda-source cache is not thread-safe (it has
# failed runs with "AST constructor recursion depth mismatch").
seed="${SCHEMATHESIS_SEED:-1}"

if [[ ! -x "$venv/bin/schemathesis" ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check schemathesis
fi

cargo build --quiet --manifest-path "$root/Cargo.toml" --bin kaspersky-msp-bridge

# Both backends: SQLite in the data directory, then (when reachable) a fresh PostgreSQL
# database. The second pass is this script again with SCHEMATHESIS_DATABASE_URL set.
database_url="${SCHEMATHESIS_DATABASE_URL:-}"
pg_url="${SCHEMATHESIS_PG_URL:-postgres://bridge_ci:bridge_ci@127.0.0.1:5432/postgres}"
pg_database=""
if [[ -n "$database_url" ]]; then
    echo "schemathesis: on PostgreSQL"
else
    echo "schemathesis: on SQLite"
fi

data_dir="$(mktemp -d)"
port="$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
admin_password="schemathesis-admin-$RANDOM$RANDOM"

if [[ -n "$database_url" ]]; then
    export DATABASE_URL="$database_url"
fi
BRIDGE_DATA_DIR="$data_dir" \
    BRIDGE_BIND="127.0.0.1:$port" \
    BRIDGE_ADMIN_PASSWORD="$admin_password" \
    BRIDGE_OUTBOUND_ALLOW="127.0.0.1/32" \
    BRIDGE_LOG_FORMAT=json \
    RUST_LOG=warn \
    "$target/debug/kaspersky-msp-bridge" > "$data_dir/server.log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; rm -rf "$data_dir"' EXIT

# Plain Python instead of curl, which a fresh CI machine may lack. `call PATH [TOKEN [JSON]]`
# prints the body and fails on any non-2xx answer.
call() {
    "$venv/bin/python" - "$base$1" "${2:-}" "${3:-}" <<'PY'
import sys, urllib.request
url, token, body = sys.argv[1:4]
request = urllib.request.Request(url, data=body.encode() or None)
if token:
    request.add_header("Authorization", f"Bearer {token}")
if body:
    request.add_header("Content-Type", "application/json")
print(urllib.request.urlopen(request, timeout=10).read().decode())
PY
}
json_field() { "$venv/bin/python" -c "import json, sys; print(json.load(sys.stdin)['$1'])"; }

for _ in $(seq 1 300); do
    call /healthz >/dev/null 2>&1 && break
    sleep 0.1
done
call /healthz >/dev/null || { cat "$data_dir/server.log" >&2; echo "the server did not start" >&2; exit 1; }

admin_jwt="$(call /api/v1/auth/login "" "{\"username\":\"admin\",\"password\":\"$admin_password\"}" | json_field access_token)"
# A service token, not the admin's login: fuzzed password changes and user edits cannot touch
# it, and schemathesis.toml keeps Schemathesis from learning its id and revoking it.
token="$(call /api/v1/service-tokens "$admin_jwt" '{"name":"schemathesis","role":"admin"}' | json_field token)"

status=0
# Schemathesis keeps a cache in its working directory: under the target directory, not the repo.
mkdir -p "$target/schemathesis-work"
(cd "$target/schemathesis-work" && "$venv/bin/schemathesis" --config-file "$root/scripts/schemathesis.toml" run "$base/api-docs/openapi.json" \
    --url "$base" \
    --header "Authorization: Bearer $token" \
    --max-examples "$max_examples" \
    --phases examples,coverage,fuzzing,stateful \
    --seed "$seed" \
    --workers 1 \
    --request-timeout 10 \
    --max-redirects 0 \
    --suppress-health-check all \
    --report junit --report-dir "$target/schemathesis-report") \
    || status=$?

# A run that lost its credentials only saw 401s: that is a failure of the check, not a pass.
call /api/v1/auth/me "$token" >/dev/null || { echo "the fuzzing token stopped working mid-run" >&2; status=1; }

if [[ $status -ne 0 ]]; then
    echo "--- server errors ---" >&2
    grep -i '"level":"ERROR"' "$data_dir/server.log" | tail -n 20 >&2 || true
fi
[[ $status -eq 0 ]] || exit "$status"

if [[ -z "$database_url" ]]; then
    if command -v psql >/dev/null 2>&1 && psql "$pg_url" -qtAc 'SELECT 1' >/dev/null 2>&1; then
        pg_database="schemathesis_$RANDOM$RANDOM"
        psql "$pg_url" -qc "CREATE DATABASE $pg_database" >/dev/null
        pg_status=0
        SCHEMATHESIS_DATABASE_URL="${pg_url%/*}/$pg_database" bash "$0" || pg_status=$?
        psql "$pg_url" -qc "DROP DATABASE $pg_database WITH (FORCE)" >/dev/null || true
        exit "$pg_status"
    fi
    echo "schemathesis: PostgreSQL not reachable at $pg_url: SQLite only" >&2
fi
