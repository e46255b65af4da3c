"""Check a JSON Lines or Parquet file of claims with Spark, and write the results.

    pip install 'payerlint[spark]'          # pyspark 4 (Java 17 or 21 on the machine)
    python examples/spark/check_claims.py examples/spark/claims.jsonl /tmp/results
    python examples/spark/check_claims.py claims.parquet /tmp/results --column claim

JSON Lines input is read as text, one claim (or FHIR Claim or Bundle) per line, so a
broken line is one `error` result, as with `payerlint check`. Parquet input names its
claim column with --column: JSON text, or a struct in the claim schema's shape. The
results are written as Parquet (claim_id, verdict, complete, result: the JSON result) and
a count per verdict is printed. --master defaults to local[*], every core of this machine.
"""

from __future__ import annotations

import argparse

from pyspark.sql import SparkSession, functions as F

from payerlint.spark import check_dataframe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", help="a .jsonl file (or folder of them), or a .parquet file or folder")
    parser.add_argument("output", help="folder to write the results to, as Parquet")
    parser.add_argument("--column", default="claim", help="Parquet: the claim column (default: claim)")
    parser.add_argument("--rulebook", help="check every claim against this rulebook (default: route by payer)")
    parser.add_argument("--master", default="local[*]")
    args = parser.parse_args()

    spark = (SparkSession.builder.master(args.master).appName("payerlint")
             .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    if args.input.rstrip("/").endswith(".parquet"):
        claims, column = spark.read.parquet(args.input), args.column
    else:
        claims, column = spark.read.text(args.input), "value"
    results = check_dataframe(claims, column, rulebook=args.rulebook)
    results.write.mode("overwrite").parquet(args.output)
    written = spark.read.parquet(args.output)
    for row in written.groupBy("verdict").agg(F.count("*").alias("claims")).orderBy("verdict").collect():
        print(f"{row['verdict']:>6}: {row['claims']:,}")
    spark.stop()


if __name__ == "__main__":
    main()
