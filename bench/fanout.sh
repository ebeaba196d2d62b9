#!/usr/bin/env bash
# Requests of an unchanged resync with Port's default mapping (issue-tag,
# project-tag, team members), in the same catalog and in a fresh clone of
# it with nothing restored (no item cache): issue 17's conditional fan-out.
#
# usage: bench/fanout.sh [N...]   (default: 2000 20000 issues over 50 projects)
#
# For each N: `gitalog fake-sentry --issues N` in its own process; a bare
# catalog made by `gitalog init` whose issue-tag resource lists every issue
# (search: "", so that all N fan out, where Port's default lists the
# unresolved ones); then `gitalog sync -v` three times: the first sync,
# an unchanged resync in the same catalog, and one in a `git clone --bare`
# of it. Printed per run: wall seconds, requests made and skipped per
# endpoint (from the summary's table), and the bound issue 17 sets: at
# most the list pages + 5%, where the list pages are every request but
# the per-issue and per-team ones.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
source "$ROOT/bench/lib.sh"
NS=${*:-2000 20000}
build

run() { # name dir: one sync, its table kept in $OUT/fanout-<name>.txt
  local name=$1 dir=$2 t0 t1
  t0=$(date +%s.%N)
  # Exit 3 (partial) is expected: the generated users include an orgRole
  # Port's blueprint misspells, whose entities are invalid.
  "$G" sync --dir "$dir" -v >"$OUT/fanout-$name.txt" 2>"$OUT/fanout-$name.log" || [ $? = 3 ] || die "sync $name failed"
  t1=$(date +%s.%N)
  python3 - "$OUT/fanout-$name.txt" "$name" "$(echo "$t1 - $t0" | bc)" <<'PY'
import re, sys
path, name, wall = sys.argv[1], sys.argv[2], float(sys.argv[3])
made = skipped = fan = 0
for line in open(path):
    m = re.match(r'^  (/\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+\S+$', line)
    if not m:
        continue
    ep, r, s = m.group(1), int(m.group(2)), int(m.group(3))
    made += r; skipped += s
    if '/issues/{id}/' in ep or ep.startswith('/teams/'):
        fan += r
lists = made - fan
print(f"| {name} | {wall:.2f} | {made} | {fan} | {skipped} | {lists} | {int(lists*1.05)} | {'yes' if made <= lists*1.05 else 'NO'} |")
PY
}

for N in $NS; do
  "$G" fake-sentry --issues "$N" --projects "$PROJECTS" >"$OUT/fake.out" 2>&1 &
  FAKE=$!
  trap 'kill $FAKE 2>/dev/null || true' EXIT
  for _ in $(seq 1 600); do
    grep -q '^export' "$OUT/fake.out" 2>/dev/null && break
    sleep 0.1
  done
  # shellcheck disable=SC2046
  export $(sed -n 's/^export //p' "$OUT/fake.out")
  CAT=$OUT/fanout-$N.git FRESH=$OUT/fanout-$N-fresh.git
  rm -rf "$CAT" "$FRESH"
  git init -q --bare -b main "$CAT"
  "$G" init --dir "$CAT" >/dev/null
  # Every issue fans out: search "" on the issue-tag resource.
  WT=$OUT/fanout-wt
  rm -rf "$WT"
  git clone -q "$CAT" "$WT"
  # Port's files: its default mapping fans out (issue-tag, team members).
  cp "$ROOT/engine/scaffold/porttest/port/gitalog.yaml" "$WT/gitalog.yaml"
  cp "$ROOT"/engine/scaffold/porttest/port/blueprints/*.json "$WT/blueprints/"
  git -C "$WT" add -A gitalog.yaml blueprints
  python3 - "$WT/gitalog.yaml" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
i = s.index("- kind: issue-tag")
j = s.index('tag: "environment"', i)
s = s[:j] + 'tag: "environment"\n      search: ""' + s[j + len('tag: "environment"'):]
open(p, "w").write(s)
PY
  git -C "$WT" commit -qam "bench: every issue fans out"
  git -C "$WT" push -q origin main
  rm -rf "$WT"
  echo
  echo "N = $N issues, $PROJECTS projects (build $BUILD)"
  echo
  echo "| sync | wall s | requests | per-issue/team requests | skipped | list requests | list + 5% | within |"
  echo "|---|---:|---:|---:|---:|---:|---:|---|"
  run first-$N "$CAT"
  run resync-$N "$CAT"
  git clone -q --bare "$CAT" "$FRESH"
  [ ! -e "$FRESH/gitalog-items.cache" ] || die "the fresh clone has an item cache"
  run fresh-$N "$FRESH"
  du -sh "$CAT" | awk '{print "catalog on disk: " $1}'
  git -C "$CAT" ls-tree -r --long HEAD .gitalog/fanout | awk '{n++; s+=$4} END {printf "fan-out state: %d files, %.1f MB\n", n, s/1e6}'
  kill $FAKE 2>/dev/null || true
  wait $FAKE 2>/dev/null || true
done
