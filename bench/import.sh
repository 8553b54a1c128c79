#!/usr/bin/env bash
# Synthea ingest (issue #4): `fhirgate import --url ... --concurrency 4` into a
# running gateway on a private database, over COPIES distinct copies of each
# shared Synthea patient per run (fresh urn:uuid fullUrls, ids and identifier
# values: bench/synthea-copies.py), side by side in each run with pgbench's
# single-row insert script (bench/insert.sql, as bench/run.sh). Also prints, per
# run, CPU per stored resource of the gateway, the importer and all of
# PostgreSQL, and WAL bytes per stored resource.
#   bench/import.sh   (COPIES=30 RUNS=3 CONCURRENCY=4 PGCONNS=32 DURATION=20;
#                      CARGO_TARGET_DIR, SKIP_BUILD=1 as bench/tx.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
COPIES=${COPIES:-30}
RUNS=${RUNS:-3}
CONCURRENCY=${CONCURRENCY:-4}
PGCONNS=${PGCONNS:-32}
DURATION=${DURATION:-20}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
PORT=${PORT:-18083}
OUT=${OUT:-target/bench-import}
SYNTHEA=${SYNTHEA:-../shared/examples/synthea}
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/release/fhirgate}
. bench/lib.sh
mkdir -p "$OUT"
[ "${SKIP_BUILD:-0}" = 1 ] || cargo build --release --quiet
psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS fhirgate_bench_import WITH (FORCE)" -c "CREATE DATABASE fhirgate_bench_import" >/dev/null
psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS pgbench_import WITH (FORCE)" -c "CREATE DATABASE pgbench_import" >/dev/null
psql "$PGURL/pgbench_import" -qc "CREATE TABLE bench_insert (id bigserial PRIMARY KEY, payload text)" >/dev/null
GW_ENV=(FHIRGATE_DATABASE_URL="$PGURL/fhirgate_bench_import" FHIRGATE_MLLP_DISABLED=true FHIRGATE_HTTP_ADDR="127.0.0.1:$PORT" FHIRGATE_DATA_DIR="$OUT/data")
env "${GW_ENV[@]}" FHIRGATE_LOG=warn "$BIN" serve > "$OUT/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$OUT/in"' EXIT
wait_ready "$PORT"
bench_token "$BIN" "${GW_ENV[@]}"
lsn() { psql "$PGURL/postgres" -Atc "select pg_current_wal_lsn()"; }
: > "$OUT/results.txt"
for r in $(seq "$RUNS"); do
  load=$(cut -d' ' -f1 /proc/loadavg)
  i=$(tps_pgbench -f bench/insert.sql -c "$PGCONNS" -j 2 -T "$DURATION" -n "$PGURL/pgbench_import")
  rm -rf "$OUT/in"
  python3 bench/synthea-copies.py "$OUT/in" "$COPIES" "r$r-$$" "$SYNTHEA"/*.json
  g0=$(ticks "$SERVER"); p0=$(ticks $(pgrep -x postgres)); w0=$(lsn)
  TIMEFORMAT='%R %U %S'
  { time FHIRGATE_TOKEN=$FHIRGATE_BENCH_TOKEN "$BIN" import --url "http://127.0.0.1:$PORT/fhir" --concurrency "$CONCURRENCY" --progress off "$OUT/in" \
      > "$OUT/import-$r.txt" 2>"$OUT/import-$r.err" ; } 2> "$OUT/time-$r.txt"
  g1=$(ticks "$SERVER"); p1=$(ticks $(pgrep -x postgres)); w1=$(lsn)
  read -r secs usr sys < "$OUT/time-$r.txt"
  stored=$(sed -n 's/^  resources stored: \([0-9]*\).*/\1/p' "$OUT/import-$r.txt")
  grep -q "result: done" "$OUT/import-$r.txt" || { echo "run $r: import failed"; cat "$OUT/import-$r.txt"; exit 1; }
  rate=$(awk -v n="$stored" -v s="$secs" 'BEGIN {printf "%.0f", n/s}')
  wal=$(psql "$PGURL/postgres" -Atc "select (pg_wal_lsn_diff('$w1','$w0')/$stored)::int")
  split=$(awk -v g=$((g1-g0)) -v p=$((p1-p0)) -v u="$usr" -v s="$sys" -v n="$stored" \
    'BEGIN {printf "%.0f %.0f %.0f", g*10000/n, p*10000/n, (u+s)*1e6/n}')
  echo "run $r (load $load): pgbench insert $i tps; $stored resources in $secs s = $rate/s; per resource: gateway/postgres/importer CPU us $split, WAL $wal B" >&2
  echo "$i $rate $stored $secs $load $split $wal" >> "$OUT/results.txt"
done
rm -rf "$OUT/in"
echo "pgbench-insert  resources/s  resources  seconds  load1  gw-us  pg-us  importer-us  wal-B  (per stored resource)"
cat "$OUT/results.txt"
for col in 1 2; do printf '%s ' "$(awk -v c=$col '{print $c}' "$OUT/results.txt" | median)"; done; echo " <- medians"
awk '{print $2/$1}' "$OUT/results.txt" | median | xargs printf 'resources/s / pgbench insert tps (median ratio): %.3f\n'
