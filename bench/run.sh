#!/usr/bin/env bash
# gitalog vs the jq + git-scraping peer (bench/peer.sh), side by side.
#
# usage: bench/run.sh [N...]            (default: 100000)
# env:   R=3         rounds; every case is measured R times, the tools alternating
#        PROJECTS=50 projects of the generated organization
#        FSCK=1      git fsck --strict after gitalog's syncs: 1 = first round, all = every round, 0 = never
#        SAMPLE=40   catalog files compared with jq -S per check
#        SETTLE=400  seconds to wait after removing the last run's catalogs
#        GAP=70      seconds to wait before each round after the first
#
# For every N: build, generate the dump once (cached in bench/out/dN), make a
# 1%-changed copy (every 100th issue's .status flipped, bench/out/dN-1pct),
# then R rounds of, in this order:
#   gitalog initial (worktree), peer initial, gitalog unchanged, peer unchanged,
#   gitalog 1%, peer 1%, gitalog bare initial, bare unchanged, bare 1%.
# Every round writes into fresh directories and nothing is deleted while
# measuring: this VM's ext4 has no journal, and without one the inode
# allocator skips inodes freed in the last 60 s, or 360 s while their
# inode table block is still dirty (fs/ext4/ialloc.c: find_inode_bit,
# recently_deleted; RECENTCY_MIN + RECENTCY_DIRTY). Each skipped inode
# costs a buffer-cache lookup, so creating files within minutes of mass
# deletions is several times slower (`perf`: 43% of a file creation in
# recently_deleted, 65-82 us per file against 30 once settled), which made
# whichever tool ran after a cleanup look slow, and a run after a bigger
# cleanup look superlinear. The previous run's directories are removed
# once, at the start, followed by a sync and SETTLE seconds of waiting:
# more than 360 s after the last inode was freed. Within a run, gitalog's
# 1% resync frees the 1000 inodes it replaces (a rename over each file),
# so each round after the first starts GAP seconds after a sync, past the
# 60 s an inode whose table block is clean is skipped for. That was not
# what slows rounds 2 and 3, though: with the gap as without it, both
# tools' initial syncs took longer there than in round 1 (gitalog 5.5-6.3
# s against 4.0 s, all of it system time; the peer 15.2-15.8 s against
# 12.7 s).
# Each run is timed with /usr/bin/time -f "%e %U %S %M" (wall s, user s, sys s,
# max RSS KB; for the peer, the largest RSS of its processes) after a `sync`
# so the previous run's dirty pages are not charged to the next.
# Each round also times the floor under a first sync with a worktree:
# bench/createfiles making N files of the catalog's mean issue-file size in
# one new directory (tool "floor", case "initial"), right before gitalog's
# initial sync, so both see the same state of the machine.
# Results: bench/out/results-N.tsv, summarized by bench/report.py (median of
# the R rounds, ratio gitalog/peer, targets).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# OUT, CFG, the settings R, PROJECTS, FSCK, SETTLE and GAP, and the helpers
source "$ROOT/bench/lib.sh"
SAMPLE=${SAMPLE:-40}
PEER=$ROOT/bench/peer.sh
[ $# -gt 0 ] || set -- 100000

# The peer runs with gc.auto=0: otherwise its `git commit` starts a detached
# `git gc --auto` (10k+ loose objects) that would burn CPU and disk during the
# next measurements. This favours the peer: its gc cost is not charged.
PEER_ENV=(env GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=gc.auto GIT_CONFIG_VALUE_0=0)
build
go build -o "$OUT/createfiles" ./bench/createfiles

# same_catalog A B IDS: both catalogs hold the same entities: the same tree
# (gitalog's canonical JSON and python's json.dump(indent=2, sort_keys=True)
# happen to be byte-identical), and, independently of formatting, the parsed
# JSON (jq -S) of a sample of files (the ids in IDS) is equal.
same_catalog() {
  local a=$1 b=$2 ids=$3 ta tb
  ta=$(git -C "$a" rev-parse HEAD:catalog/issue)
  tb=$(git -C "$b" rev-parse HEAD:catalog/issue)
  [ "$(git -C "$a" ls-tree "$ta" | wc -l)" = "$(git -C "$b" ls-tree "$tb" | wc -l)" ] ||
    die "$a and $b hold different numbers of issue files"
  local id
  for id in $ids; do
    cmp -s <(git -C "$a" show "HEAD:catalog/issue/$id.json" | jq -S .) \
      <(git -C "$b" show "HEAD:catalog/issue/$id.json" | jq -S .) ||
      die "catalog/issue/$id.json differs between $a and $b"
  done
  if [ "$ta" != "$tb" ]; then
    log "  note: tree ids differ ($ta vs $tb) but the sampled JSON is equal"
  fi
}

log "removing the catalogs of earlier runs, then waiting ${SETTLE}s for the disk to settle"
rm -rf "$OUT"/w[0-9]* "$OUT"/p[0-9]* "$OUT"/b[0-9]*.git "$OUT"/f[0-9]*
sync
sleep "$SETTLE"

for N in "$@"; do
  D=$OUT/d$N
  D1=$OUT/d$N-1pct
  RES=$OUT/results-$N.tsv
  make_data "$N" "$PROJECTS"
  NCHANGED=$(wc -l <"$D1/changed.txt")
  # The sample: changed issues and others spread over the file.
  SAMPLE_IDS="$(head -n $((SAMPLE / 2)) "$D1/changed.txt") $(jq -r .id "$D/issue.jsonl" | awk -v n="$N" -v k="$((SAMPLE / 2))" 'NR % int(n / k + 1) == 7')"

  # the mean size of an issue file as gitalog writes it, for the floor:
  # from a bare sync made once for this (setup, not measured)
  if [ ! -s "$D/filesize" ]; then
    rm -rf "$OUT/size$N.git" "$OUT/size$N-wt"
    new_catalogs "$G" "$OUT/size$N-wt" "$OUT/size$N.git"
    rm -rf "$OUT/size$N-wt"
    "$G" -q sync --dir "$OUT/size$N.git" --config "$CFG" --replay "$D" >/dev/null
    git -C "$OUT/size$N.git" ls-tree -l HEAD:catalog/issue | awk '{s += $4} END {print int(s / NR + 0.5)}' >"$D/filesize"
    rm -rf "$OUT/size$N.git"
  fi
  FILESIZE=$(cat "$D/filesize")
  : >"$RES"
  echo "$BUILD" >"$OUT/build-$N.txt"
  for round in $(seq 1 "$R"); do
    if [ "$round" -gt 1 ]; then
      sync
      sleep "$GAP"
    fi
    log "N=$N round $round/$R"
    # fresh catalogs (setup, not measured; see above for why nothing is deleted)
    W=$OUT/w$N-$round P=$OUT/p$N-$round B=$OUT/b$N-$round.git
    new_catalogs "$G" "$W" "$B"

    # initial; the floor first (files of the size gitalog writes for these issues)
    measure "$RES" "$N" "$round" initial floor "$OUT/createfiles" -n "$N" -size "$FILESIZE" "$OUT/f$N-$round"
    measure "$RES" "$N" "$round" initial gitalog "$G" -q sync --dir "$W" --replay "$D"
    check_git "$W" "$round"
    measure "$RES" "$N" "$round" initial peer "${PEER_ENV[@]}" bash "$PEER" "$D" "$P"
    same_catalog "$W" "$P" "$SAMPLE_IDS"

    # unchanged: gitalog must not commit; the peer rewrites every file
    hw=$(head_of "$W") hp=$(head_of "$P")
    touch "$OUT/marker"
    sleep 0.01
    measure "$RES" "$N" "$round" unchanged gitalog "$G" -q sync --dir "$W" --replay "$D"
    check_git "$W" "$round"
    [ "$(head_of "$W")" = "$hw" ] || die "gitalog committed on an unchanged resync"
    measure "$RES" "$N" "$round" unchanged peer "${PEER_ENV[@]}" bash "$PEER" "$D" "$P"
    [ "$(head_of "$P")" = "$hp" ] || die "the peer committed on an unchanged resync"
    rewritten=$(find "$P/catalog/issue" -type f -newer "$OUT/marker" | wc -l)
    [ "$rewritten" = "$N" ] || die "the peer rewrote $rewritten of $N files"

    # 1% changed: both commit exactly the changed files
    measure "$RES" "$N" "$round" 1pct gitalog "$G" -q sync --dir "$W" --replay "$D1"
    check_git "$W" "$round"
    [ "$(git -C "$W" diff --name-only HEAD~1 HEAD | wc -l)" = "$NCHANGED" ] || die "gitalog's 1% commit does not change $NCHANGED files"
    measure "$RES" "$N" "$round" 1pct peer "${PEER_ENV[@]}" bash "$PEER" "$D1" "$P"
    [ "$(git -C "$P" diff --name-only HEAD~1 HEAD | wc -l)" = "$NCHANGED" ] || die "the peer's 1% commit does not change $NCHANGED files"
    same_catalog "$W" "$P" "$SAMPLE_IDS"

    # bare repository: initial, unchanged, 1%
    measure "$RES" "$N" "$round" initial gitalog-bare "$G" -q sync --dir "$B" --config "$CFG" --replay "$D"
    check_git "$B" "$round"
    hb=$(head_of "$B")
    measure "$RES" "$N" "$round" unchanged gitalog-bare "$G" -q sync --dir "$B" --config "$CFG" --replay "$D"
    [ "$(head_of "$B")" = "$hb" ] || die "gitalog (bare) committed on an unchanged resync"
    measure "$RES" "$N" "$round" 1pct gitalog-bare "$G" -q sync --dir "$B" --config "$CFG" --replay "$D1"
    check_git "$B" "$round"
    [ "$(git -C "$B" diff --name-only HEAD~1 HEAD | wc -l)" = "$NCHANGED" ] || die "gitalog's bare 1% commit does not change $NCHANGED files"
    [ "$(git -C "$B" rev-parse HEAD:catalog/issue)" = "$(git -C "$W" rev-parse HEAD:catalog/issue)" ] ||
      die "the bare catalog differs from the worktree catalog"
  done
  log "N=$N: checks passed (fsck, clean status, same catalog as the peer, 1% commits of $NCHANGED files)"
  python3 "$ROOT/bench/report.py" "$RES"
done
if [ $# -gt 1 ]; then
  files=()
  for N in "$@"; do files+=("$OUT/results-$N.tsv"); done
  python3 "$ROOT/bench/report.py" --growth "${files[@]}"
fi
