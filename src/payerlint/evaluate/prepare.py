"""Compile is data, prepare is code.

`compile` returns a `CompiledRulebook`: immutable, comparable data that knows nothing of
how it runs. `prepare(compiled)` turns it into a `Program`: what is decided before any
claim (plan.py: constant definitions, dead rules, guards) and a closure for every
expression (program.py). Preparing costs a few milliseconds per rulebook, so callers
keep the program (a checker holds one per rulebook it uses).

>>> from payerlint.api import load_rulebook                       # doctest: +SKIP
>>> program = prepare(load_rulebook("acme@2026Q2"))          # doctest: +SKIP
"""

from __future__ import annotations

import gc
import threading
import weakref

from payerlint.evaluate.program import Program

_lock = threading.Lock()
# Weak values: a program lives as long as someone checks with it (it holds its compiled
# rulebook, so a strong cache would keep every rulebook a service ever reloaded).
_prepared: "weakref.WeakValueDictionary[int, Program]" = weakref.WeakValueDictionary()


def prepare(compiled) -> Program:
    """The program for a compiled rulebook; the same object each time it is asked for
    while any caller still holds it."""
    program = _prepared.get(id(compiled))
    if program is not None and program.compiled is compiled:
        return program
    with _lock:
        program = _prepared.get(id(compiled))
        if program is None or program.compiled is not compiled:
            program = Program(compiled)
            _prepared[id(compiled)] = program
            # A rulebook, its tables (a million PTP rows) and its generated code live as
            # long as the process. Left to the collector, every full collection walks them
            # again: 55-75 ms pauses in a service, and about a tenth of a batch's time.
            # Freezing moves everything alive now out of the collector's sight (it is
            # still freed by reference counting); what claims allocate later is not frozen.
            gc.freeze()
        return program
