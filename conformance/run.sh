#!/usr/bin/env bash
# Independent R4 validation of what the gateway returns (conformance/README.md):
# a release build on a fresh database, the shared examples and HL7 samples
# loaded, every answer validated by fhir.resources 6.1.0 (FHIR 4.0.1).
#   conformance/run.sh        (BIN=, SKIP_BUILD=1, PGURL=, PORT=, MLLP= override)
# Needs python3 with venv and pip (PyPI is reached once, into target/), a
# PostgreSQL server (trust auth) and ../shared beside the project.
set -euo pipefail
cd "$(dirname "$0")/.."
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
PORT=${PORT:-18070}
MLLP=${MLLP:-12570}
VENV=${VENV:-target/conformance-venv}
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/release/fhirgate}
[ "${SKIP_BUILD:-0}" = 1 ] || cargo build --release --quiet
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  # fhir.resources 6.1.0 is the last release whose default models are R4
  # (4.0.1; 6.2 onwards are R4B/R5) and it needs pydantic 1.
  "$VENV/bin/pip" install -q "fhir.resources==6.1.0" "pydantic<2"
fi
DB=fhirgate_conformance
psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
DATA=$(mktemp -d)
GW_ENV=(FHIRGATE_DATABASE_URL="$PGURL/$DB" FHIRGATE_HTTP_ADDR="127.0.0.1:$PORT" FHIRGATE_MLLP_ADDR="127.0.0.1:$MLLP" FHIRGATE_DATA_DIR="$DATA")
env "${GW_ENV[@]}" FHIRGATE_LOG=warn "$BIN" serve > "$DATA/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null; rm -rf "$DATA"' EXIT
. bench/lib.sh
wait_ready "$PORT"
# Every FHIR request needs a bearer token (issue #17): an operator token.
bench_token "$BIN" "${GW_ENV[@]}"
FHIRGATE_TOKEN=$FHIRGATE_BENCH_TOKEN "$VENV/bin/python" conformance/validate_r4.py --base "http://127.0.0.1:$PORT/fhir" --mllp "127.0.0.1:$MLLP" --shared ../shared
