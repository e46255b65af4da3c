"""End to end in CPU instructions: `payerlint check` per claim against a standard-library
JSON round trip of the same claims, counted by valgrind (callgrind), which no other load
on the machine moves.

    PYTHONPATH=src python3 benchmarks/bench_instructions.py [--claims 1000] [--compare OTHER_SRC]

bench_check.py's end-to-end figure is CPU time, and the shared machines drift by 2-5x
between runs: a change of a few percent is lost in that. An instruction count is the same
on every run, so this is the figure to compare two versions by (`--compare` counts a
second checkout's `src` too). It is not the same ratio as CPU time: the json module's C
code runs more instructions per cycle than the Python interpreter does, so the time ratio
is about twice the instruction ratio.

Each command runs once to fill the caches on disk, then twice counted, on the claims and
on the first claim alone, and the difference is divided by the claims between: what is left is the cost per claim, without starting
Python, importing and preparing the rulebook. Under valgrind a run takes about 40x its
usual time (about a minute in all for 1,000 claims). Without valgrind it says so and stops.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

REFERENCE = """
import json, os, sys
with open(sys.argv[1], encoding="utf-8") as source, open(os.devnull, "w", encoding="utf-8") as sink:
    for line in source:
        sink.write(json.dumps(json.loads(line)) + "\\n")
"""


def instructions(command: list[str], env: dict[str, str]) -> int:
    """The instructions `command` ran, as callgrind counts them (its output is discarded;
    `payerlint check` exits with 1 when a claim is denied, which the corpus has)."""
    run = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    found = re.search(r"Collected : (\d+)", run.stderr)
    if run.returncode not in (0, 1) or found is None:
        raise SystemExit(f"valgrind printed no instruction count:\n{run.stderr[-2000:]}")
    return int(found.group(1))


def per_claim(command: list[str], many: Path, one: Path, claims: int, env: dict[str, str]) -> float:
    # One run first, not counted: a checkout's first run compiles its rulebooks and writes
    # the caches on disk, which the counted runs then both read.
    subprocess.run([*command, str(one)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (instructions([*command, str(many)], env) - instructions([*command, str(one)], env)) / (claims - 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=1000)
    parser.add_argument("--compare", metavar="OTHER_SRC", help="a second checkout's src folder, counted the same way")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: no instruction counts (apt-get install valgrind)")
        return
    with tempfile.TemporaryDirectory(prefix="payerlint-bench-") as folder:
        many, one, reference = Path(folder) / "claims.jsonl", Path(folder) / "one.jsonl", Path(folder) / "ref.py"
        subprocess.run([sys.executable, str(HERE / "corpus.py"), str(many), "--claims", str(args.claims)],
                       check=True, capture_output=True)
        with many.open(encoding="utf-8") as source:
            one.write_text(source.readline(), encoding="utf-8")
        reference.write_text(REFERENCE, encoding="utf-8")
        env = dict(os.environ)
        ref = per_claim([sys.executable, str(reference)], many, one, args.claims, env)
        print(f"end to end, {args.claims:,} claims of the synthetic Medicare corpus, instructions per claim:")
        print(f"   stdlib json read+write {ref:12,.0f}")
        check = [sys.executable, "-m", "payerlint", "check", "--jobs", "1", "--format", "jsonl"]
        sources = [("this checkout", env.get("PYTHONPATH", ""))]
        if args.compare:
            sources.append((args.compare, args.compare))
        for label, src in sources:
            ours = per_claim(check, many, one, args.claims, {**env, "PYTHONPATH": src})
            print(f"   payerlint check        {ours:12,.0f}   ratio {ours / ref:.2f}   ({label})")


if __name__ == "__main__":
    main()
