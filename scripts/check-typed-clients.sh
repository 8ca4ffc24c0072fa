#!/usr/bin/env bash
# Typed clients generated from the committed openapi/openapi.json, proven against a live server:
# TypeScript (openapi-typescript types + openapi-fetch, `tsc --strict`, then run with Node:
# clients/typescript/workflow.ts) and Python (openapi-python-client, pinned in
# clients/python/requirements.txt: imports and calls, clients/python/check.py). The server is the
# sandbox (fake ConnectWise and KSC) on a free port of 127.0.0.1 with a throw-away data
# directory. A spec change that breaks either client fails. Only 127.0.0.1 is contacted.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
clients="$root/clients"
export npm_config_fund=false npm_config_audit=false

command -v npm >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null; }
(cd "$clients" && npm ci --silent)

echo "typed clients: TypeScript types from the committed spec, tsc --strict"
(cd "$clients" && npx --no-install openapi-typescript "$root/openapi/openapi.json" -o typescript/api.d.ts >/dev/null 2>&1)
rm -rf "$clients/typescript/.out"
(cd "$clients/typescript" && npx --no-install tsc -p tsconfig.json --outDir .out)

echo "typed clients: Python client from the committed spec"
venv="$target/clients-venv"
if [[ ! -x "$venv/bin/openapi-python-client" ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$clients/python/requirements.txt"
fi
generated="$(mktemp -d)"
(cd "$generated" && "$venv/bin/openapi-python-client" generate --path "$root/openapi/openapi.json" \
    --meta none --output-path "$generated/bridge_client" >/dev/null)

cargo build --quiet --manifest-path "$root/Cargo.toml" --bin kaspersky-msp-bridge

data_dir="$(mktemp -d)"
port="$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
admin_password="clients-admin-$RANDOM$RANDOM"
BRIDGE_DATA_DIR="$data_dir" \
    BRIDGE_BIND="127.0.0.1:$port" \
    BRIDGE_ADMIN_PASSWORD="$admin_password" \
    BRIDGE_OUTBOUND_ALLOW="127.0.0.1/32" \
    BRIDGE_SCHEDULER=off \
    RUST_LOG=warn \
    "$target/debug/kaspersky-msp-bridge" sandbox > "$data_dir/server.log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; rm -rf "$data_dir" "$generated"' EXIT

# The sandbox prints its guide, ending with the curl line of the fake's additions, once ready.
for _ in $(seq 1 600); do
    grep -q "curl -s -u" "$data_dir/server.log" && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
done
grep -q "curl -s -u" "$data_dir/server.log" || { cat "$data_dir/server.log" >&2; echo "the sandbox did not start" >&2; exit 1; }

export BRIDGE_URL="http://127.0.0.1:$port" ADMIN_PASSWORD="$admin_password"
node "$clients/typescript/.out/workflow.js" || { tail -n 50 "$data_dir/server.log" >&2; exit 1; }
PYTHONPATH="$generated" "$venv/bin/python" "$clients/python/check.py" || { tail -n 50 "$data_dir/server.log" >&2; exit 1; }
