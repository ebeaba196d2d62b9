#!/usr/bin/env bash
# Fetch throughput against the fake Sentry over loopback, 100-item pages,
# with the fake in its own process so that its CPU and the client's can be
# told apart.
#
# usage: bench/fetch.sh [N]      (default N=100000 issues over 50 projects)
# env:   R=3 rounds, CONC="1 4 8", PIN=1 to give the fake and the client
#        one core each (taskset), so that whichever side is the bottleneck
#        shows as a core at 100% instead of both sharing two cores.
#
# For each concurrency and round, in turn: `gitalog dump` (fetch + write the
# raw items) and `gitalog sync --dry-run` (fetch + decode + map + validate +
# hash, nothing written) against `gitalog fake-sentry`. The client is timed
# with /usr/bin/time; the fake's CPU is read from /proc/PID/stat before and
# after. Printed: median pages/s, the cores each side kept busy (CPU
# seconds / wall seconds), and each side's CPU milliseconds per page, which
# other work on the machine disturbs less than wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# OUT, CFG, R and the helpers (build)
source "$ROOT/bench/lib.sh"
N=${1:-100000}
CONC=${CONC:-1 4 8}
# Two runs at once would share the catalog below (and the cores): one
# would remove it under the other's sync.
exec 9>"$OUT/fetch.lock"
flock -n 9 || {
  echo "bench/fetch.sh: another run holds $OUT/fetch.lock" >&2
  exit 1
}
build
TCK=$(getconf CLK_TCK)

FAKEPIN=() CLIENTPIN=()
if [ "${PIN:-0}" = 1 ]; then
  FAKEPIN=(taskset -c 0) CLIENTPIN=(taskset -c 1)
fi
"${FAKEPIN[@]}" "$G" fake-sentry --issues "$N" --projects 50 >"$OUT/fake.out" 2>&1 &
FAKE=$!
trap 'kill $FAKE 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
  grep -q '^export' "$OUT/fake.out" 2>/dev/null && break
  sleep 0.1
done
# shellcheck disable=SC2046
export $(sed -n 's/^export //p' "$OUT/fake.out")
[ -n "${SENTRY_URL:-}" ] || {
  cat "$OUT/fake.out" >&2
  exit 1
}

fakecpu() { awk -v t="$TCK" '{ printf "%.2f\n", ($14 + $15) / t }' "/proc/$FAKE/stat"; }

# A catalog for the dry runs (bare, with the benchmark's blueprints).
CAT=$OUT/fetch-cat.git
rm -rf "$CAT" "$OUT/fetch-wt"
new_catalogs "$G" "$OUT/fetch-wt" "$CAT"
rm -rf "$OUT/fetch-wt"

# The fake's CPU over the whole client run understates how busy it is
# while pages flow: the run also starts a process, reads the config,
# compiles the blueprints and writes its output. SAMPLER reads the fake's
# CPU time (all its threads, in ns, from schedstat) every 100 ms until the
# flag file goes, and prints the median share of a core it used per
# window, leaving out the first and the last window.
SAMPLER='
import os, statistics, sys, time
pid, flag = sys.argv[1], sys.argv[2]
def cpu():
    t = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            t += int(open(f"/proc/{pid}/task/{tid}/schedstat").read().split()[0])
        except OSError:
            pass
    return t
shares, prev, t0 = [], cpu(), time.monotonic()
while os.path.exists(flag):
    time.sleep(0.1)
    cur, t1 = cpu(), time.monotonic()
    shares.append((cur - prev) / 1e9 / (t1 - t0))
    prev, t0 = cur, t1
mid = shares[1:-1] or shares or [0]
print(f"{statistics.median(mid):.2f}")
'

# Pages: Sentry pages per project, 100 issues each.
PAGES=""
RES=$OUT/fetch-$N${PIN:+-pin$PIN}.tsv
: >"$RES"
for round in $(seq 1 "$R"); do
  for c in $CONC; do
    for mode in dump sync-dry-run; do
      rm -rf "$OUT/fetch-dump"
      if [ "$mode" = dump ]; then
        cmd=("$G" -q dump --config "$CFG" --out "$OUT/fetch-dump" --concurrency "$c")
      else
        cmd=("$G" -q sync --dir "$CAT" --config "$CFG" --dry-run --concurrency "$c")
      fi
      f0=$(fakecpu)
      touch "$OUT/sampling"
      "${CLIENTPIN[@]}" python3 -c "$SAMPLER" "$FAKE" "$OUT/sampling" >"$OUT/busy.txt" &
      SAMP=$!
      "${CLIENTPIN[@]}" /usr/bin/time -f "%e %U %S %M" -o "$OUT/time.txt" "${cmd[@]}" >"$OUT/fetch.log" 2>&1 || {
        cat "$OUT/fetch.log" >&2
        exit 1
      }
      rm -f "$OUT/sampling"
      wait "$SAMP"
      f1=$(fakecpu)
      busy=$(cat "$OUT/busy.txt")
      if [ -z "$PAGES" ] && [ "$mode" = dump ]; then
        PAGES=$(jq -r .project.slug "$OUT/fetch-dump/issue.jsonl" | sort | uniq -c |
          awk '{ p += int(($1 + 99) / 100) } END { print p }')
      fi
      read -r wall user sys rss <"$OUT/time.txt"
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$mode" "$round" "$wall" "$user" "$sys" "$rss" \
        "$(awk -v a="$f0" -v b="$f1" 'BEGIN { print b - a }')" "$busy" >>"$RES"
      echo "c=$c $mode round $round: wall $wall s, client CPU $(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }') s, fake CPU $(awk -v a="$f0" -v b="$f1" 'BEGIN { print b - a }') s, fake busy (median 100 ms window) $busy, client RSS ${rss} KB" >&2
    done
  done
done

python3 - "$RES" "$PAGES" "$N" "${PIN:-0}" <<'EOF'
import statistics, sys
from collections import defaultdict
path, pages, n, pin = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
rows = defaultdict(list)
for line in open(path):
    c, mode, rnd, wall, user, sys_, rss, fake, busy = line.split()
    rows[(int(c), mode)].append((float(wall), float(user) + float(sys_), float(fake), int(rss) / 1024, float(busy)))
where = ", the fake on core 0 and the client on core 1" if pin else ", both sharing the 2 cores"
print(f"\n### Fetch: {n} issues, 50 projects, {pages} pages of up to 100 issues{where} (medians of {max(len(v) for v in rows.values())} rounds)\n")
print("| client | concurrency | wall s | pages/s | issues/s | client cores (CPU/wall) | fake cores (CPU/wall) | fake busy (median 100 ms) | client CPU ms/page | fake CPU ms/page | client max RSS MB |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for (c, mode), v in sorted(rows.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    w = statistics.median(x[0] for x in v)
    cc = statistics.median(x[1] / x[0] for x in v)
    fc = statistics.median(x[2] / x[0] for x in v)
    cp = statistics.median(x[1] for x in v) * 1000 / pages
    fp = statistics.median(x[2] for x in v) * 1000 / pages
    m = statistics.median(x[3] for x in v)
    b = statistics.median(x[4] for x in v)
    print(f"| gitalog {mode} | {c} | {w:.2f} | {pages / w:.0f} | {n / w:.0f} | {cc:.2f} | {fc:.2f} | {b:.2f} | {cp:.2f} | {fp:.2f} | {m:.0f} |")
EOF
