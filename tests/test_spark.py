"""payerlint.spark in Spark local mode: every result equals, byte for byte, what the
single-process `payerlint check --format jsonl` writes for the same claims (valid ones,
hostile lines, a FHIR Bundle), from a JSON text column and from a struct column.

Marked `spark`; skipped when pyspark or Java is missing (`.ci/run` installs both). One
SparkSession for the module keeps it to about half a minute."""

from __future__ import annotations

import contextlib
import io
import json
import random
import shutil
import sys

import pytest

from conftest import DATA, ROOT
from payerlint.cli import main

pytestmark = pytest.mark.spark

pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed (pip install 'payerlint[spark]')")
if shutil.which("java") is None:
    pytest.skip("Spark needs Java (17 or 21); .ci/run installs it", allow_module_level=True)

sys.path.insert(0, str(ROOT / "benchmarks"))
import hostile  # noqa: E402
from corpus import generate  # noqa: E402


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    # The workers run this interpreter (the one with payerlint), not whatever `python3` the
    # PATH names first: a virtual environment that is not activated is still used.
    session = (SparkSession.builder.master("local[2]").appName("payerlint-tests")
               .config("spark.pyspark.python", sys.executable)
               .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", "2").getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def claims_file(tmp_path_factory):
    rng = random.Random(7)
    hostile_bytes, _ = hostile.batch(rng, 60, 0)
    hostile_lines = [line for line in hostile_bytes.split(b"\n") if line.strip(b" \t\r\n")]
    # Spark reads text as UTF-8 lines: keep the hostile lines that are text (the reader's
    # byte-level cases are tested on files, tests/test_fuzz_batch.py).
    texts = []
    for line in hostile_lines:
        try:
            texts.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            continue
    texts = [t for t in texts if "\ufeff" not in t and "\r" not in t]
    texts += [json.dumps(c) for c in generate(150, seed=7)]
    texts.insert(5, json.dumps(json.loads((DATA / "fhir" / "therapy-bundle.json").read_bytes())))
    path = tmp_path_factory.mktemp("spark") / "claims.jsonl"
    path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    return path, texts


def cli_results(path) -> list[str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        main(["check", str(path), "--format", "jsonl", "--jobs", "1"])
    return out.getvalue().splitlines()


def test_every_result_equals_the_single_process_cli(spark, claims_file):
    from payerlint.spark import check_dataframe

    path, texts = claims_file
    rows = [(f"{path}:{n}", text, n) for n, text in enumerate(texts, start=1)]
    df = spark.createDataFrame(rows, "origin string, claim string, n long").repartition(3)
    results = check_dataframe(df, "claim", origin="origin", keep=["n"])
    got = sorted(results.collect(), key=lambda r: (r["n"], json.loads(r["result"])["record"]))
    expected = cli_results(path)
    # The Bundle line gives 4 results; every other line exactly one.
    assert len(got) == len(texts) + 3 == len(expected)
    by_line = {}
    for line in expected:
        record = json.loads(line)["record"]
        by_line.setdefault(record.split(" ")[0], []).append(line)
    for row in got:
        mine = row["result"]
        assert mine in by_line[f"{path}:{row['n']}"]
        parsed = json.loads(mine)
        assert (row["claim_id"], row["verdict"], row["complete"]) == (
            parsed["claim_id"], parsed["verdict"], parsed["complete"])
    assert sorted(r["result"] for r in got) == sorted(expected)


def test_a_struct_column_in_the_claim_schema_checks_like_its_json(spark, tmp_path):
    from pyspark.sql import functions as F

    from payerlint.spark import check_dataframe

    claims = [c for c in generate(60, seed=11)]
    path = tmp_path / "valid.jsonl"
    path.write_text("\n".join(json.dumps(c) for c in claims) + "\n", encoding="utf-8")
    raw = spark.read.json(str(path))
    df = raw.select(F.struct(*raw.columns).alias("claim"), F.col("claim_id").alias("id"))
    got = {r["id"]: json.loads(r["result"]) for r in check_dataframe(df, "claim", keep=["id"]).collect()}
    # A struct cannot tell a null field from an absent one: both read as absent (documented).
    absent = tmp_path / "nulls-absent.jsonl"
    absent.write_text("\n".join(json.dumps(_without_nulls(c)) for c in claims) + "\n", encoding="utf-8")
    expected = {json.loads(line)["claim_id"]: json.loads(line) for line in cli_results(absent)}
    assert len(got) == 60
    for claim_id, result in expected.items():
        result.pop("record", None)
        assert got[claim_id] == result, claim_id


def _without_nulls(value):
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def test_the_documented_example_runs(spark, tmp_path, monkeypatch, capsys):
    """examples/spark/check_claims.py on its JSON Lines input (40 claims, a FHIR Bundle of
    4 Claims, a broken line), in this module's session (last: the example stops it)."""
    import runpy

    out = tmp_path / "results"
    monkeypatch.setattr(sys, "argv", ["check_claims.py", str(ROOT / "examples" / "spark" / "claims.jsonl"), str(out)])
    runpy.run_path(str(ROOT / "examples" / "spark" / "check_claims.py"), run_name="__main__")
    counts = {k.strip(): int(v.replace(",", "")) for k, v in
              (line.split(":") for line in capsys.readouterr().out.strip().splitlines())}
    assert sum(counts.values()) == 40 + 4 + 1
    assert counts["error"] == 2  # the broken line and the Bundle's broken Claim
