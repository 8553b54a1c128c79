#!/usr/bin/env bash
# The cost of authorization (issue #17): "Reads by id and creates with a bearer
# token at 32 connections, side by side in one run with the same load without
# authorization: authorization may cost at most 10% of throughput. Token
# endpoint: at least 500 client_credentials grants/s."
#
# One release binary, two gateways on their own databases, seeded alike: one
# as `serve` runs (every request verified: an operator token, system/*.cruds),
# one with `--insecure-no-auth` (no Authorization header at all). Per run, in
# alternating order, wrk read-by-id (bench/read.lua) and create
# (bench/create.lua) at CONNS connections against each; medians of RUNS and the
# with/without ratios.
#
# Then the token endpoint of the first gateway: a backend client registered
# with `fhirgate clients add --kind backend` (an ES384 and an RS384 key,
# bench/assertions.py), GRANTS client_credentials grants per algorithm, each
# with a fresh assertion (unique jti: the server records every jti, a row per
# grant), at GRANT_CONNS connections (bench/token.lua); 2xx grants/s and p99.
#
#   bench/auth.sh   (RUNS=3 DURATION=10 CONNS=32 GRANTS=10000 GRANT_CONNS=16
#                    ALGS="ES384 RS384"; RUNS=0 or GRANTS=0 skips a part;
#                    BIN=, SKIP_BUILD=1, PGURL=, PORT=, NOAUTH_PORT=, OUT=)
# Needs: wrk, pgbench's PostgreSQL on 127.0.0.1:5432 (trust auth), python3 with
# venv (PyJWT and cryptography are installed into target/bench-venv once).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
RUNS=${RUNS:-3}
CONNS=${CONNS:-32}
GRANTS=${GRANTS:-10000}
GRANT_CONNS=${GRANT_CONNS:-16}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
PORT=${PORT:-18084}
NOAUTH_PORT=${NOAUTH_PORT:-18085}
OUT=${OUT:-target/bench-auth}
VENV=${VENV:-target/bench-venv}
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/release/fhirgate}
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)"; exit 1; }
. bench/lib.sh
rm -rf "$OUT"
mkdir -p "$OUT"
[ "${SKIP_BUILD:-0}" = 1 ] || cargo build --release --quiet --bin fhirgate
if ! "$VENV/bin/python" -c 'import jwt, cryptography' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "PyJWT>=2.8,<3" "cryptography>=42"
fi

for db in fhirgate_bench_auth fhirgate_bench_noauth; do
  psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
done
GW_AUTH=(FHIRGATE_DATABASE_URL="$PGURL/fhirgate_bench_auth" FHIRGATE_MLLP_DISABLED=true
  FHIRGATE_HTTP_ADDR="127.0.0.1:$PORT" FHIRGATE_DATA_DIR="$OUT/data-auth")
GW_NOAUTH=(FHIRGATE_DATABASE_URL="$PGURL/fhirgate_bench_noauth" FHIRGATE_MLLP_DISABLED=true
  FHIRGATE_HTTP_ADDR="127.0.0.1:$NOAUTH_PORT" FHIRGATE_DATA_DIR="$OUT/data-noauth" FHIRGATE_INSECURE_NO_AUTH=true)
for p in "$PORT" "$NOAUTH_PORT"; do
  if curl -s -o /dev/null "http://127.0.0.1:$p/healthz"; then echo "something already listens on port $p" >&2; exit 1; fi
done
env "${GW_AUTH[@]}" FHIRGATE_LOG=warn "$BIN" serve > "$OUT/server-auth.log" 2>&1 &
AUTH_PID=$!
env "${GW_NOAUTH[@]}" FHIRGATE_LOG=warn "$BIN" serve > "$OUT/server-noauth.log" 2>&1 &
NOAUTH_PID=$!
trap 'kill $AUTH_PID $NOAUTH_PID 2>/dev/null; wait $AUTH_PID $NOAUTH_PID 2>/dev/null' EXIT
wait_ready "$PORT"
wait_ready "$NOAUTH_PORT"
bench_token "$BIN" "${GW_AUTH[@]}"
TOKEN=$FHIRGATE_BENCH_TOKEN
unset FHIRGATE_BENCH_TOKEN
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/fhir/Patient?_count=1")
[ "$code" = 401 ] || { echo "the gateway with authorization answered $code without a token" >&2; exit 1; }
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$NOAUTH_PORT/fhir/Patient?_count=1")
[ "$code" = 200 ] || { echo "the gateway without authorization answered $code" >&2; exit 1; }

# The same 1,000 Patients in each; their ids for read.lua.
seed() { # port file [curl header]
  : > "$2"
  for i in $(seq 1000); do
    curl -s -D - -o /dev/null -X POST "http://127.0.0.1:$1/fhir/Patient" -H 'Content-Type: application/fhir+json' \
      -H 'Prefer: return=minimal' ${3:+-H "$3"} \
      -d "{\"resourceType\":\"Patient\",\"identifier\":[{\"system\":\"urn:seed\",\"value\":\"S-$i\"}],\"name\":[{\"family\":\"Seed$i\",\"given\":[\"Read\"]}],\"birthDate\":\"1980-01-01\"}" \
      | tr -d '\r' | sed -n 's#^location: .*/Patient/\([^/]*\)/_history/.*#\1#ip' >> "$2"
  done
  [ "$(wc -l < "$2")" = 1000 ] || { echo "seeding the gateway on port $1 failed" >&2; exit 1; }
}
seed "$PORT" "$OUT/ids-auth.txt" "Authorization: Bearer $TOKEN"
seed "$NOAUTH_PORT" "$OUT/ids-noauth.txt"

rps_wrk() { sed -n 's/^Requests\/sec: *\([0-9.]*\)/\1/p' "$1"; }
p99_wrk() { sed -n 's/^ *99% *\([0-9.]*\)\(us\|ms\|s\)$/\1 \2/p' "$1" | awk '{v=$1; if ($2=="us") v/=1000; if ($2=="s") v*=1000; print v}'; }
load() { # kind(read|create) side(auth|noauth) run -> rps p99 gateway-CPU-us-per-request
  local f="$OUT/$1-$2-$3.txt" pid=$AUTH_PID t0 t1 n
  [ "$2" = auth ] || pid=$NOAUTH_PID
  t0=$(ticks "$pid")
  if [ "$2" = auth ]; then
    FHIRGATE_BENCH_TOKEN=$TOKEN FHIRGATE_BENCH_IDS="$OUT/ids-auth.txt" \
      wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -s "bench/$1.lua" "http://127.0.0.1:$PORT" > "$f"
  else
    FHIRGATE_BENCH_IDS="$OUT/ids-noauth.txt" \
      wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -s "bench/$1.lua" "http://127.0.0.1:$NOAUTH_PORT" > "$f"
  fi
  t1=$(ticks "$pid")
  if grep -qE "Non-2xx|Socket errors" "$f"; then echo "$1 $2 run $3: $(grep -E "Non-2xx|Socket errors" "$f")" | tee -a "$OUT/errors.txt" >&2; fi
  n=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$f")
  echo "$(rps_wrk "$f") $(p99_wrk "$f") $(( (t1 - t0) * 10000 / n ))"
}
: > "$OUT/results.txt"
: > "$OUT/errors.txt"
for r in $(seq "$RUNS"); do
  # Alternate which side goes first, so that drift in the machine's speed
  # (other work on the shared cores) does not favour one side.
  if [ $((r % 2)) = 1 ]; then order="auth noauth"; else order="noauth auth"; fi
  declare -A got=()
  for kind in read create; do
    for side in $order; do got[$kind-$side]=$(load "$kind" "$side" "$r"); done
  done
  line="${got[read-auth]} ${got[read-noauth]} ${got[create-auth]} ${got[create-noauth]}"
  echo "run $r ($order first; load $(cut -d' ' -f1-3 /proc/loadavg)): $line" >&2
  echo "$line" >> "$OUT/results.txt"
done

# --- the token endpoint --------------------------------------------------------
"$VENV/bin/python" bench/assertions.py keys "$OUT/client"
env "${GW_AUTH[@]}" FHIRGATE_LOG=error "$BIN" clients add bench-backend --kind backend \
  --jwks "$OUT/client/jwks.json" --scopes "system/*.rs" > /dev/null
TOKEN_URL="http://127.0.0.1:$PORT/fhir/auth/token"
: > "$OUT/grants.txt"
ALGS=${ALGS:-ES384 RS384}
[ "$GRANTS" -gt 0 ] || ALGS=
for alg in $ALGS; do
  echo "making $GRANTS $alg assertions" >&2
  "$VENV/bin/python" bench/assertions.py make "$OUT/client" "$alg" "$GRANTS" bench-backend "$TOKEN_URL" "system/*.rs" "$OUT/assertions-$alg.txt"
  # One grant first: the endpoint works, and its response is what we think.
  head -1 "$OUT/assertions-$alg.txt" | tr -d '\n' > "$OUT/probe-$alg.txt"
  code=$(curl -s -o "$OUT/probe-$alg.json" -w '%{http_code}' -H 'Content-Type: application/x-www-form-urlencoded' \
    --data-binary @"$OUT/probe-$alg.txt" "$TOKEN_URL")
  [ "$code" = 200 ] || { echo "$alg grant: HTTP $code $(head -c 300 "$OUT/probe-$alg.json")" >&2; exit 1; }
  tail -n +2 "$OUT/assertions-$alg.txt" > "$OUT/load-$alg.txt"
  rows0=$(psql "$PGURL/fhirgate_bench_auth" -Atc "SELECT count(*) FROM auth_assertion_jtis")
  rm -f "$OUT/done-$alg"
  FHIRGATE_BENCH_ASSERTIONS="$OUT/load-$alg.txt" FHIRGATE_BENCH_DONE="$OUT/done-$alg" wrk -t2 -c"$GRANT_CONNS" -d600s \
    --timeout 10s -s bench/token.lua "$TOKEN_URL" -- 2 > "$OUT/token-$alg.txt" &
  WRK=$!
  # wrk sleeps out -d even when its threads have stopped: interrupt it then.
  while kill -0 "$WRK" 2>/dev/null && [ "$(cat "$OUT/done-$alg" 2>/dev/null | wc -l)" -lt 2 ]; do sleep 0.2; done
  kill -INT "$WRK" 2>/dev/null || true
  wait "$WRK" || true
  rows1=$(psql "$PGURL/fhirgate_bench_auth" -Atc "SELECT count(*) FROM auth_assertion_jtis")
  result=$(grep '^RESULT' "$OUT/token-$alg.txt")
  echo "$alg: $result (jti rows $rows0 -> $rows1; load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  grep FIRST_FAILED "$OUT/token-$alg.txt" >&2 || true
  echo "$alg $result" >> "$OUT/grants.txt"
done

# --- report ----------------------------------------------------------------------
echo
echo "CONNS=$CONNS DURATION=${DURATION}s RUNS=$RUNS; p99 in ms; cpu = the gateway's CPU per request in us (/proc)"
echo "read/s(auth) p99 cpu  read/s(none) p99 cpu  create/s(auth) p99 cpu  create/s(none) p99 cpu"
cat "$OUT/results.txt"
for col in $(seq 12); do printf '%s ' "$(awk -v c="$col" '{print $c}' "$OUT/results.txt" | median)"; done; echo " <- medians"
awk '{print $1/$4}' "$OUT/results.txt" | median | xargs printf 'read with / without authorization (median of per-run ratios): %.3f\n'
awk '{print $7/$10}' "$OUT/results.txt" | median | xargs printf 'create with / without authorization (median of per-run ratios): %.3f\n'
echo "per-run ratios: read $(awk '{printf "%.3f ", $1/$4}' "$OUT/results.txt"); create $(awk '{printf "%.3f ", $7/$10}' "$OUT/results.txt")"
echo "token endpoint, GRANT_CONNS=$GRANT_CONNS, $GRANTS assertions per algorithm (one of them the probe):"
sed 's/^/  /' "$OUT/grants.txt"
if [ -s "$OUT/errors.txt" ]; then echo "ERRORS:"; cat "$OUT/errors.txt"; fi
