#!/usr/bin/env python3
"""Prints the ratios of a scripts/bench-ratios.sh sitting, one line per row
of docs/benchmarks.md's lead table, one column per run.

    python3 tools/bench_ratios.py build-bench/results/ratios-<time>/
"""
import glob
import json
import os
import re
import sys


def load_runs(folder):
    """{run number: {benchmark name: its JSON entry}} of every run*.json."""
    runs = {}
    for path in glob.glob(os.path.join(folder, "run*_*.json")):
        run = int(re.match(r"run(\d+)_", os.path.basename(path)).group(1))
        with open(path) as f:
            for entry in json.load(f)["benchmarks"]:
                runs.setdefault(run, {})[entry["name"]] = entry
    return runs


def batch_upsert(e):
    return (e["ratio_p50"], "call %.1f ms, a %.1f ms, b %.2f ms" %
            (e["call_p50_ms"], e["inserts_p50_ms"], e["parse_p50_ms"]))


# (row, benchmark name prefix, how to read the figure and its ratio)
ROWS = [
    ("batch upsert FULL: call / (2a + b)", "BM_BatchUpsertBesideFloor/normal:0",
     batch_upsert),
    ("batch upsert NORMAL", "BM_BatchUpsertBesideFloor/normal:1", batch_upsert),
    ("update / (empty RPC + commit)", "BM_UpdateBesideFloor",
     lambda e: (e["ratio_p50"], "update %.0f us, empty %.0f us, commit %.0f us" %
                (e["update_p50_us"], e["empty_rpc_p50_us"], e["commit_p50_us"]))),
    ("16 clients: commits/s over fsyncs/s", "BM_GroupCommitBesideFsync",
     lambda e: (e["commits_over_fsyncs"], "%.0f commits/s, %.0f fsyncs/s, %.0f updates/s" %
                (e["commits_per_s"], e["fsyncs_per_s"], e["updates_per_s"]))),
    ("count / empty RPC", "BM_RpcCountBesideHealth",
     lambda e: (e["ratio_p50"], "count %.1f us, empty %.1f us" %
                (e["count_p50_us"], e["health_p50_us"]))),
    ("restart / SELECT", "BM_RestartBesideSelect",
     lambda e: (e["ratio"], "open %.2f s, select %.2f s" %
                (e["open_ms"] / 1e3, e["select_ms"] / 1e3))),
    ("feed replay / socket", "BM_FeedReplayBesideSocket",
     lambda e: (e["ratio"], "replay %.1f ms, socket %.1f ms" %
                (e["replay_ms"], e["socket_ms"]))),
    ("snapshot (runs) / copy", "BM_SnapshotCreateBesideCopy/leads:0",
     lambda e: (e["ratio_p50"], "create %.2f us, copy %.2f us" %
                (e["create_p50_us"], e["copy_p50_us"]))),
    ("snapshot (30%) / copy", "BM_SnapshotCreateBesideCopy/leads:1",
     lambda e: (e["ratio_p50"], "create %.1f us, copy %.1f us" %
                (e["create_p50_us"], e["copy_p50_us"]))),
]


def find(entries, prefix):
    for name, entry in entries.items():
        if name.startswith(prefix):
            return entry
    return None


def main(folder):
    runs = load_runs(folder)
    numbers = sorted(runs)
    for row, prefix, read in ROWS:
        cells = []
        for run in numbers:
            entry = find(runs[run], prefix)
            cells.append(read(entry) if entry else None)
        ratios = " / ".join("%.2f" % c[0] if c else "-" for c in cells)
        print("%-40s %s" % (row, ratios))
        for run, cell in zip(numbers, cells):
            if cell:
                print("    run %d: %s" % (run, cell[1]))
    print("builds (create / algebra, preview / algebra):")
    labels = {}
    for run in numbers:
        for name, entry in sorted(runs[run].items()):
            if name.startswith("BM_BuildBesideSql/contacts:1000000/"):
                labels.setdefault(entry["label"], []).append(
                    (entry["create_over_algebra"], entry["preview_over_algebra"],
                     entry["algebra_p50_ms"], int(entry["members"])))
    for label, cells in labels.items():
        print("    %-16s members %7d  algebra %s ms  create %s  preview %s" % (
            label, cells[0][3], " / ".join("%.3f" % c[2] for c in cells),
            " / ".join("%.2f" % c[0] for c in cells),
            " / ".join("%.2f" % c[1] for c in cells)))


if __name__ == "__main__":
    main(sys.argv[1])
