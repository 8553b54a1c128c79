#!/usr/bin/env bash
# Fairness between clinics (issue #18): "with tenant A flooded by wrk at full
# speed, tenant B's read p99 at its normal rate stays within 2x of its p99 when
# A is idle. Report both."
#
# One gateway (BIN) with three clinics, each with PATIENTS Synthea-shaped
# patients (bench/tenancy-data.py): clinic-b, the one measured, and two
# floods, clinic-a with no limit of its own and clinic-l limited with
# `fhirgate tenants set-limits clinic-l --rate A_RATE --burst A_RATE`. Per run:
#   idle      B read by id at B_RATE req/s, open loop (bench/openloop.py), A idle;
#   flood     the same while wrk reads clinic-a's patients at full speed
#             (A_CONNS connections, bench/tenancy.lua);
#   limited   the same while wrk floods clinic-l (only when the binary has
#             per-tenant rate limits: `serve --help` lists --tenant-rate).
# Reports B's p50/p99 per phase, medians of RUNS, and flood/idle p99 ratios
# (target <= 2), with the flood's 2xx rate and its other answers (429s).
#
#   bench/fairness.sh  (RUNS=3 DURATION=20 B_RATE=100 A_CONNS=64 A_RATE=500
#                       PATIENTS=200 OBS=20; BIN=, PGURL=, PORT=, OUT=, SERVE_FLAGS=)
# Needs: wrk, python3, PostgreSQL on 127.0.0.1:5432 (trust auth).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
DURATION=${DURATION:-20}
B_RATE=${B_RATE:-100}
A_CONNS=${A_CONNS:-64}
A_RATE=${A_RATE:-500}
PATIENTS=${PATIENTS:-200}
OBS=${OBS:-20}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
PORT=${PORT:-18092}
OUT=${OUT:-target/bench-fairness}
SYNTHEA=${SYNTHEA:-../shared/examples/synthea}
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/release/fhirgate}
DB=fhirgate_bench_fairness
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)"; exit 1; }
. bench/lib.sh
[ "${SKIP_BUILD:-0}" = 1 ] || cargo build --release --quiet --bin fhirgate
rm -rf "$OUT"
mkdir -p "$OUT"
psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
GW=(FHIRGATE_DATABASE_URL="$PGURL/$DB" FHIRGATE_MLLP_DISABLED=true FHIRGATE_HTTP_ADDR="127.0.0.1:$PORT"
  FHIRGATE_DATA_DIR="$OUT/data" FHIRGATE_LOG=error FHIRGATE_HTTP_MAX_CONNECTIONS_PER_ADDRESS=512)
if curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz"; then echo "something already listens on port $PORT" >&2; exit 1; fi
LIMITED=0
"$BIN" serve --help | grep -q -- '--tenant-rate' && LIMITED=1

python3 bench/tenancy-data.py "$OUT/in" 3 "$PATIENTS" "$OBS" "$SYNTHEA"/*.json
CLINICS="clinic-a clinic-b clinic-l"
n=1
for c in $CLINICS; do
  env "${GW[@]}" "$BIN" tenants add "$c" > /dev/null
  env "${GW[@]}" "$BIN" import --tenant "$c" --progress off "$OUT/in/t00$n" > "$OUT/import-$c.txt" 2>&1
  grep -q "result: done" "$OUT/import-$c.txt" || { echo "import into $c failed" >&2; cat "$OUT/import-$c.txt" >&2; exit 1; }
  n=$((n + 1))
done
[ $LIMITED = 0 ] || env "${GW[@]}" "$BIN" tenants set-limits clinic-l --rate "$A_RATE" --burst "$A_RATE" > /dev/null
psql "$PGURL/$DB" -qc "ANALYZE"
# shellcheck disable=SC2086 # SERVE_FLAGS: extra serve flags, split on spaces
env "${GW[@]}" "$BIN" serve ${SERVE_FLAGS:-} > "$OUT/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true' EXIT
wait_ready "$PORT"
for c in $CLINICS; do
  tok=$(env "${GW[@]}" "$BIN" token --tenant "$c" --scope "system/*.rs" --ttl 7200 | grep -E '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' | tail -1)
  psql "$PGURL/$DB" -Atc "SELECT id FROM resources WHERE tenant_id = '$c' AND resource_type = 'Patient'" \
    | awk -v b="/t/$c/fhir" -v t="$tok" '{print b, $1, t}' > "$OUT/targets-$c.txt"
  [ "$(wc -l < "$OUT/targets-$c.txt")" = "$PATIENTS" ] || { echo "$c: patients missing" >&2; exit 1; }
done

# B's open-loop reads for DURATION s -> "p50 p99 sent non200 errors late"
probe() {
  python3 bench/openloop.py "http://127.0.0.1:$PORT" "$OUT/targets-clinic-b.txt" "$B_RATE" "$DURATION" > "$OUT/b-$1.txt"
  sed -n 's/^RESULT sent=\([0-9]*\) rate=[0-9.]* p50=\([0-9.]*\) p90=[0-9.]* p99=\([0-9.]*\) max=[0-9.]* non200=\([0-9]*\) errors=\([0-9]*\) late=\([0-9]*\).*/\2 \3 \1 \4 \5 \6/p' "$OUT/b-$1.txt"
}
# B measured while wrk floods clinic $1 -> "p50 p99 ... a-2xx/s a-other/s"
flooded() {
  local f="$OUT/a-$2.txt" total other secs
  FHIRGATE_BENCH_TARGETS="$OUT/targets-$1.txt" FHIRGATE_BENCH_MODE=read \
    wrk -t2 -c"$A_CONNS" -d"$((DURATION + 4))s" -s bench/tenancy.lua "http://127.0.0.1:$PORT" > "$f" &
  local wrk_pid=$!
  sleep 2
  local b; b=$(probe "$2")
  wait $wrk_pid
  total=$(sed -n 's/^ *\([0-9]*\) requests in \([0-9.]*\)s.*/\1/p' "$f")
  secs=$(sed -n 's/^ *[0-9]* requests in \([0-9.]*\)s.*/\1/p' "$f")
  other=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\)/\1/p' "$f"); other=${other:-0}
  echo "$b $(awk -v t="$total" -v o="$other" -v s="$secs" 'BEGIN {printf "%.0f %.0f", (t-o)/s, o/s}')"
}
# Warm-up: every clinic's site built, tokens verified.
for c in $CLINICS; do
  FHIRGATE_BENCH_TARGETS="$OUT/targets-$c.txt" wrk -t1 -c4 -d3s -s bench/tenancy.lua "http://127.0.0.1:$PORT" > /dev/null
done
# Waits until the audit writer has stored what it was given (the trail stops
# growing), so that no phase pays for the one before; prints the seconds.
settle() {
  local t0=$SECONDS n
  for _ in $(seq 240); do
    n=$(psql "$PGURL/$DB" -Atc "SELECT count(*) FROM audit_events"); sleep 0.5
    [ "$n" = "$(psql "$PGURL/$DB" -Atc "SELECT count(*) FROM audit_events")" ] && break
  done
  echo $((SECONDS - t0))
}
: > "$OUT/results.txt"
for r in $(seq "$RUNS"); do
  w=$(settle)
  idle=$(probe "idle-$r")
  w="$w $(settle)"
  flood=$(flooded clinic-a "flood-$r")
  w="$w $(settle)"
  limited="- - - - - - - -"
  [ $LIMITED = 0 ] || limited=$(flooded clinic-l "limited-$r")
  echo "run $r (load $(cut -d' ' -f1-3 /proc/loadavg); audit drained in $w s before the phases): idle [$idle] flood [$flood] limited [$limited]" >&2
  echo "$idle $flood $limited" >> "$OUT/results.txt"
done

echo
echo "B: $B_RATE reads/s open loop for ${DURATION}s per phase (latency from when each request was due), A: wrk -c$A_CONNS reads; RUNS=$RUNS; ms"
echo "columns: idle p50 p99 sent non200 errors late | flood p50 p99 sent non200 errors late A-2xx/s A-other/s | limited (same; clinic-l at --rate $A_RATE)"
cat "$OUT/results.txt"
med() { awk -v c="$1" '{print $c}' "$OUT/results.txt" | median; }
echo "medians: idle p99 $(med 2) ms; flood p99 $(med 8) ms (A $(med 13) 2xx/s, $(med 14) other/s); limited p99 $(med 16) ms (A $(med 21) 2xx/s, $(med 22) other/s)"
echo "flood/idle p99 per run: $(awk '{printf "%.2f ", $8/$2}' "$OUT/results.txt") -> median $(awk '{print $8/$2}' "$OUT/results.txt" | median) (target <= 2)"
[ $LIMITED = 0 ] && echo "limited: not measured (this binary has no per-tenant rate limits)" || \
  echo "limited/idle p99 per run: $(awk '{printf "%.2f ", $16/$2}' "$OUT/results.txt") -> median $(awk '{print $16/$2}' "$OUT/results.txt" | median) (target <= 2)"
echo "AuditEvents stored per clinic and outcome (0 success, 4 refused: 429s and the like):"
psql "$PGURL/$DB" -Atc "SELECT tenant_id, outcome, count(*) FROM audit_events WHERE tenant_id LIKE 'clinic-%' GROUP BY 1, 2 ORDER BY 1, 2" | sed 's/^/  /'
rm -rf "$OUT/in"
if [ "${KEEP_DB:-0}" != 1 ]; then
  kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true
  psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
fi
