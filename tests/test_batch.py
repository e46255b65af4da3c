"""The parallel streaming batch (`payerlint check --jobs N`): the same bytes and exit code
as `--jobs 1` on a hostile corpus, one result per record in input order, no record lost
when a worker process dies; `-o` never leaves a half-written file; progress and summary on
standard error only when asked or on a terminal."""

from __future__ import annotations

import io
import json
import os
import random
import sys

import pytest

from batch_helpers import CRASH_ID, DyingSpec
from conftest import DATA, ROOT
from payerlint.batch import CheckerSpec, ParallelChecker
from payerlint.claims.reader import Reading, read_records
from payerlint.cli import main

sys.path.insert(0, str(ROOT / "benchmarks"))
import hostile  # noqa: E402
from corpus import generate  # noqa: E402


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """1,300 records: a hostile batch (truncated lines, bad UTF-8, NaN, deep nesting,
    wrong types, BOMs...), synthetic claims, and a FHIR Bundle on one line."""
    rng = random.Random(13)
    hostile_bytes, _ = hostile.batch(rng, 500, 0)
    claims = b"\n".join(json.dumps(c).encode() for c in generate(800, seed=13))
    bundle = json.dumps(json.loads((DATA / "fhir" / "therapy-bundle.json").read_bytes())).encode()
    path = tmp_path_factory.mktemp("batch") / "mixed.jsonl"
    path.write_bytes(hostile_bytes.rstrip(b"\n") + b"\n" + bundle + b"\n" + claims + b"\n")
    count = sum(1 for line in path.read_bytes().split(b"\n") if line.strip(b" \t\r\n"))
    return path, count


def run(argv):
    import contextlib

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("flags", [["--format", "jsonl"], ["--format", "text", "--strict", "--explain"]])
def test_two_workers_write_the_same_bytes_and_exit_code_as_one_process(corpus, flags):
    path, count = corpus
    one = run(["check", str(path), "--jobs", "1", *flags])
    two = run(["check", str(path), "--jobs", "2", *flags])
    assert one[0] == two[0] and one[0] in (0, 1)
    assert one[1] == two[1]
    assert one[2] == two[2]
    if flags[1] == "jsonl":
        results = [json.loads(line) for line in two[1].splitlines()]
        # Every record yields one result (the Bundle one per Claim: 4), in input order.
        assert len(results) == count - 1 + 4
        numbers = [int(r["record"].split(":")[-1].split(" ")[0]) for r in results]
        assert numbers == sorted(numbers)
        assert hostile.MARKER not in two[1] + two[2]


def records_of(path, defer):
    return list(read_records([str(path)], reading=Reading(defer=defer)))


def test_checking_a_chunk_at_a_time_gives_the_same_results(corpus, monkeypatch):
    """`payerlint check` of files takes 16 records at a time, stage by stage: the same
    results, in order, as one at a time, and a claim that fails mid-chunk fails alone."""
    import payerlint.check as check_module
    from payerlint.api import Router
    from payerlint.check import CHUNK

    path, _ = corpus
    checker = Router()
    one = [r.dumps() for r in checker.check_records(records_of(path, False))]
    chunked = [r.dumps() for r in checker.check_records(records_of(path, False), chunk=CHUNK)]
    assert chunked == one
    # The evaluator raises on one claim in the middle of a chunk: that claim is an internal
    # error, and the claims before and after it in the chunk are checked as usual.
    victim = next(i for i, text in enumerate(one) if '"verdict":"deny"' in text and i % CHUNK == 7)
    victim_id = json.loads(one[victim])["claim_id"]
    real = check_module.evaluate

    def failing(program, claim, **kwargs):
        if claim.root.get("claim_id") == victim_id:
            raise RuntimeError("boom")
        return real(program, claim, **kwargs)

    monkeypatch.setattr(check_module, "evaluate", failing)
    again = [r.dumps() for r in checker.check_records(records_of(path, False), chunk=CHUNK)]
    assert len(again) == len(one)
    assert json.loads(again[victim])["findings"][0]["rule"] == "internal.error"
    assert [t for i, t in enumerate(again) if i != victim] == [t for i, t in enumerate(one) if i != victim]


def test_a_worker_that_dies_loses_no_record(corpus, tmp_path):
    claims = list(generate(300, seed=5))
    claims[137]["claim_id"] = CRASH_ID
    path = tmp_path / "crash.jsonl"
    path.write_text("\n".join(json.dumps(c) for c in claims) + "\n", encoding="utf-8")
    spec = CheckerSpec()
    local = spec.build()
    serial = [r.dumps() for r in ParallelChecker(local, spec, 1).check_records(records_of(path, False))]
    runner = ParallelChecker(local, DyingSpec(spec), 2, chunk=8, window=3, min_parallel=0)
    results = list(runner.check_records(records_of(path, True)))
    assert runner.parallel and runner.workers_lost >= 1
    assert len(results) == 300
    assert [r.record for r in results] == [f"{path}:{n}" for n in range(1, 301)]
    crashed = results[137]
    assert crashed.verdict == "error" and crashed.findings[0].rule == "internal.error"
    assert "WorkerProcessLost" in crashed.findings[0].message
    # Every other record, including those in flight when the worker died, is checked as usual.
    assert [r.dumps() for i, r in enumerate(results) if i != 137] == [s for i, s in enumerate(serial) if i != 137]


def test_when_workers_cannot_start_the_batch_is_checked_in_process(tmp_path):
    """A script read from standard input cannot be imported again by a spawned worker:
    the run goes on in-process with the same results instead of losing them."""
    import subprocess

    claims = list(generate(40, seed=9))
    path = tmp_path / "few.jsonl"
    path.write_text("\n".join(json.dumps(c) for c in claims) + "\n", encoding="utf-8")
    script = f"""
import json
from payerlint.batch import CheckerSpec, ParallelChecker
from payerlint.claims.reader import Reading, read_records
spec = CheckerSpec()
local = spec.build()
runner = ParallelChecker(local, spec, 2, min_parallel=0)
results = [r.dumps() for r in runner.check_records(read_records([{str(path)!r}], reading=Reading(defer=True)))]
serial = [r.dumps() for r in local.check_records(read_records([{str(path)!r}]))]
print(json.dumps({{"same": results == serial, "n": len(results), "fallback": runner.fallback}}))
"""
    done = subprocess.run([sys.executable, "-"], input=script, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(ROOT / "src")))
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["same"] and report["n"] == 40
    assert "could not start" in report["fallback"]


def test_a_short_batch_is_checked_in_process(tmp_path):
    spec = CheckerSpec()
    runner = ParallelChecker(spec.build(), spec, 2)
    results = list(runner.check_records(read_records([str(DATA / "clean_claim.json")])))
    assert not runner.parallel and [r.verdict for r in results] == ["clean"]


def test_rulebook_errors_in_workers_are_reported_like_in_process(tmp_path):
    """A team tree whose rulebook does not compile: same stderr, exit 2, either way."""
    team = tmp_path / "team"
    (team / "payers").mkdir(parents=True)
    (team / "rulebooks" / "acme").mkdir(parents=True)
    (team / "payers" / "acme.toml").write_text(
        'id = "acme"\nname = "Acme"\ntype = "commercial"\nstates = []\nrulebook_family = "acme"\n'
        'unit_method = "cms_total_time"\naliases = []\nsources = ["synthetic"]\nfacts_as_of = "2026-11-27"\n',
        encoding="utf-8")
    (team / "rulebooks" / "acme" / "2026Q2.rules").write_text("rulebook acme \"x\" quarter 2026Q2\nrule oops\n",
                                                              encoding="utf-8")
    claims = list(generate(1100, seed=3))
    for claim in claims[::50]:
        claim["payer_id"] = "acme"
    path = tmp_path / "acme.jsonl"
    path.write_text("\n".join(json.dumps(c) for c in claims) + "\n", encoding="utf-8")
    one = run(["check", str(path), "--home", str(team), "--format", "jsonl", "--jobs", "1"])
    two = run(["check", str(path), "--home", str(team), "--format", "jsonl", "--jobs", "2"])
    assert one == two
    assert one[0] == 2 and "rulebook acme@2026Q2 does not compile" in one[2]


# ------------------------------------------------------------------ -o, progress, summary


def test_output_file_is_replaced_whole_or_not_at_all(tmp_path, monkeypatch):
    from payerlint import output

    target = tmp_path / "results.jsonl"
    target.write_text("old results\n", encoding="utf-8")
    os.chmod(target, 0o640)
    real = output.write_results

    def interrupted(results, fmt, out, **kw):
        out.write("half of the new results")
        raise KeyboardInterrupt

    monkeypatch.setattr(output, "write_results", interrupted)
    assert main(["check", str(DATA / "clean_claim.json"), "-o", str(target), "--format", "jsonl"]) == 130
    assert target.read_text(encoding="utf-8") == "old results\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.jsonl"]  # no temporary file left
    monkeypatch.setattr(output, "write_results", real)
    assert main(["check", str(DATA / "clean_claim.json"), "-o", str(target), "--format", "jsonl"]) == 0
    assert json.loads(target.read_text(encoding="utf-8"))["verdict"] == "clean"
    assert os.stat(target).st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.jsonl"]


def test_output_to_a_folder_is_a_usage_error(tmp_path, capsys):
    assert main(["check", str(DATA / "clean_claim.json"), "-o", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err


def test_summary_on_request_and_never_on_a_pipe_by_default(capsys):
    assert main(["check", str(DATA / "clean_claim.json"), "--format", "jsonl"]) == 0
    assert capsys.readouterr().err == ""
    assert main(["check", str(ROOT / "examples" / "claims" / "medicare"), "--format", "jsonl", "--summary"]) == 1
    err = capsys.readouterr().err
    claims = len(list((ROOT / "examples" / "claims" / "medicare").glob("*.json")))
    assert f"payerlint: {claims} records in, {claims} results out in" in err
    assert "verdicts: " in err and " deny, " in err
    assert "rules not evaluated: " in err and "/documentation" in err


def test_progress_line_counts_rate_and_time_left():
    from payerlint.output.progress import Progress

    ticks = iter([0.0] + [i * 0.5 for i in range(1, 10)])
    reading = Reading()
    err = io.StringIO()
    progress = Progress(err, reading, total_bytes=1000, clock=lambda: next(ticks))

    def results():
        for _ in range(4):
            reading.bytes += 125
            yield object()

    assert len(list(progress.watch(results()))) == 4
    text = err.getvalue()
    assert "\rpayerlint: 1 claim checked, 2/s, 0:01 elapsed, 12% read, about 0:04 left" in text
    assert "4 claims checked" in text and "50% read, about 0:02 left" in text
    assert text.endswith("\r")  # the line is wiped at the end, leaving stderr clean


def test_a_chunk_sent_to_a_pool_a_worker_just_broke_fails_into_the_retry_path():
    """A worker dies between two submissions: the next chunk's submit must not raise out
    of the batch (BrokenProcessPool), but fail its future, so `_take` checks it again."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from payerlint.batch import _submit

    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    try:
        with pytest.raises(BrokenProcessPool):
            pool.submit(os._exit, 70).result(timeout=60)
        future = _submit(pool, [], "auto")
        with pytest.raises(BrokenProcessPool):
            future.result(timeout=0)
    finally:
        pool.shutdown(wait=True)


def test_a_reader_that_goes_away_ends_the_run_with_141_not_0(corpus):
    # `payerlint check big.jsonl | head -1` under `set -o pipefail`: a run whose output was
    # cut short must not look like a clean one, and no traceback goes to the terminal.
    import subprocess

    path, _ = corpus
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen([sys.executable, "-m", "payerlint", "check", str(path), "--format", "jsonl", "--jobs", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout.readline().startswith(b"{")
    proc.stdout.close()
    code = proc.wait(timeout=120)
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert code == 141
    assert "Traceback" not in err and "Exception ignored" not in err, err


def test_a_claim_that_is_not_the_chosen_rulebooks_is_checked_with_a_warning(tmp_path):
    # --rulebook checks every claim against one rulebook: a claim of another payer, or dated
    # outside its quarter, is still checked, but does not read CLEAN. The API's
    # Checker(rulebook) (replay, a service that asks about one rulebook) adds nothing.
    import copy

    from payerlint.api import Checker, load_rulebook

    clean = json.loads((DATA / "clean_claim.json").read_text(encoding="utf-8"))
    other_payer = dict(copy.deepcopy(clean), claim_id="OTHER", payer_id="anthem")
    old = copy.deepcopy(clean)
    old.update(claim_id="OLD", date_of_service="2020-01-06")
    for line in old["lines"]:
        line["date"] = "2020-01-06"
    path = tmp_path / "claims.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in (clean, other_payer, old)), encoding="utf-8")
    outputs = []
    for jobs in ("1", "2"):
        code, out, _ = run(["check", str(path), "--rulebook", "medicare@2026Q2", "--format", "jsonl", "--jobs", jobs])
        outputs.append(out)
        results = [json.loads(line) for line in out.splitlines()]
        assert [r["verdict"] for r in results] == ["clean", "warn", "warn"]
        [payer] = [f["message"] for f in results[1]["findings"] if f["rule"] == "input.rulebook_mismatch"]
        assert payer.startswith("payer anthem is checked by the anthem-commercial rulebooks, not medicare")
        [dated] = [f["message"] for f in results[2]["findings"] if f["rule"] == "input.rulebook_mismatch"]
        assert dated.startswith("the claim's date of service 2020-01-06 is outside 2026Q2 (2026-04-01 to 2026-06-30)")
    assert outputs[0] == outputs[1]
    # A payer's rulebook that extends Medicare's (through therapy-common) is still that
    # payer's: a Medicare claim checked against it is warned of.
    code, out, _ = run(["check", str(path), "--rulebook", "anthem-commercial@2026Q2", "--format", "jsonl"])
    first = json.loads(out.splitlines()[0])
    assert any(f["rule"] == "input.rulebook_mismatch" and f["message"].startswith(
        "payer medicare is checked by the medicare rulebooks, not anthem-commercial") for f in first["findings"])
    checker = Checker(load_rulebook("medicare@2026Q2"))
    assert all(f.rule != "input.rulebook_mismatch" for f in checker.check(old).findings)
