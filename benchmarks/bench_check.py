"""Benchmark checking claims end to end: JSON Lines bytes in, result JSON out, one process.

Generates a synthetic Medicare PT/OT corpus (benchmarks/corpus.py) into a temporary
JSON Lines file, in a child process and untimed, then times what `payerlint check
--format jsonl` does per claim: `read_records` parses each line, `Checker.check_record`
validates (jsonschema-rs screen, jsonschema report for the invalid) and evaluates the
rulebook, and each `Result.dumps()` is written to /dev/null (or to memory) the way
`cli.write_results` writes it.

    PYTHONPATH=src python3 benchmarks/bench_check.py [--claims N] [--rulebook medicare@2026Q2]
        [--seed S] [--repeat K] [--sink devnull|memory] [--tracemalloc] [--phases] [--profile]
        [--profile-claims N] [--corpus FILE.jsonl]

One-time startup (compiling the rulebook, building the validator, loading the ICD-10-CM
table, one warm-up claim) is timed separately and left out of the rate. The peak RSS
printed is this process's (the corpus is written by a child); --tracemalloc adds a
separate, untimed pass that reports the peak of Python allocations during checking.
--phases splits the per-claim time into reading, validating, the typed model, evaluating
and writing, over the first 2,000 claims (--profile-claims) held in memory. --profile runs
cProfile over those claims after the timed run and prints the top 25 functions by
cumulative and by own time (the profiler inflates call-heavy code such as the evaluator's
closures more than C code such as json, so read its shares with --phases beside it).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import os
import platform
import pstats
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
VERDICTS = ("clean", "warn", "deny", "error")


def rss_mib() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 1024


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def writer():
    """`cli.write_results` when it imports, else the same JSON Lines loop inline."""
    try:
        from payerlint.cli import write_results

        return write_results, "payerlint.cli.write_results(format=jsonl)"
    except Exception:  # noqa: BLE001 - the CLI module is being edited by others
        def write_jsonl(results, fmt, out):
            for result in results:
                out.write(result.dumps() + "\n")
            return 0

        return write_jsonl, "inline JSON Lines writer (payerlint.cli did not import)"


class Tally:
    """Counts verdicts and findings as results stream past, without holding them."""

    def __init__(self):
        self.claims = 0
        self.verdicts: Counter = Counter()
        self.findings = 0
        self.not_evaluated = 0
        self.rules: Counter = Counter()

    def watch(self, results):
        for result in results:
            self.claims += 1
            self.verdicts[result.verdict] += 1
            self.findings += len(result.findings)
            self.not_evaluated += len(result.not_evaluated)
            for finding in result.findings:
                self.rules[finding.rule] += 1
            yield result


def open_sink(kind: str):
    if kind == "memory":
        return io.StringIO()
    return open(os.devnull, "w", encoding="utf-8")


def load_average() -> str:
    """The 1-minute load average: other work on the machine slows the wall-clock rate."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "?"


def run_once(checker, path: Path, write, sink_kind: str, limit: int | None = None):
    """One pass over the corpus; returns (seconds, tally, characters written or None, CPU seconds)."""
    from payerlint.claims.reader import read_records

    tally = Tally()
    sink = open_sink(sink_kind)
    try:
        start, cpu_start = time.perf_counter(), time.process_time()
        records = read_records([str(path)])
        if limit is not None:
            records = itertools.islice(records, limit)
        write(tally.watch(checker.check_records(records)), "jsonl", sink)
        sink.flush()
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        written = len(sink.getvalue()) if isinstance(sink, io.StringIO) else None
    finally:
        sink.close()
    return seconds, tally, written, cpu


def startup(rulebook_ref: str):
    """Everything done once per process, timed step by step."""
    steps = []
    t = time.perf_counter()
    from payerlint.api import Checker, load_rulebook
    from payerlint.builtins import icd10_codes
    from payerlint.claims.validate import ClaimValidator

    steps.append(("import payerlint", time.perf_counter() - t))
    t = time.perf_counter()
    rulebook = load_rulebook(rulebook_ref)
    steps.append(("compile rulebook", time.perf_counter() - t))
    t = time.perf_counter()
    validator = ClaimValidator()
    steps.append(("build validator", time.perf_counter() - t))
    t = time.perf_counter()
    codes = icd10_codes()
    steps.append(("load ICD-10-CM", time.perf_counter() - t))
    checker = Checker(rulebook, validator=validator)
    # One claim from another seed warms the lazily built parts (claim converter, regexes).
    sys.path.insert(0, str(HERE))
    from corpus import generate

    warm = list(generate(3, seed=1))
    t = time.perf_counter()
    for claim in warm:
        checker.check(claim).dumps()
    steps.append(("warm-up (3 claims)", time.perf_counter() - t))
    return checker, rulebook, codes, steps


def profile(checker, path: Path, write, claims: int) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    seconds, tally, _, _ = run_once(checker, path, write, "devnull", limit=claims)
    profiler.disable()
    print(f"\n== cProfile over {tally.claims:,} claims ({seconds:.2f} s under the profiler) ==")
    for order, label in (("cumulative", "cumulative time"), ("tottime", "own (total) time")):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.strip_dirs().sort_stats(order).print_stats(25)
        text = out.getvalue()
        body = text[text.index("   ncalls"):] if "   ncalls" in text else text
        print(f"\n-- top 25 by {label} --")
        print(body.rstrip())


def phases(checker, path: Path, claims: int) -> None:
    """Where the per-claim time goes, phase by phase, over the first `claims` claims held in
    memory (untimed in the main figures). Uses the same calls as `Checker.check`."""
    import gc

    from payerlint.claims.model import Claim
    from payerlint.claims.reader import read_records
    from payerlint.evaluate.engine import evaluate

    def timed(fn):
        gc.collect()
        gc.freeze()  # the claims held here must not make every collection slower
        try:
            best = None
            for _ in range(3):
                t = time.process_time()
                fn()
                elapsed = time.process_time() - t
                best = elapsed if best is None else min(best, elapsed)
            return best
        finally:
            gc.unfreeze()

    records = []
    read = timed(lambda: records.__setitem__(slice(None), itertools.islice(read_records([str(path)]), claims)))
    data = [r.data for r in records if r.data is not None]
    validator = checker.validator
    problems = [validator.validate(d) for d in data]
    valid = [d for d, p in zip(data, problems) if not p]
    invalid = [d for d, p in zip(data, problems) if p]
    n = len(records)
    rows = [("read_records (decode, json.loads)", read, n)]
    rows.append(("validate, valid claims (screen)", timed(lambda: [validator.validate(d) for d in valid]), len(valid)))
    if invalid:
        rows.append(("validate, invalid claims (full report)", timed(lambda: [validator.validate(d) for d in invalid]),
                     len(invalid)))
    rows.append(("Claim() typed model", timed(lambda: [Claim(d) for d in valid]), len(valid)))
    rows.append(("Claim() + evaluate", timed(lambda: [evaluate(checker.rulebook, Claim(d)) for d in valid]), len(valid)))
    results = [checker.check_record(r) for r in records]
    rows.append(("Result.dumps", timed(lambda: [r.dumps() for r in results]), n))
    rows.append(("Checker.check_record, all", timed(lambda: [checker.check_record(r) for r in records]), n))
    print(f"\n== phases over {n:,} claims held in memory (CPU time, best of 3) ==")
    for label, seconds, count in rows:
        share = seconds / n  # spread over every claim of the corpus
        print(f"{label:42s} {seconds / max(count, 1) * 1e6:8.1f} us per claim it applies to "
              f"({count:,}); {share * 1e6:7.1f} us averaged over all")


def reference_ms() -> float:
    """CPU milliseconds for a fixed pure-Python loop (best of 3). This machine is shared
    and its speed drifts by 2x over hours; dividing by this makes runs comparable."""
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        total = 0
        for i in range(3_000_000):
            total += i * i % 7
        best = min(best, time.process_time() - started)
    return best * 1000


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=20_000, help="claims in the corpus (default 20,000)")
    parser.add_argument("--rulebook", default="medicare@2026Q2", help="path or FAMILY@QUARTER (default medicare@2026Q2)")
    parser.add_argument("--seed", type=int, default=2026, help="corpus seed (default 2026)")
    parser.add_argument("--repeat", type=int, default=1, help="timed passes over the corpus (default 1; best is reported)")
    parser.add_argument("--sink", choices=("devnull", "memory"), default="devnull",
                        help="where result JSON goes (default /dev/null)")
    parser.add_argument("--tracemalloc", action="store_true", help="extra untimed pass measuring Python allocations")
    parser.add_argument("--profile", action="store_true", help="cProfile the first --profile-claims claims")
    parser.add_argument("--profile-claims", type=int, default=2_000,
                        help="claims to profile and to split into phases (default 2,000)")
    parser.add_argument("--phases", action="store_true", help="time each phase separately over --profile-claims claims")
    parser.add_argument("--corpus", help="check this JSON Lines file instead of generating one")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="payerlint-bench-") as tmp:
        if args.corpus:
            path = Path(args.corpus)
            print(f"corpus: {path} ({path.stat().st_size / 2**20:.1f} MiB)")
        else:
            path = Path(tmp) / "claims.jsonl"
            t = time.perf_counter()
            subprocess.run([sys.executable, str(HERE / "corpus.py"), str(path), "--claims", str(args.claims),
                            "--seed", str(args.seed)], check=True, stdout=subprocess.DEVNULL)
            print(f"corpus: {args.claims:,} synthetic claims, seed {args.seed}, "
                  f"{path.stat().st_size / 2**20:.1f} MiB JSON Lines, generated in {time.perf_counter() - t:.1f} s "
                  f"(child process, not timed)")

        checker, rulebook, codes, steps = startup(args.rulebook)
        write, writer_name = writer()
        startup_total = sum(s for _, s in steps)
        rss_after_startup = rss_mib()

        load_before = load_average()
        runs = []
        for _ in range(max(1, args.repeat)):
            runs.append(run_once(checker, path, write, args.sink))
        seconds, tally, written, cpu = min(runs, key=lambda r: r[0])
        rate = tally.claims / seconds

        print(f"python:     {platform.python_implementation()} {platform.python_version()} on {platform.system()} "
              f"{platform.machine()}, {cpu_name()}, {os.cpu_count()} CPUs")
        program = getattr(rulebook, "program", None)
        live = len(program.rules) if program is not None and hasattr(program, "rules") else len(rulebook.rules)
        print(f"rulebook:   {rulebook.id}, {len(rulebook.rules)} rules"
              + (f" ({live} run per claim; {len(rulebook.rules) - live} can never fire here)"
                 if live != len(rulebook.rules) else ""))
        print(f"validator:  {checker.validator.name}")
        print(f"icd-10-cm:  {codes.release.name}")
        print(f"writer:     {writer_name} -> {'memory' if args.sink == 'memory' else os.devnull}")
        print("startup:    " + ", ".join(f"{name} {s * 1000:.0f} ms" for name, s in steps)
              + f"; total {startup_total:.2f} s (not in the rate)")
        print(f"claims:     {tally.claims:,}")
        print(f"seconds:    {seconds:.3f}" + (f" (best of {len(runs)}: " + ", ".join(f"{r[0]:.3f}" for r in runs) + ")"
                                               if len(runs) > 1 else ""))
        print(f"claims/s:   {rate:,.0f}  ({seconds / tally.claims * 1e6:.0f} us per claim; "
              f"{tally.claims / (seconds + startup_total):,.0f}/s counting startup once)")
        print(f"cpu:        {cpu:.3f} s of process CPU time = {tally.claims / cpu:,.0f} claims per CPU-second "
              f"(1-minute load average {load_before} before, {load_average()} after, on {os.cpu_count()} CPUs)")
        ref = reference_ms()
        print(f"reference:  a fixed 3,000,000-step Python loop takes {ref:.0f} ms now; claims per reference "
              f"loop: {tally.claims / cpu * ref / 1000:,.0f} (compare runs by this when the machine's speed drifts)")
        print("verdicts:   " + ", ".join(f"{v} {tally.verdicts[v]:,} ({tally.verdicts[v] / tally.claims:.1%})"
                                         for v in VERDICTS))
        print(f"findings:   {tally.findings:,} ({tally.findings / tally.claims:.2f} per claim; "
              f"{tally.findings / max(1, tally.claims - tally.verdicts['clean']):.2f} per non-clean claim); "
              f"not evaluated {tally.not_evaluated / tally.claims:.2f} per claim")
        print("top rules:  " + ", ".join(f"{rule} {n:,}" for rule, n in tally.rules.most_common(8)))
        if written is not None:
            print(f"output:     {written / 2**20:.1f} MiB of result JSON ({written / tally.claims:.0f} chars per claim)")
        print(f"memory:     peak RSS {rss_mib():.1f} MiB (after startup {rss_after_startup:.1f} MiB)")

        if args.tracemalloc:
            tracemalloc.start()
            run_once(checker, path, write, "devnull")
            current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(f"            tracemalloc peak during a separate pass {peak / 2**20:.2f} MiB "
                  f"(still held after it {current / 2**20:.2f} MiB)")

        if args.phases:
            phases(checker, path, args.profile_claims)
        if args.profile:
            profile(checker, path, write, args.profile_claims)


if __name__ == "__main__":
    main()
