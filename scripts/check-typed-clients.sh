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
# shellcheck source=scripts/need.sh
source "$root/scripts/need.sh"
need npm="nodejs npm"
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

# shellcheck source=scripts/start-server.sh
. "$root/scripts/start-server.sh"
cleanup+=("$generated")
start_server sandbox
wait_for_sandbox

export BRIDGE_URL="$base" ADMIN_PASSWORD="$admin_password"
node "$clients/typescript/.out/workflow.js" || { tail -n 50 "$data_dir/server.log" >&2; exit 1; }
PYTHONPATH="$generated" "$venv/bin/python" "$clients/python/check.py" || { tail -n 50 "$data_dir/server.log" >&2; exit 1; }
