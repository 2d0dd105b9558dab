#!/usr/bin/env bash
# Runs each Go fuzz target of a decoder of outside input for a bounded
# time (FUZZTIME, 6s by default: eight targets, about 80 s warm): REST
# bodies and the paging query (adapters/httpapi, through the embedded
# in-memory views), the Cassandra views' cursors (their decoding, which
# needs no database), WebSocket client frames (adapters/ws), and strict
# JSON, cursors, positions and events (domain). A finding fails the run;
# Go writes the failing input to testdata/fuzz/<Target>/ of the package,
# where `go test` replays it from then on (commit it with the fix).
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime="${FUZZTIME:-6s}"
targets=(
  "./adapters/httpapi FuzzRequestBody"
  "./adapters/httpapi FuzzListQuery"
  "./adapters/ws FuzzDecodeFrame"
  "./adapters/cassandra FuzzCassandraCursor"
  "./domain FuzzDecodeStrict"
  "./domain FuzzCursor"
  "./domain FuzzParsePosition"
  "./domain FuzzUnmarshalEvent"
)
for t in "${targets[@]}"; do
  read -r pkg target <<<"$t"
  echo "--- $target ($pkg, $fuzztime)"
  go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"
done
