"""JSON Patch (RFC 6902) for rulebook test cases: a case states only how its claim differs
from a base claim.

Separate from `evaluate/patch.py` (which rebases the fixes of several findings onto one
claim) because a test author needs a different thing from it: when an operation does not
apply, which one, and why, in words.

>>> apply_patch({"lines": [{"units": 2}]}, [{"op": "replace", "path": "/lines/0/units", "value": 1}])
{'lines': [{'units': 1}]}
"""

from __future__ import annotations

import copy
from typing import Any

OPS = ("add", "remove", "replace", "move", "copy", "test")


class PatchError(ValueError):
    def __init__(self, index: int, message: str):
        self.index = index
        """Which operation (0-based) did not apply."""
        super().__init__(message)


def _items(count: int) -> str:
    return f"{count} item" if count == 1 else f"{count} items"


def _tokens(pointer: Any, index: int) -> list[str]:
    if not isinstance(pointer, str) or (pointer and not pointer.startswith("/")):
        raise PatchError(index, f"'{pointer}' is not a JSON pointer: write it like /lines/0/units")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]] if pointer else []


def _walk(doc: Any, tokens: list[str], index: int, pointer: str) -> Any:
    node = doc
    for depth, token in enumerate(tokens):
        where = "/" + "/".join(tokens[:depth]) if depth else "the claim"
        if isinstance(node, dict):
            if token not in node:
                raise PatchError(index, f"{pointer}: {where} has no member '{token}'")
            node = node[token]
        elif isinstance(node, list):
            if not token.isdigit() or int(token) >= len(node):
                raise PatchError(index, f"{pointer}: {where} has {_items(len(node))}, so there is no item '{token}' "
                                        f"(items count from 0)")
            node = node[int(token)]
        else:
            raise PatchError(index, f"{pointer}: {where} is a single value, not an object or array")
    return node


def _place(doc: Any, pointer: str, index: int, adding: bool):
    tokens = _tokens(pointer, index)
    if not tokens:
        raise PatchError(index, "the path names the whole claim; name a member of it, like /lines/0/units")
    parent = _walk(doc, tokens[:-1], index, pointer)
    last = tokens[-1]
    if isinstance(parent, list):
        if adding and last == "-":
            return parent, len(parent)
        limit = len(parent) if adding else len(parent) - 1
        if not last.isdigit() or int(last) > limit:
            raise PatchError(index, f"{pointer}: the array has {_items(len(parent))}; "
                                    + ("add at 0 to {0} or at '-' for the end".format(len(parent)) if adding
                                       else f"there is no item {last} (items count from 0)"))
        return parent, int(last)
    if isinstance(parent, dict):
        if not adding and last not in parent:
            raise PatchError(index, f"{pointer}: there is no member '{last}' to change (use add to create it)")
        return parent, last
    raise PatchError(index, f"{pointer}: the parent is a single value, not an object or array")


def apply_patch(doc: Any, ops: list) -> Any:
    """Apply operations to a copy of `doc`; raises PatchError naming the first that fails."""
    doc = copy.deepcopy(doc)
    for index, op in enumerate(ops):
        if not isinstance(op, dict):
            raise PatchError(index, "an operation is an object like {\"op\": \"replace\", \"path\": \"/lines/0/units\", "
                                    "\"value\": 1}")
        kind = op.get("op")
        if kind not in OPS:
            raise PatchError(index, f"'{kind}' is not a JSON Patch operation; use one of {', '.join(OPS)}")
        if "path" not in op:
            raise PatchError(index, f"the {kind} operation has no \"path\"")
        if kind in ("add", "replace", "test") and "value" not in op:
            raise PatchError(index, f"the {kind} operation has no \"value\"")
        if kind in ("move", "copy") and "from" not in op:
            raise PatchError(index, f"the {kind} operation has no \"from\"")
        if kind == "test":
            found = _walk(doc, _tokens(op["path"], index), index, op["path"])
            if found != op["value"]:
                raise PatchError(index, f"{op['path']}: the test operation expected another value")
            continue
        if kind in ("move", "copy"):
            value = copy.deepcopy(_walk(doc, _tokens(op["from"], index), index, op["from"]))
            if kind == "move":
                _remove(doc, op["from"], index)
        else:
            value = copy.deepcopy(op.get("value"))
        if kind == "remove":
            _remove(doc, op["path"], index)
        elif kind == "replace":
            parent, key = _place(doc, op["path"], index, adding=False)
            parent[key] = value
        else:
            parent, key = _place(doc, op["path"], index, adding=True)
            if isinstance(parent, list):
                parent.insert(key, value)
            else:
                parent[key] = value
    return doc


def _remove(doc: Any, pointer: str, index: int) -> None:
    parent, key = _place(doc, pointer, index, adding=False)
    del parent[key]
