#!/usr/bin/env bash
# Tenancy at scale (issue #18): "Load 200 tenants with Synthea-shaped data ...
# then measure read-by-id and a typical search per tenant against the
# single-tenant figures from the same run: tenancy (RLS, per-tenant keys,
# limits) may cost at most 15% of throughput. Show with EXPLAIN that RLS
# predicates use the tenant-first indexes."
#
# Two gateways side by side, each on its own database with the same data
# (bench/tenancy-data.py: TENANTS x PATIENTS Synthea-shaped patients with OBS
# Observations each):
#   baseline: BASE_BIN, the release binary from before tenancy (90d8e86), the
#             whole tree imported into its one tenant, served at /fhir;
#   subject:  BIN, this tree's release binary, `fhirgate tenants add t001..`,
#             each tenant's patients imported with `import --tenant`, served
#             at /t/tNNN/fhir through the serving role (row-level security),
#             a token per tenant (its own signing key and issuer).
# Per run, in alternating order, wrk (bench/tenancy.lua: a random patient, so a
# random tenant, per request) reads by id and searches
# Observation?subject=Patient/<id>&_count=10 on each; medians of RUNS and the
# subject/baseline ratios per run. Then the gateways' RSS, and EXPLAIN
# (ANALYZE, BUFFERS) of the read and the search as the serving role
# (bench/tenancy-explain.sql).
#
#   bench/tenancy.sh  (TENANTS=200 PATIENTS=15 OBS=20 RUNS=3 DURATION=10 CONNS=32;
#                      BIN=, BASE_BIN=, PGURL=, PORT=, BASE_PORT=, OUT=, KEEP_DB=1)
# BASE_BIN defaults to target/bench-base/target/release/fhirgate, built when
# missing from a detached worktree of 90d8e86 (BASE_COMMIT):
#   git worktree add --detach target/bench-base 90d8e86
#   (cd target/bench-base && cargo build --release --bin fhirgate)
# Needs: wrk, python3, PostgreSQL on 127.0.0.1:5432 (trust auth).
set -euo pipefail
cd "$(dirname "$0")/.."
TENANTS=${TENANTS:-200}
PATIENTS=${PATIENTS:-15}
OBS=${OBS:-20}
RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
CONNS=${CONNS:-32}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
PORT=${PORT:-18091}
BASE_PORT=${BASE_PORT:-18090}
OUT=${OUT:-target/bench-tenancy}
SYNTHEA=${SYNTHEA:-../shared/examples/synthea}
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/release/fhirgate}
BASE_COMMIT=${BASE_COMMIT:-90d8e86}
BASE_BIN=${BASE_BIN:-target/bench-base/target/release/fhirgate}
DB_BASE=fhirgate_bench_tenancy_base
DB_SUBJ=fhirgate_bench_tenancy_subj
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)"; exit 1; }
. bench/lib.sh
[ "${SKIP_BUILD:-0}" = 1 ] || cargo build --release --quiet --bin fhirgate
if [ ! -x "$BASE_BIN" ]; then
  [ -d target/bench-base ] || git worktree add --detach target/bench-base "$BASE_COMMIT"
  (cd target/bench-base && cargo build --release --quiet --bin fhirgate)
fi
rm -rf "$OUT"
mkdir -p "$OUT"
for db in $DB_BASE $DB_SUBJ; do
  psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
done
GW_BASE=(FHIRGATE_DATABASE_URL="$PGURL/$DB_BASE" FHIRGATE_MLLP_DISABLED=true
  FHIRGATE_HTTP_ADDR="127.0.0.1:$BASE_PORT" FHIRGATE_DATA_DIR="$OUT/data-base" FHIRGATE_LOG=error)
# The subject's limits are on (every request charges its tenant's and its
# client's buckets) but far above what the bench asks.
GW_SUBJ=(FHIRGATE_DATABASE_URL="$PGURL/$DB_SUBJ" FHIRGATE_MLLP_DISABLED=true
  FHIRGATE_HTTP_ADDR="127.0.0.1:$PORT" FHIRGATE_DATA_DIR="$OUT/data-subj" FHIRGATE_LOG=error
  FHIRGATE_TENANT_RATE=1000000 FHIRGATE_CLIENT_RATE=1000000)
for p in "$PORT" "$BASE_PORT"; do
  if curl -s -o /dev/null "http://127.0.0.1:$p/healthz"; then echo "something already listens on port $p" >&2; exit 1; fi
done

# --- data: the same patients in both ------------------------------------------
SLUGS=$(seq -f 't%03g' 1 "$TENANTS")
python3 bench/tenancy-data.py "$OUT/in" "$TENANTS" "$PATIENTS" "$OBS" "$SYNTHEA"/*.json
echo "importing $((TENANTS * PATIENTS)) patients x (1 + $OBS) resources into each database" >&2
SECONDS=0
env "${GW_BASE[@]}" "$BASE_BIN" import --progress off "$OUT/in" > "$OUT/import-base.txt" 2>&1
grep -q "result: done" "$OUT/import-base.txt" || { echo "baseline import failed" >&2; cat "$OUT/import-base.txt" >&2; exit 1; }
echo "baseline loaded in $SECONDS s" >&2
SECONDS=0
for t in $SLUGS; do env "${GW_SUBJ[@]}" "$BIN" tenants add "$t" > /dev/null; done
echo "$TENANTS tenants added in $SECONDS s" >&2
SECONDS=0
export BIN OUT
# Two at a time, retried on a failure (two processes starting at once once
# failed granting the serving role its rights, "tuple concurrently updated";
# role::ensure now takes a lock for them).
printf '%s\n' $SLUGS | xargs -P2 -I{} sh -c 'for i in 1 2 3; do
  env "$@" "$BIN" import --tenant {} --progress off "$OUT/in/{}" > "$OUT/import-{}.txt" 2>&1 && break; sleep 1; done' _ "${GW_SUBJ[@]}"
bad=$(grep -L "result: done" "$OUT"/import-t*.txt || true)
[ -z "$bad" ] || { echo "import failed: $bad" >&2; exit 1; }
echo "subject loaded in $SECONDS s" >&2
count() { psql "$PGURL/$1" -Atc "SELECT count(*) FROM resources WHERE resource_type IN ('Patient','Observation')"; }
nb=$(count $DB_BASE); ns=$(count $DB_SUBJ)
echo "resources: baseline $nb, subject $ns" >&2
[ "$nb" = "$ns" ] && [ "$nb" = $((TENANTS * PATIENTS * (OBS + 1))) ] || { echo "the databases differ" >&2; exit 1; }
for db in $DB_BASE $DB_SUBJ; do psql "$PGURL/$db" -qc "ANALYZE" ; done

# --- the gateways and their tokens ---------------------------------------------
env "${GW_BASE[@]}" "$BASE_BIN" serve > "$OUT/server-base.log" 2>&1 &
BASE_PID=$!
env "${GW_SUBJ[@]}" "$BIN" serve > "$OUT/server-subj.log" 2>&1 &
SUBJ_PID=$!
trap 'kill $BASE_PID $SUBJ_PID 2>/dev/null || true; wait $BASE_PID $SUBJ_PID 2>/dev/null || true' EXIT
wait_ready "$BASE_PORT"
wait_ready "$PORT"
jwt() { grep -E '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' | tail -1; }
base_token=$(env "${GW_BASE[@]}" "$BASE_BIN" token --scope "system/*.rs" --ttl 7200 | jwt)
printf '%s\n' $SLUGS | xargs -P2 -I{} sh -c 'for i in 1 2 3; do
  t=$(env "$@" "$BIN" token --tenant {} --scope "system/*.rs" --ttl 7200 | grep -E "^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$" | tail -1)
  [ -n "$t" ] && break; sleep 1; done; echo "{} $t"' _ "${GW_SUBJ[@]}" > "$OUT/tokens.txt"
# Targets: "<base> <Patient id> <token>", every patient of each database.
ids() { psql "$PGURL/$1" -AF' ' -tc "SELECT tenant_id, id FROM resources WHERE resource_type = 'Patient' AND NOT deleted ORDER BY 1, 2"; }
ids $DB_BASE | awk -v tok="$base_token" '{print "/fhir", $2, tok}' > "$OUT/targets-base.txt"
ids $DB_SUBJ | awk 'NR == FNR {tok[$1] = $2; next} {print "/t/" $1 "/fhir", $2, tok[$1]}' "$OUT/tokens.txt" - > "$OUT/targets-subj.txt"
[ "$(awk 'NF == 3' "$OUT/targets-subj.txt" | wc -l)" = $((TENANTS * PATIENTS)) ] || { echo "subject targets incomplete" >&2; exit 1; }
# One of each by curl: 200, and the search finds the patient's Observations.
for side in base subj; do
  read -r b id tok < <(sed -n "$((TENANTS * PATIENTS / 2))p" "$OUT/targets-$side.txt")
  port=$PORT; [ $side = base ] && port=$BASE_PORT
  for path in "Patient/$id" "Observation?subject=Patient/$id&_count=10"; do
    code=$(curl -s -o "$OUT/probe.json" -w '%{http_code}' -H "Authorization: Bearer $tok" "http://127.0.0.1:$port$b/$path")
    [ "$code" = 200 ] || { echo "$side $b/$path: HTTP $code $(head -c 300 "$OUT/probe.json")" >&2; exit 1; }
  done
  echo "$side probe: search entries $(grep -o '"fullUrl"' "$OUT/probe.json" | wc -l)" >&2
done

# --- load --------------------------------------------------------------------------
rps_wrk() { sed -n 's/^Requests\/sec: *\([0-9.]*\)/\1/p' "$1"; }
p99_wrk() { sed -n 's/^ *99% *\([0-9.]*\)\(us\|ms\|s\)$/\1 \2/p' "$1" | awk '{v=$1; if ($2=="us") v/=1000; if ($2=="s") v*=1000; print v}'; }
load() { # mode(read|search) side(base|subj) run [seconds] -> rps p99
  local f="$OUT/$1-$2-$3.txt" port=$PORT
  [ "$2" = base ] && port=$BASE_PORT
  FHIRGATE_BENCH_TARGETS="$OUT/targets-$2.txt" FHIRGATE_BENCH_MODE=$1 \
    wrk -t2 -c"$CONNS" -d"${4:-$DURATION}s" --latency -s bench/tenancy.lua "http://127.0.0.1:$port" > "$f"
  if grep -qE "Non-2xx|Socket errors" "$f"; then echo "$1 $2 run $3: $(grep -E "Non-2xx|Socket errors" "$f")" | tee -a "$OUT/errors.txt" >&2; fi
  echo "$(rps_wrk "$f") $(p99_wrk "$f")"
}
# Waits until neither gateway's audit writer has records left to store (the
# audit trail stops growing), so that no run pays for the one before it; prints
# the seconds waited.
audit_rows() { psql "$PGURL/$1" -Atc "SELECT count(*) FROM audit_events"; }
settle() {
  local t0=$SECONDS a b
  for _ in $(seq 240); do
    a=$(audit_rows $DB_BASE); b=$(audit_rows $DB_SUBJ); sleep 0.5
    [ "$a" = "$(audit_rows $DB_BASE)" ] && [ "$b" = "$(audit_rows $DB_SUBJ)" ] && break
  done
  echo $((SECONDS - t0))
}
: > "$OUT/errors.txt"
# Warm-up: every tenant's site built, every token verified once, caches filled.
for side in base subj; do for mode in read search; do load $mode $side warm 5 > /dev/null; done; done
rss() { awk '/^VmRSS/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }
echo "RSS after warm-up: baseline $(rss $BASE_PID) MiB, subject $(rss $SUBJ_PID) MiB" | tee "$OUT/rss.txt" >&2
: > "$OUT/results.txt"
for r in $(seq "$RUNS"); do
  waited=
  if [ $((r % 2)) = 1 ]; then order="base subj"; else order="subj base"; fi
  declare -A got=()
  for mode in read search; do
    for side in $order; do waited="$waited $(settle)"; got[$mode-$side]=$(load "$mode" "$side" "$r"); done
  done
  line="${got[read-subj]} ${got[read-base]} ${got[search-subj]} ${got[search-base]}"
  echo "run $r ($order first; load $(cut -d' ' -f1-3 /proc/loadavg); audit drained in$waited s): $line" >&2
  echo "$line $(cut -d' ' -f1 /proc/loadavg)" >> "$OUT/results.txt"
done
# Reads on the subject spread over the first k tenants only: what grows with
# the number of tenants a load touches at once.
: > "$OUT/spread.txt"
for k in ${SPREAD-1 4 16 50 200}; do
  [ "$k" -le "$TENANTS" ] || continue
  grep -E "^/t/t($(seq -s'|' -f '%03g' 1 "$k"))/" "$OUT/targets-subj.txt" > "$OUT/targets-k$k.txt"
  settle > /dev/null
  FHIRGATE_BENCH_TARGETS="$OUT/targets-k$k.txt" FHIRGATE_BENCH_MODE=read \
    wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -s bench/tenancy.lua "http://127.0.0.1:$PORT" > "$OUT/spread-$k.txt"
  echo "$k $(rps_wrk "$OUT/spread-$k.txt") $(p99_wrk "$OUT/spread-$k.txt") $(settle) $(cut -d' ' -f1 /proc/loadavg)" | tee -a "$OUT/spread.txt" >&2
done
echo "RSS after the runs: baseline $(rss $BASE_PID) MiB (peak $(awk '/^VmHWM/ {printf "%.0f", $2/1024}' /proc/$BASE_PID/status)), subject $(rss $SUBJ_PID) MiB (peak $(awk '/^VmHWM/ {printf "%.0f", $2/1024}' /proc/$SUBJ_PID/status))" | tee -a "$OUT/rss.txt" >&2

# --- EXPLAIN as the serving role -----------------------------------------------------
ET=$(printf 't%03d' $((TENANTS >= 42 ? 42 : 1)))
read -r b id _ < <(grep "^/t/$ET/" "$OUT/targets-subj.txt" | head -1)
psql "postgres://fhirgate_app@127.0.0.1:5432/$DB_SUBJ" -X -v tenant="$ET" -v id="$id" \
  -f bench/tenancy-explain.sql > "$OUT/explain.txt" 2>&1 || true

# --- report --------------------------------------------------------------------------
echo
echo "TENANTS=$TENANTS x PATIENTS=$PATIENTS (+$OBS Observations each); CONNS=$CONNS DURATION=${DURATION}s RUNS=$RUNS; p99 in ms"
echo "read/s(200 tenants) p99  read/s(1 tenant) p99  search/s(200) p99  search/s(1) p99  load1"
cat "$OUT/results.txt"
for col in $(seq 8); do printf '%s ' "$(awk -v c="$col" '{print $c}' "$OUT/results.txt" | median)"; done; echo " <- medians"
awk '{print $1/$3}' "$OUT/results.txt" | median | xargs printf 'read: 200 tenants / 1 tenant (median of per-run ratios): %.3f (target >= 0.85)\n'
awk '{print $5/$7}' "$OUT/results.txt" | median | xargs printf 'search: 200 tenants / 1 tenant (median of per-run ratios): %.3f (target >= 0.85)\n'
echo "per-run ratios: read $(awk '{printf "%.3f ", $1/$3}' "$OUT/results.txt"); search $(awk '{printf "%.3f ", $5/$7}' "$OUT/results.txt")"
cat "$OUT/rss.txt"
echo "subject reads spread over k tenants: k  reads/s  p99-ms  audit-drain-s-after  load1"
cat "$OUT/spread.txt"
echo "EXPLAIN: $OUT/explain.txt"
if [ -s "$OUT/errors.txt" ]; then echo "ERRORS:"; cat "$OUT/errors.txt"; fi
rm -rf "$OUT/in"
if [ "${KEEP_DB:-0}" != 1 ]; then
  kill $BASE_PID $SUBJ_PID 2>/dev/null; wait $BASE_PID $SUBJ_PID 2>/dev/null || true
  for db in $DB_BASE $DB_SUBJ; do psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)"; done
fi
