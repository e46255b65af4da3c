"""Benchmark the X12 readers on large generated files, beside a plain-Python reference.

Generates, deterministically and into a temporary directory:

- an 837P of synthetic therapy claims (payerlint's own 837P writer), and
- an 835 remittance of synthetic service-line payments (written directly),

then reads each with payerlint and prints segments/s, claims/s (837P) and service
lines/s (835) beside the reference measured in the same run on the same file: reading
the bytes and splitting them into segments and elements with `str.split`, which does
no validation and builds nothing (the floor any X12 reader in Python stands on). Peak
memory (tracemalloc, measured in a separate pass so it does not slow the timed one)
shows the readers stream: the peak stays flat as the files grow.

    PYTHONPATH=src python3 benchmarks/bench_x12.py [--claims N] [--lines N] [--repeat N] [--pyx12 N]

--pyx12 N also validates an 837P of N claims with pyx12 (when installed), an independent
validating parser, beside payerlint reading the same file, for scale.
"""

from __future__ import annotations

import argparse
import datetime
import io
import logging
import os
import random
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from payerlint.payers.registry import Registry
from payerlint.x12.claims837 import read_837p
from payerlint.x12.remit835 import read_835
from payerlint.x12.writer837 import WriterSettings, write_837p

ROOT = Path(__file__).resolve().parent.parent
CODES = ("97110", "97112", "97140", "97530", "97116", "97012", "G0283")
MODIFIERS = (("GP",), ("GP", "59"), ("GP", "KX"), ("GP", "CQ"), ("GP", "XU"))
DIAGNOSES = ("M54.50", "M62.830", "S93.401D", "M25.661", "M75.41", "S39.012D")


def synthetic_claims(count: int, seed: int = 7):
    rng = random.Random(seed)
    start = datetime.date(2026, 4, 1)
    for n in range(count):
        day = (start + datetime.timedelta(days=rng.randrange(90))).isoformat()
        lines = [{"code": rng.choice(CODES), "modifiers": list(rng.choice(MODIFIERS)), "units": rng.randint(1, 4),
                  "charge": f"{rng.randint(20, 200)}.00", "diagnosis_pointers": [1], "date": day,
                  "control_number": f"B{n}-{i}"} for i in range(rng.randint(1, 4))]
        yield {"claim_id": f"BENCH-{n:07d}", "payer_id": rng.choice(["medicare", "anthem-commercial"]),
               "patient": {"id": f"SYN{n:09d}", "birth_date": "1950-01-01", "state": "KY"},
               "provider": {"npi": "1234567893", "discipline": "PT"}, "date_of_service": day,
               "place_of_service": "11", "diagnoses": rng.sample(DIAGNOSES, 2), "lines": lines}


def write_835(path: Path, lines: int, seed: int = 11) -> int:
    """A remittance with `lines` service lines (1 to 4 per claim); returns the claim count."""
    rng = random.Random(seed)
    claims = 0
    body: list[str] = []
    count = 0

    with open(path, "w", encoding="ascii", newline="") as out:
        out.write("ISA*00*          *00*          *ZZ*BENCHPAYER     *ZZ*BENCHCLINIC    *260610*0800*^*00501*"
                  "000000301*0*T*:~\nGS*HP*BENCHPAYER*BENCHCLINIC*20260610*0800*301*X*005010X221A1~\n")

        def seg(text: str) -> None:
            nonlocal count
            body.append(text + "~\n")
            count += 1
            if len(body) >= 4096:
                out.write("".join(body))
                body.clear()

        seg("ST*835*0001")
        seg("BPR*I*1000.00*C*ACH*CCP*01*999999992*DA*123456*1999999999**01*999999993*DA*654321*20260612")
        seg("TRN*1*BENCH0001*1999999999")
        seg("DTM*405*20260610")
        seg("N1*PR*SYNTHETIC PAYER")
        seg("N3*1 PAYER WAY")
        seg("N4*NASHVILLE*TN*37201")
        seg("PER*BL*PROVIDER SERVICES*TE*5555550199")
        seg("N1*PE*SYNTHETIC CLINIC*XX*1234567893")
        seg("LX*1")
        written = 0
        while written < lines:
            per_claim = min(rng.randint(1, 4), lines - written)
            claims += 1
            seg(f"CLP*BENCH-{claims:07d}*1*{per_claim * 100}.00*{per_claim * 64}.00*{per_claim * 16}.00*MB*PCN{claims}*11*1")
            seg(f"NM1*QC*1*SYNTHETIC*PATIENT****MI*SYN{claims:09d}")
            for i in range(per_claim):
                seg(f"SVC*HC:{rng.choice(CODES)}:GP*100.00*64.00**1")
                seg("DTM*472*20260514")
                seg("CAS*CO*45*20.00")
                seg("CAS*PR*2*16.00")
                seg(f"REF*6R*B{claims}-{i}")
            written += per_claim
        seg(f"SE*{count + 1}*0001")
        out.write("".join(body))
        out.write("GE*1*301~\nIEA*1*000000301~\n")
    return claims


def reference(path: Path) -> int:
    """Read the bytes and split them into segments and elements: the plain-Python floor."""
    segments = 0
    text = path.read_bytes().decode("latin-1")
    for segment in text.split("~"):
        segment = segment.strip("\r\n")
        if segment:
            segment.split("*")
            segments += 1
    return segments


def timed(function, repeat: int):
    best = None
    value = None
    for _ in range(repeat):
        started = time.perf_counter()
        value = function()
        elapsed = time.perf_counter() - started
        best = elapsed if best is None else min(best, elapsed)
    return best, value


def peak_mib(function) -> float:
    tracemalloc.start()
    function()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def pyx12_reference(folder: Path, count: int, registry) -> None:
    try:
        import pyx12.params
        import pyx12.x12n_document
    except ImportError:
        print("pyx12 reference skipped: pyx12 is not installed")
        return
    path = folder / "pyx12.837"
    with open(path, "w", encoding="latin-1", newline="") as out:
        write_837p(synthetic_claims(count), out, WriterSettings(), registry=registry)
    segments = reference(path)
    logging.getLogger("pyx12").setLevel(logging.CRITICAL)
    started = time.perf_counter()
    valid = pyx12.x12n_document.x12n_document(param=pyx12.params.params(), src_file=str(path),
                                              fd_997=io.StringIO(), fd_html=None)
    theirs = time.perf_counter() - started
    started = time.perf_counter()
    for _ in read_837p(str(path), "pyx12.837", registry=registry):
        pass
    ours = time.perf_counter() - started
    print(f"837P  {count:,} claims, {segments:,} segments, validated by both (pyx12: {'valid' if valid else 'INVALID'})")
    print(f"  pyx12 x12n_document  {segments / theirs:12,.0f} segments/s  ({theirs:.2f} s)")
    print(f"  payerlint read_837p  {segments / ours:12,.0f} segments/s  ({ours:.2f} s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=20_000, help="837P claims to generate (default 20,000)")
    parser.add_argument("--lines", type=int, default=200_000, help="835 service lines to generate (default 200,000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the best is shown")
    parser.add_argument("--pyx12", type=int, default=0, metavar="N",
                        help="also time pyx12's validator on an 837P of N claims (0: skip)")
    args = parser.parse_args()
    registry = Registry.load(ROOT)

    with tempfile.TemporaryDirectory() as folder:
        claims_path = Path(folder) / "bench.837"
        with open(claims_path, "w", encoding="latin-1", newline="") as out:
            write_837p(synthetic_claims(args.claims), out, WriterSettings(), registry=registry)
        remit_path = Path(folder) / "bench.835"
        remit_claims = write_835(remit_path, args.lines)

        def read_claims():
            count = errors = 0
            for record in read_837p(str(claims_path), "bench.837", registry=registry):
                count += record.data is not None
                errors += not record.ok
            return count, errors

        def read_remit():
            lines = 0
            for record in read_835(str(remit_path), "bench.835"):
                if record.claim is not None:
                    lines += len(record.claim.services)
            return lines

        size_837 = os.path.getsize(claims_path) / 2**20
        size_835 = os.path.getsize(remit_path) / 2**20
        ref_time, segments = timed(lambda: reference(claims_path), args.repeat)
        our_time, (claims, errors) = timed(read_claims, args.repeat)
        assert claims == args.claims and errors == 0, (claims, errors)
        print(f"837P  {size_837:6.1f} MiB, {segments:,} segments, {claims:,} claims")
        print(f"  reference str.split  {segments / ref_time:12,.0f} segments/s  ({ref_time:.2f} s)")
        print(f"  payerlint read_837p  {segments / our_time:12,.0f} segments/s  {claims / our_time:10,.0f} claims/s"
              f"  ({our_time:.2f} s, {our_time / ref_time:.1f}x the reference)")

        ref_time, segments = timed(lambda: reference(remit_path), args.repeat)
        our_time, lines = timed(read_remit, args.repeat)
        assert lines == args.lines, lines
        print(f"835   {size_835:6.1f} MiB, {segments:,} segments, {remit_claims:,} claims, {lines:,} service lines")
        print(f"  reference str.split  {segments / ref_time:12,.0f} segments/s  ({ref_time:.2f} s)")
        print(f"  payerlint read_835   {segments / our_time:12,.0f} segments/s  {lines / our_time:10,.0f} lines/s"
              f"  ({our_time:.2f} s, {our_time / ref_time:.1f}x the reference)")

        if args.pyx12:
            pyx12_reference(Path(folder), args.pyx12, registry)

        print("peak Python memory (tracemalloc, separate pass):")
        print(f"  reference str.split on the 835  {peak_mib(lambda: reference(remit_path)):8.1f} MiB (holds the file)")
        print(f"  payerlint read_837p             {peak_mib(read_claims):8.1f} MiB (file {size_837:.1f} MiB)")
        print(f"  payerlint read_835              {peak_mib(read_remit):8.1f} MiB (file {size_835:.1f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
