# Helpers shared by the bench scripts, sourced (`. bench/lib.sh`) once a script
# has changed to the project root.

PGBENCH=$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench | tail -1)

# pgbench's "tps = " figure for the arguments given.
tps_pgbench() { "$PGBENCH" "$@" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p'; }

# The median of the numbers on standard input, one a line.
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# CPU ticks (1/100 s) used so far by the processes whose pids are given.
ticks() { local t=0 s; for p in "$@"; do s=$(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null || echo 0); t=$((t+s)); done; echo $t; }

# Waits up to 20 s for the gateway on 127.0.0.1:$1 to answer /readyz; fails after.
wait_ready() {
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$1/readyz" >/dev/null && return 0; sleep 0.2; done
  echo "the gateway on port $1 did not become ready" >&2
  return 1
}

# Every FHIR request needs `Authorization: Bearer` (issue #17). Mints an
# operator token (system/*.cruds, valid a day) for the gateway that `serve`
# runs with the settings given as NAME=VALUE arguments after the binary, the
# same as `serve`'s (FHIRGATE_DATABASE_URL, FHIRGATE_DATA_DIR, FHIRGATE_HTTP_ADDR,
# FHIRGATE_MASTER_KEY_FILE if set: the token's issuer is the FHIR base at that
# address), once the gateway is ready. Exports FHIRGATE_BENCH_TOKEN (read by
# bench/*.lua and the Python load scripts) and sets AUTH for curl's -H "$AUTH".
#   bench_token "$BIN" "${GW_ENV[@]}"
bench_token() {
  local bin=$1; shift
  local out
  out=$(env "$@" FHIRGATE_LOG=error "$bin" token --scope "system/*.cruds" --ttl 86400) \
    || { echo "fhirgate token failed: no bench token" >&2; return 1; }
  # The log goes to standard output too: keep the JWT line only.
  FHIRGATE_BENCH_TOKEN=$(printf '%s\n' "$out" | grep -E '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' | tail -1)
  [ -n "$FHIRGATE_BENCH_TOKEN" ] || { echo "fhirgate token printed no token" >&2; return 1; }
  export FHIRGATE_BENCH_TOKEN
  AUTH="Authorization: Bearer $FHIRGATE_BENCH_TOKEN"
}
