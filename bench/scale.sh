#!/usr/bin/env bash
# How gitalog's own time and memory grow with the number of issues: the
# sizes are measured interleaved, in one run, so that each sees the same
# machine state.
#
# usage: bench/scale.sh [N...]     (default: 10000 100000 300000)
# env:   R=3 rounds, PROJECTS=50, FSCK=1 (as in run.sh), SETTLE=400, GAP=70
#
# bench/run.sh measures gitalog against the peer, one N at a time. Its
# 300k rounds come after the peer has created 600k files (its worktree and
# as many loose objects) and rewritten 300k twice; by then this VM's memory
# is nearly all page cache and slab, new pages come from the zone the host
# has taken back (free page reporting, see BENCHMARKS.md, "The VM"), and
# gitalog's system time doubles although it does the same work. A 100k run
# never gets there. Here every size takes its turn in every case of every
# round, so a slower machine state slows all of them alike and the time per
# issue compares gitalog with itself: in each round, for each case (initial,
# unchanged, 1%) and target (worktree, then bare), every N in turn, in
# ascending order in odd rounds and descending in even ones.
# Checks: fsck and a clean status (as run.sh), unchanged resyncs commit
# nothing, 1% resyncs commit exactly N/100 files, and the bare and worktree
# catalogs hold the same tree. Results: bench/out/scale-N.tsv, in run.sh's
# format; the growth table is bench/report.py --growth.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# OUT, CFG, the settings R, PROJECTS, FSCK, SETTLE and GAP, and the helpers
source "$ROOT/bench/lib.sh"
[ $# -gt 0 ] || set -- 10000 100000 300000
build

for N in "$@"; do
  make_data "$N" "$PROJECTS"
  : >"$OUT/scale-$N.tsv"
  echo "$BUILD" >"$OUT/build-scale-$N.txt"
done

# See run.sh for why nothing is deleted while measuring.
log "removing the catalogs of earlier scale runs, then waiting ${SETTLE}s for the disk to settle"
rm -rf "$OUT"/sw[0-9]* "$OUT"/sb[0-9]*.git
sync
sleep "$SETTLE"

# sync_case CASE TOOL N ROUND: one measured sync of catalog TOOL at size N.
sync_case() {
  local case=$1 tool=$2 n=$3 round=$4 dir data=$OUT/d$3 extra=()
  if [ "$tool" = gitalog ]; then dir=$OUT/sw$n-$round; else dir=$OUT/sb$n-$round.git extra=(--config "$CFG"); fi
  [ "$case" = 1pct ] && data=$OUT/d$n-1pct
  local before
  before=$(head_of "$dir")
  measure "$OUT/scale-$n.tsv" "$n" "$round" "$case" "$tool" "$G" -q sync --dir "$dir" "${extra[@]}" --replay "$data"
  case $case in
  initial | 1pct) check_git "$dir" "$round" ;;
  unchanged) [ "$(head_of "$dir")" = "$before" ] || die "$tool committed on an unchanged resync (N=$n)" ;;
  esac
  if [ "$case" = 1pct ]; then
    local want got
    want=$(wc -l <"$OUT/d$n-1pct/changed.txt")
    got=$(git -C "$dir" diff --name-only HEAD~1 HEAD | wc -l)
    [ "$got" = "$want" ] || die "$tool's 1% commit changes $got files, not $want (N=$n)"
  fi
}

for round in $(seq 1 "$R"); do
  if [ "$round" -gt 1 ]; then
    sync
    sleep "$GAP"
  fi
  order=("$@")
  if [ $((round % 2)) = 0 ]; then
    order=()
    for ((i = $#; i >= 1; i--)); do order+=("${!i}"); done
  fi
  log "round $round/$R, sizes in the order ${order[*]}"
  for N in "${order[@]}"; do
    W=$OUT/sw$N-$round B=$OUT/sb$N-$round.git
    new_catalogs "$G" "$W" "$B"
  done
  for case in initial unchanged 1pct; do
    for tool in gitalog gitalog-bare; do
      for N in "${order[@]}"; do
        sync_case "$case" "$tool" "$N" "$round"
      done
    done
  done
  for N in "${order[@]}"; do
    [ "$(git -C "$OUT/sb$N-$round.git" rev-parse HEAD:catalog/issue)" = "$(git -C "$OUT/sw$N-$round" rev-parse HEAD:catalog/issue)" ] ||
      die "the bare catalog differs from the worktree catalog (N=$N)"
  done
done
log "checks passed (fsck, clean status, no commit when unchanged, 1% commits of N/100 files, bare = worktree)"
files=()
for N in "$@"; do files+=("$OUT/scale-$N.tsv"); done
python3 "$ROOT/bench/report.py" --growth "${files[@]}"
