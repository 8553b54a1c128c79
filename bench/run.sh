#!/usr/bin/env bash
# Load benchmark for issue #2, side by side with pgbench in the same run.
#   bench/run.sh            (DURATION=20 RUNS=3 CONNS=32 by default)
# Needs: wrk (Debian package), pgbench (ships with PostgreSQL), a PostgreSQL
# server on 127.0.0.1:5432 (trust auth) and a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-20}
RUNS=${RUNS:-3}
CONNS=${CONNS:-32}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
PORT=${PORT:-18080}
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)"; exit 1; }
. bench/lib.sh
OUT=${OUT:-target/bench}
mkdir -p "$OUT"

BIN=${BIN:-${CARGO_TARGET_DIR:-target}/release/fhirgate}
[ "${SKIP_BUILD:-0}" = 1 ] || cargo build --release --quiet
psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS fhirgate_bench WITH (FORCE)" -c "CREATE DATABASE fhirgate_bench" >/dev/null
psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS pgbench_base WITH (FORCE)" -c "CREATE DATABASE pgbench_base" >/dev/null
"$PGBENCH" -q -i -s 10 "$PGURL/pgbench_base" >/dev/null 2>&1
psql "$PGURL/pgbench_base" -qc "CREATE TABLE bench_insert (id bigserial PRIMARY KEY, payload text)" >/dev/null

GW_ENV=(FHIRGATE_DATABASE_URL="$PGURL/fhirgate_bench" FHIRGATE_MLLP_DISABLED=true FHIRGATE_HTTP_ADDR="127.0.0.1:$PORT" FHIRGATE_DATA_DIR="$OUT/data")
env "${GW_ENV[@]}" FHIRGATE_LOG=warn "$BIN" serve > "$OUT/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null' EXIT
wait_ready "$PORT"
bench_token "$BIN" "${GW_ENV[@]}"

# Seed 1,000 patients for the read benchmark.
: > "$OUT/ids.txt"
for i in $(seq 1000); do
  curl -s -D - -o /dev/null -X POST "http://127.0.0.1:$PORT/fhir/Patient" -H 'Content-Type: application/fhir+json' -H 'Prefer: return=minimal' -H "$AUTH" \
    -d "{\"resourceType\":\"Patient\",\"identifier\":[{\"system\":\"urn:seed\",\"value\":\"S-$i\"}],\"name\":[{\"family\":\"Seed$i\",\"given\":[\"Read\"]}],\"birthDate\":\"1980-01-01\"}" \
    | tr -d '\r' | sed -n 's#^location: .*/Patient/\([^/]*\)/_history/.*#\1#ip' >> "$OUT/ids.txt"
done
export FHIRGATE_BENCH_IDS="$OUT/ids.txt"

rps_wrk() { sed -n 's/^Requests\/sec: *\([0-9.]*\)/\1/p'; }
p99_wrk() { sed -n 's/^ *99% *\([0-9.]*\)\(us\|ms\|s\)$/\1 \2/p' | awk '{v=$1; if ($2=="us") v/=1000; if ($2=="s") v*=1000; print v}'; }

: > "$OUT/results.txt"
for r in $(seq "$RUNS"); do
  echo "run $r" >&2
  s=$(tps_pgbench -S -c "$CONNS" -j 2 -T "$DURATION" -n "$PGURL/pgbench_base")
  wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -s bench/read.lua "http://127.0.0.1:$PORT" > "$OUT/read-$r.txt"
  i=$(tps_pgbench -f bench/insert.sql -c "$CONNS" -j 2 -T "$DURATION" -n "$PGURL/pgbench_base")
  wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -s bench/create.lua "http://127.0.0.1:$PORT" > "$OUT/create-$r.txt"
  echo "$s $(rps_wrk < "$OUT/read-$r.txt") $(p99_wrk < "$OUT/read-$r.txt") $i $(rps_wrk < "$OUT/create-$r.txt") $(p99_wrk < "$OUT/create-$r.txt")" >> "$OUT/results.txt"
  grep -E "Non-2xx|Socket errors" "$OUT/read-$r.txt" "$OUT/create-$r.txt" >&2 || true
done
echo "pgbench-S  read/s  read-p99ms  pgbench-insert  create/s  create-p99ms" 
cat "$OUT/results.txt"
for col in 1 2 3 4 5 6; do printf '%s ' "$(awk -v c=$col '{print $c}' "$OUT/results.txt" | median)"; done; echo " <- medians"
awk '{print $2/$1}' "$OUT/results.txt" | median | xargs printf 'read / pgbench -S (median ratio): %.3f\n'
awk '{print $5/$4}' "$OUT/results.txt" | median | xargs printf 'create / pgbench insert (median ratio): %.3f\n'
