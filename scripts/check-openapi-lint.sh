#!/usr/bin/env bash
# Lints the committed OpenAPI document with Redocly (its recommended rules) and Spectral
# (spectral:oas), both pinned in clients/package.json: any error or warning of either fails.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
clients="$root/clients"
spec="$root/openapi/openapi.json"
# shellcheck source=scripts/need.sh
source "$root/scripts/need.sh"
need npm="nodejs npm"
(cd "$clients" && npm ci --silent)

echo "openapi lint: redocly"
totals="$(cd "$clients" && npx --no-install redocly lint --config redocly.yaml --format=json "$spec" 2>/dev/null \
    | python3 -c 'import json, sys; t = json.load(sys.stdin)["totals"]; print(t["errors"], t["warnings"])')"
read -r errors warnings <<<"$totals"
if [[ "$errors" != 0 || "$warnings" != 0 ]]; then
    (cd "$clients" && npx --no-install redocly lint --config redocly.yaml "$spec") >&2 || true
    echo "redocly: $errors errors, $warnings warnings" >&2
    exit 1
fi

echo "openapi lint: spectral"
(cd "$clients" && npx --no-install spectral lint --ruleset .spectral.yaml --fail-severity warn "$spec")
echo "openapi lint: 0 errors, 0 warnings from both"
