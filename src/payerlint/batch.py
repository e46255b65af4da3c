"""Parallel streaming batch: N worker processes check records, results come out in input
order, memory stays flat, and every record yields exactly one result.

    main process                                   worker processes (spawned, N)
    read_records -> formats (FHIR) -> chunks  ==>  CheckerSpec.build() once per worker
                                                   Checker.check_record, chunk by chunk
    results, in input order   <==  (results, new rulebook errors)
    -> writers (output/), Tally, exit code: the same code as --jobs 1

Why this shape:
- Workers are started with `spawn`, not `fork`: a forked child would inherit the parent's
  threads and locks in whatever state they were in; spawn is also what macOS and Windows
  do, so the same code runs everywhere. Each worker builds its own checker (a Router, or
  one rulebook) once, from a small picklable `CheckerSpec`, and keeps it for every chunk.
- Records travel in chunks (`CHUNK` records) to amortise the pickling round trip; at
  most `window` chunks are in flight, so memory is bounded whatever the input's size.
  Results are taken from the oldest chunk first, which keeps input order.
- The main process keeps reading and writing (the reader's JSON parsing and the writers
  stay single-threaded and unchanged), so output is byte-identical to `--jobs 1`.
- Starting a worker costs about a second (importing, loading the ICD-10-CM index), so a
  batch shorter than `min_parallel` records is checked in-process, as with `--jobs 1`.
- A chunk that cannot be pickled (a record nested too deeply) is sent again record by
  record, and a record that still cannot travel is checked in the main process.
- Workers must prove they started (a warm-up task) before records are sent; when they
  cannot (the main module cannot be imported again, the tree fails in the worker), the
  run goes on in-process, with a note on standard error, rather than failing.
- A worker that dies (killed, out of memory, a crash in a C extension) loses no record:
  the chunks it held are checked again one record at a time in a fresh pool, and a record
  that kills a worker again gets an `internal.error` result naming that, so it is counted
  and the exit code says so (3), like any other internal error.
"""

from __future__ import annotations

import collections
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Iterable, Iterator

from payerlint.check import CHUNK
from payerlint.claims.reader import Record
from payerlint.diagnostics import DiagnosticError

CHUNK = 64
"""Records per task sent to a worker."""
MIN_PARALLEL = 1000
"""Batches with fewer records are checked in-process: workers would cost more to start."""


def available_cores() -> int:
    """The cores this process may run on (an affinity mask or a container limit may be
    fewer than the machine has)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True, slots=True)
class CheckerSpec:
    """What a worker needs to build the same checker as the main process: small and
    picklable (a compiled rulebook is not sent; each worker compiles what it routes to)."""

    home: str | None = None
    """The --home given (None: $PAYERLINT_HOME, else the bundled tree), resolved in the
    worker exactly as in the main process."""
    rulebook: str | None = None
    """Check every claim against this rulebook reference; None routes by payer and date."""
    strict: bool = False
    explain: bool = False
    input_format: str = "auto"
    """What the records are (`formats.INPUTS`): workers convert FHIR themselves."""

    def build(self):
        from payerlint.api import Checker, Router, load_rulebook
        from payerlint.compile.loader import Loader
        from payerlint.home import resolve_home
        from payerlint.payers.registry import Registry

        home = resolve_home(self.home)
        loader = Loader(home)
        if self.rulebook is not None:
            from payerlint.payers.routing import one_rulebook

            return Checker(one_rulebook(load_rulebook(self.rulebook, loader=loader), home), strict=self.strict,
                           explain=self.explain)
        return Router(Registry.load(home), loader, strict=self.strict, explain=self.explain)


# ------------------------------------------------------------------ in the worker

_worker_checker = None
_worker_reported: set[str] = set()


def _start_worker(spec) -> None:
    global _worker_checker
    import signal

    # Ctrl-C reaches every process of the terminal's group: the main process stops the
    # pool; a worker that also raised KeyboardInterrupt would only print a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker_checker = spec.build()
    # Everything built so far lives as long as the worker: keep the garbage collector
    # from scanning it again at every collection (it otherwise costs a worker about a
    # tenth of its time, claims being many small objects).
    import gc

    gc.freeze()


def _ready() -> bool:
    """A worker that answers this has started and built its checker."""
    return _worker_checker is not None


def _check_chunk(items: list, input_format: str) -> tuple[list, dict]:
    """One chunk's results (a FHIR Bundle gives one per Claim), and the rulebooks that
    failed to compile since the last chunk (as diagnostics: a DiagnosticError does not
    survive pickling). Lines arrive unparsed: parsing them here keeps the reading
    process light."""
    results = list(_worker_checker.check_records(convert(items, input_format, _worker_checker), chunk=CHUNK))
    broken = getattr(getattr(_worker_checker, "choice", None), "rulebook_errors", {})
    new = {ref: list(error.diagnostics) for ref, error in broken.items() if ref not in _worker_reported}
    _worker_reported.update(new)
    return results, new


def convert(items, input_format: str, checker) -> Iterator[Record]:
    """Records as read (some `Unparsed`) -> payerlint claim records: lines parsed, FHIR
    resources converted, insurer ids matched against the checker's payer registry."""
    from payerlint.formats import claim_records
    from payerlint.claims.reader import finish

    registry = getattr(getattr(checker, "choice", None), "registry", None)
    payer_known = (lambda key: registry.resolve(key) is not None) if registry is not None else None
    return claim_records((finish(item) for item in items), input_format, payer_known)


# ------------------------------------------------------------------ in the main process


class ParallelChecker:
    """`check_records` like a `Checker`'s, over `jobs` worker processes.

    `local` is the main process's own checker: it checks batches too short to be worth
    the workers, and its rulebook errors are reported with the workers'. Records come as
    read (`claims.reader`, possibly `Unparsed`); conversion (`formats`, FHIR) is
    done here in-process, or by each worker for its chunk.
    """

    def __init__(self, local, spec, jobs: int, *, chunk: int = CHUNK, window: int | None = None,
                 min_parallel: int = MIN_PARALLEL):
        self.local = local
        self.spec = spec
        self.jobs = max(1, jobs)
        self.chunk = max(1, chunk)
        self.window = window or self.jobs * 4
        self.min_parallel = min_parallel
        self.worker_errors: dict[str, DiagnosticError] = {}
        self.workers_lost = 0
        """How many times a worker process died and its chunks were checked again."""
        self.parallel = False
        """Whether the last run used worker processes."""
        self.fallback: str | None = None
        """Why the run went on in-process after workers could not start, if they could not."""

    @property
    def rulebook_errors(self) -> dict:
        """Rulebooks that did not compile, in the main process or in any worker."""
        local = getattr(getattr(self.local, "choice", None), "rulebook_errors", {})
        return {**self.worker_errors, **local}

    def check_records(self, records: Iterable[Record], *, chunk: int = 1) -> Iterator:
        """`Checker.check_records` (with `chunk` for the records checked in this process;
        the workers' chunks are all there, and always go `CHUNK` at a time)."""
        records = iter(records)
        head: list[Record] = []
        if self.jobs > 1:
            for record in records:
                head.append(record)
                if len(head) >= self.min_parallel:
                    break
        if self.jobs == 1 or len(head) < self.min_parallel:
            self.parallel = False
            yield from self.local.check_records(convert(_chain(head, records), self.spec.input_format, self.local),
                                                chunk=chunk)
            return
        self.parallel = True
        yield from self._run(_chain(head, records))

    def _pool(self) -> ProcessPoolExecutor | None:
        """A pool whose workers have started (each built its checker), or None when they
        cannot start: the main module cannot be imported again (a script read from
        standard input), the rulebook tree fails in the worker, processes cannot be made."""
        try:
            pool = ProcessPoolExecutor(self.jobs, mp_context=multiprocessing.get_context("spawn"),
                                       initializer=_start_worker, initargs=(self.spec,))
        except (OSError, ValueError) as exc:
            self.fallback = f"worker processes could not be started ({type(exc).__name__})"
            return None
        try:
            if all(pool.submit(_ready).result() for _ in range(self.jobs)):
                return pool
        except Exception as exc:  # noqa: BLE001 - BrokenProcessPool, an initializer error
            self.fallback = f"worker processes could not start ({type(exc).__name__})"
        pool.shutdown(wait=True, cancel_futures=True)
        return None

    def _in_process(self, items) -> Iterator:
        return self.local.check_records(convert(items, self.spec.input_format, self.local), chunk=CHUNK)

    def _run(self, records: Iterator[Record]) -> Iterator:
        pool = self._pool()
        pending: collections.deque = collections.deque()
        try:
            for chunk in _chunks(records, self.chunk):
                if pool is None:  # workers cannot run here: the rest is checked in-process
                    yield from self._in_process(chunk)
                    continue
                pending.append((_submit(pool, chunk, self.spec.input_format), chunk))
                while pending and len(pending) >= self.window:
                    pool = yield from self._take(pool, pending)
            while pending:
                pool = yield from self._take(pool, pending)
        finally:
            for future, _ in pending:
                future.cancel()
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

    def _take(self, pool, pending) -> Iterator:
        """Yield the oldest chunk's results; after a lost worker, check every chunk still in
        flight again, one record at a time. Returns the pool to go on with."""
        future, chunk = pending[0]
        try:
            results, broken = future.result()
        except BrokenProcessPool:
            self.workers_lost += 1
            pool.shutdown(wait=True, cancel_futures=True)
            chunks = [c for _, c in pending]
            pending.clear()
            pool = self._pool()
            for lost in chunks:
                for record in lost:
                    results, pool = self._one(pool, record)
                    yield from results
            return pool  # None if no worker would start again: the rest goes in-process
        except Exception:  # noqa: BLE001 - a chunk that could not travel to a worker or back
            pending.popleft()
            for record in chunk:
                results, pool = self._one(pool, record)
                yield from results
            return pool
        pending.popleft()
        self._merge(broken)
        yield from results
        return pool

    def _one(self, pool, record, cause: BaseException | None = None):
        """One record in the pool on its own (its results: a Bundle has several). If the
        worker dies on it, an internal error; if it cannot travel to or from a worker (a
        value nested too deeply to pickle), it is checked here, in-process, exactly as
        --jobs 1 would."""
        from payerlint.check import internal_error

        if pool is None:
            return list(self._in_process([record])), None
        try:
            results, broken = pool.submit(_check_chunk, [record], self.spec.input_format).result()
            self._merge(broken)
            return results, pool
        except BrokenProcessPool as exc:
            self.workers_lost += 1
            pool.shutdown(wait=True, cancel_futures=True)
            return [internal_error(None, record.origin, WorkerProcessLost(str(exc)))], self._pool()
        except Exception:  # noqa: BLE001 - the record, or its results, could not be pickled
            return list(self.local.check_records(convert([record], self.spec.input_format, self.local))), pool

    def _merge(self, broken: dict) -> None:
        for ref, diagnostics in broken.items():
            self.worker_errors.setdefault(ref, DiagnosticError(diagnostics))


def _submit(pool: ProcessPoolExecutor, chunk: list, input_format: str) -> Future:
    """The chunk's future. A worker that died since the last result breaks the pool before
    `_take` has seen it: the chunk then gets a future that failed the same way, so `_take`
    checks it again with the others in flight, in order."""
    try:
        return pool.submit(_check_chunk, chunk, input_format)
    except BrokenProcessPool as exc:
        failed: Future = Future()
        failed.set_exception(exc)
        return failed


class WorkerProcessLost(Exception):
    """A worker process ended while checking this record (killed, out of memory, a crash)."""


def _chain(head: list, rest: Iterator) -> Iterator:
    yield from head
    yield from rest


def _chunks(records: Iterator[Record], size: int) -> Iterator[list[Record]]:
    chunk: list[Record] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
