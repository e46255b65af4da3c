"""payerlint.spark in Spark local mode against the single-process checker, on the same
claims, beside a stdlib JSON round trip of the same file measured in the same run.

    PYTHONPATH=src python3 benchmarks/bench_spark.py [--claims 20000] [--master local[*]]

Timed separately: starting the SparkSession (the JVM), and two passes of Spark over the
file (the first also starts the Python workers and compiles the rulebooks in each; the
second finds them built, as a long-running Spark application would). The single-process
figure is `Router.check_records` over `read_records`, results serialised, startup left
out. Spark forces evaluation with the `noop` sink, so writing files is not measured.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def load() -> str:
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "?"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=20_000)
    parser.add_argument("--master", default="local[*]")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="payerlint-bench-spark-") as tmp:
        path = Path(tmp) / "claims.jsonl"
        subprocess.run([sys.executable, str(HERE / "corpus.py"), str(path), "--claims", str(args.claims),
                        "--seed", str(args.seed)], check=True, stdout=subprocess.DEVNULL)
        print(f"corpus:     {args.claims:,} synthetic claims, {path.stat().st_size / 2**20:.1f} MiB JSON Lines")
        print(f"machine:    {os.cpu_count()} CPUs; 1-minute load average {load()} before")

        started = time.perf_counter()
        with open(path, encoding="utf-8") as src, open(os.devnull, "w", encoding="utf-8") as out:
            for line in src:
                out.write(json.dumps(json.loads(line)) + "\n")
        reference = time.perf_counter() - started
        print(f"reference:  stdlib json round trip: {reference:.2f} s = {args.claims / reference:,.0f} records/s")

        from payerlint.api import Router
        from payerlint.claims.reader import read_records

        router = Router()
        for _ in router.check_records(read_records([str(HERE.parent / "tests" / "data" / "clean_claim.json")])):
            pass  # compile and warm, outside the timing
        started = time.perf_counter()
        for result in router.check_records(read_records([str(path)])):
            result.dumps()
        single = time.perf_counter() - started
        print(f"single:     one process (payerlint.api Router): {single:.2f} s = {args.claims / single:,.0f} claims/s")

        from pyspark.sql import SparkSession

        from payerlint.spark import check_dataframe

        started = time.perf_counter()
        spark = (SparkSession.builder.master(args.master).appName("payerlint-bench")
                 .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
                 .getOrCreate())
        spark.sparkContext.setLogLevel("ERROR")
        session = time.perf_counter() - started
        parallelism = spark.sparkContext.defaultParallelism
        print(f"spark:      SparkSession {args.master} ({parallelism} tasks at once) started in {session:.1f} s")
        for attempt in ("first pass (workers start, rulebooks compile)", "second pass (workers reused)"):
            started = time.perf_counter()
            results = check_dataframe(spark.read.text(str(path)), "value")
            results.write.format("noop").mode("overwrite").save()
            seconds = time.perf_counter() - started
            print(f"spark:      {attempt}: {seconds:.2f} s = {args.claims / seconds:,.0f} claims/s "
                  f"({single / seconds:.2f}x the single process)")
        spark.stop()
        print(f"load after: 1-minute load average {load()}")


if __name__ == "__main__":
    main()
