"""The measurement: each rule's predictions against the payer's standing decisions.

For each prediction (a finding whose rule names a denial code) on a claim whose
remittance was read, the outcome of its target (the line it names, or the whole claim):

    hit            denied with a CARC of the predicted code's family (carc_families.toml)
    false alarm    not denied at all: paid (the amount paid is the money column)
    other reason   denied, but on a ground of another family
    not tested     denied only on a ground no rule can predict (eligibility, timely
                   filing...): the payer never judged what the rule saw
    no outcome     the remittance has no service line that is surely this line

hit rate = hits / (hits + false alarms + other reason); false-alarm rate likewise.

Each denial on the remittance is then either predicted (some prediction on its line, or
on the whole claim, has its family), unpredictable (counted apart), on an ambiguous line
that one of its candidate lines predicted (counted apart: never guessed), or a miss. A
claim payerlint could not check (verdict error) predicted nothing: its denials are
counted apart, not as misses. Money is exact Decimal, written with two decimals.
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from payerlint.quarter import Quarter
from payerlint.remit.checked import Checked, Prediction
from payerlint.remit.families import Families
from payerlint.remit.remittances import CLAIM, ZERO, Adjudication, Denial

OUTCOMES = ("hit", "false_alarm", "other_reason", "not_tested", "no_outcome")
EXAMPLES = 10
"""Claim ids kept as evidence per rule, miss group and list: the first ones in input order."""


def money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))}"


def rate(part: int, whole: int) -> float | None:
    if not whole:
        return None
    return float((Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001")))


def quarter_of(day: datetime.date | None) -> str:
    return str(Quarter.of(day)) if day is not None else "unknown"


@dataclass
class Tally:
    counts: Counter = field(default_factory=Counter)
    amounts: dict = field(default_factory=lambda: defaultdict(Decimal))

    def add(self, outcome: str, amount: Decimal) -> None:
        self.counts[outcome] += 1
        self.amounts[outcome] += amount

    def to_json(self) -> dict[str, Any]:
        c = self.counts
        judged = c["hit"] + c["false_alarm"] + c["other_reason"]
        return {
            "predictions": sum(c[o] for o in OUTCOMES), "hits": c["hit"], "false_alarms": c["false_alarm"],
            "other_reason": c["other_reason"], "not_tested": c["not_tested"], "no_outcome": c["no_outcome"],
            "hit_rate": rate(c["hit"], judged), "false_alarm_rate": rate(c["false_alarm"], judged),
            "money": {"hits": money(self.amounts["hit"]), "false_alarms": money(self.amounts["false_alarm"]),
                      "other_reason": money(self.amounts["other_reason"])},
        }


@dataclass
class RuleRow:
    rule: str
    total: Tally = field(default_factory=Tally)
    by_place: dict = field(default_factory=lambda: defaultdict(Tally))
    severities: set = field(default_factory=set)
    codes: set = field(default_factory=set)
    rulebooks: set = field(default_factory=set)
    examples: dict = field(default_factory=lambda: defaultdict(list))


@dataclass
class Group:
    """Denials grouped by code, remarks and procedure."""

    family: str
    count: int = 0
    amount: Decimal = ZERO
    claims: list = field(default_factory=list)
    payers: set = field(default_factory=set)
    quarters: Counter = field(default_factory=Counter)

    def add(self, denial: Denial, claim: Checked, day: datetime.date | None) -> None:
        self.count += 1
        self.amount += denial.amount
        self.payers.add(claim.payer)
        self.quarters[quarter_of(day)] += 1
        if len(self.claims) < EXAMPLES and claim.claim_id not in self.claims:
            self.claims.append(claim.claim_id)


@dataclass
class Quarterly:
    predictions: int = 0
    hits: int = 0
    false_alarms: int = 0
    misses: int = 0
    denied: Decimal = ZERO
    caught: Decimal = ZERO
    missed: Decimal = ZERO
    unpredictable: Decimal = ZERO
    paid: Decimal = ZERO


class Measure:
    """Fed one (checked claim, standing adjudication) at a time; `to_json` is the report body."""

    def __init__(self, families: Families):
        self.families = families
        self.rules: dict[str, RuleRow] = {}
        self.misses: dict[tuple, Group] = {}
        self.unpredictable: dict[tuple, Group] = {}
        self.ambiguous: dict[tuple, Group] = {}
        self.trend: dict[str, Quarterly] = defaultdict(Quarterly)
        self.claims_measured = 0
        self.not_checked = Group("")
        self.not_checked_claims = 0
        self.ambiguous_lines: list[dict] = []
        self.unmatched_lines: list[dict] = []
        self.ambiguous_line_count = 0
        self.unmatched_line_count = 0
        self.matched_by: Counter = Counter()
        self.paid = ZERO
        self.caught = ZERO
        self.missed = ZERO
        self.false_alarm_paid = ZERO
        self.unpredictable_amount = ZERO
        self.ambiguous_amount = ZERO

    def family(self, reason: str) -> str:
        return self.families.of(reason).name

    def add(self, claim: Checked, decision: Adjudication) -> None:
        for line in decision.lines:
            self.matched_by[line.how] += 1
            if line.how == "ambiguous":
                self.ambiguous_line_count += 1
                if len(self.ambiguous_lines) < 100:
                    self.ambiguous_lines.append({"claim_id": claim.claim_id, "at": line.at, "procedure": line.procedure,
                                                 "candidates": [i + 1 for i in line.candidates]})
            elif line.index is None:
                self.unmatched_line_count += 1
                if len(self.unmatched_lines) < 100:
                    self.unmatched_lines.append({"claim_id": claim.claim_id, "at": line.at,
                                                 "procedure": line.procedure})
        if not claim.checked:
            self.not_checked_claims += 1
            for denial in decision.denials:
                self.not_checked.add(denial, claim, denial.date or claim.date_of_service)
            return
        self.claims_measured += 1
        self.paid += decision.paid
        dos_quarter = quarter_of(claim.date_of_service)
        self.trend[dos_quarter].paid += decision.paid
        false_alarm_claim = False
        false_alarm_lines: dict[int, Decimal] = {}
        for prediction in claim.predictions:
            outcome, amount, day = self._judge(claim, decision, prediction)
            self._count(claim, prediction, outcome, amount, day)
            if outcome == "false_alarm":
                if prediction.line is None:
                    false_alarm_claim = True
                else:
                    false_alarm_lines[prediction.line] = amount
        # Money of false alarms counted once per target: the claim's paid amount covers its lines.
        self.false_alarm_paid += decision.paid if false_alarm_claim else sum(false_alarm_lines.values(), ZERO)
        for denial in decision.denials:
            self._denial(claim, denial)

    def _judge(self, claim: Checked, decision: Adjudication,
               prediction: Prediction) -> tuple[str, Decimal, datetime.date | None]:
        if prediction.line is None:
            denials, paid, day = decision.denials, decision.paid, claim.date_of_service
        else:
            outcomes = [line for line in decision.lines if line.index == prediction.line]
            day = claim.lines[prediction.line].date if prediction.line < len(claim.lines) else None
            day = day or claim.date_of_service
            if not outcomes:
                return "no_outcome", ZERO, day
            denials = decision.claim_denials + tuple(d for line in outcomes for d in line.denials)
            paid = sum((line.paid for line in outcomes), ZERO)
        family = self.family(prediction.reason)
        same = [d for d in denials if d.family == family]
        if same:
            return "hit", sum((d.amount for d in same), ZERO), day
        judged = [d for d in denials if self.families.get(d.family) is None
                  or self.families.get(d.family).kind != "unpredictable"]  # type: ignore[union-attr]
        if judged:
            return "other_reason", sum((d.amount for d in judged), ZERO), day
        if denials:
            return "not_tested", ZERO, day
        return "false_alarm", paid, day

    def _count(self, claim: Checked, prediction: Prediction, outcome: str, amount: Decimal,
               day: datetime.date | None) -> None:
        row = self.rules.get(prediction.rule)
        if row is None:
            row = self.rules[prediction.rule] = RuleRow(prediction.rule)
        row.total.add(outcome, amount)
        row.by_place[(claim.payer, quarter_of(day))].add(outcome, amount)
        row.severities.add(prediction.severity)
        row.codes.add(prediction.code + "".join(f" {r}" for r in prediction.remarks))
        if prediction.rulebook:
            row.rulebooks.add(prediction.rulebook)
        examples = row.examples[outcome]
        if outcome in ("hit", "false_alarm", "other_reason") and len(examples) < EXAMPLES \
                and claim.claim_id not in examples:
            examples.append(claim.claim_id)
        quarterly = self.trend[quarter_of(day)]
        quarterly.predictions += 1
        quarterly.hits += outcome == "hit"
        quarterly.false_alarms += outcome == "false_alarm"

    def _denial(self, claim: Checked, denial: Denial) -> None:
        day = denial.date or claim.date_of_service
        quarterly = self.trend[quarter_of(day)]
        quarterly.denied += denial.amount
        family = self.families.get(denial.family)
        key = (denial.code, denial.remarks, denial.procedure)
        if family is not None and family.kind == "unpredictable":
            self.unpredictable.setdefault((denial.family,) + key, Group(denial.family)).add(denial, claim, day)
            self.unpredictable_amount += denial.amount
            quarterly.unpredictable += denial.amount
            return
        predicted = [p for p in claim.predictions if self.family(p.reason) == denial.family]
        whole_claim = denial.procedure == CLAIM

        def covers(p: Prediction) -> bool:
            # A prediction about the whole claim covers every denial on it, and any prediction
            # covers a denial of the whole claim; otherwise only the line it names.
            return p.line is None or whole_claim or (denial.line is not None and p.line == denial.line)

        if any(covers(p) for p in predicted):
            self.caught += denial.amount
            quarterly.caught += denial.amount
            return
        if denial.candidates and any(p.line in denial.candidates for p in predicted):
            self.ambiguous.setdefault(key, Group(denial.family)).add(denial, claim, day)
            self.ambiguous_amount += denial.amount
            return
        self.misses.setdefault(key, Group(denial.family)).add(denial, claim, day)
        self.missed += denial.amount
        quarterly.misses += 1
        quarterly.missed += denial.amount

    # -- the report body --

    def rules_json(self) -> list[dict[str, Any]]:
        out = []
        for rule in sorted(self.rules):
            row = self.rules[rule]
            body = {"rule": rule, "severities": sorted(row.severities), "codes": sorted(row.codes),
                    "rulebooks": sorted(row.rulebooks)}
            body.update(row.total.to_json())
            body["by_payer_quarter"] = [dict({"payer": payer, "quarter": quarter}, **tally.to_json())
                                        for (payer, quarter), tally in sorted(row.by_place.items())]
            body["examples"] = {"hits": row.examples["hit"], "false_alarms": row.examples["false_alarm"],
                                "other_reason": row.examples["other_reason"]}
            out.append(body)
        # Most predictions first, so the rules that matter most lead; ties by id.
        out.sort(key=lambda r: (-r["predictions"], r["rule"]))
        return out

    @staticmethod
    def groups_json(groups: dict[tuple, Group], with_family_key: bool = False) -> list[dict[str, Any]]:
        out = []
        for key, group in groups.items():
            code, remarks, procedure = key[-3:]
            out.append({"code": code, "family": group.family, "remarks": list(remarks), "procedure": procedure,
                        "count": group.count, "amount": money(group.amount), "payers": sorted(group.payers),
                        "quarters": dict(sorted(group.quarters.items())), "claims": group.claims})
        out.sort(key=lambda g: (-Decimal(g["amount"]), -g["count"], g["code"], g["procedure"], g["remarks"]))
        return out

    def top_missed(self, limit: int = 5) -> list[dict[str, Any]]:
        by_code: dict[tuple[str, str], list] = {}
        for (code, _remarks, _procedure), group in self.misses.items():
            entry = by_code.setdefault((code, group.family), [0, ZERO])
            entry[0] += group.count
            entry[1] += group.amount
        ranked = sorted(by_code.items(), key=lambda kv: (-kv[1][1], -kv[1][0], kv[0][0]))
        return [{"code": code, "family": family, "label": self._label(family), "count": count, "amount": money(amount)}
                for (code, family), (count, amount) in ranked[:limit]]

    def _label(self, family: str) -> str:
        found = self.families.get(family)
        return found.label if found is not None else family

    def trend_json(self) -> list[dict[str, Any]]:
        return [{"quarter": quarter, "predictions": q.predictions, "hits": q.hits, "false_alarms": q.false_alarms,
                 "misses": q.misses, "paid": money(q.paid), "denied": money(q.denied), "caught": money(q.caught),
                 "missed": money(q.missed), "unpredictable": money(q.unpredictable)}
                for quarter, q in sorted(self.trend.items())]

    def totals(self) -> dict[str, Any]:
        total = Tally()
        for row in self.rules.values():
            for outcome in OUTCOMES:
                total.counts[outcome] += row.total.counts[outcome]
                total.amounts[outcome] += row.total.amounts[outcome]
        body = total.to_json()
        body.pop("money")
        body["misses"] = sum(g.count for g in self.misses.values())
        body["unpredictable"] = sum(g.count for g in self.unpredictable.values())
        body["money"] = {
            "paid": money(self.paid), "denied": money(self.caught + self.missed + self.unpredictable_amount
                                                      + self.ambiguous_amount),
            "caught": money(self.caught), "missed": money(self.missed),
            "unpredictable": money(self.unpredictable_amount), "ambiguous": money(self.ambiguous_amount),
            "false_alarms_paid": money(self.false_alarm_paid),
        }
        return body

