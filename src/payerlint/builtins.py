"""The built-in functions as one table: each function's signature, which the compiler
checks calls against (compile/signatures.py), beside its implementation, which the
evaluator runs (evaluate/functions.py). `payerlint builtins` and the language server list
this table; the compiler and the evaluator each import only their own half, so neither
reaches into the other.

To add a function, add its signature and its implementation under the same name; a test
holds the two tables to the same names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from payerlint.compile.signatures import SIGNATURES, Signature, SignatureError  # noqa: F401
from payerlint.compile.types import Type
from payerlint.evaluate.functions import (IMPLEMENTATIONS, NoValue, ama_code_units, assistant_units,  # noqa: F401
                                          cms_allocation, cms_total_units, icd10_codes, money_share, normal_text,
                                          split_line)


@dataclass(frozen=True, slots=True)
class Builtin:
    name: str
    usage: str
    """How it is called, with an example, shown in errors and by `payerlint builtins`."""
    doc: str
    check: Callable[[Sequence[Type]], Type]
    build: Callable[[Sequence[Type]], Callable]
    """Given the argument types, the function the evaluator calls with the values."""
    aggregate: bool = False


BUILTINS: dict[str, Builtin] = {
    name: Builtin(signature.name, signature.usage, signature.doc, signature.check, IMPLEMENTATIONS[name],
                  signature.aggregate)
    for name, signature in SIGNATURES.items()
}
