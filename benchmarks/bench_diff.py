"""Diff two rulebooks whose NCCI tables have 1,000,000 rows each, and replay a claim corpus
under both, printing seconds and peak memory.

    PYTHONPATH=src python3 benchmarks/bench_diff.py [--rows 1000000] [--claims 100000]

The two rulebooks are copies of the bundled medicare@2026Q2 in a temporary tree, each
reading its own generated 1,000,000-row PTP table; the new one changes 1,000 rows' modifier
indicators (97012/97140 among them, a pair the claims bill), adds 500 pairs, removes 500,
and moves the KX threshold. Each phase runs in a
child process so its peak memory (ru_maxrss) is its own; the replay runs twice, at a tenth
of the claims and at all of them, to show that replay memory does not grow with the
number of claims.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

HEADER = "column_1,column_2,effective,deleted,modifier_indicator,order_confirmed,source,grade,note\n"


def _codes(rows: int) -> list[tuple[str, str]]:
    """Distinct, deterministic code pairs, starting with the therapy pairs claims use."""
    rng = random.Random(321)
    seen = set()
    pairs = []
    therapy = ["97140", "97012", "97110", "97112", "97116", "97124", "97530", "97161", "97164", "98940", "G0283"]
    for a in therapy:
        for b in therapy:
            if a != b:
                seen.add((a, b))
                pairs.append((a, b))
    while len(pairs) < rows:
        a = f"{rng.randint(10000, 99999)}"
        b = f"{rng.randint(10000, 99999)}"
        if a != b and (a, b) not in seen:
            seen.add((a, b))
            pairs.append((a, b))
    return pairs


def write_tables(folder: Path, rows: int) -> dict:
    pairs = _codes(rows)
    rng = random.Random(322)
    old_rows = {p: (rng.choice(["2015-01-01", "2020-01-01", "2022-10-01"]), rng.choice(["0", "1", "1", "1", "9"]))
                for p in pairs}
    new_rows = dict(old_rows)
    keys = list(old_rows)
    # One pair claims really bill changes too, so replay attributes outcomes to a table row.
    old_rows[("97012", "97140")] = ("2020-01-01", "1")
    new_rows[("97012", "97140")] = ("2020-01-01", "0")
    for key in rng.sample(keys[200:], 1000):
        effective, indicator = new_rows[key]
        new_rows[key] = (effective, "0" if indicator == "1" else "1")
    for key in rng.sample(keys[200:], 500):
        del new_rows[key]
    added = 0
    while added < 500:
        key = (f"{rng.randint(10000, 99999)}", f"{rng.randint(10000, 99999)}")
        if key not in old_rows and key not in new_rows and key[0] != key[1]:
            new_rows[key] = ("2026-07-01", "1")
            added += 1
    for name, table in (("old", old_rows), ("new", new_rows)):
        path = folder / f"{name}.csv"
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(HEADER)
            for (a, b), (effective, indicator) in sorted(table.items()):
                handle.write(f"{a},{b},{effective},,{indicator},yes,synthetic benchmark row,A,\n")
    return {"old_rows": len(old_rows), "new_rows": len(new_rows)}


def make_tree(tmp: Path, rows: int) -> dict:
    sizes = write_tables(tmp, rows)
    for name in ("old", "new"):
        tree = tmp / name / "rulebooks" / "medicare"
        shutil.copytree(ROOT / "rulebooks" / "medicare", tree)
        shutil.copy(tmp / f"{name}.csv", tree / "tables" / "ncci_ptp_therapy.csv")
        if name == "new":
            rules = tree / "2026Q2.rules"
            rules.write_text(rules.read_text().replace("param kx_threshold_pt_slp = $2,480.00",
                                                       "param kx_threshold_pt_slp = $2,410.00"))
    return sizes


def phase(argv: list[str]) -> dict:
    """Run one phase in a child process; it prints a JSON line with its figures."""
    out = subprocess.run([sys.executable, __file__, *argv], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def child(args) -> None:
    from payerlint.claims.reader import read_records
    from payerlint.compile.pipeline import compile_path
    from payerlint.versions.diff import diff
    from payerlint.versions.replay import Replay

    tmp = Path(args.tmp)
    started = time.perf_counter()
    from payerlint.compile.loader import Loader

    old = compile_path(str(tmp / "old" / "rulebooks" / "medicare" / "2026Q2.rules"), Loader(disk_cache=False))
    new = compile_path(str(tmp / "new" / "rulebooks" / "medicare" / "2026Q2.rules"), Loader(disk_cache=False))
    compiled = time.perf_counter()
    changes = diff(old, new)
    diffed = time.perf_counter()
    figures = {"compile_both_s": round(compiled - started, 2), "diff_s": round(diffed - compiled, 2),
               "changes": [c.summary() for c in changes.changes]}
    if args.child == "replay":
        replay = Replay(changes, old, new)
        count = 0
        for _impact in replay.run(read_records([args.claims_file])):
            count += 1
        done = time.perf_counter()
        figures.update({"replay_s": round(done - diffed, 2), "claims": replay.summary.checked,
                        "claims_changed": replay.summary.changed,
                        "claims_per_s": round(replay.summary.checked / (done - diffed)),
                        "verdict_changes": dict(replay.summary.verdicts),
                        "by_kind": dict(replay.summary.cause_kinds)})
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--child", choices=("diff", "replay"))
    parser.add_argument("--tmp")
    parser.add_argument("--claims-file")
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    from corpus import write_jsonl

    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        started = time.perf_counter()
        sizes = make_tree(tmp, args.rows)
        print(f"tables: old {sizes['old_rows']:,} rows, new {sizes['new_rows']:,} rows "
              f"(generated in {time.perf_counter() - started:.1f} s, not timed below)")
        small, large = tmp / "small.jsonl", tmp / "large.jsonl"
        write_jsonl(str(small), max(1, args.claims // 10), seed=2026)
        write_jsonl(str(large), args.claims, seed=2026)
        result = phase(["--child", "diff", "--tmp", name])
        print(f"diff: compile both {result['compile_both_s']} s (tables read), diff {result['diff_s']} s, "
              f"peak RSS {result['peak_rss_mb']} MB")
        for line in result["changes"]:
            print(f"  {line}")
        runs = {}
        for label, path, n in (("small", small, max(1, args.claims // 10)), ("large", large, args.claims)):
            runs[label] = phase(["--child", "replay", "--tmp", name, "--claims-file", str(path)])
            r = runs[label]
            print(f"replay {n:,} claims: {r['replay_s']} s ({r['claims_per_s']:,} claims/s under both versions), "
                  f"{r['claims_changed']:,} changed, peak RSS {r['peak_rss_mb']} MB; verdicts {r['verdict_changes']}; "
                  f"by kind {r['by_kind']}")
        growth = runs["large"]["peak_rss_mb"] - runs["small"]["peak_rss_mb"]
        print(f"replay peak memory, {args.claims:,} vs {max(1, args.claims // 10):,} claims: {growth:+.1f} MB")


if __name__ == "__main__":
    main()
