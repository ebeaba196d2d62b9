#!/usr/bin/env bash
# A CI job's whole time (clone + sync + push) with a full checkout against
# a bare clone, as the workflows `gitalog init` writes run it (issue 17).
#
# usage: bench/ci.sh [N...]   (default: 100000 issues over 50 projects; R rounds)
#
# For each N: the catalog (bench/issues.yaml as gitalog.yaml) is synced
# from the 1%-changed dump (bench/lib.sh make_data) and cloned bare as the
# remote, origin.git, reached over file://. `gitalog fake-sentry --issues
# N` serves the organization in its own process, so a job's sync finds 1%
# of the issues changed, commits them and pushes. Each round, each way:
#   full: git clone (checkout of every file) + gitalog sync --push in it
#   bare: git clone --bare (no checkout)     + gitalog sync --push in it
# Nothing is restored (no item cache: a fresh runner). After each job the
# remote's branch is moved back, so every job pushes the same change.
# Printed: clone, sync+push and total wall seconds per job, medians.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
source "$ROOT/bench/lib.sh"
NS=${*:-100000}
build

secs() { date +%s.%N; }

for N in $NS; do
  make_data "$N" "$PROJECTS"
  D1=$OUT/d$N-1pct
  ORIGIN=$OUT/ci-$N-origin.git W=$OUT/ci-$N-w
  rm -rf "$ORIGIN" "$W"
  log "N=$N: making the remote"
  new_catalogs "$G" "$W" "$OUT/ci-init.git"
  rm -rf "$OUT/ci-init.git"
  "$G" -q sync --dir "$W" --replay "$D1" >/dev/null
  git clone -q --bare "$W" "$ORIGIN"
  rm -rf "$W"
  BASE=$(git -C "$ORIGIN" rev-parse main)

  "$G" fake-sentry --issues "$N" --projects "$PROJECTS" >"$OUT/fake.out" 2>&1 &
  FAKE=$!
  trap 'kill $FAKE 2>/dev/null || true' EXIT
  for _ in $(seq 1 600); do
    grep -q '^export' "$OUT/fake.out" 2>/dev/null && break
    sleep 0.1
  done
  # shellcheck disable=SC2046
  export $(sed -n 's/^export //p' "$OUT/fake.out")

  RES=$OUT/ci-$N.tsv
  : >"$RES"
  for round in $(seq 1 "$R"); do
    for how in full bare; do
      JOB=$OUT/ci-job
      rm -rf "$JOB"
      sync
      t0=$(secs)
      if [ "$how" = full ]; then
        git clone -q "file://$ORIGIN" "$JOB"
      else
        git clone -q --bare "file://$ORIGIN" "$JOB"
      fi
      t1=$(secs)
      "$G" sync --dir "$JOB" --push >"$OUT/ci-sync.log" 2>&1 || { cat "$OUT/ci-sync.log" >&2; die "sync --push ($how) failed"; }
      t2=$(secs)
      [ "$(git -C "$ORIGIN" rev-parse main)" != "$BASE" ] || die "$how: nothing was pushed"
      check_git "$JOB" "$round"
      files=$(find "$JOB" -path "$JOB/.git" -prune -o -type f -print | wc -l)
      printf '%s\t%s\t%s\t%.2f\t%.2f\t%.2f\t%s\n' "$N" "$round" "$how" \
        "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)" "$(echo "$t2 - $t0" | bc)" "$files" >>"$RES"
      log "  N=$N round $round $how: $(tail -n 1 "$RES" | cut -f4-)"
      git -C "$ORIGIN" update-ref refs/heads/main "$BASE"
    done
  done
  kill $FAKE 2>/dev/null || true
  wait $FAKE 2>/dev/null || true
  echo
  echo "N = $N issues, $PROJECTS projects, $R rounds, medians (build $BUILD)"
  echo
  echo "| job | clone s | sync + push s | total s | files on disk |"
  echo "|---|---:|---:|---:|---:|"
  python3 - "$RES" <<'PY'
import statistics, sys
rows = [l.split("\t") for l in open(sys.argv[1]) if l.strip()]
for how in ("full", "bare"):
    r = [x for x in rows if x[2] == how]
    med = lambda i: statistics.median(float(x[i]) for x in r)
    print(f"| {how} | {med(3):.2f} | {med(4):.2f} | {med(5):.2f} | {int(med(6))} |")
PY
done
