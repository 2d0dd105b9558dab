#!/usr/bin/env bash
# Fault runs for CI: the load generator (cmd/tidings-bench) drives a server it
# starts itself and injects faults while messages flow, then verifies that
# every accepted message reached every device of its recipient exactly once,
# in order, with its read receipt. Exits non-zero on any loss, duplicate,
# failed verification, or a fault that was asked for and did not happen.
#
#   1. embedded backends, -fault kill (SIGKILL + restart on the same data)
#   2. real backends (scripts/services.sh: Kafka, Cassandra, PostgreSQL),
#      -fault kill,broker,cassandra: SIGKILL the server, then restart Kafka,
#      then restart Cassandra under the running server.
#
# Run 2 restarts the services of scripts/services.sh (down NAME && up NAME):
# only where nothing else uses them (CI runs its steps one after another).
# It needs them up (`bash scripts/services.sh up`); it uses its own topic
# and keyspace (bench.<run>, bench_<run>). FAULTS_REAL=0 skips it.
#
# Faults are spread evenly over the sending window (fault i of k at
# (i+1)/(k+1) of it), one after another, and a fault still pending when
# sending ends is skipped (which fails the check): in the 120 s window the
# Kafka restart (due at 60 s, ~35 s) ends before sending does, with room,
# and the Cassandra one (due at 90 s) follows it. The rate keeps the run to
# a few thousand messages (6,000 real, 3,000 embedded).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
step() { printf '\n=== faults: %s (%ss)\n' "$*" "$(($(date +%s) - start))"; }

command -v jq >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q jq; }

out=${TIDINGS_ARTIFACTS:-$(mktemp -d)}/faults
mkdir -p "$out"
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT

step "build tidings and tidings-bench"
go build -o "$bin/tidings" ./cmd/tidings
go build -o "$bin/tidings-bench" ./cmd/tidings-bench

# check NAME FAULTS: the run's JSON shows verification passed, nothing lost or
# doubled, and every fault in FAULTS (comma-separated) ran and came back.
check() {
  local json=$out/$1.json want=$2
  [[ -s $json ]] || { echo "faults: $1: no results file $json" >&2; return 1; }
  jq -r '"faults: \(.name // "'"$1"'"): accepted \(.verification.accepted), lost \(.verification.lost), duplicated \(.verification.duplicated), out of order \(.verification.out_of_order // 0), verification ok \(.verification.ok); faults: \([.faults[]? | "\(.what) at \(.at_s|floor)s, out \(.outage_s*10|floor/10)s"] | join("; "))"' "$json" || true
  jq -e --arg want "$want" '
    .verification.ok == true and .verification.lost == 0 and .verification.duplicated == 0
    and .verification.accepted > 0
    and ([.faults[]? | select((.error // "") == "") | .what] == ($want | split(",")))' "$json" >/dev/null || {
    echo "faults: $1 FAILED: verification, loss, duplicate, or a fault of [$want] that did not run (see $json)" >&2
    return 1
  }
}

# run NAME FAULTS ARGS...: one bench run; its exit status (1 on a failed
# verification) and the results file both have to be clean.
run() {
  local name=$1 faults=$2
  shift 2
  step "$name: -fault $faults $*"
  local rc=0
  rm -f "$out/$name.json" # a file left by an earlier run must not pass for this one's
  "$bin/tidings-bench" -spawn -server-bin "$bin/tidings" -via rest -lag-probe 0 -quiet \
    -fault "$faults" -out "$out/$name.json" "$@" || rc=$?
  # The summary and the checks of the results file, whatever the exit status.
  check "$name" "$faults" || rc=1
  # The server's log (tidings-bench keeps it in the temp directory) beside the JSON.
  local id
  id=$(jq -r '.run_id // empty' "$out/$name.json" 2>/dev/null || true)
  [[ -z $id ]] || cp "${TMPDIR:-/tmp}/tidings-bench-$id-server.log" "$out/$name-server.log" 2>/dev/null || true
  [[ $rc == 0 ]] || echo "faults: $name FAILED (tidings-bench exit status or the checks above; results and server log under $out)" >&2
  return "$rc"
}

run embedded-kill kill -backends embedded -users 100 -rate 100 -duration 30s -drain 30s

if [[ ${FAULTS_REAL:-1} != 0 ]]; then
  run real-kill-broker-cassandra kill,broker,cassandra -backends real \
    -users 100 -rate 50 -duration 120s -drain 60s
fi
step "done"
