"""Starting payerlint: checking one claim from a cold start, and loading a rulebook with a
1,000,000-row NCCI PTP table, each beside a reference measured in the same run.

    PYTHONPATH=src python3 benchmarks/bench_startup.py [--runs 7] [--rows 1000000]

1. `payerlint check ONE.json`, a whole process, start to finish (median of --runs):
   with the compiled rulebook in the cache on disk (every run after the first), with the
   cache off (PAYERLINT_NO_CACHE=1: compile every time), and with Python's bytecode cache
   off (PYTHONDONTWRITEBYTECODE=1, which some machines set); the reference is a Python
   process that only reads the same claim with the standard json module.
2. A copy of medicare@2026Q2 whose PTP table has --rows rows: `payerlint compile` of it
   the first time (cache empty) and the second time (read back from the cache), beside a
   Python process that reads the same CSV file with the standard csv module.

Runs alternate between the command and its reference, so a machine that slows down during
the run slows both.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))


def timed(argv: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def one_claim(runs: int, folder: Path) -> None:
    claim = ROOT / "examples" / "claims" / "medicare" / "01-clean-ankle-mobilization.json"
    # Python's own bytecode cache on, as in a normal install, kept in the temporary folder
    # (PYTHONPYCACHEPREFIX) so the source tree gets no files; a machine that sets
    # PYTHONDONTWRITEBYTECODE compiles every module from source on every run, which is
    # measured as well.
    base = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PAYERLINT_CACHE_DIR": str(folder / "cache"),
            "PYTHONPYCACHEPREFIX": str(folder / "pycache")}
    base.pop("PYTHONDONTWRITEBYTECODE", None)
    # A copy of the source without any __pycache__ (beside links to the checkout's data),
    # and no prefix: the standard library's bytecode is read as usual, payerlint's modules
    # are compiled from source every run.
    shutil.copytree(ROOT / "src", folder / "source" / "src", ignore=shutil.ignore_patterns("__pycache__"))
    for data in ("grammar", "rulebooks", "payers"):
        (folder / "source" / data).symlink_to(ROOT / data, target_is_directory=True)
    no_bytecode = {key: value for key, value in base.items() if key != "PYTHONPYCACHEPREFIX"}
    no_bytecode.update(PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=str(folder / "source" / "src"))
    check = [sys.executable, "-m", "payerlint", "check", str(claim)]
    reference = [sys.executable, "-c", f"import json; json.load(open({str(claim)!r}))"]
    timed(check, base)  # fills both caches
    timed(check, no_bytecode)  # the rulebook's cache entry for the copy
    warm, cold, source, ref = [], [], [], []
    for _ in range(runs):
        ref.append(timed(reference, base))
        warm.append(timed(check, base))
        cold.append(timed(check, {**base, "PAYERLINT_NO_CACHE": "1"}))
        source.append(timed(check, no_bytecode))
    r, w, c, b = (statistics.median(x) for x in (ref, warm, cold, source))
    print(f"1. payerlint check of one claim, whole process (median of {runs}): {w:.2f} s with the rulebook cached "
          f"({w / r:.1f}x a Python process that only json-loads the claim: {r:.2f} s); {c:.2f} s compiling it "
          f"({c / r:.1f}x); {b:.2f} s with the rulebook cached but no bytecode cache (PYTHONDONTWRITEBYTECODE=1: "
          f"every module compiled from source each run; {b / r:.1f}x)")


def big_table(rows: int, folder: Path) -> None:
    from bench_diff import write_tables

    write_tables(folder, rows)
    tree = folder / "tree" / "rulebooks" / "medicare"
    shutil.copytree(ROOT / "rulebooks" / "medicare", tree)
    table = tree / "tables" / "ncci_ptp_therapy.csv"
    shutil.copy(folder / "old.csv", table)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PAYERLINT_CACHE_DIR": str(folder / "big-cache")}
    compile_ = [sys.executable, "-m", "payerlint", "compile", str(tree / "2026Q2.rules")]
    reference = [sys.executable, "-c", f"import csv; sum(1 for _ in csv.reader(open({str(table)!r})))"]
    ref_first = timed(reference, env)
    first = timed(compile_, env)
    ref_second = timed(reference, env)
    second = timed(compile_, env)
    third = timed(compile_, env)
    size = table.stat().st_size / 2**20
    print(f"2. a {rows:,}-row PTP table ({size:.0f} MiB): payerlint compile {first:.2f} s the first time, "
          f"{min(second, third):.2f} s from the cache (a Python process reading the CSV with the csv module: "
          f"{min(ref_first, ref_second):.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="payerlint-startup-") as folder:
        one_claim(args.runs, Path(folder))
        big_table(args.rows, Path(folder))
    print(f"load average {os.getloadavg()[0]:.2f} after")


if __name__ == "__main__":
    main()
