#!/usr/bin/env bash
# Small transactions (issue #4): 1 Patient + 1 Observation linked by urn:uuid
# per transaction, wrk at CONNS connections (bench/tx.lua), side by side in each
# run with pgbench's single-row insert script on the same machine.
#   bench/tx.sh            (DURATION=20 RUNS=3 CONNS=32; CARGO_TARGET_DIR, SKIP_BUILD=1)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-20}
RUNS=${RUNS:-3}
CONNS=${CONNS:-32}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
PORT=${PORT:-18082}
OUT=${OUT:-target/bench-tx}
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/release/fhirgate}
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)"; exit 1; }
. bench/lib.sh
mkdir -p "$OUT"
[ "${SKIP_BUILD:-0}" = 1 ] || cargo build --release --quiet
psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS fhirgate_bench_tx WITH (FORCE)" -c "CREATE DATABASE fhirgate_bench_tx" >/dev/null
psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS pgbench_tx WITH (FORCE)" -c "CREATE DATABASE pgbench_tx" >/dev/null
psql "$PGURL/pgbench_tx" -qc "CREATE TABLE bench_insert (id bigserial PRIMARY KEY, payload text)" >/dev/null
GW_ENV=(FHIRGATE_DATABASE_URL="$PGURL/fhirgate_bench_tx" FHIRGATE_MLLP_DISABLED=true FHIRGATE_HTTP_ADDR="127.0.0.1:$PORT" FHIRGATE_DATA_DIR="$OUT/data")
env "${GW_ENV[@]}" FHIRGATE_LOG=warn "$BIN" serve > "$OUT/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null' EXIT
wait_ready "$PORT"
bench_token "$BIN" "${GW_ENV[@]}"
: > "$OUT/results.txt"
for r in $(seq "$RUNS"); do
  echo "run $r" >&2
  i=$(tps_pgbench -f bench/insert.sql -c "$CONNS" -j 2 -T "$DURATION" -n "$PGURL/pgbench_tx")
  res=$(wrk -t2 -c"$CONNS" -d"${DURATION}s" -s bench/tx.lua "http://127.0.0.1:$PORT" | grep RESULT)
  echo "$res" >&2
  tps=$(echo "$res" | sed -n 's/.*tps=\([0-9.]*\).*/\1/p')
  p99=$(echo "$res" | sed -n 's/.*p99=\([0-9.]*\).*/\1/p')
  bad=$(echo "$res" | sed -n 's/.*non200=\([0-9]*\).*/\1/p')
  [ "$bad" = 0 ] || { echo "run $r: $bad non-200 responses"; exit 1; }
  echo "$i $tps $p99" >> "$OUT/results.txt"
done
echo "pgbench-insert  tx/s  tx-p99ms   (resources/s = 2 x tx/s)"
cat "$OUT/results.txt"
for col in 1 2 3; do printf '%s ' "$(awk -v c=$col '{print $c}' "$OUT/results.txt" | median)"; done; echo " <- medians"
awk '{print 2*$2/$1}' "$OUT/results.txt" | median | xargs printf 'resources/s / pgbench insert (median ratio): %.3f\n'
