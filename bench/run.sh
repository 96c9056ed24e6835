#!/usr/bin/env bash
# Load-test the release build on loopback with wrk (Debian package `wrk`).
#   bench/run.sh [sqlite|postgres] [seconds]
# Starts `clearance serve` on 127.0.0.1:18080 with a fresh database, registers a backend
# client (client_secret_basic, system/*.rs), and measures: discovery, JWKS, client_credentials
# token issuance (an RS256 signature, the token's row and its audit row per request) and
# introspection.
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:-sqlite}
seconds=${2:-10}
bin=${BIN:-target/release/clearance}
[ -x "$bin" ] || cargo build --release
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)"; exit 1; }

work=$(mktemp -d)
if [ "$backend" = postgres ]; then
  db="clearance_bench_$$"
  psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $db"
  export CLEARANCE_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db"
else
  export CLEARANCE_DATABASE_URL="sqlite://$work/bench.db"
fi
export CLEARANCE_LISTEN=127.0.0.1:18080 RUST_LOG=warn
client=$("$bin" client add --name Bench --confidential --system-scope 'system/*.rs')
id=$(echo "$client" | python3 -c 'import json,sys; print(json.load(sys.stdin)["client_id"])')
secret=$(echo "$client" | python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])')
"$bin" serve & server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"; [ "$backend" = postgres ] && psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true' EXIT
for _ in $(seq 50); do curl -sf http://127.0.0.1:18080/readyz >/dev/null && break; sleep 0.2; done

export AUTH=$(printf '%s:%s' "$id" "$secret" | base64 -w0)
base=http://127.0.0.1:18080
echo "== GET /.well-known/openid-configuration"; wrk -t2 -c32 -d"${seconds}s" "$base/.well-known/openid-configuration" | grep -E "Requests/sec|Latency|Non-2xx" || true
echo "== GET /jwks"; wrk -t2 -c32 -d"${seconds}s" "$base/jwks" | grep -E "Requests/sec|Latency|Non-2xx" || true
echo "== POST /token (client_credentials, RS256 JWT, token row + audit row)"
BODY="grant_type=client_credentials&scope=system%2FObservation.rs" wrk -t2 -c32 -d"${seconds}s" -s bench/post.lua "$base/token" | grep -E "Requests/sec|Latency|Non-2xx" || true
token=$(curl -s -u "$id:$secret" -d grant_type=client_credentials -d scope=system/Observation.rs "$base/token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
echo "== POST /introspect (signature check, one select)"
BODY="token=$token" wrk -t2 -c32 -d"${seconds}s" -s bench/post.lua "$base/introspect" | grep -E "Requests/sec|Latency|Non-2xx" || true
