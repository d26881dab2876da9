#!/bin/bash
# Before/after of compile and plan at one size: a git revision against the working tree,
# sample by sample, alternating the two so that both see the same machine load (this
# machine is shared and drifts by tens of percent within minutes). Each sample is a fresh
# bench/case.ts child, on the same inputs (written once, by the working tree's setup).
#
#   bash bench/compare-revisions.sh REV [SIZE=10000] [PAIRS=6]
#   CASES=plan bash bench/compare-revisions.sh REV   (only some cases: comma-separated)
#
# Prints the median, min and max wall time and the median CPU time of each case and side.
set -euo pipefail
rev=${1:?usage: bash bench/compare-revisions.sh REV [SIZE] [PAIRS]}
size=${2:-10000}
pairs=${3:-6}
root=$(git rev-parse --show-toplevel)
work=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$work/before" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git -C "$root" worktree add -q --detach "$work/before" "$rev"
ln -s "$root/node_modules" "$work/before/node_modules"
mkdir -p "$work/inputs"
(cd "$root" && node --import tsx bench/case.ts setup "$size" "$work/inputs" > /dev/null)
for ((i = 1; i <= pairs; i++)); do
  for side in before after; do
    tree=$([ "$side" = after ] && echo "$root" || echo "$work/before")
    IFS=, read -ra cases <<< "${CASES:-compile yaml,compile ts,plan}"
    for c in "${cases[@]}"; do
      # shellcheck disable=SC2086 # $c is two words on purpose
      out=$(cd "$tree" && node --import tsx bench/case.ts $c "$size" "$work/inputs")
      echo "$side|$c|$out" >> "$work/samples"
    done
  done
done
node -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => l.split("|"));
const med = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const groups = new Map();
for (const [side, c, json] of rows) {
  const k = `${c} | ${side}`;
  groups.set(k, [...(groups.get(k) ?? []), JSON.parse(json)]);
}
console.log(`| case | side | samples | median | min – max | CPU median |\n|---|---|---:|---:|---|---:|`);
for (const [k, xs] of [...groups].sort()) {
  const ms = xs.map((x) => x.ms), cpu = xs.map((x) => x.cpuMs);
  const [c, side] = k.split(" | ");
  console.log(`| ${c} | ${side} | ${xs.length} | ${(med(ms) / 1000).toFixed(2)} s | ${(Math.min(...ms) / 1000).toFixed(2)} – ${(Math.max(...ms) / 1000).toFixed(2)} s | ${(med(cpu) / 1000).toFixed(2)} s |`);
}
' "$work/samples"
