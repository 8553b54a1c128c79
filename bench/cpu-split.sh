#!/usr/bin/env bash
# Quick run: read and create at 32 connections on a fresh database with 300
# seeded Patients, then HL7 ORU^R01 (bench/hl7_load.py) at 8 MLLP connections,
# with CPU per request (or message) for the gateway and for PostgreSQL (from
# /proc/<pid>/stat deltas) and WAL bytes per request.
#   bench/cpu-split.sh            (D=10 seconds per phase; WORKERS=, POOL= override
#                                  the gateway's HTTP workers and database pool;
#                                  BIN= runs a prebuilt binary, for A/B runs)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
D=${D:-10}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
PORT=${PORT:-18080}
MLLP=${MLLP:-12580}
BIN=${BIN:-target/release/fhirgate}
[ "$BIN" = target/release/fhirgate ] && cargo build --release --quiet
psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS fhirgate_quick WITH (FORCE)" -c "CREATE DATABASE fhirgate_quick" >/dev/null
GW_ENV=(FHIRGATE_DATABASE_URL="$PGURL/fhirgate_quick" FHIRGATE_MLLP_ADDR="127.0.0.1:$MLLP" FHIRGATE_HTTP_ADDR="127.0.0.1:$PORT" FHIRGATE_DATA_DIR=target/bench/data)
env ${WORKERS:+FHIRGATE_HTTP_WORKERS=$WORKERS} ${POOL:+FHIRGATE_DB_POOL_SIZE=$POOL} "${GW_ENV[@]}" \
  FHIRGATE_LOG=warn "$BIN" serve > target/bench-quick.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null' EXIT
wait_ready "$PORT"
bench_token "$BIN" "${GW_ENV[@]}"
IDS=$(mktemp)
for i in $(seq 300); do
  curl -s -D - -o /dev/null -X POST "http://127.0.0.1:$PORT/fhir/Patient" -H 'Content-Type: application/fhir+json' -H 'Prefer: return=minimal' -H "$AUTH" \
    -d "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"Seed$i\"}]}" | tr -d '\r' | sed -n 's#^location: .*/Patient/\([^/]*\)/_history/.*#\1#ip'
done > "$IDS"
export FHIRGATE_BENCH_IDS="$IDS"
lsn() { psql "$PGURL/fhirgate_quick" -Atc "select pg_current_wal_lsn()"; }
python3 -c 'import hl7' 2>/dev/null || pip install -q hl7
for kind in read create hl7; do
  f0=$(ticks "$SERVER"); p0=$(ticks $(pgrep -f "postgres:")); w0=$(lsn)
  if [ "$kind" = hl7 ]; then
    python3 bench/hl7_load.py 127.0.0.1 "$MLLP" 8 "$D" > "target/bench-quick-$kind.txt"
    n=$(sed -n 's/^messages \([0-9]*\) in.*/\1/p' "target/bench-quick-$kind.txt")
    rate=$(sed -n 's/.*: \([0-9.]*\) msg\/s.*/\1/p' "target/bench-quick-$kind.txt")
    p99=$(sed -n 's/.* p99 \([0-9.]*\) ms.*/\1ms/p' "target/bench-quick-$kind.txt")
  else
    wrk -t2 -c32 -d"${D}s" --latency -s "bench/$kind.lua" "http://127.0.0.1:$PORT" > "target/bench-quick-$kind.txt"
    n=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "target/bench-quick-$kind.txt")
    rate=$(sed -n 's/^Requests\/sec: *//p' "target/bench-quick-$kind.txt")
    p99=$(sed -n 's/^ *99% *//p' "target/bench-quick-$kind.txt")
  fi
  f1=$(ticks "$SERVER"); p1=$(ticks $(pgrep -f "postgres:")); w1=$(lsn)
  wal=$(psql "$PGURL/fhirgate_quick" -Atc "select (pg_wal_lsn_diff('$w1','$w0')/$n)::int")
  echo "$kind: $rate req/s, p99 $p99, CPU per request: gateway $(( (f1-f0)*10000/n )) us, postgres $(( (p1-p0)*10000/n )) us, WAL $wal B"
done
rm -f "$IDS"
