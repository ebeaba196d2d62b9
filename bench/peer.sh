#!/usr/bin/env bash
# The "git scraping" peer: jq maps the API's items with the same mapping as
# bench/issues.yaml, a small script writes one file per entity, and
# `git add -A && git commit` records the change.
# usage: peer.sh DUMP_DIR REPO
set -euo pipefail
dump=$1 repo=$2
mkdir -p "$repo/catalog/issue"
if [ ! -d "$repo/.git" ]; then
  git -C "$repo" init -q -b main
fi
# jq writes "path<TAB>entity" lines; python writes each entity to its file.
jq -c -S '[("catalog/issue/" + .id + ".json"),
  {identifier: .id, title: .title, blueprint: "issue",
   properties: {link: .permalink, status: .status, isUnhandled: .isUnhandled},
   relations: {project: .project.slug}}]' "$dump/issue.jsonl" |
python3 -c '
import json, os, sys
root = sys.argv[1]
for line in sys.stdin:
    path, entity = json.loads(line)
    with open(os.path.join(root, path), "w") as f:
        json.dump(entity, f, indent=2, sort_keys=True, ensure_ascii=False)
        f.write("\n")
' "$repo"
git -C "$repo" add -A
git -C "$repo" -c user.name=peer -c user.email=peer@example.com commit -q -m "scrape" || true
