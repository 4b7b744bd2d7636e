#!/usr/bin/env bash
# Start-up cost of importing Twist (issue 12 §3): an empty Deno program against
# one that imports a framing protocol (src/protocols/basic.ts, the
# `@twist/twist/protocols/basic` entry) and one that imports the root entry
# point (mod.ts), warm (Deno's module cache filled by a first run).
#
#   bash bench/startup.sh [ROUNDS] [RUNS]   # default 5 rounds of 20 runs, ~30 s
#
# First the modules each program loads at start-up (static imports, from
# `deno info --json`; `import type` and dynamic `import()` load nothing). Then
# hyperfine times the three programs in ROUNDS rounds of RUNS runs each; a
# program's ratio is the median over the rounds of (its median ÷ the empty
# program's median in the same round), so drift of a shared machine cancels,
# as in bench/echo_compare.sh. Goals: framing <= 1.2x, root <= 1.5x.
# Needs hyperfine (apt install hyperfine).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
runs=${2:-20}
programs=(empty framing root)

count_modules() { # $1: a program; prints "N modules (M node:*: a, b)"
  deno info --json "$1" | deno eval '
    const info = JSON.parse(await new Response(Deno.stdin.readable).text());
    const byUrl = new Map(info.modules.map((m) => [m.specifier, m]));
    const seen = new Set();
    const todo = [...info.roots];
    while (todo.length) {
      const url = todo.pop();
      if (seen.has(url)) continue;
      seen.add(url);
      for (const dep of byUrl.get(url)?.dependencies ?? []) {
        if (dep.code && !dep.isDynamic) todo.push(dep.code.specifier);
      }
    }
    const node = [...seen].filter((u) => u.startsWith("node:"));
    console.log(`${seen.size} modules (${node.length} node:*${node.length ? ": " + node.join(", ") : ""})`);
  '
}

for p in "${programs[@]}"; do
  deno run --quiet "bench/startup/$p.ts" >/dev/null # fill the module cache
  printf '%-8s %s\n' "$p" "$(count_modules "bench/startup/$p.ts")"
done

args=()
for p in "${programs[@]}"; do
  args+=(--command-name "$p" "deno run --quiet bench/startup/$p.ts")
done
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for ((r = 1; r <= rounds; r++)); do
  # (hyperfine's own report, and its warnings about outliers, only on failure)
  hyperfine -N --style none --warmup 3 --runs "$runs" \
    --export-json "$dir/round-$r.json" "${args[@]}" >"$dir/log" 2>&1 ||
    { cat "$dir/log"; exit 1; }
done
echo
deno eval '
  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return (s[(s.length - 1) >> 1] + s[s.length >> 1]) / 2;
  };
  const rounds = Deno.args.map((f) => JSON.parse(Deno.readTextFileSync(f)).results);
  const ms = (x) => (x * 1000).toFixed(1).padStart(6);
  console.log(`${rounds.length} rounds of ${rounds[0][0].times.length} runs: median ms (min-max of the round medians), ratio to empty (min-max)`);
  for (const [i, { command }] of rounds[0].entries()) {
    const medians = rounds.map((round) => median(round[i].times));
    const ratios = rounds.map((round, r) => medians[r] / median(round[0].times));
    console.log(
      `${command.padEnd(8)} ${ms(median(medians))} ms (${ms(Math.min(...medians))} -${ms(Math.max(...medians))})` +
        `  ${median(ratios).toFixed(2)}x (${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})`,
    );
  }
' "$dir"/round-*.json
