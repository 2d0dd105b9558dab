#!/usr/bin/env bash
# Starts and stops the real servers that integration tests and development use,
# all on 127.0.0.1 only:
#   kafka      Kafka 4.1 (KRaft, broker+controller)  19092, controller 19093
#   cassandra  Cassandra 5.0, one node                19042 (CQL), 17000 (storage), 17199 (JMX)
#   postgres   PostgreSQL (Debian package)            15432; database, role, password: tidings
#
# Usage: scripts/services.sh up [kafka|cassandra|postgres|all]
#        scripts/services.sh down [kafka|cassandra|postgres|all]
#        scripts/services.sh status | logs [NAME] [LINES] | env
#        scripts/services.sh kafka-tool CLASS ARGS...   (e.g. org.apache.kafka.tools.TopicCommand)
#        scripts/services.sh nodetool ARGS...           (Cassandra's nodetool, e.g. status)
#
# Data, logs and the copied jars live in $TIDINGS_SERVICES_DIR (default <repo>/.services).
# The jars come from Maven Central on first use (poms in scripts/services/). See
# scripts/services/README.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CONF=$ROOT/scripts/services
DIR=${TIDINGS_SERVICES_DIR:-$ROOT/.services}
mkdir -p "$DIR" && DIR=$(cd "$DIR" && pwd)
SERVICES=(cassandra kafka postgres) # start order: slowest first

KAFKA_PORT=19092
CASSANDRA_PORT=19042
CASSANDRA_JMX_PORT=17199
POSTGRES_PORT=15432
declare -A PORT=([kafka]=$KAFKA_PORT [cassandra]=$CASSANDRA_PORT [postgres]=$POSTGRES_PORT)
declare -A ALL_PORTS=([kafka]="$KAFKA_PORT 19093" [cassandra]="$CASSANDRA_PORT 17000 $CASSANDRA_JMX_PORT"
  [postgres]=$POSTGRES_PORT)
declare -A TIMEOUT=([kafka]=${TIDINGS_KAFKA_TIMEOUT:-90} [cassandra]=${TIDINGS_CASSANDRA_TIMEOUT:-180}
  [postgres]=${TIDINGS_POSTGRES_TIMEOUT:-60})
declare -A LOG=([kafka]=$DIR/kafka/logs/server.log [cassandra]=$DIR/cassandra/logs/system.log
  [postgres]=$DIR/postgres/postgres.log)
declare -A STARTED=()
LAST_PROGRESS=$SECONDS
TOOL_JVM=(-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1)
# Kafka's command-line tools (StorageTool, TopicCommand, …) run from the broker's jars
KAFKA_TOOL=(java "${TOOL_JVM[@]}" -Dlog4j2.configurationFile="$CONF/kafka/tools-log4j2.xml"
  -cp "$DIR/cache/kafka-libs/*")

say() { printf 'services: %s\n' "$*"; }
die() { printf 'services: error: %s\n' "$*" >&2; exit 1; }

port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# running_pid NAME: print the pid of NAME's server process, fail when it is not running.
running_pid() {
  local f=$DIR/$1/$1.pid pid
  [[ $1 == postgres ]] && f=$DIR/postgres/data/postmaster.pid
  [[ -f $f ]] || return 1
  pid=$(head -n1 "$f")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  # a recycled pid is not ours: our servers have the services folder on their command line
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$DIR/" || return 1
  echo "$pid"
}

# launch NAME OUTFILE CMD...: run CMD detached in its own session; it writes its pid file.
launch() {
  local pf=$DIR/$1/$1.pid out=$2 i
  shift 2
  rm -f "$pf"
  # shellcheck disable=SC2016 # $$ and $@ belong to the inner shell
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pf" "$@" >>"$out" 2>&1 </dev/null 9>&- &
  for ((i = 0; i < 50; i++)); do [[ -s $pf ]] && return 0; sleep 0.1; done
  die "could not launch $1"
}

# fetch_libs kafka|cassandra: copy the jars of scripts/services/NAME/pom.xml into the cache.
fetch_libs() {
  local libs=$DIR/cache/$1-libs pom=$CONF/$1/pom.xml stamp
  stamp=$(sha1sum "$pom" | cut -d' ' -f1)
  [[ -f $libs/.stamp && $(cat "$libs/.stamp") == "$stamp" ]] && return 0
  command -v mvn >/dev/null || die "mvn not found (apt-get install -y maven)"
  say "fetching $1 jars from Maven Central (first run only)…"
  rm -rf "$libs" && mkdir -p "$DIR/cache"
  if ! mvn -q -B -f "$pom" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$libs" >"$DIR/cache/mvn-$1.log" 2>&1; then
    tail -n 30 "$DIR/cache/mvn-$1.log" >&2
    die "maven could not fetch the $1 jars (log: $DIR/cache/mvn-$1.log)"
  fi
  echo "$stamp" >"$libs/.stamp"
}

java_major() { "$1" -version 2>&1 | sed -n 's/.* version "\(1\.\)\{0,1\}\([0-9]*\).*/\2/p' | head -n1; }

start_kafka() {
  local home=$DIR/kafka id
  command -v java >/dev/null || die "java not found (apt-get install -y openjdk-17-jdk-headless)"
  fetch_libs kafka
  mkdir -p "$home/data" "$home/logs"
  sed "s|@DATA_DIR@|$home/data|g" "$CONF/kafka/server.properties" >"$home/server.properties"
  if [[ ! -f $home/data/meta.properties ]]; then
    id=$(timeout 60 "${KAFKA_TOOL[@]}" kafka.tools.StorageTool random-uuid)
    timeout 60 "${KAFKA_TOOL[@]}" kafka.tools.StorageTool format -t "$id" -c "$home/server.properties" \
      >"$home/logs/format.log" 2>&1 || { cat "$home/logs/format.log" >&2; die "kafka storage format failed"; }
  fi
  STARTED[kafka]=$SECONDS
  launch kafka "$home/logs/console.log" java -Xms512m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true -Djava.net.preferIPv4Stack=true \
    -Dkafka.logs.dir="$home/logs" -Dlog4j2.configurationFile="$CONF/kafka/log4j2.xml" \
    -cp "$DIR/cache/kafka-libs/*" kafka.Kafka "$home/server.properties"
}

# the port accepts and a client gets metadata (lists the topics)
ready_kafka() {
  port_open "$KAFKA_PORT" &&
    timeout 30 "${KAFKA_TOOL[@]}" org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" --list >/dev/null 2>&1
}

cassandra_java() {
  local j=${TIDINGS_CASSANDRA_JAVA:-java} v
  v=$(java_major "$j")
  if [[ -z $v || $v -gt 17 ]]; then # Cassandra 5.0 runs on Java 11 or 17 only
    j=$(ls -d /usr/lib/jvm/java-17-openjdk-*/bin/java 2>/dev/null | head -n1)
    [[ -n $j ]] || die "Cassandra 5.0 needs Java 17 (apt-get install -y openjdk-17-jdk-headless)"
  fi
  echo "$j"
}

start_cassandra() {
  local home=$DIR/cassandra java jamm
  java=$(cassandra_java)
  fetch_libs cassandra
  mkdir -p "$home/data" "$home/logs"
  sed "s|@DATA_DIR@|$home/data|g" "$CONF/cassandra/cassandra.yaml" >"$home/cassandra.yaml"
  jamm=$(ls "$DIR"/cache/cassandra-libs/jamm-*.jar | head -n1)
  # where this run's log starts: the readiness check must not read the last run's lines
  stat -c %s "${LOG[cassandra]}" 2>/dev/null >"$home/log.offset" || echo 0 >"$home/log.offset"
  STARTED[cassandra]=$SECONDS
  # 2 GiB: a node that collects the keyspaces of a test run (each e2e test makes one) ran out of
  # a 1 GiB heap with ~70 of them (java.lang.OutOfMemoryError: Java heap space)
  launch cassandra "$home/logs/console.log" "$java" -Xms2g -Xmx2g -Xss256k \
    @"$CONF/cassandra/jvm17-server.options" -javaagent:"$jamm" \
    -Dcassandra.config="file://$home/cassandra.yaml" -Dcassandra-foreground=yes \
    -Dcassandra.storagedir="$home/data" -Dcassandra.logdir="$home/logs" \
    -Dlogback.configurationFile="$CONF/cassandra/logback.xml" \
    -Dcassandra.jmx.local.port="$CASSANDRA_JMX_PORT" \
    -Dcom.sun.management.jmxremote.rmi.port="$CASSANDRA_JMX_PORT" \
    -Dcassandra.skip_wait_for_gossip_to_settle=0 -Dcassandra.unsafesystem=true \
    -cp "$DIR/cache/cassandra-libs/*" org.apache.cassandra.service.CassandraDaemon
}

# the log says CQL is up, and the port answers a CQL v4 OPTIONS frame with SUPPORTED
ready_cassandra() {
  local off
  off=$(cat "$DIR/cassandra/log.offset" 2>/dev/null || echo 0)
  (($(stat -c %s "${LOG[cassandra]}" 2>/dev/null || echo 0) >= off)) || off=0 # log rolled over
  tail -c +"$((off + 1))" "${LOG[cassandra]}" 2>/dev/null | grep -q 'Starting listening for CQL clients' &&
    timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$CASSANDRA_PORT
      printf '\x04\x00\x00\x00\x05\x00\x00\x00\x00' >&3; head -c 5 <&3 | od -An -tx1" 2>/dev/null |
    grep -q '84 00 00 00 06'
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1; }
as_pg() { (cd / && runuser -u postgres -- "$@"); } # PostgreSQL refuses to run as root
pg_psql() {
  as_pg "$(pg_bin)/psql" -h "$DIR/postgres/sock" -p "$POSTGRES_PORT" -U postgres -d postgres \
    -v ON_ERROR_STOP=1 -qAt "$@"
}

start_postgres() {
  local home=$DIR/postgres bin i
  bin=$(pg_bin)
  if [[ -z $bin || ! -x $bin/initdb ]]; then
    say "installing PostgreSQL from Debian packages…"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } \
      >"$DIR/apt-postgres.log" 2>&1 || { tail -n 20 "$DIR/apt-postgres.log" >&2; die "apt-get failed"; }
    bin=$(pg_bin)
  fi
  id -u postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
  mkdir -p "$home/sock"
  chown postgres: "$home" "$home/sock"
  as_pg test -w "$home" || die "user postgres cannot reach $home; use a TIDINGS_SERVICES_DIR it can"
  if [[ ! -s $home/data/PG_VERSION ]]; then
    rm -rf "$home/data" # left over from an interrupted initdb
    as_pg "$bin/initdb" -D "$home/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
      --no-locale -E UTF8 >"$home/initdb.log" 2>&1 || { cat "$home/initdb.log" >&2; die "initdb failed"; }
    echo "include_if_exists = 'tidings.conf'" >>"$home/data/postgresql.conf"
  fi
  install -o postgres -g postgres -m 600 "$CONF/postgres/postgresql.conf" "$home/data/tidings.conf"
  touch "${LOG[postgres]}" && chown postgres: "${LOG[postgres]}"
  STARTED[postgres]=$SECONDS
  as_pg "$bin/pg_ctl" -D "$home/data" -l "${LOG[postgres]}" -W \
    -o "-p $POSTGRES_PORT -c listen_addresses=127.0.0.1 -k $home/sock" start >/dev/null 9>&-
  for ((i = 0; i < 50; i++)); do [[ -s $home/data/postmaster.pid ]] && break; sleep 0.1; done
}

# pg_isready says yes; then make sure role and database tidings exist
ready_postgres() {
  "$(pg_bin)/pg_isready" -q -h 127.0.0.1 -p "$POSTGRES_PORT" -U postgres -d postgres || return 1
  pg_psql -c "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tidings') THEN
    CREATE ROLE tidings LOGIN CREATEDB PASSWORD 'tidings'; END IF; END \$\$" >/dev/null
  [[ $(pg_psql -c "SELECT 1 FROM pg_database WHERE datname = 'tidings'") == 1 ]] ||
    pg_psql -c "CREATE DATABASE tidings OWNER tidings" >/dev/null
}

show_log() { # show_log NAME LINES
  local f
  for f in "${LOG[$1]}" "$DIR/$1/logs/console.log"; do
    [[ -s $f ]] || continue
    echo "==> $f <=="
    tail -n "$2" "$f"
  done
}

progress() { # progress NAME...: one line saying what is still awaited
  local line="waiting for" n
  for n in "$@"; do line+=" $n… $((SECONDS - STARTED[$n]))s,"; done
  if [[ -t 1 ]]; then
    printf '\r%s\033[K' "${line%,}"
  elif ((SECONDS - LAST_PROGRESS >= 10)); then # not a terminal: a line every 10 s
    echo "${line%,}"
    LAST_PROGRESS=$SECONDS
  fi
}
end_progress() { if [[ -t 1 ]]; then printf '\r\033[K'; fi; }

# wait_ready NAME...: poll each until it answers, it dies, or its time is up.
wait_ready() {
  local pending=("$@") failed=() still n t why
  while ((${#pending[@]})); do
    still=()
    for n in "${pending[@]}"; do
      t=$((SECONDS - STARTED[$n]))
      if running_pid "$n" >/dev/null && "ready_$n"; then
        end_progress
        say "$n is up after ${t}s (127.0.0.1:${PORT[$n]})"
      elif ! running_pid "$n" >/dev/null || ((t >= TIMEOUT[$n])); then
        end_progress
        why="timed out after ${t}s"
        running_pid "$n" >/dev/null || why="its process exited after ${t}s"
        say "$n did not start: $why. Last lines of its log:"
        show_log "$n" 40
        stop "$n" >/dev/null
        failed+=("$n")
      else
        still+=("$n")
      fi
    done
    pending=("${still[@]}")
    if ((${#pending[@]})); then
      progress "${pending[@]}"
      sleep 1
    fi
  done
  ((${#failed[@]} == 0)) || die "could not start: ${failed[*]} (logs under $DIR)"
}

# stop NAME: SIGTERM (Postgres: SIGINT, its fast shutdown), wait up to 60s, then SIGKILL.
stop() {
  local n=$1 pid sig=TERM i
  pid=$(running_pid "$n") || { say "$n is not running"; return 0; }
  [[ $n == postgres ]] && sig=INT
  say "stopping $n (pid $pid)…"
  kill -"$sig" "$pid" 2>/dev/null || true
  for ((i = 0; i < 60; i++)); do
    kill -0 "$pid" 2>/dev/null || { say "$n stopped"; rm -f "$DIR/$n/$n.pid"; return 0; }
    sleep 1
  done
  say "$n did not stop within 60s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$DIR/$n/$n.pid"
}

pick() { # pick NAME|all: set NAMES to the services a command is about
  case $1 in
    all) NAMES=("${SERVICES[@]}") ;;
    kafka | cassandra | postgres) NAMES=("$1") ;;
    *) die "unknown service '$1' (kafka, cassandra, postgres or all)" ;;
  esac
}

cmd_up() {
  local n p todo=() t0=$SECONDS
  pick "$1"
  for n in "${NAMES[@]}"; do
    if running_pid "$n" >/dev/null; then
      say "$n is already running"
      STARTED[$n]=$SECONDS
    else
      for p in ${ALL_PORTS[$n]}; do
        ! port_open "$p" || die "port $p, needed by $n, is taken by another process (ss -ltnp)"
      done
      say "starting $n…"
      "start_$n"
    fi
    todo+=("$n")
  done
  wait_ready "${todo[@]}"
  say "ready in $((SECONDS - t0))s; data and logs under $DIR ('$0 logs NAME' shows them)"
}

cmd_down() {
  local n
  pick "$1"
  for n in "${NAMES[@]}"; do stop "$n" & done
  wait
}

cmd_status() {
  local n pid state rc=0
  for n in "${SERVICES[@]}"; do
    if pid=$(running_pid "$n"); then
      state="running (pid $pid)"
      port_open "${PORT[$n]}" || state+=", port not accepting yet"
    else
      state=stopped
      rc=1
    fi
    printf '%-10s 127.0.0.1:%-6s %s\n' "$n" "${PORT[$n]}" "$state"
  done
  echo "data and logs: $DIR"
  return $rc
}

cmd_env() {
  echo "export TIDINGS_KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT"
  echo "export TIDINGS_CASSANDRA_HOSTS=127.0.0.1:$CASSANDRA_PORT"
  echo "export TIDINGS_POSTGRES_URL='postgres://tidings:tidings@127.0.0.1:$POSTGRES_PORT/tidings?sslmode=disable'"
}

# one up/down at a time per services folder (servers must not inherit fd 9: see launch)
lock() { exec 9>"$DIR/.lock" && flock -w 600 9 || die "another services.sh holds $DIR/.lock"; }

case ${1:-} in
  up) lock && cmd_up "${2:-all}" ;;
  down) lock && cmd_down "${2:-all}" ;;
  status) cmd_status ;;
  logs) pick "${2:-all}" && for n in "${NAMES[@]}"; do show_log "$n" "${3:-40}"; done ;;
  env) cmd_env ;;
  kafka-tool) shift && fetch_libs kafka && "${KAFKA_TOOL[@]}" "$@" ;;
  nodetool)
    shift && fetch_libs cassandra
    "$(cassandra_java)" -Xmx256m @"$CONF/cassandra/jvm17-server.options" \
      -Dlogback.configurationFile="$CONF/cassandra/logback-tools.xml" \
      -cp "$DIR/cache/cassandra-libs/*" org.apache.cassandra.tools.NodeTool -h 127.0.0.1 -p "$CASSANDRA_JMX_PORT" "$@"
    ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' && exit 2 ;;
esac
