#!/usr/bin/env bash
# HL7 v2 ingest benchmark for issue #5, side by side in the same run with the
# transport ceiling (python-hl7's MLLP server doing no work) and pgbench's
# single-row insert rate.
#   bench/hl7.sh            (DURATION=20 RUNS=3 CONNS=8 by default)
# Needs: pgbench, python3 with PyPI `hl7` (installed here if missing), a
# PostgreSQL server on 127.0.0.1:5432 (trust auth) and a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-20}
RUNS=${RUNS:-3}
CONNS=${CONNS:-8}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
PORT=${PORT:-18090}
MLLP=${MLLP:-12575}
NULLPORT=${NULLPORT:-12576}
. bench/lib.sh
python3 -c 'import hl7' 2>/dev/null || pip install -q hl7
OUT=${OUT:-target/bench-hl7}
mkdir -p "$OUT"
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/release/fhirgate}
[ "${SKIP_BUILD:-0}" = 1 ] || cargo build --release --quiet

psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS fhirgate_bench_hl7 WITH (FORCE)" -c "CREATE DATABASE fhirgate_bench_hl7" >/dev/null
psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS pgbench_hl7 WITH (FORCE)" -c "CREATE DATABASE pgbench_hl7" >/dev/null
psql "$PGURL/pgbench_hl7" -qc "CREATE TABLE bench_insert (id bigserial PRIMARY KEY, payload text)" >/dev/null

FHIRGATE_DATABASE_URL="$PGURL/fhirgate_bench_hl7" FHIRGATE_HTTP_ADDR="127.0.0.1:$PORT" FHIRGATE_MLLP_ADDR="127.0.0.1:$MLLP" \
  FHIRGATE_DATA_DIR="$OUT/data" FHIRGATE_LOG=warn "$BIN" serve > "$OUT/server.log" 2>&1 &
SERVER=$!
python3 bench/hl7_null_server.py "$NULLPORT" > "$OUT/null.log" 2>&1 &
NULL=$!
trap 'kill $SERVER $NULL 2>/dev/null; wait $SERVER $NULL 2>/dev/null' EXIT
wait_ready "$PORT"

rate() { sed -n 's/.*: \([0-9.]*\) msg\/s.*/\1/p'; }
p99() { sed -n 's/.* p99 \([0-9.]*\) ms.*/\1/p'; }

: > "$OUT/results.txt"
for r in $(seq "$RUNS"); do
  echo "run $r (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  i=$(tps_pgbench -f bench/insert.sql -c 32 -j 2 -T "$DURATION" -n "$PGURL/pgbench_hl7")
  python3 bench/hl7_load.py 127.0.0.1 "$NULLPORT" "$CONNS" "$DURATION" "N$r" > "$OUT/null-$r.txt"
  python3 bench/hl7_load.py 127.0.0.1 "$MLLP" "$CONNS" "$DURATION" "G$r" > "$OUT/gw-$r.txt"
  python3 bench/hl7_load.py 127.0.0.1 "$MLLP" 1 "$DURATION" "S$r" > "$OUT/gw1-$r.txt"
  cat "$OUT/null-$r.txt" "$OUT/gw-$r.txt" "$OUT/gw1-$r.txt" >&2
  echo "$i $(rate < "$OUT/null-$r.txt") $(rate < "$OUT/gw-$r.txt") $(p99 < "$OUT/gw-$r.txt") $(rate < "$OUT/gw1-$r.txt") $(p99 < "$OUT/gw1-$r.txt")" >> "$OUT/results.txt"
done
echo "pgbench-insert-tps  null-server-msg/s  gateway-msg/s(${CONNS}c)  p99ms(${CONNS}c)  gateway-msg/s(1c)  p99ms(1c)"
cat "$OUT/results.txt"
for col in 1 2 3 4 5 6; do printf '%s ' "$(awk -v c=$col '{print $c}' "$OUT/results.txt" | median)"; done; echo " <- medians"
awk '{print $3/$2}' "$OUT/results.txt" | median | xargs printf 'gateway / null server (median ratio): %.3f\n'
awk '{print $3*7/$1}' "$OUT/results.txt" | median | xargs printf 'resources written per s / pgbench insert tps (median ratio, 7 per message): %.3f\n'
