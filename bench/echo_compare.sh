#!/usr/bin/env bash
# The end-to-end benchmark: Twist's echo server (examples/echoserver.ts)
# against the plainest Deno.listen echo server, and against Python Twisted and
# asyncio for context, measured in interleaved rounds by the shared harness
# (../shared/bench: C load generator, content verified, ratios per round).
#
#   bash bench/echo_compare.sh [ROUNDS]        # default 3 rounds, ~6 minutes
#
# Never run it while tests run: the connection-churn scenario leaves tens of
# thousands of sockets in TIME_WAIT, and binding port 0 fails for about a minute.
# Tables go to stdout; raw JSON lines to bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
bench=${TWIST_SHARED_BENCH:-../shared/bench} # a writable copy if ../shared is read-only
rounds=${1:-3}
mkdir -p bench/results
stamp=$(date -u +%Y%m%dT%H%M%SZ)
flags=()
if ! timeout 30 deno cache --quiet examples/echoserver.ts >/dev/null 2>&1; then
  flags=(--import-map=.ci/import_map.json) # JSR unreachable: the offline @std stand-in
fi
export DENO_DIR=${DENO_DIR:-/tmp/bench-deno-dir}
servers=(
  deno_raw="deno run --allow-net=127.0.0.1 $bench/servers/deno_raw_echo.ts"
  twist="deno run --allow-net ${flags[*]} examples/echoserver.ts --port"
)
if /usr/bin/python3 -c "import twisted" 2>/dev/null; then
  servers+=(twisted="/usr/bin/python3 $bench/servers/twisted_echo.py" asyncio="/usr/bin/python3 $bench/servers/asyncio_echo.py")
fi
"$bench/compare.sh" -r "$rounds" -o "bench/results/compare-$stamp.jsonl" "${servers[@]}" | tee "bench/results/compare-$stamp.md"
