"""JSON Patch (RFC 6902): applying operations, and combining every finding's fix into one
patch that applies in one go.

Each finding's fix is written against the claim as submitted. Two fixes can touch the
same array (one replaces a line's modifiers, another removes modifier 2 of the original
list), so simply concatenating them can break the claim. `combine` therefore applies the
operations one by one to a copy of the claim, and rebases each operation that names an
array position onto the array as it is by then, using the value that position held in
the claim as submitted. An operation whose target is already gone is dropped. Removals
of whole lines come last, highest index first, so earlier paths stay valid.
"""

from __future__ import annotations

import copy
import json
from typing import Any


class PatchError(ValueError):
    pass


def _tokens(pointer: str) -> list[str]:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PatchError(f"not a JSON pointer: {pointer}")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]


def _parent(doc: Any, tokens: list[str]):
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, list):
            node = node[int(token)]
        elif isinstance(node, dict):
            node = node[token]
        else:
            raise PatchError("path goes through a value that is not an object or array")
    return node


def _resolve(doc: Any, pointer: str):
    node = doc
    for token in _tokens(pointer):
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


def apply_op(doc: Any, op: dict) -> Any:
    """Apply one operation in place (the document itself is returned for a root change)."""
    tokens = _tokens(op["path"])
    kind = op["op"]
    if not tokens:
        if kind in ("add", "replace"):
            return copy.deepcopy(op["value"])
        raise PatchError(f"cannot {kind} the whole document")
    try:
        parent = _parent(doc, tokens)
        last = tokens[-1]
        if isinstance(parent, list):
            if kind == "add":
                index = len(parent) if last == "-" else int(last)
                if not 0 <= index <= len(parent):
                    raise PatchError("array index out of range")
                parent.insert(index, copy.deepcopy(op["value"]))
            elif kind == "remove":
                del parent[int(last)]
            elif kind == "replace":
                parent[int(last)] = copy.deepcopy(op["value"])
            elif kind == "test":
                if parent[int(last)] != op["value"]:
                    raise PatchError("test failed")
        else:
            if kind == "add":
                parent[last] = copy.deepcopy(op["value"])
            elif kind == "remove":
                del parent[last]
            elif kind == "replace":
                if last not in parent:
                    raise PatchError(f"nothing to replace at {op['path']}")
                parent[last] = copy.deepcopy(op["value"])
            elif kind == "test":
                if parent.get(last) != op["value"]:
                    raise PatchError("test failed")
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        raise PatchError(f"{kind} {op['path']}: {exc}") from None
    return doc


def apply(doc: Any, ops) -> Any:
    """A patched copy of `doc`."""
    out = copy.deepcopy(doc)
    for op in ops:
        out = apply_op(out, op)
    return out


def _line_removal(op: dict) -> bool:
    tokens = op["path"].split("/")
    return op["op"] == "remove" and len(tokens) == 3 and tokens[1] == "lines" and tokens[2].isdigit()


def combine(original: dict | None, fixes) -> list[dict]:
    """Every fix's operations as one patch that applies to `original` in one go."""
    ops: list[dict] = []
    seen: set[str] = set()
    for fix in fixes:
        for op in fix:
            key = json.dumps(op, sort_keys=True, default=str)
            if key not in seen:
                seen.add(key)
                ops.append(op)
    removals = sorted((op for op in ops if _line_removal(op)), key=lambda op: int(op["path"].split("/")[2]),
                      reverse=True)
    others = [op for op in ops if not _line_removal(op)]
    if original is None:
        return others + removals
    doc = copy.deepcopy(original)
    out: list[dict] = []
    for op in others:
        rebased = _rebase(op, original, doc)
        if rebased is None:
            continue
        try:
            doc = apply_op(doc, rebased)
        except PatchError:
            continue  # conflicts with an earlier fix (the same member already changed): keep the earlier
        out.append(rebased)
    return out + removals


def _rebase(op: dict, original: dict, doc: dict) -> dict | None:
    """`op` with an array position moved to where the value it named now stands."""
    tokens = _tokens(op["path"])
    if op["op"] == "replace" and isinstance(op.get("value"), list):
        # A whole array rewritten from the claim as submitted: when an earlier fix already
        # changed it, make the same change (what it dropped, what it added) to the array
        # as it is now.
        try:
            before, now = _resolve(original, op["path"]), _resolve(doc, op["path"])
        except (KeyError, IndexError, ValueError, TypeError):
            return op
        if isinstance(before, list) and isinstance(now, list) and before != now:
            dropped = [v for v in before if v not in op["value"]]
            added = [v for v in op["value"] if v not in before]
            merged = [v for v in now if v not in dropped] + [v for v in added if v not in now]
            return None if merged == now else {"op": "replace", "path": op["path"], "value": merged}
        return op
    if not tokens or op["op"] not in ("remove", "replace") or not tokens[-1].isdigit():
        # Appends (`/-`) and whole-member adds: an add of a whole array the claim left out
        # becomes appends when an earlier operation already created it.
        if op["op"] == "add" and isinstance(op.get("value"), list) and not tokens[-1:] == ["-"]:
            try:
                existing = _resolve(doc, op["path"])
            except (KeyError, IndexError, ValueError, TypeError):
                return op
            if isinstance(existing, list):
                missing = [v for v in op["value"] if v not in existing]
                if not missing:
                    return None
                return {"op": "replace", "path": op["path"], "value": existing + missing}
        return op
    parent_pointer = "/" + "/".join(t.replace("~", "~0").replace("/", "~1") for t in tokens[:-1])
    try:
        before = _resolve(original, parent_pointer)
        now = _resolve(doc, parent_pointer)
    except (KeyError, IndexError, ValueError, TypeError):
        return op
    if not isinstance(before, list) or not isinstance(now, list) or before == now:
        return op
    index = int(tokens[-1])
    if index >= len(before):
        return None
    wanted = before[index]
    if wanted not in now:
        return None  # already gone
    rebased = dict(op)
    rebased["path"] = f"{parent_pointer}/{now.index(wanted)}"
    return rebased
