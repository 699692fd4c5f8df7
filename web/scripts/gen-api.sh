#!/bin/sh
# Regenerates src/lib/api/schema.d.ts (the typed client's types) from the server's
# OpenAPI document. tests/web/test_client_fresh.py fails when the committed file is stale.
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp --suffix=.json)
trap 'rm -f "$tmp"' EXIT
${VOICEBRIDGE:-voicebridge} openapi > "$tmp"
node_modules/.bin/openapi-typescript "$tmp" -o src/lib/api/schema.d.ts
