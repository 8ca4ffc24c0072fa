#!/usr/bin/env bash
# A fresh machine with only the Rust toolchain and a C compiler builds and runs the server: the
# default build compiles libpq (pq-src) and SQLite from source, so it needs no system library
# beyond libc. Checked here by building in a mount namespace where the system's libpq (headers,
# libraries, pkg-config data, pg_config) is hidden, into a target directory of its own, then
# checking what the binary links, starting it on SQLite and migrating a fresh PostgreSQL
# database with it. Exits non-zero on any failure.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}/fresh-machine"
pg_url="${FRESH_MACHINE_PG_URL:-postgres://bridge_ci:bridge_ci@127.0.0.1:5432}"
# shellcheck source=scripts/need.sh
source "$root/scripts/need.sh"
need readelf=binutils curl=curl psql=postgresql-client

# Everything of the system's libpq a build could find.
hidden=()
for path in /usr/include/postgresql /usr/lib/*/libpq.so* /usr/lib/*/libpq.a \
    /usr/lib/*/pkgconfig/libpq.pc /usr/bin/pg_config /usr/lib/postgresql/*/bin/pg_config; do
    [[ -e "$path" ]] && hidden+=("$(readlink -f "$path")")
done
echo "fresh machine: building with ${#hidden[@]} libpq files hidden"
unshare --mount bash -euc '
    root="$1" target="$2"; shift 2
    for path in "$@"; do
        if [[ -d "$path" ]]; then mount -t tmpfs none "$path"; else mount --bind /dev/null "$path"; fi
    done
    ! pkg-config --exists libpq 2>/dev/null || { echo "libpq is still visible" >&2; exit 1; }
    CARGO_TARGET_DIR="$target" PKG_CONFIG_PATH= cargo build --quiet --locked --offline \
        --manifest-path "$root/Cargo.toml" --bin kaspersky-msp-bridge
' _ "$root" "$target" "${hidden[@]}"
binary="$target/debug/kaspersky-msp-bridge"

echo "fresh machine: the binary links nothing beyond libc"
readelf -d "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | while read -r library; do
    case "$library" in
        libc.so.6 | libm.so.6 | libgcc_s.so.1 | ld-linux-*.so.*) ;;
        *) echo "the default build links $library" >&2; exit 1 ;;
    esac
done

echo "fresh machine: serves on SQLite"
data="$(mktemp -d)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BRIDGE_DATA_DIR="$data" BRIDGE_BIND="127.0.0.1:$port" BRIDGE_SCHEDULER=off RUST_LOG=warn \
    "$binary" serve > "$data/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
    sleep 0.1
done
curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || { cat "$data/server.log" >&2; exit 1; }

echo "fresh machine: migrates PostgreSQL with the bundled libpq"
database="fresh_machine_$$"
psql -q "$pg_url/postgres" -c "CREATE DATABASE $database"
migrated=0
BRIDGE_DATA_DIR="$data/pg" DATABASE_URL="$pg_url/$database" "$binary" migrate || migrated=$?
psql -q "$pg_url/postgres" -c "DROP DATABASE $database WITH (FORCE)"
[[ $migrated == 0 ]] || { echo "migrate failed" >&2; exit 1; }
echo "fresh machine: ok"
