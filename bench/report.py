#!/usr/bin/env python3
"""Summarize bench/run.sh results: medians per case and tool, ratios, targets.

usage: report.py results-N.tsv...            one table per file
       report.py --growth results-N.tsv...   plus growth across N (linearity)
A results line: N round case tool wall user sys maxrssKB.
"""
import statistics
import sys
from collections import defaultdict

TARGET_RATIO = {"initial": 0.35, "unchanged": 0.05, "1pct": 0.05}
# A first sync with a worktree is held to the floor under it (tool "floor":
# bench/createfiles making the same number of files of the same mean size,
# in the same round) rather than to the peer: file creation on this VM
# swings too much for a ratio to the peer alone to say much.
FLOOR_RATIO = 1.3
RSS_LIMIT_MB = 400
CASES = ["initial", "unchanged", "1pct"]


def load(path):
    runs = defaultdict(list)  # (case, tool) -> [(wall, cpu, rssMB)]
    n = None
    for line in open(path):
        f = line.split()
        if len(f) != 8:
            continue
        n = int(f[0])
        wall, user, sys_, rss = float(f[4]), float(f[5]), float(f[6]), int(f[7])
        runs[(f[2], f[3])].append((wall, user + sys_, rss / 1024))
    return n, runs


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def summary(runs, case, tool):
    r = runs.get((case, tool), [])
    return (med([x[0] for x in r]), med([x[1] for x in r]), med([x[2] for x in r]),
            max([x[2] for x in r], default=float("nan")), len(r))


def table(path):
    n, runs = load(path)
    rounds = max((len(v) for v in runs.values()), default=0)
    print(f"\n### N = {n} issues ({rounds} rounds, medians)\n")
    print("| case | tool | wall s | CPU s | max RSS MB | wall ratio vs peer | target | met |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    verdicts = []
    for case in CASES:
        pw = summary(runs, case, "peer")[0]
        fw = summary(runs, case, "floor")[0]
        for tool in ["gitalog", "gitalog-bare", "peer", "floor"]:
            w, c, m, mmax, k = summary(runs, case, tool)
            if k == 0:
                continue
            if tool in ("peer", "floor"):
                print(f"| {case} | {tool} | {w:.2f} | {c:.2f} | {m:.0f} | {w / pw if pw else float('nan'):.3f} | | |")
                continue
            ratio = w / pw if pw else float("nan")
            t = TARGET_RATIO[case]
            if case == "initial" and tool == "gitalog" and summary(runs, case, "floor")[4]:
                ok_t = w / fw <= FLOOR_RATIO
                ok_m = mmax <= RSS_LIMIT_MB
                verdicts.append((case, tool, ok_t, ok_m, w / fw, FLOOR_RATIO, mmax))
                print(f"| {case} | {tool} | {w:.2f} | {c:.2f} | {m:.0f} | {ratio:.3f}; {w / fw:.2f} x the floor | "
                      f"≤ {FLOOR_RATIO} x the floor | {'yes' if ok_t else 'NO'} (RSS {'ok' if ok_m else 'OVER ' + str(RSS_LIMIT_MB)}) |")
                continue
            ok_t = ratio <= t
            ok_m = mmax <= RSS_LIMIT_MB
            verdicts.append((case, tool, ok_t, ok_m, ratio, t, mmax))
            print(f"| {case} | {tool} | {w:.2f} | {c:.2f} | {m:.0f} | {ratio:.3f} | ≤ {t} | "
                  f"{'yes' if ok_t else 'NO'} (RSS {'ok' if ok_m else 'OVER ' + str(RSS_LIMIT_MB)}) |")
    met = sum(1 for v in verdicts if v[2])
    rss = all(v[3] for v in verdicts)
    print(f"\nN={n}: time targets met {met}/{len(verdicts)}; peak RSS ≤ {RSS_LIMIT_MB} MB: "
          f"{'yes' if rss else 'NO'} (max {max((v[6] for v in verdicts), default=0):.0f} MB)")


def growth(paths):
    data = sorted(load(p) for p in paths)
    print("\n### Growth (median wall µs per issue, median max RSS MB)\n")
    head = " | ".join(f"N={n}" for n, _ in data)
    last = ""
    if len(data) > 1:
        last = f" | per issue, N={data[-2][0]} to N={data[-1][0]}"
    print(f"| case | tool | {head}{last} |")
    print("|---|---|" + "---:|" * (len(data) + (1 if last else 0)))
    for case in CASES:
        for tool in ["gitalog", "gitalog-bare", "peer", "floor"]:
            cells, per = [], []
            for n, runs in data:
                w, _, m, _, k = summary(runs, case, tool)
                cells.append(f"{w / n * 1e6:.1f} µs, {m:.0f} MB" if k else "-")
                per.append((w / n, m / n) if k else None)
            if not any(per):
                continue
            if last:
                a, b = per[-2], per[-1]
                cells.append(f"time {b[0] / a[0] - 1:+.0%}, memory {b[1] / a[1] - 1:+.0%}" if a and b else "-")
            print(f"| {case} | {tool} | " + " | ".join(cells) + " |")


def main(argv):
    if argv and argv[0] == "--growth":
        growth(argv[1:])
        return
    for p in argv:
        table(p)


if __name__ == "__main__":
    main(sys.argv[1:])
