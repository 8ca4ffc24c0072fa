#!/usr/bin/env bash
# The monitoring that ships in deploy/ matches the server: every metric the Grafana dashboard
# and the Prometheus alert rules use exists in /metrics of a live server (started on a free
# port of 127.0.0.1 with a throw-away SQLite database), and `promtool check rules` accepts the
# rules (promtool from Debian's prometheus package, installed when missing; skipped with a
# message where it cannot be installed). Exits non-zero on any failure.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
rules="$root/deploy/prometheus/alerts.yml"
dashboard="$root/deploy/grafana/kaspersky-msp-bridge.json"
export DEBIAN_FRONTEND=noninteractive

if ! command -v promtool >/dev/null 2>&1; then
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus; } >/dev/null 2>&1 || true
fi
if command -v promtool >/dev/null 2>&1; then
    echo "metrics: promtool check rules"
    promtool check rules "$rules"
else
    echo "metrics: promtool is not installable here: alert rules not checked by promtool"
fi
python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$dashboard"

cargo build --quiet --manifest-path "$root/Cargo.toml" --bin kaspersky-msp-bridge

data_dir="$(mktemp -d)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BRIDGE_DATA_DIR="$data_dir" \
    DATABASE_URL="sqlite://$data_dir/bridge.db" \
    BRIDGE_BIND="127.0.0.1:$port" \
    BRIDGE_ADMIN_PASSWORD="metrics-admin-$RANDOM$RANDOM" \
    BRIDGE_SCHEDULER=off \
    RUST_LOG=warn \
    "$target/debug/kaspersky-msp-bridge" serve > "$data_dir/server.log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; rm -rf "$data_dir"' EXIT

base="http://127.0.0.1:$port"
for _ in $(seq 1 300); do
    curl -fsS "$base/healthz" >/dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
done
curl -fsS "$base/healthz" >/dev/null || { cat "$data_dir/server.log" >&2; echo "the server did not start" >&2; exit 1; }
# One answered request of each kind first, so the per-request series exist.
curl -fsS "$base/metrics" >/dev/null
exposition="$(curl -fsS "$base/metrics")"

used="$(grep -ohE '\b(bridge|process)_[a-z0-9_]+' "$rules" "$dashboard" | sort -u)"
[ -n "$used" ] || { echo "no metric found in $rules and $dashboard" >&2; exit 1; }
missing=0
count=0
for name in $used; do
    count=$((count + 1))
    if ! grep -qE "^${name}(\{| )" <<<"$exposition"; then
        echo "metrics: $name is used by deploy/ but not in /metrics" >&2
        missing=1
    fi
done
[ "$missing" = 0 ] || exit 1
echo "metrics: all $count metrics used by the dashboard and the alert rules exist in /metrics"
