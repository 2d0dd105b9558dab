#!/usr/bin/env bash
# Fuzzes a running embedded tidings server with docs/openapi.yaml using
# schemathesis (from PyPI, into a throwaway venv): every operation but the
# WebSocket upgrade and the operators' /metrics, the examples, coverage,
# fuzzing and stateful phases (the spec's links chain sign-up, the new
# token, a send, reading it and marking it read), a bounded number of
# examples, and every check: no 5xx, responses as the spec says (status,
# content type, headers, body), schema-valid requests accepted and invalid
# ones refused, auth not ignored. Exits non-zero on any failure.
# .ci/schemathesis_hooks.py says what the schema cannot (which users exist,
# which cursors the server gave out); .ci/schemathesis.toml tunes the
# stateful phase.
#
# About two and a half minutes on two cores from a fresh machine (the venv
# takes a minute of it).
#
# Env: SCHEMATHESIS_VERSION (pinned below), ST_MAX_EXAMPLES (per operation
# and phase, 60), ST_SEED (reproduce a run), ST_ARGS (more schemathesis
# options, e.g. "--include-path /me" to narrow a local run), ST_VENV (a venv
# to reuse), TIDINGS_ARTIFACTS (where the report and the server log go).
set -euo pipefail
cd "$(dirname "$0")/.."

version="${SCHEMATHESIS_VERSION:-4.32.5}"
validator_version=0.9.0
max_examples="${ST_MAX_EXAMPLES:-60}"
artifacts="${TIDINGS_ARTIFACTS:-/tmp/tidings-artifacts}/schemathesis"
work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$artifacts"

venv="${ST_VENV:-$work/venv}"
if [ ! -x "$venv/bin/schemathesis" ] || [ ! -x "$venv/bin/openapi-spec-validator" ] ||
  [ "$("$venv/bin/schemathesis" --version 2>/dev/null)" != "schemathesis, version $version" ]; then
  command -v python3 >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3 python3-venv; }
  python3 -m venv "$venv" || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv && python3 -m venv --clear "$venv"; }
  "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$version" "openapi-spec-validator==$validator_version"
fi

# The spec is a valid OpenAPI 3.1 document before anything is fuzzed with it.
"$venv/bin/openapi-spec-validator" docs/openapi.yaml

go build -o "$work/tidings" ./cmd/tidings
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
# No send, sign-up or sign-in limits (429 is in the spec where they apply,
# but a fuzzer that only meets a limit tests nothing else), and a short
# read-your-writes wait: generated X-Tidings-Position headers name offsets
# the log never reaches. Embedded whatever the environment says: .ci/run
# exports the real services' TIDINGS_* settings for the tests before this.
env -u TIDINGS_KAFKA_BROKERS -u TIDINGS_CASSANDRA_HOSTS -u TIDINGS_POSTGRES_URL \
  "$work/tidings" serve --addr "127.0.0.1:$port" --data "$work/data" --send-rate 0 \
  --signup-rate 0 --signin-rate 0 \
  --consistency-wait 100ms --log-level warn >"$artifacts/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  curl -fsS "$base/readyz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$artifacts/server.log" >&2; echo "server exited" >&2; exit 1; }
  sleep 0.1
done
curl -fsS "$base/readyz" >/dev/null

# The fuzzer's own user (the hooks authenticate every request as it but
# the steps a link authenticates as a new user) and a user to write to
# (the hooks point generated recipients that name nobody at it).
field() { python3 -c "import json, sys; print(json.load(sys.stdin)[\"$1\"])"; }
self=$(curl -fsS -X POST "$base/users" -H 'Content-Type: application/json' -d '{"name":"schemathesis","password":"not-a-guessable-password-4711"}')
token=$(printf '%s' "$self" | field token)
self_id=$(printf '%s' "$self" | field id)
recipient=$(curl -fsS -X POST "$base/users" -H 'Content-Type: application/json' -d '{"name":"recipient"}' | field id)

status=0
# The embedded log's partitions: --kafka-partitions' default. One worker:
# CPython 3.11.7's parser failed ("AST constructor recursion depth
# mismatch") under schemathesis' threads.
ST_TOKEN="$token" ST_SELF="$self_id" ST_RECIPIENT="$recipient" ST_PARTITIONS=16 SCHEMATHESIS_HOOKS=.ci/schemathesis_hooks.py \
  "$venv/bin/schemathesis" --config-file .ci/schemathesis.toml run docs/openapi.yaml \
  --url "$base" \
  --generation-with-security-parameters false \
  --exclude-path /ws --exclude-path /metrics \
  --phases examples,coverage,fuzzing,stateful \
  --checks all \
  --max-examples "$max_examples" \
  ${ST_SEED:+--seed "$ST_SEED"} \
  --workers 1 \
  --request-timeout 10 \
  --suppress-health-check too_slow,filter_too_much \
  --report junit --report-dir "$artifacts" \
  --no-color ${ST_ARGS:-} || status=$?

if grep -q 'panic' "$artifacts/server.log"; then
  echo "the server panicked (see $artifacts/server.log)" >&2
  status=1
fi
exit "$status"
