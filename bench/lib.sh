# Shared by bench/run.sh, bench/scale.sh and bench/fetch.sh: sourced, not
# run, with ROOT set to the repository.

OUT=$ROOT/bench/out
CFG=$ROOT/bench/issues.yaml
BP=$ROOT/engine/scaffold/porttest/port/blueprints/issue.json
R=${R:-3}
PROJECTS=${PROJECTS:-50}
FSCK=${FSCK:-1}
SETTLE=${SETTLE:-400}
GAP=${GAP:-70}

# A go.mod makes bench/out a module of its own, which `go vet ./...` and
# `go test ./...` do not walk: after a 300k run it holds millions of files,
# and a walk racing a script's cleanup fails on a vanished directory.
mkdir -p "$OUT"
printf 'module benchout\n' >"$OUT/go.mod"

TIME=/usr/bin/time
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
# Call python3 directly, not through a version-manager shim.
PATH="$(dirname "$(python3 -c 'import sys; print(sys.executable)')"):$PATH"
export PATH

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() {
  log "FAIL: $*"
  exit 1
}

# build: gitalog from the working tree into $OUT/gitalog; sets G and BUILD
# (the commit, +dirty when code outside bench/ and BENCHMARKS.md differs).
build() {
  log "building gitalog"
  go build -o "$OUT/gitalog" .
  G=$OUT/gitalog
  BUILD="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!bench' ':!BENCHMARKS.md' || echo '+dirty')"
  log "gitalog built from $BUILD"
}

# make_data N PROJECTS: the dump of N generated issues in $OUT/dN (made
# once) and its 1%-changed copy in $OUT/dN-1pct (every 100th issue's
# .status flipped; their ids in changed.txt).
make_data() {
  local n=$1 projects=$2 d=$OUT/d$1 d1=$OUT/d$1-1pct
  if [ ! -f "$d/manifest.json" ]; then
    log "N=$n: generating $d"
    rm -rf "$d"
    "$G" fake-sentry --issues "$n" --projects "$projects" --dump "$d" --config "$CFG" >&2
  fi
  if [ ! -f "$d1/manifest.json" ] || [ "$d1/issue.jsonl" -ot "$d/issue.jsonl" ]; then
    log "N=$n: making the 1%-changed copy $d1"
    rm -rf "$d1"
    mkdir -p "$d1"
    python3 - "$d/issue.jsonl" "$d1/issue.jsonl" "$d1/changed.txt" <<'PY'
import json, sys
src, dst, ids = sys.argv[1:4]
with open(src, encoding="utf-8") as f, open(dst, "w", encoding="utf-8") as o, open(ids, "w") as c:
    for i, line in enumerate(f):
        if i % 100 == 0:
            it = json.loads(line)
            it["status"] = "unresolved" if it["status"] == "resolved" else "resolved"
            line = json.dumps(it, separators=(",", ":"), ensure_ascii=False) + "\n"
            c.write(it["id"] + "\n")
        o.write(line)
PY
    cp "$d/manifest.json" "$d1/manifest.json"
  fi
}

# measure RESULTS N ROUND CASE TOOL cmd... : one timed run, appended to
# RESULTS as "N round case tool wall user sys maxrssKB". A `sync` first, so
# the previous run's dirty pages are not charged to this one.
measure() {
  local res=$1 n=$2 round=$3 case=$4 tool=$5
  shift 5
  local tf=$OUT/time.txt lf=$OUT/logs/$n-$round-$case-$tool.log
  mkdir -p "$OUT/logs"
  sync
  if ! $TIME -f "%e %U %S %M" -o "$tf" "$@" >"$lf" 2>&1; then
    cat "$lf" >&2
    die "$tool $case (N=$n round $round) failed: $*"
  fi
  local t
  t=$(tail -n 1 "$tf")
  printf '%s\t%s\t%s\t%s\t%s\n' "$n" "$round" "$case" "$tool" "${t// /$'\t'}" >>"$res"
  log "  $tool $case N=$n: wall user sys maxrssKB = $t"
}

# check_git DIR ROUND: fsck (per FSCK: 1 = round 1, all, 0 = never) and,
# for a worktree, a clean status.
check_git() {
  local dir=$1 round=$2
  if [ "$FSCK" = all ] || { [ "$FSCK" = 1 ] && [ "$round" = 1 ]; }; then
    git -C "$dir" fsck --strict --no-progress >/dev/null 2>"$OUT/fsck.err" || {
      cat "$OUT/fsck.err" >&2
      die "git fsck --strict failed in $dir"
    }
  fi
  if [ "$(git -C "$dir" rev-parse --is-bare-repository)" = false ]; then
    local st
    st=$(git -C "$dir" status --porcelain)
    [ -z "$st" ] || die "git status not clean in $dir: $(head -n 5 <<<"$st")"
  fi
}

head_of() { git -C "$1" rev-parse HEAD; }

# new_catalogs G W B: a round's fresh catalogs: W made by `G init` with the
# bench config committed as gitalog.yaml and seed 001's issue blueprint (the
# one the bench mapping writes; gitalog's default has sentryIssue instead),
# B a bare clone of it.
new_catalogs() {
  local g=$1 w=$2 b=$3
  "$g" init --dir "$w" >/dev/null
  cp "$CFG" "$w/gitalog.yaml"
  cp "$BP" "$w/blueprints/issue.json"
  git -C "$w" add gitalog.yaml blueprints/issue.json
  git -C "$w" commit -q -m "bench config"
  git clone -q --bare "$w" "$b"
}
