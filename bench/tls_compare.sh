#!/bin/bash
# TLS echo: Twist (listenSSL) vs the plainest Deno.listenTls and node:tls
# echoes (and two Deno echoes that hand each chunk over, as Twist does:
# deno-fresh, deno-pipe; and Twist's echo borrowing its chunks:
# twist-borrow), same client, servers on CPU 0, client on CPU 1, interleaved
# rounds, then the medians of the per-round ratios to the Deno echo.
# Run it alone on the machine (never while tests run):
#   bash bench/tls_compare.sh [ROUNDS]
# ONLY="twist twist-borrow deno" runs just those servers.
# Each line: the figure, the CPU the client used in its timed window, and
# over the client's whole run the server's CPU (% of one core), the
# hypervisor's steal (% of both CPUs) and the server's page faults. Also written to
# bench/results/tls-<time>.txt. BEFORE=DIR adds DIR's Twist (another
# checkout, e.g. `git worktree add DIR COMMIT`) as `before`.
set -e
cd "$(dirname "$0")/.."
rounds=${1:-3}
secs=${SECONDS_PER_RUN:-4}
FLAGS="--allow-net=127.0.0.1 --allow-read=tests/fixtures/tls ${TWIST_DENO_FLAGS}"
mkdir -p bench/results
out=bench/results/tls-$(date -u +%Y%m%dT%H%M%SZ).txt
taskset -c 0 deno run $FLAGS bench/tls_echo.ts server twist 14433 & T=$!
taskset -c 0 deno run $FLAGS bench/tls_echo.ts server twist-borrow 14439 & L=$!
taskset -c 0 deno run $FLAGS bench/tls_echo.ts server deno 14434 & D=$!
taskset -c 0 deno run $FLAGS bench/tls_echo.ts server node 14435 & N=$!
taskset -c 0 deno run $FLAGS bench/tls_echo.ts server deno-fresh 14437 & F=$!
taskset -c 0 deno run $FLAGS bench/tls_echo.ts server deno-pipe 14438 & P=$!
servers=("twist 14433 $T" "twist-borrow 14439 $L" "deno 14434 $D" "node 14435 $N" "deno-fresh 14437 $F" "deno-pipe 14438 $P")
if [ -n "$BEFORE" ]; then
  taskset -c 0 deno run --allow-net=127.0.0.1 --allow-read=tests/fixtures/tls,"$BEFORE" \
    --import-map="$BEFORE/.ci/import_map.json" "$BEFORE/bench/tls_echo.ts" server twist 14436 & B=$!
  servers=("before 14436 $B" "${servers[@]}")
fi
trap 'kill $T $L $D $N $F $P $B 2>/dev/null' EXIT
sleep 2
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
faults() { awk '{print $10}' "/proc/$1/stat"; }
steal() { awk '/^cpu /{s = 0; for (i = 2; i <= NF; i++) s += $i; print $9, s}' /proc/stat; }
echo "# $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src bench || echo +changes)${BEFORE:+, before: $BEFORE}, $secs s per run" | tee "$out"
# ONLY="twist deno" keeps just those servers (quick comparisons).
if [ -n "$ONLY" ]; then
  kept=()
  for s in "${servers[@]}"; do
    set -- $s
    [[ " $ONLY " == *" $1 "* ]] && kept+=("$s")
  done
  servers=("${kept[@]}")
fi
for round in $(seq "$rounds"); do
  for mode in stream pingpong; do
    for s in "${servers[@]}"; do
      set -- $s
      f0=$(faults "$3"); t0=$(ticks "$3"); read -r s0 a0 < <(steal); w0=$(date +%s.%N)
      r=$(taskset -c 1 deno run $FLAGS bench/tls_echo.ts client "$2" $mode "$secs")
      f1=$(faults "$3"); t1=$(ticks "$3"); read -r s1 a1 < <(steal); w1=$(date +%s.%N)
      extra=$(awk -v t="$((t1 - t0))" -v w0="$w0" -v w1="$w1" -v s="$((s1 - s0))" -v a="$((a1 - a0))" \
        'BEGIN { printf "server %.0f%% steal %.0f%%", t / (w1 - w0), 100 * s / a }')
      echo "round $round $1 $r $extra faults $((f1 - f0))" | tee -a "$out"
    done
  done
done
# The summary: per mode and server, the median of the per-round ratios to the
# Deno echo (range) and the median figure.
python3 - "$out" <<'PY' | tee -a "$out"
import statistics, sys
rounds = {}
for line in open(sys.argv[1]):
    f = line.split()
    if f[:1] == ["round"]:
        rounds.setdefault((f[3], f[2]), {})[f[1]] = float(f[4])
for mode in ("stream", "pingpong"):
    servers = [s for (m, s) in rounds if m == mode]
    for s in servers:
        rs = rounds[(mode, s)]
        base = rounds.get((mode, "deno"), {})
        ratios = sorted(rs[r] / base[r] for r in rs if r in base)
        if ratios:
            print(f"# {mode} {s}: {statistics.median(ratios):.2f}x of deno "
                  f"({ratios[0]:.2f}-{ratios[-1]:.2f}), median "
                  f"{statistics.median(rs.values()):.1f}")
PY
