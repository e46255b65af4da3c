"""Importable by spawned worker processes (tests/ is on their sys.path, inherited from
pytest's): a checker spec whose workers die on one claim, to test that no record is lost."""

from __future__ import annotations

import multiprocessing
import os
from dataclasses import dataclass

from payerlint.batch import CheckerSpec

CRASH_ID = "CRASH-ME"


class _Dying:
    """A checker that ends its process, as a segfault or the OOM killer would, on one claim."""

    def __init__(self, checker):
        self.checker = checker
        self.choice = checker.choice

    def check_records(self, records, *, chunk=1):
        for record in records:  # one at a time, whatever the chunk: it dies on the claim itself
            in_worker = multiprocessing.parent_process() is not None
            if in_worker and isinstance(record.data, dict) and record.data.get("claim_id") == CRASH_ID:
                os._exit(70)
            yield self.checker.check_record(record)



@dataclass(frozen=True, slots=True)
class DyingSpec:
    spec: CheckerSpec

    @property
    def input_format(self) -> str:
        return self.spec.input_format

    def build(self):
        return _Dying(self.spec.build())
