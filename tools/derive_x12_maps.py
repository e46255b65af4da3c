"""Derive payerlint's compact X12 structure maps from pyx12's maps (a developer tool).

payerlint's X12 reader never imports pyx12; it reads the small text maps this script
writes into `src/payerlint/x12/maps/`. Run it again only to refresh them:

    pip install pyx12==4.0.0
    python tools/derive_x12_maps.py

What is kept: loops (id, usage, repeat, position, name), segments (id, usage, maximum
use, position, the qualifier that tells same-named segments apart, required elements
and components, composite elements, elements marked not used). Element code lists,
lengths and syntax rules are left out: payerlint checks the codes it reads itself.

pyx12 is (c) John Holland, BSD licence; its notice is copied into each map's header.
"""

from __future__ import annotations

import os
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

MAPS = {
    # pyx12 map file -> (our file, transaction set id, version)
    "837.5010.X222.A1.xml": ("837p-005010X222A1.map", "837", "005010X222A1"),
    "835.5010.X221.A1.xml": ("835-005010X221A1.map", "835", "005010X221A1"),
}

NOTICE = """\
# Derived by tools/derive_x12_maps.py from pyx12 4.0.0, map {source}.
# pyx12: Copyright (c) John Holland <john@zoner.org>. All rights reserved.
# Redistribution and use in source and binary forms, with or without modification, are
# permitted provided that the following conditions are met: (1) redistributions of source
# code must retain the above copyright notice, this list of conditions and the following
# disclaimer; (2) redistributions in binary form must reproduce the above copyright notice,
# this list of conditions and the following disclaimer in the documentation and/or other
# materials provided with the distribution; (3) the name of the author may not be used to
# endorse or promote products derived from this software without specific prior written
# permission. THIS SOFTWARE IS PROVIDED BY THE AUTHOR "AS IS" AND ANY EXPRESS OR IMPLIED
# WARRANTIES ARE DISCLAIMED (full text: pyx12's LICENSE.txt).
#
# Format (read by payerlint/x12/structure.py); indentation nests loops:
#   loop ID USAGE REPEAT @POS NAME
#   seg ID USAGE MAX @POS [key=EE[-C]:CODE|CODE...] [req=EE,EE-C,...] [comp=EE,...] [unused=EE,...]
# USAGE is R (required) or S (situational); REPEAT/MAX '*' means no limit. POS orders
# siblings (dotted parts compare in turn). `key` is where
# the qualifier telling same-named segments apart sits, and its codes. `req` lists the
# elements that must not be empty and, as EE-C, the components required whenever their
# composite is present.
"""


def _usage(node) -> str:
    return (node.findtext("usage") or "S").strip()


def _count(text: str | None) -> str:
    text = (text or "1").strip()
    return "*" if text.startswith(">") else text


def _seq(node) -> int:
    return int(node.findtext("seq"))


def _key(seg) -> str:
    """Where pyx12 reads the qualifier that identifies this segment (map_if/_segment.py)."""
    children = [c for c in seg if c.tag in ("element", "composite")]
    first = children[0] if children else None
    if first is not None and first.tag == "element":
        codes = [c.text for c in first.findall("valid_codes/code")]
        if codes and first.findtext("data_type", "ID") in ("ID",) and _usage(first) == "R":
            return f"{_seq(first):02d}:" + "|".join(codes)
    if first is not None and first.tag == "composite":
        sub = first.find("element")
        codes = [c.text for c in sub.findall("valid_codes/code")] if sub is not None else []
        if codes and sub.findtext("data_type", "ID") == "ID":
            return f"{_seq(first):02d}-{_seq(sub)}:" + "|".join(codes)
    if seg.get("xid") == "HL" and len(children) > 2:
        codes = [c.text for c in children[2].findall("valid_codes/code")]
        if codes:
            return "03:" + "|".join(codes)
    return ""


def _segment(seg, depth: int, prefix: str) -> str:
    req, comp, unused = [], [], []
    for child in seg:
        if child.tag == "element":
            if _usage(child) == "R":
                req.append(f"{_seq(child):02d}")
            elif _usage(child) == "N":
                unused.append(f"{_seq(child):02d}")
        elif child.tag == "composite":
            seq = _seq(child)
            comp.append(f"{seq:02d}")
            if _usage(child) == "R":
                req.append(f"{seq:02d}")
            elif _usage(child) == "N":
                unused.append(f"{seq:02d}")
            if _usage(child) != "N":
                for sub in child.findall("element"):
                    if _usage(sub) == "R":
                        req.append(f"{seq:02d}-{_seq(sub)}")
    parts = [f"seg {seg.get('xid')} {_usage(seg)} {_count(seg.findtext('max_use'))} @{prefix}{seg.findtext('pos').strip()}"]
    key = _key(seg)
    if key:
        parts.append(f"key={key}")
    for name, values in (("req", req), ("comp", comp), ("unused", unused)):
        if values:
            parts.append(f"{name}={','.join(values)}")
    return "  " * depth + " ".join(parts)


def _children(node, depth: int, usage_cap: str, out: list[str], prefix: str = "") -> None:
    for child in node:
        if child.tag == "segment":
            if child.get("xid") in ("ST", "SE"):
                continue  # the envelope reader owns ST and SE
            out.append(_segment(child, depth, prefix))
        elif child.tag == "loop":
            usage = _usage(child)
            if usage_cap == "S":
                usage = "S"  # a required loop inside an optional wrapper is optional
            if child.get("type") == "wrapper":
                # HEADER/DETAIL/FOOTER have no loop of their own; positions restart inside
                # each, so the wrapper's position goes first: @0120.0030.
                _children(child, depth, usage, out, f"{child.findtext('pos').strip()}.")
                continue
            name = (child.findtext("name") or "").strip()
            out.append("  " * depth + f"loop {child.get('xid')} {usage} {_count(child.findtext('repeat'))} "
                       f"@{prefix}{child.findtext('pos').strip()} {name}")
            _children(child, depth + 1, "R", out)


def derive(source: Path, transaction: str, version: str) -> str:
    root = ET.parse(source).getroot()
    st_loop = next(loop for loop in root.iter("loop") if loop.get("xid") == "ST_LOOP")
    out = [NOTICE.format(source=source.name).rstrip("\n"), f"transaction {transaction} {version}"]
    _children(st_loop, 0, "R", out)
    return "\n".join(out) + "\n"


def main() -> int:
    import pyx12

    folder = Path(os.path.dirname(pyx12.__file__)) / "map"
    target = Path(__file__).resolve().parent.parent / "src" / "payerlint" / "x12" / "maps"
    for source, (name, transaction, version) in MAPS.items():
        (target / name).write_text(derive(folder / source, transaction, version), encoding="utf-8")
        print(f"wrote {target / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
