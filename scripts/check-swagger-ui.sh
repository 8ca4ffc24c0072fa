#!/usr/bin/env bash
# Swagger UI in headless Chromium (clients/swagger-ui.mjs): examples and descriptions shown, the
# token persists across reloads, the Authorize dialog says how to get one, no Explore bar. Starts
# the server on a free port of 127.0.0.1 with a throw-away data directory; Debian's Chromium and
# playwright-core (pinned in clients/package.json), no browser download. The screenshot lands in
# <target>/swagger-ui.png. Only 127.0.0.1 is contacted.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
clients="$root/clients"
# shellcheck source=scripts/need.sh
source "$root/scripts/need.sh"
need chromium=chromium npm="nodejs npm"
(cd "$clients" && npm ci --silent)

cargo build --quiet --manifest-path "$root/Cargo.toml" --bin kaspersky-msp-bridge

# shellcheck source=scripts/start-server.sh
. "$root/scripts/start-server.sh"
start_server
token=""
for _ in $(seq 1 300); do
    token="$(node -e "
        fetch('$base/api/v1/auth/login', {method: 'POST', headers: {'Content-Type': 'application/json'},
            body: JSON.stringify({username: 'admin', password: process.argv[1]})})
          .then(r => r.json()).then(b => console.log(b.access_token)).catch(() => {})" "$admin_password")" || true
    [[ -n "$token" && "$token" != undefined ]] && break
    sleep 0.1
done
[[ -n "$token" && "$token" != undefined ]] || { cat "$data_dir/server.log" >&2; echo "the server did not start" >&2; exit 1; }

BRIDGE_URL="$base" BRIDGE_TOKEN="$token" SCREENSHOT="$target/swagger-ui.png" \
    node "$clients/swagger-ui.mjs" || { tail -n 50 "$data_dir/server.log" >&2; exit 1; }
echo "swagger ui: screenshot in $target/swagger-ui.png"
