"""`payerlint check --jobs N`: claims per second at 1 and 2 worker processes, measured as a
user runs it (the whole command, startup included, results written to a file), beside a
stdlib JSON round trip of the same file measured in the same run.

    PYTHONPATH=src python3 benchmarks/bench_batch.py [--claims 40000] [--jobs 1 2] [--repeat 2] [--x12]

With --x12 the same claims are written as one X12 837P file (payerlint's 837P writer) and
checked from it; the references are then a bare split of the file into segments and
elements, and reading it with `read_837p` alone (no checking), both in the same run: the
837P is read in the main process whatever --jobs says (docs/x12.md), so reading bounds
what workers can gain.

Each configuration runs `--repeat` times, alternating, and the best is kept: the machine
may be shared, and its other load is printed (1-minute load average) with the CPU time
the command and its workers used, so a figure can be read against what else was running.
The outputs of every configuration are compared byte for byte (they must be identical).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"


def load() -> str:
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "?"


def json_round_trip(path: Path, sink: Path) -> float:
    """Read every line, json.loads it, json.dumps it, write it: the floor for any tool
    that reads and writes JSON Lines in Python."""
    started = time.perf_counter()
    with open(path, encoding="utf-8") as src, open(sink, "w", encoding="utf-8") as out:
        for line in src:
            if line.strip():
                out.write(json.dumps(json.loads(line)) + "\n")
    return time.perf_counter() - started


def run_check(path: Path, jobs: int, out: Path) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of the command and its worker processes, exit code)."""
    env = dict(os.environ, PYTHONPATH=str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "payerlint", "check", str(path), "--format", "jsonl",
                           "--jobs", str(jobs), "-o", str(out)], env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.returncode


def write_x12(jsonl: Path, path: Path) -> int:
    """The claims of `jsonl` as one 837P (claims the writer refuses are left out); how many."""
    sys.path.insert(0, str(SRC))
    from payerlint.x12.writer837 import WriterSettings, write_837p

    claims = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines() if line.strip()]
    for claim in claims:
        claim.setdefault("place_of_service", "11")
    with open(path, "w", encoding="latin-1", newline="") as out:
        problems = write_837p(claims, out, WriterSettings())
    return len(claims) - len({p.index for p in problems if p.severity == "error"})


def x12_references(path: Path, repeat: int) -> tuple[float, float, int]:
    """(seconds to split the file into segments and elements, seconds to read it with
    read_837p without checking, claims read): the best of `repeat`."""
    from payerlint.x12 import read_837p

    def split() -> None:
        for segment in path.read_bytes().decode("latin-1").split("~"):
            segment.strip("\r\n").split("*")

    def read() -> int:
        return sum(1 for record in read_837p(str(path), str(path)) if record.data is not None)

    best_split = best_read = float("inf")
    count = 0
    for _ in range(repeat):
        started = time.perf_counter()
        split()
        best_split = min(best_split, time.perf_counter() - started)
        started = time.perf_counter()
        count = read()
        best_read = min(best_read, time.perf_counter() - started)
    return best_split, best_read, count


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=40_000)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--x12", action="store_true", help="check the claims from one 837P file")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="payerlint-bench-batch-") as tmp:
        folder = Path(tmp)
        path = folder / "claims.jsonl"
        subprocess.run([sys.executable, str(HERE / "corpus.py"), str(path), "--claims", str(args.claims),
                        "--seed", str(args.seed)], check=True, stdout=subprocess.DEVNULL)
        if args.x12:
            x12 = folder / "claims.837"
            args.claims = write_x12(path, x12)
            path = x12
        size = path.stat().st_size
        kind = "an X12 837P file" if args.x12 else "JSON Lines"
        print(f"corpus:     {args.claims:,} synthetic claims, {size / 2**20:.1f} MiB {kind} (seed {args.seed})")
        print(f"machine:    {os.cpu_count()} CPUs, {len(os.sched_getaffinity(0))} available to this process; "
              f"1-minute load average {load()} before")
        if args.x12:
            split, read, count = x12_references(path, args.repeat)
            reference = split
            print(f"reference:  bare split of the same file into segments and elements: {split:.2f} s; "
                  f"read_837p alone (no checking): {read:.2f} s = {count / read:,.0f} claims/s")
        else:
            reference = min(json_round_trip(path, folder / "rt.jsonl") for _ in range(args.repeat))
            print(f"reference:  stdlib json round trip of the same file: {reference:.2f} s = "
                  f"{args.claims / reference:,.0f} records/s")
        best: dict[int, tuple[float, float, int]] = {}
        outputs: dict[int, str] = {}
        for _ in range(args.repeat):
            for jobs in args.jobs:
                out = folder / f"out{jobs}.jsonl"
                wall, cpu, code = run_check(path, jobs, out)
                outputs[jobs] = digest(out)
                if jobs not in best or wall < best[jobs][0]:
                    best[jobs] = (wall, cpu, code)
        base = best[args.jobs[0]][0]
        for jobs in args.jobs:
            wall, cpu, code = best[jobs]
            print(f"--jobs {jobs}:   {wall:6.2f} s wall (startup included) = {args.claims / wall:7,.0f} claims/s; "
                  f"{cpu:6.2f} CPU-s in all processes; speed-up {base / wall:4.2f}x; "
                  f"{wall / reference:4.1f}x the {'split' if args.x12 else 'json round trip'}; exit {code}; "
                  f"output sha256 {outputs[jobs]}")
        same = len(set(outputs.values())) == 1
        print(f"identical:  {'yes' if same else 'NO'}: every --jobs wrote the same bytes")
        print(f"load after: 1-minute load average {load()} (other work on the machine slows the parallel run "
              f"first: with N busy cores of {os.cpu_count()}, --jobs 2 cannot beat --jobs 1 by much)")
        if not same:
            sys.exit(1)


if __name__ == "__main__":
    main()
