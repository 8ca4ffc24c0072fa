#!/usr/bin/env bash
# Proves the fake KSC server's wire format with Kaspersky's official Python client (KlAkOAPI,
# shipped in the PyPI package ussl-ksc). Exits non-zero on any mismatch.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
work="$target/fake-ksc-check"
mkdir -p "$work"

if [[ ! -x "$work/venv/bin/python" ]]; then
    python3 -m venv "$work/venv"
fi
# KlAkOAPI only needs requests (plus its certifi/urllib3); ussl-ksc's other dependencies are not used.
"$work/venv/bin/pip" install --quiet --disable-pip-version-check requests
if [[ ! -d "$work/pkg/KlAkOAPI" ]]; then
    "$work/venv/bin/pip" download --quiet --disable-pip-version-check --no-deps ussl-ksc -d "$work/dist"
    "$work/venv/bin/python" -m zipfile -e "$(ls "$work"/dist/ussl_ksc-*.whl | head -n 1)" "$work/pkg"
fi

cargo build --quiet --manifest-path "$root/Cargo.toml" --example fake_ksc
"$target/debug/examples/fake_ksc" "$work" > "$work/fake.json" &
fake_pid=$!
trap 'kill "$fake_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
    [[ -s "$work/fake.json" ]] && break
    sleep 0.1
done
[[ -s "$work/fake.json" ]] || { echo "the fake KSC server did not start" >&2; exit 1; }

PYTHONPATH="$work/pkg" "$work/venv/bin/python" "$root/scripts/check_fake_ksc.py" "$work/fake.json"
