"""Benchmark `payerlint remit` on a large generated remittance set, beside same-run references.

Generates, deterministically into a temporary folder, saved results of `payerlint check`
for N/4 claims (four therapy lines each, a quarter of them predicted to be denied) and an
835 with N service lines paying, denying, partly paying and reversing them (about 1% of
claims are reversed and paid again). Then measures, on the same files in the same run:

- reference: the 835's bytes split into segments and elements with `str.split` (no
  validation, nothing built: the floor of any X12 reader in Python), plus the results
  file parsed line by line with `json.loads`;
- `read_835` alone: the tolerant 835 reader (envelopes, loop map, typed records);
- `payerlint remit` end to end (`build_report`): the results read, every claim payment
  matched as it streams, decisions netted, every rule measured, the JSON report rendered.

Service lines per second for each, and peak traced memory (tracemalloc, in a separate
pass so it does not slow the timed one; the reference holds the whole file, the reader
streams). The report holds the claims and one compact decision per claim payment, not
the file: its memory grows with the number of claims, not with the file's bytes.

    PYTHONPATH=src python3 benchmarks/bench_remit.py [--lines 1000000] [--repeat 1] [--no-memory]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from payerlint.remit.run import build_report
from payerlint.remit.writers import write_json
from payerlint.x12.remit835 import read_835

CODES = ("97140", "97110", "97112", "97530")
DENIALS = (("CO", "97", "ptp.reported_pair", "236"), ("CO", "4", "modifier.therapy_missing", "4"),
           ("CO", "50", None, None), ("PR", "27", None, None), ("CO", "151", "units.total", "151"))


def generate(folder: Path, lines: int, seed: int = 14) -> tuple[Path, Path, int]:
    """(results.jsonl, remit.835, claim count)."""
    rng = random.Random(seed)
    claims = lines // 4
    results, remit = folder / "results.jsonl", folder / "remit.835"
    with open(results, "w") as res, open(remit, "w", encoding="ascii", newline="") as out:
        out.write("ISA*00*          *00*          *ZZ*BENCHPAYER     *ZZ*BENCHCLINIC    *260610*0800*^*00501*"
                  "000000401*0*T*:~\nGS*HP*BENCHPAYER*BENCHCLINIC*20260610*0800*401*X*005010X221A1~\n")
        body = ["ST*835*0001", "BPR*I*0*C*ACH*CCP*01*999999992*DA*123456*1999999999**01*999999993*DA*654321*20260612",
                "TRN*1*BENCHEFT1*1999999999", "DTM*405*20260612", "N1*PR*BENCH PAYER", "REF*2U*BENCH01",
                "PER*BL*PROVIDER SERVICES*TE*5555550199", "N1*PE*BENCH CLINIC*XX*1234567893", "LX*1"]
        segments = len(body)
        out.write("~\n".join(body) + "~\n")

        def seg(text: str) -> None:
            nonlocal segments
            segments += 1
            out.write(text + "~\n")

        for n in range(claims):
            claim_id = f"B{n:07d}"
            day = f"2026{4 + n % 6:02d}{1 + n % 28:02d}"
            iso = f"{day[:4]}-{day[4:6]}-{day[6:]}"
            denial = DENIALS[rng.randrange(len(DENIALS))] if rng.random() < 0.25 else None
            denied_line = rng.randrange(4)
            findings = []
            if denial and denial[2] and rng.random() < 0.7:
                findings.append({"rule": denial[2], "rulebook": "medicare@2026Q2", "category": "x", "severity": "deny",
                                 "line": denied_line, "message": "m", "citation": "c", "fix": [],
                                 "denial": {"group": "CO", "reason": denial[3], "remarks": []}})
            elif rng.random() < 0.05:  # a false alarm
                findings.append({"rule": "documentation.technique_not_specific", "rulebook": "medicare@2026Q2",
                                 "category": "documentation", "severity": "warn", "line": 0, "message": "m",
                                 "citation": "c", "fix": [], "denial": {"group": "CO", "reason": "50", "remarks": []}})
            res.write(json.dumps({
                "claim_id": claim_id, "payer_id": "medicare", "rulebooks": ["medicare@2026Q2"],
                "verdict": "deny" if findings else "clean", "complete": True, "findings": findings,
                "not_evaluated": [], "fix": [],
                "lines": [{"code": c, "modifiers": ["GP"], "date": iso, "units": 1} for c in CODES]}) + "\n")
            reversed_too = rng.random() < 0.01
            for round_ in ((0, 1, 2) if reversed_too else (0,)):
                sign = "-" if round_ == 1 else ""
                status = "22" if round_ == 1 else ("4" if denial and round_ == 0 else "1")
                seg(f"CLP*{claim_id}*{status}*{sign}192.00*{sign}144.00**MB*P{n:07d}{round_ if round_ != 1 else 0}*11*"
                    f"{'8' if round_ == 1 else '7' if round_ == 2 else '1'}")
                seg(f"NM1*QC*1*BENCH*PATIENT****MI*M{n:07d}")
                for i, code in enumerate(CODES):
                    seg(f"SVC*HC:{code}:GP*{sign}48.00*{sign}36.00**{sign}1")
                    seg(f"DTM*472*{day}")
                    if denial and i == denied_line and round_ == 0:
                        seg(f"CAS*{denial[0]}*{denial[1]}*48.00")
                    else:
                        seg(f"CAS*CO*45*{sign}3.00")
                        seg(f"CAS*PR*2*{sign}9.00")
        seg("SE*%d*0001" % (segments + 1))
        out.write("GE*1*401~\nIEA*1*000000401~\n")
    return results, remit, claims


def reference(remit: Path, results: Path) -> int:
    lines = 0
    for segment in remit.read_bytes().decode("latin-1").split("~"):
        elements = segment.strip("\r\n").split("*")
        lines += elements[0] == "SVC"
    with open(results) as stream:
        for line in stream:
            json.loads(line)
    return lines


def reader_only(remit: Path) -> int:
    return sum(len(r.claim.services) for r in read_835(str(remit)) if r.claim is not None)


def end_to_end(remit: Path, results: Path) -> int:
    report = build_report([str(remit)], [str(results)], router=object(), registry=None).report
    write_json(report)
    return report["remittances"]["service_lines"]


def best(function, repeat: int) -> tuple[float, int]:
    times, value = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        value = function()
        times.append(time.perf_counter() - start)
    return min(times), value


def peak_mib(function) -> float:
    tracemalloc.start()
    function()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="835 service lines (default 1,000,000)")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs; the best is shown")
    parser.add_argument("--no-memory", action="store_true", help="skip the traced-memory pass")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        results, remit, claims = generate(Path(folder), args.lines)
        size = remit.stat().st_size / 2**20
        print(f"835: {size:.1f} MiB, {claims:,} claims; results: {results.stat().st_size / 2**20:.1f} MiB")
        rows = [("reference (str.split + json.loads)", lambda: reference(remit, results)),
                ("read_835 (reader alone)", lambda: reader_only(remit)),
                ("payerlint remit (match, net, measure, JSON)", lambda: end_to_end(remit, results))]
        for name, function in rows:
            seconds, lines = best(function, args.repeat)
            memory = "" if args.no_memory else f", peak {peak_mib(function):,.0f} MiB traced"
            print(f"{name:<46} {lines:>9,} service lines in {seconds:6.1f} s = {lines / seconds:>9,.0f} lines/s"
                  f"{memory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
