#!/usr/bin/env bash
# Where tenancy's read cost goes (issue #18), with pgbench on the databases
# bench/tenancy.sh leaves behind with KEEP_DB=1: the gateway's read-by-id
# statement for one patient, 16 clients, DURATION s each, ROUNDS rounds:
#   base      the statement alone, pre-tenancy database, owner login (as before #18)
#   gateway   BEGIN; set_config(app.tenant) | statement | COMMIT: three round
#             trips as the serving role, row-level security on (what Db does now)
#   compound  the same three in one round trip (simple-protocol multi-statement)
#   session   the statement alone, the tenant set for the session (PGOPTIONS):
#             row-level security's own cost, no extra round trip
#   KEEP_DB=1 bench/tenancy.sh && bench/rls-roundtrips.sh   (DURATION=6 ROUNDS=3 PGURL=)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-6}
ROUNDS=${ROUNDS:-3}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
SERVING=${SERVING:-postgres://fhirgate_app@127.0.0.1:5432}
OUT=${OUT:-target/bench-rls}
. bench/lib.sh
mkdir -p "$OUT"
one() { psql "$PGURL/$1" -Atc "SELECT tenant_id || ' ' || id FROM resources WHERE resource_type = 'Patient' AND tenant_id = '$2' LIMIT 1"; }
read -r _ bid < <(one fhirgate_bench_tenancy_base default)
read -r _ sid < <(one fhirgate_bench_tenancy_subj t042)
q() { # tenant id
  echo "SELECT rv.resource_type, rv.id, rv.version_id, rv.last_updated, rv.method, rv.body FROM resources r JOIN resource_versions rv ON rv.tenant_id = r.tenant_id AND rv.resource_type = r.resource_type AND rv.id = r.id AND rv.version_id = r.version_id WHERE r.tenant_id = '$1' AND r.resource_type = 'Patient' AND r.id = '$2' LIMIT 1"
}
echo "$(q default "$bid");" > "$OUT/base.sql"
printf '%s\n' "BEGIN\\; SELECT set_config('app.tenant', 't042', true);" "$(q t042 "$sid");" "COMMIT;" > "$OUT/gateway.sql"
echo "BEGIN\\; SELECT set_config('app.tenant', 't042', true)\\; $(q t042 "$sid")\\; COMMIT;" > "$OUT/compound.sql"
echo "$(q t042 "$sid");" > "$OUT/session.sql"
tps() { sed -n 's/^tps = \([0-9.]*\).*/\1/p'; }
: > "$OUT/results.txt"
for r in $(seq "$ROUNDS"); do
  b=$("$PGBENCH" -n -c 16 -j 2 -T "$DURATION" -f "$OUT/base.sql" "$PGURL/fhirgate_bench_tenancy_base" 2>/dev/null | tps)
  g=$("$PGBENCH" -n -c 16 -j 2 -T "$DURATION" -f "$OUT/gateway.sql" "$SERVING/fhirgate_bench_tenancy_subj" 2>/dev/null | tps)
  c=$("$PGBENCH" -n -c 16 -j 2 -T "$DURATION" -f "$OUT/compound.sql" "$SERVING/fhirgate_bench_tenancy_subj" 2>/dev/null | tps)
  s=$(PGOPTIONS='-c app.tenant=t042' "$PGBENCH" -n -c 16 -j 2 -T "$DURATION" -f "$OUT/session.sql" "$SERVING/fhirgate_bench_tenancy_subj" 2>/dev/null | tps)
  echo "round $r (load $(cut -d' ' -f1 /proc/loadavg)): base $b gateway $g compound $c session $s" >&2
  echo "$b $g $c $s" >> "$OUT/results.txt"
done
echo "reads/s (transactions/s), 16 clients: base  gateway(3 round trips)  compound(1)  session-level tenant"
cat "$OUT/results.txt"
for c in 1 2 3 4; do printf '%s ' "$(awk -v c=$c '{print $c}' "$OUT/results.txt" | median)"; done; echo " <- medians"
awk '{printf "ratios to base: gateway %.3f compound %.3f session %.3f\n", $2/$1, $3/$1, $4/$1}' "$OUT/results.txt"
