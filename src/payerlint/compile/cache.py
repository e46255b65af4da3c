"""Compiled rulebooks kept on disk, so the second run does not compile again.

A rulebook with a 1,000,000-row PTP table takes seconds to compile (parsing the CSV is
most of it); read back from here it takes well under a second. An entry is found by the
rulebook file's real path and is used only when all of this holds, checked on every load:

- its header says this cache format and this payerlint version, with the same grammar and
  claim schema (their hashes);
- every file the compile read (the rulebook, each table file, and the same for every
  base it extends) still has the SHA-256 recorded: any change at all, or a missing file,
  makes it stale (a modification time can lie, so the bytes are hashed);
- the payload's own SHA-256 matches, so a truncated or altered entry is refused.

A refused entry is a cache miss: the rulebook is compiled and the entry written again.

The encoding is data only: `marshal` of numbers, strings, tuples, lists and dicts, and a
decoder that rebuilds only the classes of the compiled form it knows by name (never
`pickle`, which would run code named by the file). Table rows are decoded on demand, so a
million rows cost one `marshal.loads`, and the dependency graph and the syntax the
layering keeps are rebuilt only if someone asks for them (`lint`, `graph`, a rulebook
that extends this one). `payerlint cache clear` empties the cache.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import marshal
import os
import tempfile
from array import array
from bisect import bisect_left
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable

from payerlint import __version__
from payerlint.home import cache_dir, grammar_path

FORMAT = 1
MAGIC = "payerlint-rulebook-cache"
COLUMN_ROWS = 20_000
"""Tables with at least this many rows are kept column by column (binary search, no dict to
rebuild); smaller ones as a dict, whose look-ups and membership tests run in C: a claim
tests the small tables far more often than it looks up a row in a large one."""
MAX_ENTRIES = 200
MAX_BYTES = 256 * 1024 * 1024
"""When an entry is written, the oldest-written entries beyond MAX_ENTRIES, or beyond
MAX_BYTES in all, are removed; the newest entry always stays, however large."""

_T, _L, _D, _C, _DEC, _DATE, _PROXY, _FROZEN, _GRAPH, _ROWS, _LINES, _LAZY, _BASE, _SET, _COLUMNS = range(15)


def folder() -> Path | None:
    base = cache_dir()
    return base / "rulebooks" if base is not None else None


def _entry_path(rulebook_path: str) -> Path | None:
    """Where the entry for a rulebook path lives. The key is the path as given (and the
    working folder, for a relative one) beside its real path: a compiled rulebook's
    messages name its files the way they were given, and an entry must read back exactly
    as a fresh compile would."""
    where = folder()
    if where is None:
        return None
    given = rulebook_path if os.path.isabs(rulebook_path) else os.path.join(os.getcwd(), "\0", rulebook_path)
    key = os.path.realpath(rulebook_path) + "\0" + given
    return where / (hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32] + ".plc")


def _file_hash(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return None


_environment: str | None = None


def environment() -> str:
    """What every entry depends on besides its own files: the payerlint version, the
    grammar, the claim schema (types are read from it), and the compiler's own source
    (so a changed compiler never reads an entry an older one wrote, version or not)."""
    global _environment
    if _environment is None:
        digest = hashlib.sha256(__version__.encode())
        package = Path(__file__).resolve().parent.parent
        parts = [Path(grammar_path())]
        parts += sorted((package / "compile").glob("*.py")) + sorted((package / "syntax").glob("*.py"))
        parts += [package / "builtins.py", package / "source.py", package / "quarter.py"]
        for part in parts:
            digest.update(b"\0" + part.name.encode() + b"\0" + part.read_bytes())
        digest.update(resources.files("payerlint.schemas").joinpath("claim.schema.json").read_bytes())
        _environment = digest.hexdigest()
    return _environment


# ------------------------------------------------------------------ encoding


def _classes() -> dict[str, type]:
    """The classes an entry may hold, by name: the compiled form's own, and nothing else."""
    from payerlint.compile import ir, rulebook, types
    from payerlint import quarter, source

    found: dict[str, type] = {}
    for module in (ir, types, source, quarter, rulebook):
        for value in vars(module).values():
            if isinstance(value, type) and dataclasses.is_dataclass(value) and value.__module__ == module.__name__:
                found[f"{module.__name__}:{value.__qualname__}"] = value
    return found


def _syntax_classes() -> dict[str, type]:
    """The layering's classes (a rulebook's declarations as written): decoded only when a
    rulebook that extends this one is compiled, so checking never imports the syntax."""
    from payerlint.compile import layering
    from payerlint.syntax import tree

    return {f"{m.__name__}:{v.__qualname__}": v for m in (tree, layering) for v in vars(m).values()
            if isinstance(v, type) and dataclasses.is_dataclass(v) and v.__module__ == m.__name__}


_PLAIN = (type(None), bool, int, float, str, bytes)


class _Encoder:
    """Encodes the compiled form as marshal-able data. How to encode a value is decided
    once per type (a rulebook holds tens of thousands of small objects of a few types)."""

    def __init__(self, rulebook):
        from payerlint.compile import ir
        from payerlint.compile.rulebook import CompiledRulebook
        from payerlint.compile.tables import RowLines

        self.root = rulebook
        self._table, self._rulebook, self._row_lines = ir.Table, CompiledRulebook, RowLines
        self._by_type: dict[type, Any] = {t: None for t in _PLAIN}
        self._fields: dict[type, tuple[str, tuple[str, ...]]] = {}

    def encode(self, value: Any) -> Any:
        kind = type(value)
        try:
            how = self._by_type[kind]
        except KeyError:
            how = self._by_type[kind] = self._how(kind, value)
        return value if how is None else how(value)

    def _how(self, kind: type, value: Any):
        if isinstance(value, _PLAIN):
            return None
        if isinstance(value, Decimal):
            return lambda v: (_DEC, str(v))
        if isinstance(value, date):
            return lambda v: (_DATE, v.toordinal())
        if isinstance(value, tuple):
            return lambda v: (_T, [self.encode(x) for x in v])
        if isinstance(value, list):
            return lambda v: (_L, [self.encode(x) for x in v])
        if isinstance(value, MappingProxyType):
            return lambda v: (_PROXY, self.encode(dict(v)))
        if isinstance(value, dict):
            return lambda v: (_D, [self.encode(k) for k in v], [self.encode(x) for x in v.values()])
        if isinstance(value, frozenset):
            return lambda v: (_FROZEN, [self.encode(x) for x in sorted(v, key=repr)])
        if isinstance(value, set):
            return lambda v: (_SET, [self.encode(x) for x in sorted(v, key=repr)])
        if isinstance(value, self._row_lines):
            return lambda v: (_LINES, v.numbers.tobytes())
        if isinstance(value, self._rulebook):
            return lambda v: (_BASE, v.path) if v is not self.root else self.dataclass(v)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return self.dataclass
        if hasattr(value, "adj") and hasattr(value, "nodes"):  # a networkx graph
            return self._graph
        raise TypeError(f"cannot cache a {kind.__name__}")

    def _graph(self, value) -> Any:
        nodes = [(n, self.encode(dict(a))) for n, a in value.nodes(data=True)]
        edges = [(u, v, self.encode(dict(a))) for u, v, a in value.edges(data=True)]
        return (_GRAPH, marshal.dumps((nodes, edges)))

    def dataclass(self, value) -> Any:
        cls = type(value)
        known = self._fields.get(cls)
        if known is None:
            known = self._fields[cls] = (f"{cls.__module__}:{cls.__qualname__}",
                                         tuple(f.name for f in dataclasses.fields(cls)))
        name, names = known
        if cls is self._table:
            return (_C, name, [self.rows(value.rows, value.columns) if f == "rows" else self.encode(getattr(value, f))
                               for f in names])
        if cls is self._rulebook:
            # The graph and the layered view are rebuilt only when asked for: networkx and
            # the syntax tree stay unimported.
            return (_C, name, [(_LAZY, marshal.dumps(self.encode(getattr(value, f))))
                               if f in ("graph_data", "layered_data") else self.encode(getattr(value, f))
                               for f in names])
        encode = self.encode
        return (_C, name, [encode(getattr(value, f)) for f in names])

    def rows(self, rows, columns) -> Any:
        kinds = tuple(c.type.name for c in columns)
        keys = list(rows)
        width = len(keys[0]) if keys else 0
        if len(keys) >= COLUMN_ROWS and all(type(k) is str and "\n" not in k and "\0" not in k for key in keys for k in key):
            # Column by column, the keys as one text: a million rows read back in a fraction
            # of a second (a dict of a million tuples takes twice as long to rebuild).
            texts = ["\0".join(key) for key in keys]
            order = sorted(range(len(keys)), key=texts.__getitem__)
            values = list(rows.values())
            joined = "\n".join(texts[i] for i in order)
            columns_out = [[_cell(values[j][i]) for j in order] for i in range(width, len(kinds))]
            return (_COLUMNS, kinds, width, joined, columns_out)
        raw = {}
        for key, row in rows.items():
            raw[key] = tuple(_cell(v) for v in row)
        return (_ROWS, kinds, raw)


def _cell(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.toordinal()
    return value


class CachedRows:
    """A table's rows as a read-only mapping, each row decoded when it is read (a lookup
    by key touches one row; a million are never all built unless someone iterates)."""

    __slots__ = ("_raw", "_decode")

    def __init__(self, raw: dict, kinds: tuple):
        self._raw = raw
        converters = [(i, _decoders[k]) for i, k in enumerate(kinds) if k in _decoders]
        if converters:
            def decode(row, converters=tuple(converters)):
                values = list(row)
                for i, convert in converters:
                    if values[i] is not None:
                        values[i] = convert(values[i])
                return tuple(values)
        else:
            def decode(row):
                return row
        self._decode = decode

    def get(self, key, default=None):
        row = self._raw.get(key)
        return default if row is None else self._decode(row)

    def __getitem__(self, key):
        return self._decode(self._raw[key])

    def __contains__(self, key) -> bool:
        return key in self._raw

    def __iter__(self):
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def keys(self):
        return self._raw.keys()

    def values(self):
        return (self._decode(row) for row in self._raw.values())

    def items(self):
        return ((key, self._decode(row)) for key, row in self._raw.items())


_decoders: dict[str, Callable] = {"decimal": Decimal, "money": Decimal, "date": date.fromordinal}


class ColumnRows:
    """A table's rows kept column by column, with text keys in sorted order: a row is found
    by binary search (no dict of a million keys to rebuild: the keys are one split of one
    text, done the first time a row is looked up) and put together when it is read."""

    __slots__ = ("_kinds", "_width", "_joined", "_columns", "_keys", "_lock", "_decoders")

    def __init__(self, kinds: tuple, width: int, joined: str, columns: list):
        import threading

        self._kinds, self._width, self._joined, self._columns = kinds, width, joined, columns
        self._keys: list | None = None
        self._lock = threading.Lock()
        self._decoders = tuple(_decoders.get(kind) for kind in kinds[width:])

    def _texts(self) -> list:
        if self._keys is None:
            with self._lock:
                if self._keys is None:
                    self._keys = self._joined.split("\n") if self._joined else []
        return self._keys

    def _position(self, key) -> int | None:
        if type(key) is not tuple or not all(type(k) is str for k in key):
            return None
        text = "\0".join(key)
        texts = self._texts()
        at = bisect_left(texts, text)
        return at if at < len(texts) and texts[at] == text else None

    def _row(self, key: tuple, position: int) -> tuple:
        cells = []
        for column, decode in zip(self._columns, self._decoders):
            value = column[position]
            cells.append(decode(value) if decode is not None and value is not None else value)
        return tuple(key) + tuple(cells)

    def get(self, key, default=None):
        position = self._position(key)
        return default if position is None else self._row(key, position)

    def __getitem__(self, key):
        position = self._position(key)
        if position is None:
            raise KeyError(key)
        return self._row(key, position)

    def __contains__(self, key) -> bool:
        return self._position(key) is not None

    def __iter__(self):
        return (tuple(text.split("\0")) for text in self._texts())

    def __len__(self) -> int:
        return len(self._texts())

    def keys(self):
        return _Keys(self)

    def values(self):
        return (self._row(tuple(text.split("\0")), p) for p, text in enumerate(self._texts()))

    def items(self):
        for position, text in enumerate(self._texts()):
            key = tuple(text.split("\0"))
            yield key, self._row(key, position)


class _Keys:
    """`rows.keys()` of `ColumnRows`: membership and iteration by key tuple."""

    __slots__ = ("_rows",)

    def __init__(self, rows: ColumnRows):
        self._rows = rows

    def __contains__(self, key) -> bool:
        return key in self._rows

    def __iter__(self):
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)


_ABSENT = object()


class _Decoder:
    def __init__(self, load_base: Callable[[str], Any]):
        self.classes = _classes()
        self.load_base = load_base
        self._names: dict[str, tuple[type, tuple[str, ...]]] = {}
        d = self.decode
        self._by_tag = {
            _T: lambda v: tuple([d(x) for x in v[1]]),
            _L: lambda v: [d(x) for x in v[1]],
            _D: lambda v: {d(k): d(x) for k, x in zip(v[1], v[2])},
            _C: lambda v: self.dataclass(v[1], v[2]),
            _DEC: lambda v: Decimal(v[1]),
            _DATE: lambda v: date.fromordinal(v[1]),
            _PROXY: lambda v: MappingProxyType(d(v[1])),
            _FROZEN: lambda v: frozenset([d(x) for x in v[1]]),
            _SET: lambda v: {d(x) for x in v[1]},
            # A small table: decoded whole, into the same read-only dict a compile makes,
            # so the generated code's look-ups and membership tests stay in C.
            _ROWS: lambda v: MappingProxyType(dict(CachedRows(v[2], v[1]).items())),
            _COLUMNS: lambda v: ColumnRows(v[1], v[2], v[3], v[4]),
            _LINES: _row_numbers,
            _BASE: lambda v: self.load_base(v[1]),
            _LAZY: lambda v: _Lazy(v[1], self),
            _GRAPH: lambda v: _graph(v[1], self),
        }

    def decode(self, value: Any) -> Any:
        if type(value) is not tuple:
            return value
        how = self._by_tag.get(value[0])
        if how is None:
            raise ValueError(f"unknown tag {value[0]!r}")
        return how(value)

    def dataclass(self, name: str, fields: list) -> Any:
        known = self._names.get(name)
        if known is None:
            cls = self.classes.get(name)
            if cls is None and name.startswith(("payerlint.syntax.tree:", "payerlint.compile.layering:")):
                self.classes.update(_syntax_classes())
                cls = self.classes.get(name)
            if cls is None:
                raise ValueError(f"an entry names a class payerlint does not cache: {name}")
            known = self._names[name] = (cls, tuple(f.name for f in dataclasses.fields(cls)))
        cls, names = known
        if len(names) != len(fields):
            raise ValueError(f"{name} has {len(names)} fields, the entry {len(fields)}")
        obj = object.__new__(cls)
        decode = self.decode
        values = [decode(v) for v in fields]
        if name == "payerlint.compile.ir:Table":
            from payerlint.compile.tables import RowLines

            index = names.index("row_lines")
            if isinstance(values[index], array):
                values[index] = RowLines(values[names.index("rows")], values[index])
        setter = object.__setattr__
        for key, item in zip(names, values):
            setter(obj, key, item)
        return obj


def _row_numbers(value) -> array:
    numbers = array("I")
    numbers.frombytes(value[1])
    return numbers


class _Lazy:
    """An encoded part of an entry, decoded the first time it is needed."""

    __slots__ = ("data", "decoder")

    def __init__(self, data: bytes, decoder: _Decoder):
        self.data = data
        self.decoder = decoder

    def value(self):
        return self.decoder.decode(marshal.loads(self.data))


def _graph(data: bytes, decoder: _Decoder):
    import networkx as nx

    nodes, edges = marshal.loads(data)
    graph = nx.DiGraph()
    for node, attributes in nodes:
        graph.add_node(node, **decoder.decode(attributes))
    for u, v, attributes in edges:
        graph.add_edge(u, v, **decoder.decode(attributes))
    return nx.freeze(graph)


# ------------------------------------------------------------------ entries


def _chain(compiled) -> list[str]:
    """The real paths of a rulebook and each base under it, nearest first."""
    out = []
    while compiled is not None:
        out.append(os.path.realpath(compiled.path))
        compiled = compiled.base
    return out


def _dependencies(compiled) -> list[tuple[str, str]]:
    """(path, sha256) of every file this compile read, bases included."""
    paths = [compiled.path] + sorted({t.path for t in compiled.tables.values()})
    found = []
    for path in paths:
        digest = _file_hash(path)
        if digest is None:
            raise OSError(f"cannot read {path}")
        found.append((os.path.realpath(path), digest))
    if compiled.base is not None:
        found.extend(_dependencies(compiled.base))
    return found


def store(compiled) -> None:
    """Write an entry for `compiled` (quietly skipped where the cache cannot be written:
    a read-only home, no home at all)."""
    target = _entry_path(compiled.path)
    if target is None:
        return
    try:
        payload = marshal.dumps(_Encoder(compiled).encode(compiled))
        header = (MAGIC, FORMAT, environment(), _dependencies(compiled), hashlib.sha256(payload).hexdigest())
        data = marshal.dumps((header, payload))
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".entry-", delete=False) as handle:
            handle.write(data)
            temporary = handle.name
        os.replace(temporary, target)
        _prune(target.parent)
    except (OSError, TypeError, ValueError):
        return


def load(path: str, load_base: Callable[[str], Any]):
    """The cached compiled rulebook for the file at `path`, or None (no entry, a stale
    one, or one that does not read back)."""
    target = _entry_path(path)
    if target is None:
        return None
    try:
        data = target.read_bytes()
    except OSError:
        return None
    try:
        header, payload = marshal.loads(data)
        magic, version, env, dependencies, digest = header
        if magic != MAGIC or version != FORMAT or env != environment():
            return None
        for dependency, expected in dependencies:
            if _file_hash(dependency) != expected:
                return None
        if hashlib.sha256(payload).hexdigest() != digest:
            return None
        enabled = gc.isenabled()
        gc.disable()  # a million rows of tuples: collections would only slow this down
        try:
            compiled = _Decoder(load_base).decode(marshal.loads(payload))
        finally:
            if enabled:
                gc.enable()
        # The bases are loaded as the tree resolves them now: when any level of the chain
        # is another file than when this entry was written (a team tree's own base under a
        # bundled middle rulebook, two levels up), what was inherited is stale.
        if _chain(compiled) != [os.path.realpath(p) for p, _ in dependencies if p.endswith(".rules")]:
            return None
    except Exception:  # noqa: BLE001 - any entry that does not read back is a miss, never an error
        return None
    # No touch to mark it used: on an overlay file system that copies a 50 MiB entry. The
    # cache is pruned oldest-written first; an entry in use is rewritten whenever it goes stale.
    return compiled


def _prune(where: Path) -> None:
    sized = []
    for entry in where.glob("*.plc"):
        try:
            stat = entry.stat()
        except OSError:
            continue
        sized.append((stat.st_mtime_ns, entry.name, stat.st_size, entry))
    sized.sort(reverse=True)
    total = 0
    for kept, (_, _, size, entry) in enumerate(sized):
        total += size
        if kept == 0 or (kept < MAX_ENTRIES and total <= MAX_BYTES):
            continue
        try:
            entry.unlink()
        except OSError:
            pass


def clear() -> tuple[int, Path | None]:
    """Remove every entry: (how many, the folder)."""
    where = folder()
    if where is None or not where.is_dir():
        return 0, where
    count = 0
    for entry in where.glob("*.plc"):
        try:
            entry.unlink()
            count += 1
        except OSError:
            pass
    return count, where
