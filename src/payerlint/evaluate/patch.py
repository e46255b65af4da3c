"""JSON Patch (RFC 6902): applying operations, and combining every finding's fix into one
patch that applies in one go.

Nothing here copies a claim whole. An operation copies only the objects and arrays on
its path (and its value when it is put in place), so the claim as submitted is never
changed and a claim of any size or depth (an `x-` extension nested 500 deep) costs what
the path costs: combining the fixes of a claim is proportional to the fixes, not to it.

Each finding's fix is written against the claim as submitted. Two fixes can touch the
same array (one replaces a line's modifiers, another removes modifier 2 of the original
list), so simply concatenating them can break the claim. `combine` therefore applies the
operations one by one to a copy of the claim, and rebases each operation that names an
array position onto the array as it is by then, using the value that position held in
the claim as submitted. An operation whose target is already gone is dropped. Removals
of whole lines come last, highest index first, so earlier paths stay valid.

Two fixes that set the same value differently do not both go in (applied in turn, the
last would win, whichever it was). A number takes the smallest: the rules that lower a
count are caps (the units the minutes support, a payer's units per date, one unit of an
untimed code), and a claim bills no more than every one of them allows; a rule that
raises a count (a 15-minute service billed at 0) yields to a cap. Any other value keeps
the first fix's, in the result's order of findings (the claim's before the lines', denials
before warnings).
"""

from __future__ import annotations

import json
from typing import Any


class PatchError(ValueError):
    pass


def _tokens(pointer: str) -> list[str]:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PatchError(f"not a JSON pointer: {pointer}")
    tokens = pointer.split("/")[1:]
    if "~" in pointer:
        return [t.replace("~1", "/").replace("~0", "~") for t in tokens]
    return tokens


def _resolve(doc: Any, pointer: str):
    node = doc
    for token in _tokens(pointer):
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


def _index(token: str, size: int, appending: bool = False) -> int:
    if appending and token == "-":
        return size
    if not token.isdigit() or (len(token) > 1 and token[0] == "0"):
        raise PatchError(f"'{token}' is not an array index")
    index = int(token)
    if index > size or (index == size and not appending):
        raise PatchError("array index out of range")
    return index


def _detached(value: Any) -> Any:
    """A value put into the document: containers copied level by level without
    recursion (so depth cannot overflow the stack), scalars shared."""
    if not isinstance(value, (dict, list)):
        return value
    root = dict(value) if isinstance(value, dict) else list(value)
    stack = [root]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, item in list(items):
            if isinstance(item, (dict, list)):
                copy_ = dict(item) if isinstance(item, dict) else list(item)
                node[key] = copy_
                stack.append(copy_)
    return root


def apply_op(doc: Any, op: dict, owned: dict | None = None) -> Any:
    """The document after one operation, as a new document: the containers on the
    operation's path are copied, everything else is shared with `doc`, which is left as
    it was.

    `owned`: for a run of operations (`combine`), the copies made so far, by id. A
    container already copied is changed in place instead of copied again, so fifty fixes
    to a fifty-line claim copy its lines once, not fifty times. An operation that fails
    changes nothing: every check comes before the one change it makes."""
    tokens = _tokens(op["path"])
    kind = op["op"]
    if kind not in ("add", "remove", "replace", "test"):
        raise PatchError(f"unsupported operation '{kind}'")
    if not tokens:
        if kind in ("add", "replace"):
            return _detached(op["value"])
        if kind == "test":
            if doc != op["value"]:
                raise PatchError("test failed")
            return doc
        raise PatchError(f"cannot {kind} the whole document")
    try:
        # Copy each container from the root down to the parent of the target.
        root = _shallow(doc, owned)
        parent = root
        for token in tokens[:-1]:
            if isinstance(parent, list):
                key: Any = _index(token, len(parent))
            elif isinstance(parent, dict):
                key = token
            else:
                raise PatchError("path goes through a value that is not an object or array")
            child = _shallow(parent[key], owned)
            parent[key] = child
            parent = child
        last = tokens[-1]
        if isinstance(parent, list):
            if kind == "add":
                parent.insert(_index(last, len(parent), appending=True), _detached(op["value"]))
            else:
                index = _index(last, len(parent))
                if kind == "remove":
                    del parent[index]
                elif kind == "replace":
                    parent[index] = _detached(op["value"])
                elif parent[index] != op["value"]:
                    raise PatchError("test failed")
        elif isinstance(parent, dict):
            if kind == "add":
                parent[last] = _detached(op["value"])
            elif kind == "remove":
                del parent[last]
            elif kind == "replace":
                if last not in parent:
                    raise PatchError(f"nothing to replace at {op['path']}")
                parent[last] = _detached(op["value"])
            elif last not in parent or parent[last] != op["value"]:
                raise PatchError("test failed")
        else:
            raise PatchError("path goes through a value that is not an object or array")
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        raise PatchError(f"{kind} {op['path']}: {type(exc).__name__}") from None
    return root


def _shallow(node: Any, owned: dict | None = None) -> Any:
    if owned is not None and id(node) in owned:
        return node
    if isinstance(node, dict):
        node = dict(node)
    elif isinstance(node, list):
        node = list(node)
    else:
        return node
    if owned is not None:
        owned[id(node)] = node  # held, so its id is not reused while the run lasts
    return node


def apply(doc: Any, ops) -> Any:
    """The document after `ops`, as a new document (`doc` is left as it was; parts no
    operation touched are shared with it)."""
    for op in ops:
        doc = apply_op(doc, op)
    return doc


def _line_removal(op: dict) -> bool:
    tokens = op["path"].split("/")
    return op["op"] == "remove" and len(tokens) == 3 and tokens[1] == "lines" and tokens[2].isdigit()


def combine(original: dict | None, fixes, made: list | None = None) -> list[dict]:
    """Every fix's operations as one patch that applies to `original` in one go. With
    `made` (a list), the document the patch makes is appended to it: built on the way (each
    operation is applied to find conflicts), so a caller that checks it applies nothing."""
    ops: list[dict] = []
    seen: set = set()
    for fix in fixes:
        for op in fix:
            key = _op_key(op)
            if key not in seen:
                seen.add(key)
                ops.append(op)
    ops = _agreed(ops)
    removals = sorted((op for op in ops if _line_removal(op)), key=lambda op: int(op["path"].split("/")[2]),
                      reverse=True)
    others = [op for op in ops if not _line_removal(op)]
    if original is None:
        if made is not None:
            made.append(None)
        return others + removals
    doc = original  # never changed: the first operation copies what it changes
    owned: dict = {}
    out: list[dict] = []
    for op in others:
        rebased = _rebase(op, original, doc)
        if rebased is None:
            continue
        try:
            doc = apply_op(doc, rebased, owned)
        except PatchError:
            continue  # conflicts with an earlier fix (the same member already changed): keep the earlier
        out.append(rebased)
    if made is not None:
        for op in removals:
            try:
                doc = apply_op(doc, op, owned)
            except PatchError:
                doc = None  # the patch does not apply: no document to hand back
                break
        made.append(doc)
    return out + removals


def _op_key(op: dict):
    """What makes two operations the same: for an operation of op, path and no value or a
    text, whole-number, true/false or null value, a tuple (with the value's type, so 1 and
    true stay apart, as in JSON); canonical JSON for anything else (floats, where -0.0 and
    NaN need JSON's view, containers, operations with other members)."""
    value = op.get("value", _op_key)
    if len(op) == (2 if value is _op_key else 3) and (value is _op_key or value is None
                                                      or type(value) in (str, int, bool)):
        return op.get("op"), op.get("path"), type(value), value
    return json.dumps(op, sort_keys=True, default=str)


def _agreed(ops: list[dict]) -> list[dict]:
    """One value for each place two `replace` operations set (the module's docstring).
    Only single values: two rewrites of one array (a line's modifiers) are merged by
    `_rebase`, each made to the array as the fixes before it left it."""
    first: dict[str, int] = {}
    out: list[dict] = []
    for op in ops:
        if op["op"] != "replace" or isinstance(op.get("value", []), (list, dict)):
            out.append(op)
            continue
        at = first.get(op["path"])
        if at is None:
            first[op["path"]] = len(out)
            out.append(op)
            continue
        kept = out[at]["value"]
        if _number(op["value"]) and _number(kept) and op["value"] < kept:
            out[at] = {**out[at], "value": op["value"]}
    return out


def _number(value: Any) -> bool:
    return type(value) in (int, float)


def _has(doc: Any, pointer: str) -> bool:
    try:
        _resolve(doc, pointer)
    except (KeyError, IndexError, ValueError, TypeError):
        return False
    return True


def _rebase(op: dict, original: dict, doc: dict) -> dict | None:
    """`op` with an array position moved to where the value it named now stands."""
    tokens = _tokens(op["path"])
    if op["op"] == "add" and isinstance(op.get("value"), list) and tokens[-1:] != ["-"] and _has(original, op["path"]):
        # Adding a member the claim already has replaces it (RFC 6902): the same as a replace.
        op = {**op, "op": "replace"}
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
