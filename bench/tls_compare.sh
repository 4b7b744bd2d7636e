#!/bin/bash
# TLS echo: Twist (listenSSL) vs plain Deno.listenTls, same client, servers on
# CPU 0, client on CPU 1, interleaved rounds. Run under the exclusive net lock:
#   flock -x /tmp/twist-net.lock bash -c 'bash bench/tls_compare.sh; sleep 65'
set -e
cd "$(dirname "$0")/.."
FLAGS="--allow-net=127.0.0.1 --allow-read=tests/fixtures/tls ${TWIST_DENO_FLAGS}"
taskset -c 0 deno run $FLAGS bench/tls_echo.ts server twist 14433 & T=$!
taskset -c 0 deno run $FLAGS bench/tls_echo.ts server deno 14434 & D=$!
trap 'kill $T $D 2>/dev/null' EXIT
sleep 2
for round in 1 2 3; do
  for mode in stream pingpong; do
    echo "round $round twist $(taskset -c 1 deno run $FLAGS bench/tls_echo.ts client 14433 $mode ${SECONDS_PER_RUN:-4})"
    echo "round $round deno  $(taskset -c 1 deno run $FLAGS bench/tls_echo.ts client 14434 $mode ${SECONDS_PER_RUN:-4})"
  done
done
