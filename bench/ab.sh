#!/usr/bin/env bash
# Two gitalog binaries against each other, interleaved: a before/after of a
# change, without the peer.
#
# usage: bench/ab.sh OLD NEW [N]     (OLD, NEW: gitalog binaries; N default 100000)
# env:   R=5 rounds, PROJECTS=50, FSCK=1, SETTLE=400 (as in run.sh)
#
# Build the two first, e.g. `git worktree add /tmp/old HEAD~1 && (cd
# /tmp/old && go build -o /tmp/gitalog-old .)` and `go build -o
# /tmp/gitalog-new .`. In every round both binaries run every case (first
# sync with a worktree, unchanged and 1% resyncs, then the same into a bare
# repository), taking turns case by case, OLD first in odd rounds and NEW
# first in even ones, so a machine that drifts or is shared (other
# processes on its cores) slows both alike. Nothing is deleted while
# measuring (see run.sh). Checks: fsck and a clean status (as run.sh),
# no commit on an unchanged resync, and OLD and NEW commit the same tree.
# Results: bench/out/ab-N.tsv, in run.sh's format with tools "old" and
# "new", then the medians and NEW/OLD ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
source "$ROOT/bench/lib.sh"
[ $# -ge 2 ] || die "usage: bench/ab.sh OLD NEW [N]"
declare -A BIN=([old]=$(realpath "$1") [new]=$(realpath "$2"))
N=${3:-100000}
R=${R:-5}
G=${BIN[new]}
make_data "$N" "$PROJECTS"
D=$OUT/d$N D1=$OUT/d$N-1pct RES=$OUT/ab-$N.tsv
: >"$RES"

log "removing the catalogs of earlier ab runs, then waiting ${SETTLE}s for the disk to settle"
rm -rf "$OUT"/aw[0-9]* "$OUT"/ab[0-9]*.git
sync
sleep "$SETTLE"

for round in $(seq 1 "$R"); do
  order="old new"
  [ $((round % 2)) = 1 ] || order="new old"
  log "N=$N round $round/$R ($order)"
  for t in old new; do
    new_catalogs "${BIN[$t]}" "$OUT/aw$N-$round-$t" "$OUT/ab$N-$round-$t.git"
  done
  for c in initial:"$D" unchanged:"$D" 1pct:"$D1"; do
    for t in $order; do
      W=$OUT/aw$N-$round-$t
      h=$(head_of "$W")
      measure "$RES" "$N" "$round" "${c%%:*}" "$t" "${BIN[$t]}" -q sync --dir "$W" --replay "${c#*:}"
      check_git "$W" "$round"
      [ "${c%%:*}" != unchanged ] || [ "$(head_of "$W")" = "$h" ] || die "$t committed on an unchanged resync"
    done
  done
  for c in initial:"$D" unchanged:"$D" 1pct:"$D1"; do
    for t in $order; do
      B=$OUT/ab$N-$round-$t.git
      measure "$RES" "$N" "$round" "${c%%:*}" "$t-bare" "${BIN[$t]}" -q sync --dir "$B" --config "$CFG" --replay "${c#*:}"
      check_git "$B" "$round"
    done
  done
  for x in "aw$N-$round-%s" "ab$N-$round-%s.git"; do
    # The catalog and its managed lists: what the syncs wrote. The files
    # init writes (CI recipes) may differ between two versions.
    for t in catalog .gitalog; do
      # shellcheck disable=SC2059
      [ "$(git -C "$OUT/$(printf "$x" old)" rev-parse "HEAD:$t")" = "$(git -C "$OUT/$(printf "$x" new)" rev-parse "HEAD:$t")" ] ||
        die "old and new committed different $t trees in $x"
    done
  done
done

python3 - "$RES" <<'PY'
import statistics, sys
rows = [l.split("\t") for l in open(sys.argv[1]) if l.strip()]
med = {}
for case in ("initial", "unchanged", "1pct"):
    for target in ("", "-bare"):
        got = {}
        for t in ("old", "new"):
            rs = [r for r in rows if r[2] == case and r[3] == t + target]
            got[t] = (statistics.median(float(r[4]) for r in rs),
                      statistics.median(float(r[5]) + float(r[6]) for r in rs),
                      statistics.median(float(r[7]) / 1024 for r in rs),
                      max(float(r[7]) / 1024 for r in rs),
                      " ".join(r[4] for r in rs))
        med[case, target] = got
print(f"| case | old wall s | new wall s | new/old | old CPU s | new CPU s | old RSS MB (max) | new RSS MB (max) | rounds, wall s (old; new) |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
for (case, target), g in med.items():
    o, n = g["old"], g["new"]
    print(f"| {case}{' bare' if target else ''} | {o[0]:.2f} | {n[0]:.2f} | {n[0] / o[0]:.2f} | {o[1]:.2f} | {n[1]:.2f} | {o[2]:.0f} ({o[3]:.0f}) | {n[2]:.0f} ({n[3]:.0f}) | {o[4]}; {n[4]} |")
PY
