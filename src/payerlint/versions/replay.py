"""Impact replay: check every claim under both versions, and attribute each difference
to the rule and the underlying change that caused it.

Attribution reads what the rule read. Each rule that fired differently is re-run in its
traced form on that claim, under the old and the new rulebook; its reads (params,
definitions, table rows by key, code set members, phrases) are matched against the diff.
A rule that was itself edited, added, removed or disabled is attributed to that edit.

Claims stream through one at a time; only counters are kept, so memory does not grow
with the number of claims.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from payerlint.check import Checker
from payerlint.claims.model import Claim
from payerlint.claims.reader import Record
from payerlint.claims.validate import ClaimValidator
from payerlint.evaluate.engine import trace_rule
from payerlint.evaluate.prepare import prepare
from payerlint.evaluate.reads import DefinitionRead, MemberRead, ParamRead, PhraseRead, RowRead, TableRead
from payerlint.evaluate.result import Finding, Result
from payerlint.evaluate.values import format_value
from payerlint.versions.diff import RulebookDiff


@dataclass(frozen=True)
class Difference:
    rule: str
    line: int | None
    was: Finding | None
    now: Finding | None
    causes: tuple[dict, ...]
    evaluation: str | None = None
    """'now not evaluated' or 'no longer not evaluated', for a change in what could run."""
    missing: str | None = None
    """The JSON pointer of the value that decides it, for those."""

    @property
    def kind(self) -> str:
        if self.evaluation is not None:
            return self.evaluation
        if self.was is None:
            return "new finding"
        if self.now is None:
            return "finding gone"
        return "finding changed"

    def to_json(self) -> dict:
        def brief(f: Finding | None):
            return None if f is None else {"severity": f.severity, "category": f.category, "message": f.message,
                                           "fix": list(f.fix)}
        out = {"rule": self.rule, "line": self.line, "kind": self.kind, "was": brief(self.was), "now": brief(self.now),
               "causes": list(self.causes)}
        if self.missing is not None:
            out["missing"] = self.missing
        return out


@dataclass(frozen=True)
class Impact:
    claim_id: str | None
    record: str | None
    old: Result
    new: Result
    differences: tuple[Difference, ...]

    def to_json(self) -> dict:
        return {"claim_id": self.claim_id, "record": self.record,
                "old_verdict": self.old.verdict, "new_verdict": self.new.verdict,
                "differences": [d.to_json() for d in self.differences]}


@dataclass
class Summary:
    checked: int = 0
    changed: int = 0
    verdicts: Counter = field(default_factory=Counter)
    """'clean -> deny' -> claims."""
    causes: Counter = field(default_factory=Counter)
    """'param kx_threshold_pt_slp' -> claims it changed."""
    cause_kinds: Counter = field(default_factory=Counter)
    """'param' / 'table row' / 'code set member' / 'rule edit' ... -> claims."""
    unattributed: int = 0
    """Claims whose comparison failed inside payerlint (a bug), counted rather than lost."""
    invalid: int = 0
    """Records neither rulebook could check (not JSON, not a claim, not valid): the same
    error under both, so no change, but not claims the replay compared either."""

    def to_json(self) -> dict:
        return {"claims_checked": self.checked, "claims_changed": self.changed, "claims_invalid": self.invalid,
                "verdict_changes": dict(sorted(self.verdicts.items())),
                "by_kind_of_change": dict(sorted(self.cause_kinds.items())),
                "by_change": dict(sorted(self.causes.items())), "internal_errors": self.unattributed}


# Edits to these parts of a rule can change a claim's findings; a new title or citation cannot.
OUTCOME_PARTS = {"condition", "scope", "severity", "category", "message", "fix"}


def _key(f: Finding) -> tuple:
    return (f.rule, f.line)


def _same(a: Finding, b: Finding) -> bool:
    return (a.severity, a.category, a.message, a.fix) == (b.severity, b.category, b.message, b.fix)


class Replay:
    def __init__(self, diff: RulebookDiff, old, new):
        self.diff = diff
        self.old = old
        self.new = new
        validator = ClaimValidator()
        self.old_checker = Checker(old, validator=validator)
        self.new_checker = Checker(new, validator=validator)
        self._programs = (prepare(old), prepare(new))
        self.summary = Summary()
        self._rule_changes = {c.name: c for c in diff.changes if c.kind == "rule"}

    def run(self, records: Iterable[Record]) -> Iterator[Impact]:
        for record in records:
            try:
                impact = self.one(record)
            except (KeyboardInterrupt, SystemExit, GeneratorExit):
                raise
            except BaseException:  # noqa: BLE001 - one claim must never end the replay
                # Both checks never raise; attribution that fails on one claim loses only
                # that claim's explanation, counted so the summary does not hide it.
                self.summary.unattributed += 1
                continue
            if impact is not None:
                yield impact

    def one(self, record: Record) -> Impact | None:
        old = self.old_checker.check_record(record)
        new = self.new_checker.check_record(record)
        self.summary.checked += 1
        if old.verdict == "error" and new.verdict == "error":
            self.summary.invalid += 1
            return None  # an unreadable or invalid claim is the same under both
        try:
            claim = Claim(record.data) if record.data is not None else None
        except ValueError:
            claim = None
        differences = []
        # Findings are grouped by rule and line (a rule for each date, or for the claim,
        # can have several findings without a line); within a group, identical findings
        # cancel, one left on each side is a changed finding, the rest are new or gone.
        groups: dict[tuple, tuple[list, list]] = {}
        for side, result in ((0, old), (1, new)):
            for finding in result.findings:
                groups.setdefault(_key(finding), ([], []))[side].append(finding)
        for key in sorted(groups, key=lambda k: (k[1] is not None, k[1] or 0, k[0])):
            before, after = groups[key]
            for finding in list(before):
                twin = next((f for f in after if _same(f, finding)), None)
                if twin is not None:
                    before.remove(finding)
                    after.remove(twin)
            if not before and not after:
                continue
            causes = self._causes(claim, key[0], key[1])
            if len(before) == 1 and len(after) == 1:
                differences.append(Difference(key[0], key[1], before[0], after[0], causes))
                continue
            differences.extend(Difference(key[0], key[1], f, None, causes) for f in before)
            differences.extend(Difference(key[0], key[1], None, f, causes) for f in after)
        # A rule that starts or stops being 'not evaluated' changes what the claim is known to pass.
        skipped_before = {(n.rule, n.missing) for n in old.not_evaluated}
        skipped_after = {(n.rule, n.missing) for n in new.not_evaluated}
        for rule_id, pointer in sorted(skipped_before ^ skipped_after):
            now_skipped = (rule_id, pointer) in skipped_after
            differences.append(Difference(rule_id, None, None, None, self._causes(claim, rule_id, None),
                                          "now not evaluated" if now_skipped else "no longer not evaluated",
                                          pointer))
        if not differences and old.verdict == new.verdict:
            return None
        self.summary.changed += 1
        if old.verdict != new.verdict:
            self.summary.verdicts[f"{old.verdict} -> {new.verdict}"] += 1
        kinds, names = set(), set()
        for difference in differences:
            for cause in difference.causes:
                kinds.add(cause["kind"])
                names.add(f"{cause['kind']} {cause['name']}")
        for kind in kinds:
            self.summary.cause_kinds[kind] += 1
        for name in names:
            self.summary.causes[name] += 1
        return Impact(new.claim_id, record.origin, old, new, tuple(differences))

    # -- attribution
    def _causes(self, claim: Claim | None, rule_id: str, line: int | None) -> tuple[dict, ...]:
        causes: dict[tuple, dict] = {}
        edit = self._rule_changes.get(rule_id)
        if edit is not None and edit.action not in ("changed", "still disabled"):
            # Added, removed, disabled or enabled: that alone explains the difference.
            return ({"kind": f"rule {edit.action}", "name": rule_id, "detail": edit.summary()},)
        if edit is not None and set(edit.details.get("parts", ())) & OUTCOME_PARTS:
            causes[("rule", rule_id)] = {"kind": "rule edit", "name": rule_id, "detail": edit.summary()}
        reads = []
        for program in self._programs:
            if claim is not None and program.compiled.rule(rule_id) is not None:
                reads.extend(trace_rule(program, claim, rule_id, line))
        diff = self.diff
        for read in reads:
            if isinstance(read, ParamRead):
                change = diff.find("param", read.name)
                if change is not None and change.details.get("value_changed"):
                    causes[("param", read.name)] = {"kind": "param", "name": read.name, "detail": change.summary()}
            elif isinstance(read, DefinitionRead):
                change = diff.find("let", read.name)
                if change is not None:
                    causes[("definition", read.name)] = {"kind": "definition edit", "name": read.name,
                                                         "detail": change.summary()}
            elif isinstance(read, RowRead):
                changed = diff.row_changes.get(read.table, {})
                if read.key in changed:
                    old_row, new_row = changed[read.key]
                    what = "added" if old_row is None else "removed" if new_row is None else "changed"
                    shown = ", ".join(format_value(k) for k in read.key)
                    causes[("row", read.table, read.key)] = {"kind": "table row", "name": f"{read.table} ({shown})",
                                                             "detail": f"row ({shown}) of table {read.table} {what}"}
            elif isinstance(read, TableRead):
                change = diff.find("table", read.table)
                if change is not None and diff.row_changes.get(read.table):
                    causes[("table", read.table)] = {"kind": "table", "name": read.table, "detail": change.summary()}
            elif isinstance(read, MemberRead):
                name, code = read.code_set, read.value
                before, after = self.old.codesets.get(name), self.new.codesets.get(name)
                if before is not None and after is not None and (code in before) != (code in after):
                    how = "added to" if code in after else "removed from"
                    causes[("member", name, code)] = {"kind": "code set member", "name": f"{name} {code}",
                                                      "detail": f"{code} {how} code set {name}"}
            elif isinstance(read, PhraseRead):
                name, phrase = read.phrases, read.phrase
                if phrase in diff.member_changes.get(name, ()):
                    change = diff.find("phrases", name)
                    how = "added to" if phrase in change.details.get("added", ()) else "removed from"
                    causes[("phrase", name, phrase)] = {"kind": "phrase", "name": f"{name} \"{phrase}\"",
                                                        "detail": f"\"{phrase}\" {how} phrase set {name}"}
        if not causes:
            return ({"kind": "unattributed", "name": rule_id,
                     "detail": "no change in what this rule read explains the difference"},)
        return tuple(causes[k] for k in sorted(causes, key=str))
