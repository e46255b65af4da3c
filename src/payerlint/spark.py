"""Check a Spark DataFrame of claims: `pip install 'payerlint[spark]'`.

>>> from payerlint.spark import check_dataframe                      # doctest: +SKIP
>>> claims = spark.read.text("claims.jsonl")                          # doctest: +SKIP
>>> results = check_dataframe(claims, "value")                        # doctest: +SKIP
>>> results.write.mode("overwrite").parquet("results.parquet")        # doctest: +SKIP

The claim column is either JSON text (a JSON Lines line, a FHIR Claim or Bundle: read
exactly as `payerlint check` reads a line) or a struct in the claim schema's shape (it is
turned into JSON by Spark's `to_json`; a null field of a struct reads as absent, since a
struct cannot tell the two apart, and money must be a string such as "48.00"). The result
has one row per claim (a FHIR Bundle gives one per Claim) with:

    claim_id  string    the claim's id, when it has one
    verdict   string    clean, warn, deny or error
    complete  boolean   whether every rule that applies could run
    result    string    the JSON result contract, the same text `payerlint check
                        --format jsonl` writes for the claim
    ...and any columns named in `keep` (a key to join back on), repeated on each row.

How it runs: `mapInArrow` hands each Python worker Arrow batches; the worker builds its
checker (a Router over the rulebook tree, or one rulebook) the first time, keeps it in a
module-level cache keyed by the rulebook tree and options, and reuses it for every batch
and every task the worker runs (Spark reuses Python workers), never once per row. The
claim path is `payerlint.check.Checker`, the same as the CLI's: the same claim gives the
same result text, byte for byte.
"""

from __future__ import annotations

from typing import Iterable, Iterator, Sequence

from payerlint.batch import CheckerSpec, convert
from payerlint.claims.reader import record_from_text

RESULT_FIELDS = (("claim_id", "string"), ("verdict", "string"), ("complete", "boolean"), ("result", "string"))

_CHECKERS: dict[CheckerSpec, object] = {}
"""One checker per Python worker process and spec (home, rulebook, options), built once."""


def checker_for(spec: CheckerSpec):
    """The worker's checker for `spec`, built on first use and then reused."""
    checker = _CHECKERS.get(spec)
    if checker is None:
        checker = _CHECKERS[spec] = spec.build()
    return checker


def check_dataframe(df, column: str = "claim", *, origin: str | None = None, keep: Sequence[str] = (),
                    home: str | None = None, rulebook: str | None = None, strict: bool = False,
                    explain: bool = False, input_format: str = "auto"):
    """Check every claim of `df[column]`; see the module docstring for the result's columns.

    `origin`: a column naming where each claim came from (`claims.jsonl:12`); it becomes
    the result's `record`, and messages about unreadable text name it as file and line.
    `home`, `rulebook`, `strict`, `explain`, `input_format`: as for `payerlint check`
    (`--home`, `--rulebook`, ... ; `rulebook` is a path or `family@quarter` the workers can
    read). Without `rulebook`, each claim is routed by payer and date of service."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructType

    fields = {f.name: f for f in df.schema.fields}
    for name in (column, origin, *keep):
        if name is not None and name not in fields:
            raise ValueError(f"the DataFrame has no column {name!r}; it has {', '.join(sorted(fields))}")
    kind = fields[column].dataType
    if isinstance(kind, StructType):
        text = F.to_json(F.col(column))
    elif isinstance(kind, StringType):
        text = F.col(column)
    else:
        raise ValueError(f"column {column!r} must be JSON text (string) or a struct in the claim schema's shape; "
                         f"it is {kind.simpleString()}")
    selected = [text.alias("__claim")]
    if origin is not None:
        selected.append(F.col(origin).cast("string").alias("__origin"))
    selected += [F.col(name) for name in keep]
    narrowed = df.select(*selected)
    spec = CheckerSpec(home, rulebook, strict, explain, input_format)
    keep_schema = ", ".join(f"`{name}` {fields[name].dataType.simpleString()}" for name in keep)
    result_schema = ", ".join(f"{name} {kind}" for name, kind in RESULT_FIELDS)
    schema = f"{keep_schema}, {result_schema}" if keep else result_schema
    keep_names = tuple(keep)
    has_origin = origin is not None

    def run(batches):
        return check_batches(batches, spec, has_origin, keep_names)

    return narrowed.mapInArrow(run, schema)


def check_batches(batches: Iterable, spec: CheckerSpec, has_origin: bool, keep: Sequence[str]) -> Iterator:
    """The function each Python worker runs over its Arrow batches (a generator, so one
    batch of results is held at a time)."""
    import pyarrow as pa

    checker = checker_for(spec)
    for batch in batches:
        texts = batch.column("__claim").to_pylist()
        origins = batch.column("__origin").to_pylist() if has_origin else [None] * len(texts)
        rows: list[int] = []
        out = {name: [] for name, _ in RESULT_FIELDS}
        for index, (text, where) in enumerate(zip(texts, origins)):
            record = record_from_text(text, where)
            for result in checker.check_records(convert([record], spec.input_format, checker)):
                rows.append(index)
                out["claim_id"].append(result.claim_id)
                out["verdict"].append(result.verdict)
                out["complete"].append(result.complete)
                out["result"].append(result.dumps())
        columns = {name: batch.column(name).take(pa.array(rows, type=pa.int64())) for name in keep}
        columns.update({"claim_id": pa.array(out["claim_id"], pa.string()),
                        "verdict": pa.array(out["verdict"], pa.string()),
                        "complete": pa.array(out["complete"], pa.bool_()),
                        "result": pa.array(out["result"], pa.string())})
        yield pa.RecordBatch.from_pydict(columns)
