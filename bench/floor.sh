#!/usr/bin/env bash
# The floor under issue #2's create target and issue #5's throughput target:
# what PostgreSQL alone, driven by pgbench (no HTTP, no gateway, no encryption,
# no conditional lookups or row locks), needs to store the rows a request
# writes, in the gateway's own tables (made by `fhirgate migrate`).
#
# - create: the version row, the current pointer and the AuditEvent of a
#   Patient shaped like bench/create.lua's;
# - ORU: what an ORU^R01 of bench/hl7_load.py creates: six Observations (one
#   per OBR, one per OBX) with their version rows, pointers and AuditEvents, and
#   the sealed raw message and ACK (its patient, known after the first
#   messages, is left out);
# - each once without and once with the search-index rows the gateway itself
#   wrote for that Patient and those Observations;
# - the create once more with those values as one document-index row instead
#   (option (b) in docs/performance.md's next steps).
#
# Every choice errs toward a lower floor: the secondary indexes of
# resource_versions, resources, audit_events and hl7_messages are dropped
# (history, the audit search projection, the duplicate-message index); ids are
# time-ordered like the gateway's UUIDv7, so primary keys grow at their right
# edge; statements are prepared; ciphertexts are constant bytes of the
# measured sizes; index rows repeat the same values, so their btree inserts hit
# one hot leaf where real blind indexes touch random pages. The gateway cannot
# write faster than this.
#
# Measured in alternation with the single-row insert that bench/run.sh's create
# ratio divides by, and turned into machine time per request (2 cores =
# 2,000,000 us of CPU per second):
#   create budget = 2e6 / (0.30 x insert tps)      ORU budget = 2e6 / 1,000
#   floor cost    = 2e6 / floor tps (PostgreSQL plus pgbench's own client)
#
#   bench/floor.sh          (DURATION=10 RUNS=3 by default; BIN=, SKIP_BUILD=1)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
RUNS=${RUNS:-3}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
DB=${DB:-fhirgate_floor}
PORT=${PORT:-18095}
MLLP=${MLLP:-12595}
# Ciphertext sizes (bytes) measured on the benchmarks' own data (docs/performance.md):
# bench/create.lua's Patient, an AuditEvent, an ORU's resources on average, and
# the raw ORU and its ACK.
PATIENT_BYTES=${PATIENT_BYTES:-435}
AUDIT_BYTES=${AUDIT_BYTES:-1650}
ORU_RESOURCE_BYTES=${ORU_RESOURCE_BYTES:-1195}
RAW_BYTES=${RAW_BYTES:-585}
ACK_BYTES=${ACK_BYTES:-148}
. bench/lib.sh
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/release/fhirgate}
[ "${SKIP_BUILD:-0}" = 1 ] || cargo build --release --quiet
OUT=${OUT:-target/bench-floor}
mkdir -p "$OUT"

psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
# One Patient shaped like bench/create.lua's and one ORU^R01 of bench/hl7_load.py,
# written by the gateway itself, give the search-index rows a create and an
# ORU's Observations write (their blind indexes are real HMACs).
python3 -c 'import hl7' 2>/dev/null || pip install -q hl7
python3 -c 'import sys; sys.path.insert(0, "bench"); from hl7_load import oru; sys.stdout.buffer.write(oru("FLOOR", 1))' > "$OUT/oru.hl7"
GW_ENV=(FHIRGATE_DATABASE_URL="$PGURL/$DB" FHIRGATE_MLLP_ADDR="127.0.0.1:$MLLP" FHIRGATE_HTTP_ADDR="127.0.0.1:$PORT" FHIRGATE_DATA_DIR="$OUT/data")
env "${GW_ENV[@]}" FHIRGATE_LOG=warn "$BIN" serve > "$OUT/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null' EXIT
wait_ready "$PORT"
bench_token "$BIN" "${GW_ENV[@]}"
curl -sf -o /dev/null -X POST "http://127.0.0.1:$PORT/fhir/Patient" -H 'Content-Type: application/fhir+json' -H "$AUTH" \
  -d '{"resourceType":"Patient","identifier":[{"system":"urn:bench","value":"B-0-1-4242"}],"name":[{"family":"Bench1","given":["Load"]}],"gender":"female","birthDate":"1970-01-01","telecom":[{"system":"phone","value":"+1 555 0000001"}],"address":[{"line":["1 Bench St"],"city":"Loadville"}]}'
FHIRGATE_DATA_DIR="$OUT/data" "$BIN" hl7 send --addr "127.0.0.1:$MLLP" "$OUT/oru.hl7" | grep -q 'MSA|AA' \
  || { echo "the gateway did not accept the ORU" >&2; exit 1; }
kill $SERVER; wait $SERVER 2>/dev/null || true
trap - EXIT
psql "$PGURL/$DB" -q >/dev/null <<'SQL'
DO $$
DECLARE i record;
BEGIN
  FOR i IN SELECT n.nspname, c.relname FROM pg_index x
           JOIN pg_class c ON c.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE t.relname IN ('resource_versions', 'resources', 'audit_events', 'hl7_messages')
             AND NOT x.indisprimary
  LOOP
    EXECUTE format('DROP INDEX %I.%I', i.nspname, i.relname);
  END LOOP;
END $$;
CREATE TABLE bench_insert (id bigserial PRIMARY KEY, payload text);
SQL
# Those resources' index rows, written again for every create or ORU below:
# floor_<Type>_<table> holds them, numbered by resource (n). The index tables
# keep all their indexes.
INDEX_TABLES="idx_string idx_token idx_date idx_reference idx_quantity idx_number idx_uri idx_composite idx_keys"
for typ in Patient Observation; do
  psql "$PGURL/$DB" -qc "CREATE TABLE floor_$typ AS SELECT row_number() OVER (ORDER BY id) AS n, id FROM resources WHERE resource_type = '$typ'" >/dev/null
  for t in $INDEX_TABLES; do
    psql "$PGURL/$DB" -qc "CREATE TABLE floor_${typ}_$t AS SELECT o.n, x.* FROM floor_$typ o JOIN $t x ON x.resource_type = '$typ' AND x.resource_id = o.id" >/dev/null
  done
done
# Option (b) of docs/performance.md, a per-resource document index: the
# Patient's search values as one row, its keys (equality keys, string values,
# whole-value and prefix blind indexes as hex) under GIN and its dates as a
# multirange under GiST, in place of its index rows.
psql "$PGURL/$DB" -q >/dev/null <<'SQL'
CREATE TABLE floor_doc_index (tenant_id text NOT NULL, resource_type text NOT NULL, resource_id text NOT NULL,
  keys text[] NOT NULL, dates tstzmultirange, PRIMARY KEY (tenant_id, resource_type, resource_id));
CREATE INDEX floor_doc_index_keys ON floor_doc_index USING gin (keys) WITH (gin_pending_list_limit = 128);
CREATE INDEX floor_doc_index_dates ON floor_doc_index USING gist (dates);
CREATE TABLE floor_doc AS SELECT 1 AS n,
  (SELECT array_agg(k) FROM (
     SELECT unnest(keys) AS k FROM floor_Patient_idx_keys
     UNION ALL SELECT param || '|' || value_norm FROM floor_Patient_idx_string WHERE value_norm IS NOT NULL
     UNION ALL SELECT param || '|b|' || encode(norm_bi, 'hex') FROM floor_Patient_idx_string WHERE norm_bi IS NOT NULL
     UNION ALL SELECT param || '|x|' || encode(exact_bi, 'hex') FROM floor_Patient_idx_string WHERE exact_bi IS NOT NULL
     UNION ALL SELECT param || '|p|' || encode(unnest(prefix_bis), 'hex') FROM floor_Patient_idx_string WHERE prefix_bis IS NOT NULL
     UNION ALL SELECT param || '|d|' || encode(value_bi, 'hex') FROM floor_Patient_idx_date WHERE value_bi IS NOT NULL) s) AS keys,
  (SELECT range_agg(tstzrange(low, high, '[]')) FROM floor_Patient_idx_date WHERE low IS NOT NULL) AS dates;
SQL
doc_cte="doc AS (INSERT INTO floor_doc_index SELECT 'default', 'Patient', r.id, f.keys, f.dates FROM floor_doc f JOIN r ON r.g = f.n),"

# CTEs that write, for every row of r (id, g), the index rows of template
# resource g of type $1: one per index table that has rows, as the gateway's
# WriteSet writes only tables with rows (src/store/writes.rs).
index_ctes() {
  for t in $INDEX_TABLES; do
    [ "$(psql "$PGURL/$DB" -Atc "SELECT count(*) FROM floor_$1_$t")" -gt 0 ] || continue
    IFS='|' read -r cols fcols < <(psql "$PGURL/$DB" -At -F'|' -c "SELECT string_agg(column_name, ', ' ORDER BY ordinal_position),
      string_agg('f.' || column_name, ', ' ORDER BY ordinal_position) FROM information_schema.columns
      WHERE table_name = '$t' AND column_name NOT IN ('tenant_id', 'resource_type', 'resource_id')")
    echo "$t AS (INSERT INTO $t (tenant_id, resource_type, resource_id, $cols)"
    echo "  SELECT f.tenant_id, f.resource_type, r.id, $fcols FROM floor_$1_$t f JOIN r ON r.g = f.n),"
  done
}
psql "$PGURL/$DB" -q >/dev/null <<'SQL'
-- A time-ordered id, like the gateway's UUIDv7 text.
CREATE FUNCTION floor_id() RETURNS text LANGUAGE sql VOLATILE AS
  $f$ SELECT lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1e6)::bigint), 16, '0')
             || lpad(to_hex((random() * 1e15)::bigint), 16, '0') $f$;
-- n bytes. Their content does not matter: the ciphertext columns are STORAGE
-- EXTERNAL (never compressed) and wal_compression is off, so any n bytes cost
-- the same; constant bytes keep the generator's own cost out of the floor.
CREATE FUNCTION floor_bytes(n int) RETURNS bytea LANGUAGE sql IMMUTABLE AS
  $f$ SELECT decode(repeat('a5', n), 'hex') $f$;
SQL

# The AuditEvent columns as the gateway fills them for one entity (src/store/audit.rs).
audit_cols="'default', floor_id(), now(), 1, floor_bytes(:ab), 'rest', 'create', 'C', '0',
  ARRAY[e], ARRAY[p], '{}'::text[], '127.0.0.1',
  '{entity-role|c|4,entity-role|sc|http://terminology.hl7.org/CodeSystem/object-role|4,entity-role|s|http://terminology.hl7.org/CodeSystem/object-role,entity-type|c|2,entity-type|sc|http://terminology.hl7.org/CodeSystem/audit-entity-type|2,entity-type|s|http://terminology.hl7.org/CodeSystem/audit-entity-type,site|c|fhirgate,site|n|fhirgate}'::text[]"
audit_into="INSERT INTO audit_events (tenant_id, id, recorded, key_id, body, type_code, subtype, action, outcome, entities, patients, agents, address, terms)"

# $1: the CTEs of the index rows (index_ctes), or nothing.
create_sql() {
  cat <<SQL
WITH r AS (SELECT floor_id() AS id, 1 AS g, now() AS t),
v AS (INSERT INTO resource_versions SELECT 'default', 'Patient', r.id, 1, r.t, 'POST', 1, floor_bytes(:pb) FROM r),
$1
c AS (INSERT INTO resources SELECT 'default', 'Patient', r.id, 1, r.t, false FROM r)
$audit_into SELECT $audit_cols FROM (SELECT 'Patient/' || id AS e, 'Patient/' || id AS p FROM r) a;
SQL
}
oru_sql() {
  cat <<SQL
BEGIN;
WITH r AS (SELECT floor_id() AS id, g, now() AS t FROM generate_series(1, 6) g),
v AS (INSERT INTO resource_versions SELECT 'default', 'Observation', r.id, 1, r.t, 'PUT', 1, floor_bytes(:ob) FROM r),
c AS (INSERT INTO resources SELECT 'default', 'Observation', r.id, 1, r.t, false FROM r),
$1
m AS (INSERT INTO hl7_messages (tenant_id, id, received_at, sender, control_id, message_type, peer, key_id, raw, ack_code, ack)
      SELECT 'default', floor_id(), now(), 'ANALYZER|LAB', floor_id(), 'ORU^R01', '127.0.0.1', 1, floor_bytes(:rb), 'AA', floor_bytes(:kb))
$audit_into SELECT $audit_cols FROM (SELECT 'Observation/' || id AS e, 'Patient/' || floor_id() AS p FROM r) a;
COMMIT;
SQL
}
[ "$(psql "$PGURL/$DB" -Atc "SELECT count(*) FROM floor_Observation")" = 6 ] || { echo "expected the ORU's 6 Observations" >&2; exit 1; }
create_sql "" > "$OUT/create.sql"
create_sql "$(index_ctes Patient)" > "$OUT/create-indexed.sql"
create_sql "$doc_cte" > "$OUT/create-doc.sql"
oru_sql "" > "$OUT/oru.sql"
oru_sql "$(index_ctes Observation)" > "$OUT/oru-indexed.sql"

tps() { "$PGBENCH" -n -j 2 -T "$DURATION" -D pb="$PATIENT_BYTES" -D ab="$AUDIT_BYTES" -D ob="$ORU_RESOURCE_BYTES" \
  -D rb="$RAW_BYTES" -D kb="$ACK_BYTES" "$@" "$PGURL/$DB" 2>"$OUT/pgbench.err" | sed -n 's/^tps = \([0-9.]*\).*/\1/p'; }

: > "$OUT/results.txt"
for r in $(seq "$RUNS"); do
  echo "run $r (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  i=$(tps -c 32 -f bench/insert.sql)
  c=$(tps -M prepared -c 32 -f "$OUT/create.sql")
  o=$(tps -M prepared -c 8 -f "$OUT/oru.sql")
  x=$(tps -M prepared -c 32 -f "$OUT/create-indexed.sql")
  y=$(tps -M prepared -c 8 -f "$OUT/oru-indexed.sql")
  z=$(tps -M prepared -c 32 -f "$OUT/create-doc.sql")
  [ -n "$i" ] && [ -n "$c" ] && [ -n "$o" ] && [ -n "$x" ] && [ -n "$y" ] && [ -n "$z" ] || { cat "$OUT/pgbench.err" >&2; exit 1; }
  echo "$i $c $o $x $y $z" >> "$OUT/results.txt"
done
echo "insert-tps(32c)  create-floor-tps(32c)  oru-floor-tps(8c)  create-with-index-rows-tps(32c)  oru-with-index-rows-tps(8c)  create-with-document-index-tps(32c)"
cat "$OUT/results.txt"
for col in 1 2 3 4 5 6; do printf '%s ' "$(awk -v c=$col '{print $c}' "$OUT/results.txt" | median)"; done; echo " <- medians"
awk '{print $2/$1}' "$OUT/results.txt" | median | xargs printf 'create floor / insert (median ratio): %.3f\n'
awk '{print $4/$1}' "$OUT/results.txt" | median | xargs printf 'create floor with index rows / insert (median ratio): %.3f\n'
budget=$(awk '{print int(2e6/(0.30*$1))}' "$OUT/results.txt" | median)
floor=$(awk '{print int(2e6/$2)}' "$OUT/results.txt" | median)
indexed=$(awk '{print int(2e6/$4)}' "$OUT/results.txt" | median)
doc=$(awk '{print int(2e6/$6)}' "$OUT/results.txt" | median)
echo "create: budget at 0.30 of insert $budget us of machine time; floor $floor us; with the index rows $indexed us; with a document index instead $doc us (medians)"
awk '{print $6/$1}' "$OUT/results.txt" | median | xargs printf 'create floor with a document index / insert (median ratio): %.3f\n'
oru=$(awk '{print int(2e6/$3)}' "$OUT/results.txt" | median)
oru_indexed=$(awk '{print int(2e6/$5)}' "$OUT/results.txt" | median)
echo "ORU: budget at 1,000 msg/s 2000 us of machine time; floor $oru us; with the index rows $oru_indexed us (medians)"
psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
