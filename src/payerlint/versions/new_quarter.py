"""`payerlint quarter new PAYER 2027Q1`: start a quarter as a copy of the latest one.

The copy differs only in its header: the quarter, the dates of service in the opening
comment, and `extends family@quarter`, which moves to the same quarter of the base. The
compliance lead then edits what changed (the year's thresholds, the NCCI version).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from payerlint.diagnostics import Diagnostic, DiagnosticError
from payerlint.home import Home
from payerlint.quarter import Quarter, QuarterError


@dataclass(frozen=True, slots=True)
class NewQuarter:
    path: Path
    copied_from: Path
    changes: tuple[str, ...]


def family_of(home: Home, name: str) -> str:
    """A payer id (or alias) names its rulebook family; a family's own name is accepted too."""
    from payerlint.payers.registry import Registry

    if home.payer_folders():
        payer = Registry.load(home).resolve(name)
        if payer is not None:
            return payer.rulebook_family
    families = home.families()
    if name in families:
        return name
    from payerlint.diagnostics import did_you_mean

    raise DiagnosticError([Diagnostic("unknown_payer", f"no payer or rulebook family '{name}'",
                                      notes=(did_you_mean(name, families) or "families: " + ", ".join(families),))])


def new_quarter(home: Home, name: str, quarter_text: str) -> NewQuarter:
    try:
        quarter = Quarter.parse(quarter_text)
    except QuarterError as exc:
        raise DiagnosticError([Diagnostic("bad_quarter", str(exc))]) from None
    family = family_of(home, name)
    folder = home.rulebooks / family
    target = folder / f"{quarter}.rules"
    if target.exists():
        raise DiagnosticError([Diagnostic("exists", f"{target} already exists; payerlint will not overwrite it")])
    # The latest earlier quarter in any tree: a team starts its own copy of a bundled one.
    quarters = home.quarters_of(family)
    earlier = [(q, path) for q, path in quarters if q < quarter]
    if not earlier:
        raise DiagnosticError([Diagnostic("no_earlier_quarter", f"{family} has no rulebook before {quarter} to copy",
                                          notes=("quarters: " + (", ".join(str(q) for q, _ in quarters) or "none"),))])
    source_quarter, source = earlier[-1]
    text = source.read_text(encoding="utf-8")
    changes = []

    text, count = re.subn(rf"(?m)^(\s*quarter\s+){source_quarter}\b", rf"\g<1>{quarter}", text)
    if count:
        changes.append(f"quarter {source_quarter} -> {quarter}")
    old_range = f"{source_quarter.start.isoformat()} to {source_quarter.end.isoformat()}"
    if old_range in text:
        text = text.replace(old_range, f"{quarter.start.isoformat()} to {quarter.end.isoformat()}")
        changes.append(f"dates of service {old_range} -> {quarter.start} to {quarter.end}")

    def move_base(match: re.Match) -> str:
        base = match.group(2)
        if not home.rulebook_path(base, str(quarter)).is_file():
            raise DiagnosticError([Diagnostic(
                "no_base_quarter", f"{family}@{source_quarter} extends {base}@{match.group(3)}, but {base} has no "
                f"rulebook for {quarter} yet", notes=(f"start it first: payerlint quarter new {base} {quarter}",))])
        changes.append(f"extends {base}@{match.group(3)} -> {base}@{quarter}")
        return f"{match.group(1)}{base}@{quarter}"

    text = re.sub(r"(?m)^(\s*extends\s+)([a-z][a-z0-9]*(?:-[a-z0-9]+)*)@([0-9]{4}Q[1-4])", move_base, text)
    # Comments that name the quarter (`# ... rules for 2026Q3`, `# inherits <base>@2026Q3`).
    text, count = re.subn(rf"(?m)^(\s*#.*?)\b{source_quarter}\b",
                          lambda m: m.group(0).replace(str(source_quarter), str(quarter)), text)
    while count:
        text, count = re.subn(rf"(?m)^(\s*#.*?)\b{source_quarter}\b",
                              lambda m: m.group(0).replace(str(source_quarter), str(quarter)), text)
    folder.mkdir(parents=True, exist_ok=True)
    same_folder = source.parent.resolve() == folder.resolve()
    copied = _copy_tables(text, source.parent, folder) if not same_folder else []
    target.write_text(text, encoding="utf-8")
    changes.extend(f"copied table {name} from the {home.where(source)} tree" for name in copied)
    if same_folder:
        # Both quarters now read the same files: an edit made for the new quarter would
        # silently change what the earlier one decides (and `diff` would show no change).
        changes.extend(f"shares {name} with {source_quarter}: editing it changes {source_quarter} too; for a change "
                       f"from {quarter} on, copy it and point this quarter's `from` at the copy"
                       for name in dict.fromkeys(_TABLE_FROM.findall(text)) if (folder / name).is_file())
    return NewQuarter(target, source, tuple(changes))


# A table's file: `from "tables/x.csv"`, on the table's line or the next (not in a comment).
_TABLE_FROM = re.compile(r'(?m)^[^#\n]*\bfrom\s+"([^"\n]+)"')


def _copy_tables(text: str, source_folder: Path, target_folder: Path) -> list[str]:
    """The table files a copied rulebook names, copied from beside the rulebook it came
    from (a bundled one) to the same place beside the copy (in the team's tree), where they
    are not there yet: the copy compiles as the original did. A path that leaves the
    source tree is not followed (compile refuses it anyway)."""
    import shutil

    from payerlint.compile.declarations import outside_tree

    copied = []
    for relative in dict.fromkeys(_TABLE_FROM.findall(text)):
        original = source_folder / relative
        if outside_tree(str(original), str(source_folder)) is not None or not original.is_file():
            continue
        destination = target_folder / relative
        if outside_tree(str(destination), str(target_folder)) is not None or destination.exists():
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(original, destination)
        copied.append(relative)
    return copied
