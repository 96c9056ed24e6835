#!/usr/bin/env bash
# The same wrk load against node oidc-provider 9.13.3 (bench/peer/server.mjs), for a side-by-side
# comparison with bench/run.sh on the same machine:
#   bench/peer.sh [seconds] [processes]
# The peer signs RS256 JWT access tokens like Clearance, keeps them in memory only (nothing is
# written per token, where Clearance inserts a row for revocation and introspection) and runs
# one Node process per core (default 2) through node:cluster. Needs Node.js 20+ and npm.
set -euo pipefail
cd "$(dirname "$0")/peer"
seconds=${1:-10}
processes=${2:-2}
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)"; exit 1; }
[ -d node_modules/oidc-provider ] || npm install --no-audit --no-fund --loglevel=error
PEER_PORT=13000 PEER_PROCESSES=$processes node server.mjs 2>/dev/null & server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf http://127.0.0.1:13000/jwks >/dev/null && break; sleep 0.2; done

export AUTH=$(printf 'bench:bench-secret' | base64 -w0)
base=http://127.0.0.1:13000
echo "== peer ($processes processes) GET /.well-known/openid-configuration"; wrk -t2 -c32 -d"${seconds}s" "$base/.well-known/openid-configuration" | grep -E "Requests/sec|Latency|Non-2xx" || true
echo "== peer GET /jwks"; wrk -t2 -c32 -d"${seconds}s" "$base/jwks" | grep -E "Requests/sec|Latency|Non-2xx" || true
echo "== peer POST /token (client_credentials, RS256 JWT, kept in memory only)"
BODY="grant_type=client_credentials&scope=system%2FObservation.rs" wrk -t2 -c32 -d"${seconds}s" -s ../post.lua "$base/token" | grep -E "Requests/sec|Latency|Non-2xx" || true
