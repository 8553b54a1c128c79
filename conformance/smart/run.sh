#!/usr/bin/env bash
# SMART App Launch 2.0.0 conformance suite (conformance/smart/README.md), one
# command: a fresh database and data directory, `fhirgate serve` on free
# loopback ports, users and clients made with the CLI, a few resources for two
# patients, then conformance/smart/suite.py with real clients (fhirclient driven
# through the login, picker and consent pages by headless Chromium; a backend
# service signing its own assertions with PyJWT). Exit status 1 on any failure.
#   conformance/smart/run.sh       (BIN=, PGURL=, VENV=, ARTIFACTS= override;
#                                   extra arguments go to suite.py, e.g. -k pkce)
# Needs python3 with venv, a PostgreSQL server (trust auth), and Debian's
# chromium + chromium-driver (installed with apt-get when missing, as root).
set -euo pipefail
cd "$(dirname "$0")/../.."
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/debug/fhirgate}
VENV=${VENV:-target/smart-venv}
ARTIFACTS=${ARTIFACTS:-target/smart-artifacts}
HERE=conformance/smart
started=$(date +%s)

if [ ! -x "$BIN" ]; then
  echo "smart: $BIN missing, building it"
  cargo build --quiet --bin fhirgate
fi

# Debian's Chromium and its driver: never skipped, installed when missing.
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  echo "smart: installing Debian's chromium and chromium-driver"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo -n"
  if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; }; then
    echo "smart: FAIL: could not install chromium and chromium-driver with apt-get" >&2
    exit 1
  fi
fi
for b in /usr/bin/chromium /usr/bin/chromedriver; do
  [ -x "$b" ] || { echo "smart: FAIL: $b is missing" >&2; exit 1; }
done

# The Python packages, pinned; reinstalled when requirements.txt changes.
if [ ! -x "$VENV/bin/python" ] || ! cmp -s "$HERE/requirements.txt" "$VENV/requirements.txt"; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$HERE/requirements.txt"
  cp "$HERE/requirements.txt" "$VENV/requirements.txt"
fi
PY="$VENV/bin/python"

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port); MLLP=$(free_port); CALLBACK=$(free_port)
while [ "$MLLP" = "$PORT" ]; do MLLP=$(free_port); done
while [ "$CALLBACK" = "$PORT" ] || [ "$CALLBACK" = "$MLLP" ]; do CALLBACK=$(free_port); done

DB=fhirgate_smart_$$
DATA=$(mktemp -d)
SERVER=""
cleanup() {
  [ -z "$SERVER" ] || { kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null || true; }
  psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$DATA"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
PGOPTIONS=--client-min-messages=warning psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null

export FHIRGATE_DATABASE_URL="$PGURL/$DB" FHIRGATE_HTTP_ADDR="127.0.0.1:$PORT" \
  FHIRGATE_MLLP_ADDR="127.0.0.1:$MLLP" FHIRGATE_DATA_DIR="$DATA" FHIRGATE_LOG=warn
"$BIN" serve > "$DATA/server.log" 2>&1 &
SERVER=$!
BASE="http://127.0.0.1:$PORT/fhir"
for _ in $(seq 150); do curl -sf "$BASE/metadata" >/dev/null && break; sleep 0.2; done
if ! curl -sf "$BASE/metadata" >/dev/null; then
  echo "smart: FAIL: the gateway did not start" >&2; cat "$DATA/server.log" >&2; exit 1
fi

# An operator token (the CLI signs it with the server's key) for seeding and
# for the EHR that starts EHR launches.
OPERATOR=$("$BIN" token --scope 'system/*.cruds' --ttl 3600)
"$PY" "$HERE/seed.py" --base "$BASE" --token "$OPERATOR" > "$DATA/seed.json"
seed() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$DATA/seed.json" "$1"; }
DOCTOR=$(seed practitioner); PATIENT_A=$(seed patient_a)

# Users: a doctor (the picker) and a patient (their own record).
DOCTOR_PW=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(18))')
PATIENT_PW=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(18))')
echo "$DOCTOR_PW" | "$BIN" users add smart-doctor --role doctor --fhir-user "Practitioner/$DOCTOR" >/dev/null
echo "$PATIENT_PW" | "$BIN" users add smart-patient --role patient --fhir-user "Patient/$PATIENT_A" >/dev/null

# Clients: a public app and a confidential one (redirect to the suite's own
# callback listener), and a backend service with an RS384 and an ES384 key.
REDIRECT="http://127.0.0.1:$CALLBACK/callback"
APP_SCOPES="launch launch/patient openid fhirUser offline_access online_access patient/*.cruds user/*.cruds"
"$BIN" clients add smart-public --kind public --name "SMART suite (public)" \
  --redirect-uri "$REDIRECT" --scopes "$APP_SCOPES" >/dev/null
CONF_SECRET=$("$BIN" clients add smart-confidential --kind confidential --name "SMART suite (confidential)" \
  --redirect-uri "$REDIRECT" --scopes "$APP_SCOPES" | sed -n 's/^client secret (shown once): //p')
[ -n "$CONF_SECRET" ] || { echo "smart: FAIL: no client secret printed" >&2; exit 1; }
mkdir -p "$DATA/keys"
"$PY" "$HERE/backend_client.py" --make-key --alg RS384 --key "$DATA/keys/rs384.pem" --jwks "$DATA/keys/rs384.json" >/dev/null 2>&1
"$PY" "$HERE/backend_client.py" --make-key --alg ES384 --key "$DATA/keys/es384.pem" --jwks "$DATA/keys/es384.json" >/dev/null 2>&1
"$PY" -c 'import json,sys; print(json.dumps({"keys": [k for f in sys.argv[1:] for k in json.load(open(f))["keys"]]}))' \
  "$DATA/keys/rs384.json" "$DATA/keys/es384.json" > "$DATA/keys/jwks.json"
"$BIN" clients add smart-backend --kind backend --jwks "$DATA/keys/jwks.json" \
  --scopes "system/Patient.rs system/Observation.rs system/Encounter.rs" >/dev/null

rm -rf "$ARTIFACTS"; mkdir -p "$ARTIFACTS"
echo "smart: gateway at $BASE, set up in $(( $(date +%s) - started ))s; screenshots, results.txt and server.log go to $ARTIFACTS"
set +e
SMART_BASE="$BASE" SMART_CALLBACK_PORT="$CALLBACK" SMART_REDIRECT="$REDIRECT" \
SMART_OPERATOR_TOKEN="$OPERATOR" SMART_SEED="$DATA/seed.json" \
SMART_DOCTOR=smart-doctor SMART_DOCTOR_PASSWORD="$DOCTOR_PW" \
SMART_PATIENT=smart-patient SMART_PATIENT_PASSWORD="$PATIENT_PW" \
SMART_PUBLIC_CLIENT=smart-public SMART_CONF_CLIENT=smart-confidential SMART_CONF_SECRET="$CONF_SECRET" \
SMART_BACKEND_CLIENT=smart-backend SMART_RS384_KEY="$DATA/keys/rs384.pem" SMART_ES384_KEY="$DATA/keys/es384.pem" \
SMART_ARTIFACTS="$ARTIFACTS" SMART_STARTED="$started" \
  "$PY" "$HERE/suite.py" "$@"
status=$?
set -e
cp "$DATA/server.log" "$ARTIFACTS/server.log" 2>/dev/null || true
exit $status
