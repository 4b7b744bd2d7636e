#!/usr/bin/env bash
# Fairness at high concurrency: C connections doing 64-byte ping-pong for D
# seconds against Twist's echo example, the plainest Deno echo and Python
# Twisted, one after the other in the same run. bench/fairness_client.c reports
# how many connections were never served, the round trips per connection
# (min/percentiles/max) and the longest wait of any connection for a reply.
#
#   bash bench/fairness.sh [-c CONNS] [-d SECONDS] [NAME="COMMAND PORT-LAST" ...]
#
# Defaults: 10000 connections, 10 s, the three servers above. Servers run on
# CPU 0, the client on CPU 1. It opens many sockets and leaves TIME_WAITs:
# run it under the exclusive net lock, and keep the lock 65 s after it ends:
#   flock -x /tmp/twist-net.lock bash -c 'bash bench/fairness.sh; sleep 65'
# (it raises its fd limit to the hard limit; 10,000 connections need ~10,100).
# One JSON line per server on stdout (also appended to bench/results/); each
# server's output goes to /tmp/fairness-server-NAME.log. About 20-60 s per
# server (Twisted accepts slowly: backlog 50).
set -uo pipefail
cd "$(dirname "$0")/.."
bench=${TWIST_SHARED_BENCH:-../shared/bench} # a writable copy if ../shared is read-only
conns=10000
dur=10
while getopts "c:d:" o; do
  case $o in
    c) conns=$OPTARG ;;
    d) dur=$OPTARG ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))

gcc -O2 -Wall -Wextra -o /tmp/fairness_client bench/fairness_client.c || exit 2
loadgen=$bench/build/loadgen
[[ -x $loadgen ]] || gcc -O2 -o "$loadgen" "$bench/loadgen.c" -lm || exit 2
ulimit -n "$(ulimit -Hn)" 2>/dev/null

flags=()
if ! timeout 30 deno cache --quiet examples/echoserver.ts >/dev/null 2>&1; then
  flags=(--import-map=.ci/import_map.json) # JSR unreachable: the offline @std stand-in
fi
export DENO_DIR=${DENO_DIR:-/tmp/bench-deno-dir}
servers=("$@")
if [[ ${#servers[@]} -eq 0 ]]; then
  servers=(
    twist="deno run --allow-net ${flags[*]} examples/echoserver.ts --port"
    deno_raw="deno run --allow-net=127.0.0.1 $bench/servers/deno_raw_echo.ts"
    twisted="/usr/bin/python3 $bench/servers/twisted_echo.py"
  )
fi

mkdir -p bench/results
out=bench/results/fairness-$(date -u +%Y%m%dT%H%M%SZ).jsonl
spid=""
stop() {
  [[ -n $spid ]] || return 0
  kill -TERM -- "-$spid" 2>/dev/null
  for _ in $(seq 30); do kill -0 "$spid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$spid" 2>/dev/null
  wait "$spid" 2>/dev/null
  spid=""
}
trap stop EXIT

for entry in "${servers[@]}"; do
  name=${entry%%=*}
  read -r -a cmd <<<"${entry#*=}"
  port=$("$loadgen" freeport) || exit 2
  setsid taskset -c 0 "${cmd[@]}" "$port" >"/tmp/fairness-server-$name.log" 2>&1 </dev/null &
  spid=$!
  for _ in $(seq 300); do
    "$loadgen" probe -p "$port" -t 0.5 && break
    sleep 0.1
  done
  line=$(timeout -k 2 $((dur + 120)) taskset -c 1 /tmp/fairness_client -p "$port" -c "$conns" -d "$dur")
  alive=false
  kill -0 "$spid" 2>/dev/null && alive=true
  line=$(jq -c --arg n "$name" --argjson alive "$alive" '{name:$n} + . + {server_alive:$alive}' <<<"${line:-{\}}")
  echo "$line" | tee -a "$out"
  stop
  sleep 2 # let the server's sockets go
done
