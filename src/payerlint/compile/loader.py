"""Loading rulebooks by path or by `family@quarter`: from memory, from the cache on disk
(compile/cache.py), or by compiling them (compile/pipeline.py, imported only then)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from payerlint.compile import cache
from payerlint.compile.rulebook import CompiledRulebook
from payerlint.diagnostics import Diagnostic, DiagnosticError
from payerlint.home import Home, resolve_home
from payerlint.quarter import Quarter, QuarterError
from payerlint.source import Span


class Loader:
    """Compiles rulebooks by path or by `family@quarter`, once each per process, and
    keeps them on disk for the next process (unless `disk_cache` is off, or the
    environment variable PAYERLINT_NO_CACHE is set)."""

    def __init__(self, home: Home | None = None, disk_cache: bool | None = None):
        self.home = home or resolve_home()
        self.disk_cache = (not os.environ.get("PAYERLINT_NO_CACHE")) if disk_cache is None else disk_cache
        self._cache: dict[tuple, CompiledRulebook] = {}
        self._lock = threading.RLock()
        self._loading: list[str] = []

    def path_of(self, ref: str, relative_to: str | None = None, ref_is_path: bool = False) -> Path:
        if not ref_is_path and "@" in ref and not os.path.exists(ref):
            family, _, quarter = ref.partition("@")
            try:
                Quarter.parse(quarter)
            except QuarterError as exc:
                raise DiagnosticError([Diagnostic("bad_reference", str(exc))]) from None
            if relative_to is not None:
                # A rulebook in a tree (<tree>/rulebooks/<family>/<quarter>.rules) that is not
                # one of the home's finds its base in its own tree first. Inside the home's
                # trees the overlay decides: the team's file, else the bundled one.
                folder = Path(relative_to).resolve().parent.parent
                sibling = folder / family / f"{quarter}.rules"
                if folder.name == "rulebooks" and not self.home.holds(folder.parent) and sibling.is_file():
                    return sibling
            return self.home.rulebook_path(family, quarter)
        path = Path(ref)
        if relative_to is not None and not path.is_absolute():
            path = Path(os.path.dirname(relative_to)) / path
        return path

    def load(self, ref: str, relative_to: str | None = None, via: Span | None = None,
             ref_is_path: bool = False) -> CompiledRulebook:
        path = self.path_of(ref, relative_to, ref_is_path)
        if not path.is_file():
            is_reference = "@" in ref and not ref_is_path
            raise DiagnosticError([Diagnostic(
                "rulebook_not_found", f"no rulebook {ref} (looked for {path})", span=via,
                notes=self._nearby(ref) if is_reference else ())])
        real = os.path.realpath(path)
        if relative_to is not None and not real.endswith(".rules"):
            # `extends` names a rulebook: any other file (a symbolic link to one included)
            # is refused before it is opened, so no line of it is parsed or quoted.
            raise DiagnosticError([Diagnostic(
                "bad_reference", f"extends names {ref}, which is not a rulebook file (.rules)", span=via,
                notes=("extend a rulebook by family@quarter (extends family@2026Q2) or by the path of its "
                       ".rules file",))])
        stat = os.stat(real)
        key = (real, stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
            if real in self._loading:
                chain = " -> ".join(self._loading[self._loading.index(real):] + [real])
                raise DiagnosticError([Diagnostic("extends_cycle", f"rulebooks extend each other in a cycle: {chain}", span=via)])
            self._loading.append(real)
            try:
                compiled = self._from_disk(str(path), real) if self.disk_cache else None
                if compiled is None:
                    from payerlint.compile.pipeline import compile_path

                    compiled = compile_path(str(path), self)
                    if self.disk_cache:
                        cache.store(compiled)
            finally:
                self._loading.pop()
            self._cache[key] = compiled
            return compiled

    def _from_disk(self, given: str, real: str) -> CompiledRulebook | None:
        def base(path: str) -> CompiledRulebook:
            # A base that no longer compiles makes the whole entry unusable: a miss.
            return self.load(path, ref_is_path=True)

        compiled = cache.load(given, base)
        if compiled is None:
            return None
        if compiled.path != given or os.path.realpath(compiled.path) != real:
            return None  # an entry written for another file (a hash collision, or a moved tree)
        if compiled.base_ref is not None:
            # `extends family@quarter` means whichever file this tree gives that name now.
            ref, is_path = compiled.base_ref
            try:
                wanted = os.path.realpath(self.path_of(ref, relative_to=compiled.path, ref_is_path=is_path))
            except DiagnosticError:
                return None
            if compiled.base is None or os.path.realpath(compiled.base.path) != wanted:
                return None
        return compiled

    def _nearby(self, ref: str) -> tuple[str, ...]:
        family = ref.partition("@")[0]
        families = self.home.families()
        if family in families:
            quarters = [str(q) for q, _ in self.home.quarters_of(family)]
            return (f"{family} has rulebooks for: " + ", ".join(quarters),) if quarters else ()
        if families:
            from payerlint.diagnostics import did_you_mean

            hint = did_you_mean(family, families)
            return (hint,) if hint else (f"rulebook families in {self.home.rulebooks}: " + ", ".join(families),)
        return ()
