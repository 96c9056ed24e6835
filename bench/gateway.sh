#!/usr/bin/env bash
# The FHIR gateway against its upstream called directly, side by side in one run (issue 11).
#   bench/gateway.sh [seconds]
# Starts the test FHIR server (Medplum's FHIR router in memory, tests/fhir-server; run `npm ci`
# there first), seeds one patient with 100 labelled Observations, starts `clearance serve` with
# the gateway in front of it, and measures with wrk: a read, and a search returning 100
# entries (a third withheld by the release rule), each direct and through the gateway. The
# token is a backend service's (system/*.rs, ceiling R + PSY): the gateway verifies it, checks
# its grant-less record, scopes and labels on every request.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
bin=target/release/clearance
[ -x "$bin" ] || cargo build --release
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)"; exit 1; }

work=$(mktemp -d)
(cd tests/fhir-server && exec node server.mjs > "$work/fhir.out") & fhir=$!
trap 'kill $fhir $server 2>/dev/null; rm -rf "$work"' EXIT
server=
for _ in $(seq 50); do grep -q listening "$work/fhir.out" 2>/dev/null && break; sleep 0.2; done
upstream="http://127.0.0.1:$(grep -o '[0-9]*$' "$work/fhir.out")/fhir"

curl -sf -X PUT "$upstream/Patient/alice" -H 'content-type: application/fhir+json' \
  -d '{"resourceType":"Patient","id":"alice"}' >/dev/null
for i in $(seq 1 100); do
  case $((i % 3)) in
    0) labels='[]' ;;
    1) labels='[{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"R"},{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"PSY"}]' ;;
    2) labels='[{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"R"},{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"HIV"}]' ;;
  esac
  curl -sf -X PUT "$upstream/Observation/obs-$i" -H 'content-type: application/fhir+json' \
    -d "{\"resourceType\":\"Observation\",\"id\":\"obs-$i\",\"status\":\"final\",\"code\":{\"text\":\"result $i\"},\"subject\":{\"reference\":\"Patient/alice\"},\"meta\":{\"security\":$labels}}" >/dev/null
done

export CLEARANCE_DATABASE_URL="sqlite://$work/bench.db" CLEARANCE_LISTEN=127.0.0.1:18081 \
  CLEARANCE_FHIR_UPSTREAM="$upstream" RUST_LOG=warn
base=http://127.0.0.1:18081
client=$("$bin" client add --name Bench --confidential --system-scope 'system/*.rs' \
  --max-confidentiality R --allow-sensitivity PSY)
id=$(echo "$client" | python3 -c 'import json,sys; print(json.load(sys.stdin)["client_id"])')
secret=$(echo "$client" | python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])')
"$bin" serve & server=$!
for _ in $(seq 50); do curl -sf "$base/readyz" >/dev/null && break; sleep 0.2; done
token=$(curl -s -u "$id:$secret" -d grant_type=client_credentials -d scope=system/Observation.rs \
  -d aud="$base/fhir" "$base/token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
entries() { curl -s -H "Authorization: Bearer $token" "$1" | python3 -c 'import json,sys; print(len(json.load(sys.stdin).get("entry", [])))'; }
echo "search entries: direct $(entries "$upstream/Observation?_count=100"), gateway $(entries "$base/fhir/Observation?_count=100")"

run() { wrk -t2 -c16 -d"${seconds}s" --latency "$@" | grep -E "Requests/sec|50%|99%|Non-2xx" || true; }
rss() { ps -o rss= -p "$server" | awk '{printf "%.0f MB", $1/1024}'; }
echo "== read, direct";   run "$upstream/Observation/obs-3"
echo "== read, gateway";  run -H "Authorization: Bearer $token" "$base/fhir/Observation/obs-3"
echo "clearance resident memory before the searches: $(rss)"
echo "== search of 100, direct";  run "$upstream/Observation?_count=100"
echo "== search of 100, gateway"; run -H "Authorization: Bearer $token" "$base/fhir/Observation?_count=100"
echo "clearance resident memory after the searches: $(rss)"
