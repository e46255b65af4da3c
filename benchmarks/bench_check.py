"""How fast payerlint checks claims, each figure beside a reference measured in the same run.

    PYTHONPATH=src python3 benchmarks/bench_check.py [--claims 20000] [--rounds 3] [--latency 20000]

The machines this runs on have two shared cores and drift by 2-5x from one run to the
next, so every figure is printed beside the same work done by the standard library on the
same data, measured right before it (rounds alternate reference and payerlint), and the
ratio is what to compare across runs:

1. End to end, one core: the synthetic Medicare corpus (benchmarks/corpus.py; notes on
   92% of claims, 15% with billing errors, 2% not valid) as JSON Lines in, JSON Lines
   results out, against `json.loads` + `json.dumps` of every line of the same file.
2. Routing: what picking the rulebooks costs per claim, against a dictionary look-up.
3. Merging fixes: a claim with a 1 MiB `x-` extension against the same claim without it
   (merging copies only what each fix touches, so the ratio stays near 1).
4. Lines: a 50-line claim (every line on one date) against a one-line claim.
5. Latency of the Python API, one claim per call, in a long-running loop: p50, p99 and
   the longest garbage-collection pause, against a JSON round trip of the same claims.
"""

from __future__ import annotations

import argparse
import copy
import gc
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def corpus(path: Path, claims: int) -> None:
    # A child process writes it, so this process's memory and caches start clean.
    subprocess.run([sys.executable, str(HERE / "corpus.py"), str(path), "--claims", str(claims)], check=True,
                   capture_output=True)


def reference_pass(path: Path) -> None:
    with open(path, encoding="utf-8") as source, open(os.devnull, "w", encoding="utf-8") as sink:
        for line in source:
            sink.write(json.dumps(json.loads(line)) + "\n")


def payerlint_pass(router, path: Path) -> None:
    from payerlint.claims.reader import read_records
    from payerlint.output import write_results

    from payerlint.check import CHUNK

    with open(os.devnull, "w", encoding="utf-8") as sink:
        # As `payerlint check` reads a file: CHUNK records at a time, stage by stage.
        write_results(router.check_records(read_records([str(path)]), chunk=CHUNK), "jsonl", sink)


def cpu(fn, *args) -> float:
    start = time.process_time()
    fn(*args)
    return time.process_time() - start


def end_to_end(router, path: Path, claims: int, rounds: int) -> None:
    print(f"1. end to end, {claims:,} claims ({path.stat().st_size / 2**20:.1f} MiB of JSON Lines), one core, CPU time:")
    ratios = []
    for n in range(rounds):
        ref = cpu(reference_pass, path)
        ours = cpu(payerlint_pass, router, path)
        ratios.append(ours / ref)
        print(f"   round {n + 1}: stdlib json read+write {ref / claims * 1e6:6.1f} us/claim; payerlint check "
              f"{ours / claims * 1e6:6.1f} us/claim ({claims / ours:,.0f} claims/s); ratio {ours / ref:.2f}")
    print(f"   median ratio {statistics.median(ratios):.2f} (payerlint / stdlib json; the goal is 5 or less)")


def routing(router, claims_data: list[dict]) -> None:
    from payerlint.claims.model import Claim

    typed = [Claim(d) for d in claims_data]
    lookup = {d["claim_id"]: d for d in claims_data}
    keys = [d["claim_id"] for d in claims_data]
    choice = router.choice
    for claim in typed[:50]:
        choice.route(claim)
    ref = cpu(lambda: [lookup[k] for k in keys])
    ours = cpu(lambda: [choice.route(c) for c in typed])
    n = len(typed)
    print(f"2. routing: {ours / n * 1e9:,.0f} ns/claim against {ref / n * 1e9:,.0f} ns for a dict look-up "
          f"(ratio {ours / ref:.1f})")


def fix_merge(claims_data: list[dict]) -> None:
    from payerlint.check import combined_fix
    from payerlint.evaluate.result import Finding

    fixes = [Finding("r", "", "units", "deny", 0, "m", "c", ({"op": "replace", "path": "/lines/0/units", "value": 1},
                                                          {"op": "add", "path": "/lines/0/modifiers/-", "value": "KX"}))]
    small = [d for d in claims_data if d.get("lines")][:300]
    large = []
    for data in small:
        heavy = copy.deepcopy(data)
        heavy["x-extension"] = {"blob": ["x" * 1024] * 1024}
        large.append(heavy)
    ref = cpu(lambda: [combined_fix(d, fixes) for d in small for _ in range(20)])
    ours = cpu(lambda: [combined_fix(d, fixes) for d in large for _ in range(20)])
    print(f"3. merging fixes: {ours / 6000 * 1e6:.1f} us with a 1 MiB extension against {ref / 6000 * 1e6:.1f} us "
          f"without (ratio {ours / ref:.2f}: the claim is not copied)")


def lines(router) -> None:
    from payerlint.evaluate.patch import apply

    clean = json.loads((HERE.parent / "tests" / "data" / "clean_claim.json").read_text(encoding="utf-8"))
    codes = ["97140", "97110", "97112", "97530", "97116", "97035", "97012", "G0283"]
    one = copy.deepcopy(clean)
    many = copy.deepcopy(clean)
    base = many["lines"][0]
    many["lines"] = [dict(base, code=codes[i % len(codes)], minutes=8 + (i * 7) % 25, units=1,
                          modifiers=["GP"] + (["59"] if i % 3 == 0 else [])) for i in range(50)]
    many["documentation"]["total_timed_minutes"] = sum(line["minutes"] for line in many["lines"])
    # The same 50 lines with a documented intervention for each code and payerlint's own
    # fixes applied: what the lines cost when they do not also produce ~75 findings.
    fixed = copy.deepcopy(many)
    fixed["documentation"]["interventions"] = [dict(clean["documentation"]["interventions"][0], code=code)
                                               for code in codes]
    for _ in range(4):
        patch = json.loads(router.check(fixed).dumps())["fix"]
        if not patch:
            break
        fixed = apply(fixed, patch)
    for data in (one, many, fixed):
        router.check(data)
    # Short turns of each claim in rotation, and each one's fastest turn: a drift of the
    # machine during the run then moves all three alike instead of one of them.
    best = {"one": float("inf"), "many": float("inf"), "fixed": float("inf")}
    for _ in range(30):
        for name, data, reps in (("one", one, 50), ("many", many, 5), ("fixed", fixed, 5)):
            best[name] = min(best[name], cpu(lambda: [router.check(data) for _ in range(reps)]) / reps)
    t_one, t_many, t_fixed = best["one"], best["many"], best["fixed"]
    n_many, n_fixed = len(router.check(many).findings), len(router.check(fixed).findings)
    print(f"4. lines: a 50-line claim ({n_many} findings) {t_many * 1e3:.2f} ms, the same claim fixed "
          f"({n_fixed} findings) {t_fixed * 1e3:.2f} ms, a one-line claim {t_one * 1e3:.3f} ms "
          f"(ratios {t_many / t_one:.1f} and {t_fixed / t_one:.1f}; fastest of 30 turns each; the goal is about "
          f"10 or less)")


def latency(router, claims_data: list[dict], calls: int) -> None:
    pauses: list[float] = []
    started: list[float] = []

    def watch(phase, info):
        if phase == "start":
            started.append(time.perf_counter())
        elif started:
            pauses.append(time.perf_counter() - started.pop())

    sample = [d for d in claims_data][:max(1, min(len(claims_data), calls))]
    ref_times, our_times = [], []
    gc.callbacks.append(watch)
    try:
        for i in range(calls):
            data = sample[i % len(sample)]
            t = time.perf_counter_ns()
            json.loads(json.dumps(data))
            ref_times.append(time.perf_counter_ns() - t)
            t = time.perf_counter_ns()
            router.check(data).dumps()
            our_times.append(time.perf_counter_ns() - t)
    finally:
        gc.callbacks.remove(watch)

    def q(values, p):
        return sorted(values)[int(p * (len(values) - 1))] / 1e6

    print(f"5. API latency, {calls:,} calls of Router.check(claim).dumps() in one process: p50 {q(our_times, .5):.3f} ms, "
          f"p99 {q(our_times, .99):.3f} ms, max {max(our_times) / 1e6:.1f} ms; reference JSON round trip p50 "
          f"{q(ref_times, .5):.3f} ms, p99 {q(ref_times, .99):.3f} ms; garbage collections during the loop: "
          f"{len(pauses)}, longest pause {max(pauses, default=0) * 1e3:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency", type=int, default=20000, help="API calls for the latency figure")
    args = parser.parse_args()
    from payerlint.api import Router
    from payerlint.claims.reader import read_records

    with tempfile.TemporaryDirectory(prefix="payerlint-bench-") as folder:
        path = Path(folder) / "claims.jsonl"
        corpus(path, args.claims)
        router = Router()
        records = list(read_records([str(path)]))
        for record in records[:50]:
            router.check_record(record)
        valid = [r.data for r in records if r.data is not None and not router.validator.validate(r.data)]
        del records
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
              f"{os.getloadavg()[0]:.2f} before")
        end_to_end(router, path, args.claims, args.rounds)
        routing(router, valid)
        fix_merge(valid)
        lines(router)
        latency(router, valid, args.latency)
        print(f"load average {os.getloadavg()[0]:.2f} after")


if __name__ == "__main__":
    main()
