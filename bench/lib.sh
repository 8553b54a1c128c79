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
