#!/usr/bin/env bash
# The benchmark matrix of docs/benchmarks.md: full runs of the load
# generator (cmd/tidings-bench) against a server it starts, each with the
# bare-HTTP ceiling measured in the same invocation, then idle connections
# and replays. Every result is a JSON file (date, commit, load average,
# verification) under OUT; the largest passing run of each kind gets plots.
#
#   bash scripts/benchmarks.sh [OUT]          # default OUT: ./bench-results
#   WS_RATES="4000 6000" REST_RATES=3000 REAL_RATES="" bash scripts/benchmarks.sh
#
# The real-backend runs need the services (bash scripts/services.sh up) and
# are skipped when REAL_RATES is empty. Run it on a quiet machine: the load
# generator shares the cores with the server (and with Kafka and Cassandra).
# Each run is bounded: DURATION of sending, at most DRAIN more.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench-results}
mkdir -p "$out"
WS_RATES=${WS_RATES-"2000 4000 6000 8000"}
REST_RATES=${REST_RATES-"2000 3000 4000"}
REAL_RATES=${REAL_RATES-"200 400 800"}
DURATION=${DURATION:-20s}
DRAIN=${DRAIN:-20s}
start=$(date +%s)
step() { printf '\n=== bench: %s (%ss)\n' "$*" "$(($(date +%s) - start))" >&2; }

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
step "build"
go build -o "$bin/tidings" ./cmd/tidings
go build -o "$bin/tb" ./cmd/tidings-bench

run() { # NAME ARGS...
	local name=$1
	shift
	step "$name"
	"$bin/tb" -spawn -server-bin "$bin/tidings" -users 200 -duration "$DURATION" -drain "$DRAIN" \
		-lag-probe 0 -with-ceilings -quiet -out "$out/$name.json" "$@" | grep -E 'throughput|accept |end-to-end|read receipt|server|client|ceiling|verification' || true
}

for r in $WS_RATES; do run "emb-ws-$r" -via ws -rate "$r" -plot "$out/emb-ws-$r"; done
for r in $REST_RATES; do run "emb-rest-$r" -via rest -rate "$r" -plot "$out/emb-rest-$r"; done
for r in $REAL_RATES; do run "real-rest-$r" -backends real -via rest -rate "$r" -plot "$out/real-rest-$r"; done

step "idle connections: 10,000"
"$bin/tb" -spawn -server-bin "$bin/tidings" -idle 10000 -quiet -out "$out/idle-10000.json" | tail -8

step "replay, embedded: fill a data directory for 20 s at 2,000 msg/s, then replay it"
data=$(mktemp -d)
port=$((20000 + RANDOM % 10000))
"$bin/tidings" serve --addr "127.0.0.1:$port" --data "$data" --send-rate 0 --signup-rate 0 --log-level warn &
srv=$!
for _ in $(seq 100); do curl -sf "127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
"$bin/tb" -addr "http://127.0.0.1:$port" -users 200 -rate 2000 -duration 20s -drain 10s -via ws -lag-probe 0 -quiet | grep -E 'throughput|verification'
kill "$srv"
wait "$srv" || true
"$bin/tidings" replay --data "$data" | tee "$out/replay-embedded.txt"
rm -rf "$data"
step "done: results in $out"
