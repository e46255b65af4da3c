"""Hostile batches: a seeded generator of the worst JSON Lines a billing export or an
attacker could hand `payerlint check`, and a runner that checks the invariants.

Each batch mixes valid claims (from corpus.py) with records that are truncated, of the
wrong type, nested 1,000 deep, full of control characters, lone surrogates, byte-order
marks, bytes that are not UTF-8, NaN, numbers past 64 bits, dates in year 0000, and so
on. Patient-data markers are planted in the claim's private fields (the patient's id,
every note text); a marker that reaches any output or standard error is a leak.

The invariants, checked for every batch under every output format with and without
--explain and --strict:
- one result per record (per non-blank line), in input order, naming its line;
- exit code 0 or 1: never 2 (a claims batch is not a usage error), never 3 (a bug);
- no traceback, and no planted marker in standard output or standard error.

The test suite runs a small budget (tests/test_fuzz_batch.py); for a longer hunt:

    PYTHONPATH=src python3 benchmarks/hostile.py --batches 200 --records 300 --seed 7

which prints records tried, results, records lost, leaks and crashes (goal: 0, 0, 0).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import generate  # noqa: E402

MARKER = "ZQXJMARK"
FLAGS = [(fmt, explain, strict) for fmt in ("text", "json", "jsonl") for explain in (False, True)
         for strict in (False, True)]
_SPACE = b" \t\r\n"


def _plant(claim: dict, n: int) -> dict:
    """Markers in every private field the claim has (schema: x-payerlint-private)."""
    tag = f"{MARKER}{n}"
    claim.setdefault("patient", {})["id"] = f"P-{tag}"
    doc = claim.get("documentation")
    if isinstance(doc, dict):
        for key in ("clinical_indication", "patient_response", "functional_goals", "skilled_care_justification",
                    "clinical_reasoning", "time_statement"):
            if isinstance(doc.get(key), str):
                doc[key] = f"{doc[key]} {tag}"
        for item in doc.get("interventions") or ():
            if isinstance(item, dict):
                for key in ("technique", "body_region"):
                    if isinstance(item.get(key), str):
                        item[key] = f"{item[key]} {tag}"
    return claim


def _nested(depth: int, leaf) -> dict:
    root: dict = {}
    node = root
    for _ in range(depth - 1):
        node["n"] = {}
        node = node["n"]
    node["n"] = leaf
    return root


def _set(claim: dict, path: tuple, value) -> None:
    node = claim
    for key in path[:-1]:
        if isinstance(node, list):
            if not node:
                return
            key = min(key, len(node) - 1)
        elif not isinstance(node, dict) or key not in node:
            return
        node = node[key]
    if isinstance(node, dict):
        node[path[-1]] = value
    elif isinstance(node, list) and node and isinstance(path[-1], int):
        node[min(path[-1], len(node) - 1)] = value


FIELDS = [("claim_id",), ("payer_id",), ("date_of_service",), ("patient", "birth_date"), ("provider", "npi"),
          ("diagnoses",), ("diagnoses", 0), ("lines",), ("lines", 0, "units"), ("lines", 0, "minutes"),
          ("lines", 0, "code"), ("lines", 0, "modifiers"), ("lines", 0, "date"), ("lines", 0, "charge"),
          ("lines", 0, "body_region"), ("episode", "visit_number"), ("episode", "therapy_amount_ytd"),
          ("documentation",), ("documentation", "interventions"), ("documentation", "total_timed_minutes")]
ODD_VALUES = [None, True, 0, -1, 2.0, 1.5, 10**30, -(10**20), "", " ", "\x1b[31m\x00", "\u202eevil", "0000-01-01",
              "0999-12-31", "9999-12-31", "2026-02-30", "97140\n", "GP" * 5000, [], [[]], {}, {"a": [1, {}]},
              ["x"] * 60, "\ufeff", "😀" * 3]


def _mutated(rng: random.Random, claim: dict) -> dict:
    for _ in range(rng.randint(1, 3)):
        choice = rng.random()
        if choice < 0.55:
            # A copy: two mutations setting one shared list into itself would make a cycle.
            _set(claim, rng.choice(FIELDS), copy.deepcopy(rng.choice(ODD_VALUES)))
        elif choice < 0.7:
            claim["x-deep"] = _nested(rng.choice((50, 400, 900)), f"{MARKER}deep")
        elif choice < 0.8:
            lines = claim.get("lines")
            if isinstance(lines, list) and lines and isinstance(lines[0], dict):
                claim["lines"] = [dict(lines[0], units=rng.randint(1, 4)) for _ in range(rng.choice((20, 50, 51)))]
        elif choice < 0.9:
            claim.pop(rng.choice(["claim_id", "payer_id", "patient", "lines", "date_of_service"]), None)
        else:
            claim[rng.choice(["x-note", "unknown_field", "Claim_ID", "x-\u0000"])] = f"{MARKER}x"
    return claim


def _text_line(rng: random.Random, claim: dict) -> bytes:
    """One record as it might appear on a line: valid, or damaged as text."""
    text = json.dumps(claim, ensure_ascii=rng.random() < 0.5)
    choice = rng.random()
    if choice < 0.62:
        return text.encode("utf-8")
    if choice < 0.70:
        return text[: rng.randint(1, max(1, len(text) - 1))].encode("utf-8")  # truncated
    if choice < 0.74:
        return text.replace('"', "'", 1).encode("utf-8")
    if choice < 0.78:
        raw = text.encode("utf-8")
        cut = rng.randint(0, len(raw))
        return raw[:cut] + rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00"]) + raw[cut:]  # not UTF-8 / NUL
    if choice < 0.81:
        return b"\xef\xbb\xbf" + text.encode("utf-8")  # a byte-order mark not at the file's start
    if choice < 0.85:
        return text.replace(f'"{claim.get("claim_id", "x")}"', '"\\ud800"', 1).encode("utf-8")
    if choice < 0.88:
        return text.replace('"units": 1', '"units": NaN', 1).encode("utf-8")
    if choice < 0.91:
        return rng.choice([b"[", b"{", b"]", b"[1, 2]", b"null", b"42", b'"text"', b"{}", b"[{}]", b"\x0c",
                           b"{\"claim_id\": ", b"\\u0000"])
    if choice < 0.94:
        return json.dumps([claim]).encode("utf-8")  # an array on one line
    if choice < 0.97:
        return ("[" * rng.choice((100, 5000)) + "]" * 10).encode("utf-8")
    return bytes(rng.randrange(256) for _ in range(rng.randint(1, 200))).replace(b"\n", b" ")


def batch(rng: random.Random, records: int, start: int) -> tuple[bytes, int]:
    """A JSON Lines batch and the number of records in it (its non-blank lines)."""
    claims = list(generate(records, seed=rng.randrange(1 << 30)))
    out: list[bytes] = []
    for n, claim in enumerate(claims):
        claim["claim_id"] = f"H{start + n}"
        _plant(claim, start + n)
        if rng.random() < 0.5:
            claim = _mutated(rng, claim)
        out.append(_text_line(rng, claim))
        if rng.random() < 0.03:
            out.append(rng.choice([b"", b"   ", b"\r"]))  # blank lines are not records
    # A valid claim after the first line: the file reads as JSON Lines whatever line 1 holds.
    out.insert(min(1, len(out)), json.dumps(_plant(next(generate(1, seed=start)), start)).encode("utf-8"))
    if rng.random() < 0.2:
        out[0] = b"\xef\xbb\xbf" + out[0]  # a byte-order mark where it is allowed
    data = b"\n".join(out) + (b"\n" if rng.random() < 0.8 else b"")
    count = sum(1 for line in data.split(b"\n") if line.strip(_SPACE))
    return data, count


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    from payerlint.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def check_batch(path: Path, count: int) -> list[str]:
    """Every invariant for one batch file under every flag; the problems found."""
    problems = []
    for fmt, explain, strict in FLAGS:
        argv = ["check", str(path), "--format", fmt] + (["--explain"] if explain else []) + (
            ["--strict"] if strict else [])
        code, out, err = run_cli(argv)
        label = " ".join(argv[3:])
        if code not in (0, 1):
            problems.append(f"{path.name} [{label}]: exit {code}: {err.strip()[:300]}")
        if "Traceback" in out or "Traceback" in err:
            problems.append(f"{path.name} [{label}]: traceback")
        if MARKER in out or MARKER in err:
            where = out.find(MARKER) if MARKER in out else err.find(MARKER)
            problems.append(f"{path.name} [{label}]: a planted marker leaked near {(out or err)[max(0, where - 80):where]!r}")
        if fmt == "jsonl":
            records = [json.loads(line)["record"] for line in out.splitlines()]
            if len(records) != count:
                problems.append(f"{path.name}: {count} records in, {len(records)} results out")
            lines = [int(r.rsplit(":", 1)[1]) for r in records if r and r.startswith(str(path) + ":")]
            if lines != sorted(lines) or len(lines) != len(records):
                problems.append(f"{path.name}: results out of order or not naming their lines")
    return problems


def hunt(batches: int, records: int, seed: int) -> dict:
    rng = random.Random(seed)
    tried = results_lost = 0
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="payerlint-hostile-") as folder:
        for index in range(batches):
            data, count = batch(rng, records, index * (records + 1))
            path = Path(folder) / f"batch{index}.jsonl"
            path.write_bytes(data)
            found = check_batch(path, count)
            tried += count
            results_lost += sum(1 for p in found if "results out" in p)
            problems.extend(found)
    return {"batches": batches, "records_tried": tried, "runs": batches * len(FLAGS), "problems": problems,
            "batches_losing_records": results_lost}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=50)
    parser.add_argument("--records", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    started = time.perf_counter()
    report = hunt(args.batches, args.records, args.seed)
    elapsed = time.perf_counter() - started
    for problem in report["problems"][:50]:
        print(problem)
    print(f"{report['records_tried']:,} hostile records in {report['batches']} batches, each checked under "
          f"{len(FLAGS)} flag sets ({report['runs']:,} runs) in {elapsed:.0f} s: "
          f"{report['batches_losing_records']} batches lost records, {len(report['problems'])} problems")
    sys.exit(1 if report["problems"] else 0)


if __name__ == "__main__":
    main()
