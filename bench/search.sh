#!/usr/bin/env bash
# Search benchmark for issue #3, side by side with pgbench -S in the same run.
#   bench/search.sh            (DURATION=20 RUNS=3 CONNS=8 TOTAL_RUNS=10 by default)
#
# 1,000 Patients and 200,000 Observations (bench/search-load.py, loaded over the
# FHIR API once; later runs find them and skip) in a dedicated database, then per run:
#   pgbench -S -c CONNS -j 2 -T DURATION                      (machine baseline)
#   wrk -c CONNS  Observation?patient=X&code=Y&date=geZ        (bench/search.lua)
#   wrk -c CONNS  Patient?name=abc&birthdate=YYYY[-MM-DD]      (bench/search.lua)
# and once: GET Observation?_total=accurate (whole table), median of TOTAL_RUNS.
# With PLANS=1 (default) it first captures, with auto_explain, the plans PostgreSQL
# uses for one probe of each search into $OUT/plans.txt.
#
# Knobs: DURATION RUNS CONNS TOTAL_RUNS PLANS=0|1 RELOAD=1 (drop and reload the
# data) SKIP_BUILD=1 PORT PGURL DB PGBENCH_DB OUT BENCH_DATA PGLOG (server log file).
# Needs: wrk, curl, python3, psql and pgbench, a PostgreSQL server (trust auth,
# superuser for the auto_explain settings) and a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-20}
RUNS=${RUNS:-3}
CONNS=${CONNS:-8}
TOTAL_RUNS=${TOTAL_RUNS:-10}
PLANS=${PLANS:-1}
RELOAD=${RELOAD:-0}
PGURL=${PGURL:-postgres://root@127.0.0.1:5432}
DB=${DB:-fhirgate_bench_search}
PGBENCH_DB=${PGBENCH_DB:-pgbench_search}
PORT=${PORT:-18081}
OUT=${OUT:-target/bench-search}
DATA=${BENCH_DATA:-$OUT/data}
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/release/fhirgate}
BASE=http://127.0.0.1:$PORT/fhir
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)"; exit 1; }
. bench/lib.sh
mkdir -p "$OUT" "$DATA"
OUT=$(cd "$OUT" && pwd)
DATA=$(cd "$DATA" && pwd)

[ "${SKIP_BUILD:-0}" = 1 ] || cargo build --release --quiet
[ -x "$BIN" ] || { echo "no release binary at $BIN"; exit 1; }

psql_db() { psql "$PGURL/$DB" -XAtq "$@"; }

# A fixed, bench-only master key (synthetic data only): the loaded database then
# works from any checkout or data dir, so it is loaded once and reused.
KEY=$DATA/bench-master.key
if [ ! -f "$KEY" ]; then
  (umask 077; printf 'fhirgate bench search: synthetic data only' | sha256sum | cut -d' ' -f1 > "$KEY")
fi

if [ "$RELOAD" = 1 ]; then
  psql "$PGURL/postgres" -Xqc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
fi
if [ -z "$(psql "$PGURL/postgres" -XAtc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" ]; then
  psql "$PGURL/postgres" -Xqc "CREATE DATABASE $DB" >/dev/null
fi
if [ -z "$(psql "$PGURL/postgres" -XAtc "SELECT 1 FROM pg_database WHERE datname = '$PGBENCH_DB'")" ]; then
  psql "$PGURL/postgres" -Xqc "CREATE DATABASE $PGBENCH_DB" >/dev/null
  "$PGBENCH" -q -i -s 10 "$PGURL/$PGBENCH_DB" >/dev/null 2>&1
fi

GW_ENV=(FHIRGATE_DATABASE_URL="$PGURL/$DB" FHIRGATE_MLLP_DISABLED=true FHIRGATE_HTTP_ADDR="127.0.0.1:$PORT" FHIRGATE_DATA_DIR="$DATA"
  FHIRGATE_MASTER_KEY_FILE="$KEY")
SERVER=
EXPLAIN_ON=0
stop_server() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; SERVER=; fi
}
explain_off() {
  if [ "$EXPLAIN_ON" = 1 ]; then
    psql "$PGURL/postgres" -Xq -c "ALTER DATABASE $DB RESET session_preload_libraries" \
      -c "ALTER DATABASE $DB RESET auto_explain.log_min_duration" -c "ALTER DATABASE $DB RESET auto_explain.log_analyze" \
      -c "ALTER DATABASE $DB RESET auto_explain.log_buffers" -c "ALTER DATABASE $DB RESET auto_explain.log_timing" >/dev/null
    EXPLAIN_ON=0
  fi
}
trap 'stop_server; explain_off' EXIT
start_server() {
  if curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz"; then
    echo "something already listens on port $PORT (PORT=...)"; exit 1
  fi
  env "${GW_ENV[@]}" FHIRGATE_LOG=warn "$BIN" serve >> "$OUT/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 150); do
    curl -sf -o /dev/null "http://127.0.0.1:$PORT/readyz" && return 0
    kill -0 "$SERVER" 2>/dev/null || break
    sleep 0.2
  done
  echo "the gateway did not start; tail of $OUT/server.log:"; tail -20 "$OUT/server.log"
  echo "(a master key mismatch means $DB was loaded with another key: RELOAD=1 starts afresh)"
  exit 1
}

# --- data ------------------------------------------------------------------
start_server
# The token outlives restarts: the signing keys are in the database.
bench_token "$BIN" "${GW_ENV[@]}"
python3 bench/search-load.py queries --out "$OUT"
before=$(psql_db -c "SELECT count(*) FROM resources WHERE NOT deleted")
python3 bench/search-load.py load --base "$BASE" --db "$PGURL/$DB"
after=$(psql_db -c "SELECT count(*) FROM resources WHERE NOT deleted")
if [ "$before" != "$after" ]; then
  # Steady-state statistics and visibility map after a bulk load (autovacuum would
  # get there too, later): the plans below are those of an analysed database.
  echo "VACUUM ANALYZE after the load"
  psql_db -c "VACUUM ANALYZE"
fi
psql_db -F ' ' -c "SELECT resource_type, count(*) FROM resources WHERE NOT deleted GROUP BY 1 ORDER BY 1" | sed 's/^/  /'

# --- query plans (auto_explain, one probe of each search) --------------------
probe() { # url -> status; the warm-up request is not captured, the one between the markers is
  curl -s -o /dev/null -H "$AUTH" "$BASE${1#/fhir}"
  psql_db -c "SELECT 'fhirgate-bench-probe: $1'" >/dev/null
  curl -s -o "$OUT/probe.json" -w '%{http_code}' -H "$AUTH" "$BASE${1#/fhir}"
  psql_db -c "SELECT 'fhirgate-bench-probe-end'" >/dev/null
}
if [ "$PLANS" = 1 ]; then
  PGLOG=${PGLOG:-}
  if [ -z "$PGLOG" ]; then
    f=$(psql "$PGURL/postgres" -XAtc "SELECT pg_current_logfile()")
    if [ -n "$f" ]; then
      case $f in /*) PGLOG=$f ;; *) PGLOG=$(psql "$PGURL/postgres" -XAtc "SHOW data_directory")/$f ;; esac
    else
      PGLOG=$(ls -t /var/log/postgresql/postgresql-*.log 2>/dev/null | head -1 || true)
    fi
  fi
  if [ -z "$PGLOG" ] || [ ! -r "$PGLOG" ]; then
    echo "cannot read the PostgreSQL server log (set PGLOG=...): skipping the plans" >&2
  else
    stop_server
    EXPLAIN_ON=1
    psql "$PGURL/postgres" -Xq -c "ALTER DATABASE $DB SET session_preload_libraries = 'auto_explain'" \
      -c "ALTER DATABASE $DB SET auto_explain.log_min_duration = 0" -c "ALTER DATABASE $DB SET auto_explain.log_analyze = on" \
      -c "ALTER DATABASE $DB SET auto_explain.log_buffers = on" -c "ALTER DATABASE $DB SET auto_explain.log_timing = on" >/dev/null
    start_server
    offset=$(stat -c %s "$PGLOG")
    : > "$OUT/probes.txt"
    for url in "$(head -1 "$OUT/obs-queries.txt")" "$(sed -n 2p "$OUT/patient-queries.txt")" \
               "$(sed -n 3p "$OUT/patient-queries.txt")" "/fhir/Observation?_total=accurate"; do
      code=$(probe "$url")
      echo "$url -> $code, total $(grep -o '"total":[0-9]*' "$OUT/probe.json" | head -1 | cut -d: -f2)" | tee -a "$OUT/probes.txt"
    done
    sleep 1
    stop_server
    explain_off
    tail -c +"$((offset + 1))" "$PGLOG" > "$OUT/explain.log"
    python3 - "$OUT/explain.log" "$OUT/probes.txt" > "$OUT/plans.txt" <<'EOF'
import re, sys
# Keep, after each probe marker, the plans of the search's count and id queries
# and of the first per-id read; drop the rest (audit inserts, key lookups).
text = open(sys.argv[1], errors="replace").read()
probes = {l.split(" -> ")[0]: l.strip() for l in open(sys.argv[2])}
entries = re.split(r"\n(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", text)
current, fetched = None, False
for e in entries:
    if "plan:" not in e:
        continue
    if "fhirgate-bench-probe-end" in e:
        current = None
        continue
    m = re.search(r"fhirgate-bench-probe: ([^']*)", e)
    if m:
        current, fetched = m.group(1), False
        print(f"\n=== {probes.get(current, current)}")
        continue
    if current is None:
        continue
    head, _, body = e.partition("\n")
    dur = re.search(r"duration: ([0-9.]+ ms)", head)
    body = "\n".join(l[1:] if l.startswith("\t") else l for l in body.splitlines())
    if re.search(r"FROM (resources|audit_events) r WHERE|\) r WHERE", body):
        kind = "count" if "count(*)" in body else "ids"
    elif not fetched and '"resource_versions"' in body and "INNER JOIN" in body:
        kind, fetched = "read of the first match (one such query per entry)", True
    else:
        continue
    print(f"\n--- {kind}: {dur.group(1) if dur else '?'}\n{body.rstrip()}")
EOF
    echo "plans: $OUT/plans.txt"
    cat "$OUT/plans.txt"
    start_server
  fi
fi

# --- load runs ---------------------------------------------------------------
field() { sed -n "s/^RESULT .*\b$1=\([0-9.]*\).*/\1/p" "$2"; }
wrk_search() { # name paths-file run
  FHIRGATE_BENCH_PATHS="$2" wrk -t2 -c"$CONNS" -d"${DURATION}s" -s bench/search.lua "http://127.0.0.1:$PORT" > "$OUT/$1-$3.txt"
}
: > "$OUT/results.txt"
: > "$OUT/errors.txt"
: > "$OUT/noise.txt"
for r in $(seq "$RUNS"); do
  echo "run $r" >&2
  s=$(tps_pgbench -S -c "$CONNS" -j 2 -T "$DURATION" -n "$PGURL/$PGBENCH_DB")
  wrk_search obs "$OUT/obs-queries.txt" "$r"
  wrk_search patient "$OUT/patient-queries.txt" "$r"
  line="$s"
  for n in obs patient; do
    f="$OUT/$n-$r.txt"
    line="$line $(field rps "$f") $(field p50 "$f") $(field p95 "$f") $(field p99 "$f") $(field mean_total "$f")"
    non200=$(field non200 "$f"); errs=$(field errors "$f")
    if [ "${non200:-x}" != 0 ] || [ "${errs:-x}" != 0 ]; then
      echo "run $r $n: ${non200:-?} non-200, ${errs:-?} socket errors; $(grep FIRST_NON200 "$f" || tail -3 "$f")" | tee -a "$OUT/errors.txt" >&2
    fi
  done
  echo "$line" >> "$OUT/results.txt"
  # The machine is shared: note what else was busy (other databases' active queries, load).
  echo "run $r: load average $(cut -d' ' -f1-3 /proc/loadavg); active queries in other databases: $(psql "$PGURL/postgres" -XAtc \
    "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() AND datname NOT IN ('$DB', '$PGBENCH_DB', 'postgres')")" >> "$OUT/noise.txt"
done

# --- _total=accurate on the whole Observation table ---------------------------
: > "$OUT/total.txt"
for q in "_total=accurate" "_total=accurate&_count=0"; do
  curl -s -o /dev/null -H "$AUTH" "$BASE/Observation?$q"   # warm-up
  for _ in $(seq "$TOTAL_RUNS"); do
    out=$(curl -s -o "$OUT/total.json" -w '%{http_code} %{time_total}' -H "$AUTH" "$BASE/Observation?$q")
    code=${out% *}
    [ "$code" = 200 ] || echo "Observation?$q: HTTP $code $(head -c 200 "$OUT/total.json")" | tee -a "$OUT/errors.txt" >&2
    echo "$q ${out#* } $(grep -o '"total":[0-9]*' "$OUT/total.json" | head -1 | cut -d: -f2)" >> "$OUT/total.txt"
  done
done
stop_server

# --- report -------------------------------------------------------------------
echo
echo "CONNS=$CONNS DURATION=${DURATION}s; latencies in ms; 'matches' = mean Bundle.total per request"
echo "pgbench-S  obs/s obs-p50 obs-p95 obs-p99 obs-matches  patient/s pat-p50 pat-p95 pat-p99 pat-matches"
cat "$OUT/results.txt"
for col in $(seq 11); do printf '%s ' "$(awk -v c="$col" '{print $c}' "$OUT/results.txt" | median)"; done; echo " <- medians"
awk '{print $2/$1}' "$OUT/results.txt" | median | xargs printf 'Observation search / pgbench -S (median ratio): %.3f\n'
awk '{print $7/$1}' "$OUT/results.txt" | median | xargs printf 'Patient search / pgbench -S (median ratio): %.3f\n'
for q in "_total=accurate" "_total=accurate&_count=0"; do
  ms=$(grep "^$q " "$OUT/total.txt" | awk '{print $2 * 1000}' | sort -n | tr '\n' ' ')
  printf 'GET Observation?%s: median %.1f ms over %s runs (total=%s; all: %s)\n' "$q" \
    "$(echo "$ms" | tr ' ' '\n' | grep . | median)" "$TOTAL_RUNS" "$(grep "^$q " "$OUT/total.txt" | tail -1 | awk '{print $3}')" "$ms"
done
obs95=$(awk '{print $4}' "$OUT/results.txt" | median)
pat95=$(awk '{print $9}' "$OUT/results.txt" | median)
tot=$(grep "^_total=accurate " "$OUT/total.txt" | awk '{print $2 * 1000}' | median)
awk -v o="$obs95" -v p="$pat95" -v t="$tot" 'BEGIN {
  printf "targets (issue #3): Observation p95 %.1f ms < 20: %s; Patient p95 %.1f ms < 20: %s; _total=accurate %.1f ms < 300: %s\n",
    o, (o < 20 ? "met" : "NOT met"), p, (p < 20 ? "met" : "NOT met"), t, (t < 300 ? "met" : "NOT met") }'
cat "$OUT/noise.txt"
if [ -s "$OUT/errors.txt" ]; then
  echo "ERRORS (see $OUT/errors.txt):"; cat "$OUT/errors.txt"; exit 1
fi
echo "every response was 200"
