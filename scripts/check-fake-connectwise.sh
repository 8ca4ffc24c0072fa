#!/usr/bin/env bash
# Checks the fake ConnectWise server against the real public client, pyconnectwise.
# Creates a Python venv under target/, runs examples/fake_connectwise.rs, runs the Python check.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$repo/target}"
venv="$target/pyconnectwise-venv"

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check pyconnectwise

cargo build --quiet --manifest-path "$repo/Cargo.toml" --example fake_connectwise
out="$(mktemp)"
"$target/debug/examples/fake_connectwise" >"$out" &
fake_pid=$!
# SIGINT lets the example remove its CA file.
trap 'kill -INT "$fake_pid" 2>/dev/null || true; wait "$fake_pid" 2>/dev/null || true; rm -f "$out"' EXIT

for _ in $(seq 1 100); do
    [ -s "$out" ] && break
    kill -0 "$fake_pid" 2>/dev/null || { echo "the fake server exited" >&2; exit 1; }
    sleep 0.1
done
announcement="$(head -n 1 "$out")"
[ -n "$announcement" ] || { echo "the fake server did not start" >&2; exit 1; }

ca_pem="$("$venv/bin/python" -c 'import json,sys; print(json.loads(sys.argv[1])["ca_pem_path"])' "$announcement")"
REQUESTS_CA_BUNDLE="$ca_pem" "$venv/bin/python" "$repo/scripts/check_fake_connectwise.py" "$announcement"
echo "pyconnectwise check passed"
