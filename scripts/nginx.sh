#!/usr/bin/env bash
# Runs nginx as a load balancer in front of several "tidings serve" nodes on
# 127.0.0.1: REST round robin, WebSocket upgrades on /ws, passive health
# checks. Our own nginx process (never the system service), from Debian's
# package, with its config, pid file and logs in one folder.
#
# Usage: scripts/nginx.sh up PORT UPSTREAM_PORT...   start, or reconfigure a running one
#        scripts/nginx.sh down                       stop (graceful, then forced)
#        scripts/nginx.sh status                     exit 0 when running
#        scripts/nginx.sh run PORT UPSTREAM_PORT...  run in the foreground (Ctrl-C stops it)
# PORT "-" is the default, 18080. Every port is on 127.0.0.1.
# e.g.   scripts/nginx.sh up - 8081 8082 8083       then talk to http://127.0.0.1:18080
#
# The folder is $TIDINGS_NGINX_DIR, default $TIDINGS_SERVICES_DIR/nginx
# (<repo>/.services/nginx): nginx.conf (rendered from
# scripts/nginx/tidings.conf.tmpl), nginx.pid, logs/access.log, logs/error.log.
set -euo pipefail
shopt -u patsub_replacement 2>/dev/null || true # "&" in a path is literal in ${x//a/b}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TEMPLATE=$ROOT/scripts/nginx/tidings.conf.tmpl
DIR=${TIDINGS_NGINX_DIR:-${TIDINGS_SERVICES_DIR:-$ROOT/.services}/nginx}
NGINX=${TIDINGS_NGINX:-/usr/sbin/nginx}
DEFAULT_PORT=18080

say() { printf 'nginx: %s\n' "$*"; }
die() { printf 'nginx: error: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '6,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

valid_port() { [[ $1 =~ ^[0-9]{1,5}$ ]] && ((10#$1 >= 1 && 10#$1 <= 65535)); }

# ensure_nginx: install Debian's nginx when it is missing. The package's
# postinst may try to start the system service; we never use or touch it.
ensure_nginx() {
  [[ -x $NGINX ]] && return 0
  [[ $NGINX == /usr/sbin/nginx ]] || die "$NGINX is not executable"
  command -v apt-get >/dev/null || die "nginx not found and no apt-get: install nginx"
  [[ $(id -u) == 0 ]] || die "nginx not found: sudo apt-get install -y nginx"
  say "installing Debian's nginx package…"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q nginx >"${TMPDIR:-/tmp}/tidings-nginx-apt.log" 2>&1; then
    apt-get update -q >>"${TMPDIR:-/tmp}/tidings-nginx-apt.log" 2>&1 || true
    apt-get install -y -q nginx >>"${TMPDIR:-/tmp}/tidings-nginx-apt.log" 2>&1 ||
      { tail -n 20 "${TMPDIR:-/tmp}/tidings-nginx-apt.log" >&2; die "apt-get install nginx failed"; }
  fi
  [[ -x $NGINX ]] || die "apt-get installed nginx but $NGINX is missing"
}

# running_pid: the pid of our nginx master, or fail.
running_pid() {
  local pid
  [[ -f $DIR/nginx.pid ]] || return 1
  pid=$(head -n1 "$DIR/nginx.pid")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  # a recycled pid is not ours: our master has our folder on its command line
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$DIR/" || return 1
  echo "$pid"
}

# render PORT UPSTREAM_PORT...: write $DIR/nginx.conf and check it.
render() {
  local port=$1 up lines="" conf
  shift
  [[ $port == - ]] && port=$DEFAULT_PORT
  valid_port "$port" || die "bad listen port: $port"
  (($# > 0)) || die "give at least one upstream port"
  for up in "$@"; do
    valid_port "$up" || die "bad upstream port: $up"
    [[ $up != "$port" ]] || die "upstream port $up is the listen port"
    lines+="        server 127.0.0.1:$up max_fails=1 fail_timeout=5s;"$'\n'
  done
  [[ -f $TEMPLATE ]] || die "missing $TEMPLATE"
  mkdir -p "$DIR/logs" "$DIR/tmp"
  DIR=$(cd "$DIR" && pwd)
  conf=$(<"$TEMPLATE")
  conf=${conf//@DIR@/$DIR}
  conf=${conf//@PORT@/$port}
  conf=${conf//@TRIES@/$#}
  conf=${conf//@UPSTREAMS@/${lines%$'\n'}}
  printf '%s\n' "$conf" >"$DIR/nginx.conf.new"
  if ! "$NGINX" -q -t -p "$DIR/" -c "$DIR/nginx.conf.new" -e "$DIR/logs/error.log" 2>"$DIR/logs/check.log"; then
    cat "$DIR/logs/check.log" >&2
    die "the rendered config is invalid (kept in $DIR/nginx.conf.new)"
  fi
  mv "$DIR/nginx.conf.new" "$DIR/nginx.conf"
}

cmd_up() {
  (($# >= 2)) || usage
  local port=$1 pid i
  [[ $port == - ]] && port=$DEFAULT_PORT
  ensure_nginx
  render "$@"
  if pid=$(running_pid); then
    "$NGINX" -p "$DIR/" -c "$DIR/nginx.conf" -e "$DIR/logs/error.log" -s reload ||
      die "reload failed (see $DIR/logs/error.log)"
    say "reloaded (pid $pid): 127.0.0.1:$port -> ${*:2}"
    return 0
  fi
  port_open "$port" && die "127.0.0.1:$port is already in use"
  rm -f "$DIR/nginx.pid"
  # daemonizes; the master writes $DIR/nginx.pid
  "$NGINX" -p "$DIR/" -c "$DIR/nginx.conf" -e "$DIR/logs/error.log" </dev/null ||
    { tail -n 20 "$DIR/logs/error.log" >&2; die "nginx did not start"; }
  for ((i = 0; i < 100; i++)); do
    if running_pid >/dev/null && port_open "$port"; then
      say "up (pid $(running_pid)): http://127.0.0.1:$port -> 127.0.0.1:{${*:2}}"
      return 0
    fi
    sleep 0.1
  done
  tail -n 20 "$DIR/logs/error.log" >&2
  die "nginx is not listening on 127.0.0.1:$port after 10 s"
}

cmd_run() {
  (($# >= 2)) || usage
  ensure_nginx
  render "$@"
  running_pid >/dev/null && die "already running from $DIR (scripts/nginx.sh down first)"
  say "running in the foreground: http://127.0.0.1:${1/#-/$DEFAULT_PORT} -> 127.0.0.1:{${*:2}}"
  exec "$NGINX" -p "$DIR/" -c "$DIR/nginx.conf" -e "$DIR/logs/error.log" -g 'daemon off;'
}

cmd_down() {
  local pid i workers
  if ! pid=$(running_pid); then
    say "not running"
    return 0
  fi
  workers=$(pgrep -P "$pid" || true)
  kill -QUIT "$pid" 2>/dev/null || true # graceful; worker_shutdown_timeout bounds it
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || { say "stopped"; return 0; }
    sleep 0.1
  done
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || { say "stopped (forced)"; return 0; }
    sleep 0.1
  done
  # shellcheck disable=SC2086 # one pid per word
  kill -KILL "$pid" $workers 2>/dev/null || true
  say "killed"
}

cmd_status() {
  local pid listen ups
  if ! pid=$(running_pid); then
    say "not running ($DIR)"
    return 1
  fi
  listen=$(sed -n 's/^ *listen \([^;]*\);.*/\1/p' "$DIR/nginx.conf" | head -n1)
  ups=$(sed -n 's/^ *server \(127\.0\.0\.1:[0-9]*\) .*/\1/p' "$DIR/nginx.conf" | tr '\n' ' ')
  say "running (pid $pid) on $listen -> ${ups% }; logs in $DIR/logs"
}

case ${1:-} in
  up) shift; cmd_up "$@" ;;
  run) shift; cmd_run "$@" ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) usage ;;
esac
