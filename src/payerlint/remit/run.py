"""`payerlint remit`, end to end: claims checked (or saved results read), remittances read
and matched as they stream, decisions netted, every rule measured; the report as JSON-ready
values that the text, JSON and HTML writers all render (`remit/writers.py`), so the three
say the same numbers.

    claims, 837P, results --checked.read_checked (Router: the rulebook in force per date)--> Checked
    835 files --remittances.read_adjudications (match on the fly)--> Adjudication per CLP
    per claim --remittances.net--> the standing decision --measure.Measure--> report
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from payerlint.diagnostics import Diagnostic
from payerlint.remit.checked import Checked, read_checked
from payerlint.remit.families import Families
from payerlint.remit.measure import Measure, money
from payerlint.remit.remittances import Adjudication, Netting, ReadStats, net, read_adjudications

REPORT_VERSION = 1


@dataclass
class Outcome:
    report: dict[str, Any]
    problems: list[Diagnostic] = field(default_factory=list)


def build_report(remittances: Iterable[str | tuple[str, bytes]], claims: Iterable[str | tuple[str, bytes]], router: Any = None, registry: Any = None,
                 families: Families | None = None, draft_threshold: int = 2) -> Outcome:
    """The report for these remittance and claim files: paths, or (name, content) pairs
    (the service's uploads). `router` checks claims (a
    `payerlint.api.Router`; default: the bundled rulebooks)."""
    if router is None:
        from payerlint.api import Router

        router = Router()
    if registry is None:
        registry = getattr(router, "registry", None)
    families = families or Families.load()
    problems: list[Diagnostic] = []
    checked: dict[str, Checked] = {}
    duplicates: set[str] = set()
    order: list[str] = []
    claim_records = 0
    for item in read_checked(list(claims), router, registry):
        if isinstance(item, Diagnostic):
            problems.append(item)
            continue
        claim_records += 1
        if item.claim_id in checked:
            duplicates.add(item.claim_id)
            continue
        checked[item.claim_id] = item
        order.append(item.claim_id)
    for claim_id in sorted(duplicates):
        problems.append(Diagnostic("remit_duplicate_claim_id", f"claim id {claim_id} names two or more checked "
                                   "claims: its remittances are not matched (CLP01 cannot say which)",
                                   severity="warning"))

    stats = ReadStats()
    remit_problems: list[Diagnostic] = []
    by_claim: dict[str, list[Adjudication]] = {}
    for adjudication in read_adjudications(list(remittances), checked, duplicates, families, stats, remit_problems):
        by_claim.setdefault(adjudication.claim_id, []).append(adjudication)

    netting = Netting()
    measure = Measure(families)
    without = 0
    for claim_id in order:
        if claim_id in duplicates:
            continue
        adjudications = by_claim.get(claim_id)
        if not adjudications:
            without += 1
            continue
        decision = net(adjudications, netting)
        if decision is not None:
            measure.add(checked[claim_id], decision)

    from payerlint.remit.drafts import drafts

    not_checked = measure.not_checked
    summary = {
        "claims_read": claim_records, "claims_checked": sum(c.checked for c in checked.values()),
        "claims_measured": measure.claims_measured, "claims_without_remittance": without,
        "claims_not_checked_with_remittance": measure.not_checked_claims,
        "remittance_claims_unmatched": stats.unmatched_claims,
    }
    summary.update(measure.totals())
    report = {
        "report": "payerlint remit", "version": REPORT_VERSION,
        "summary": summary,
        "top_missed": measure.top_missed(),
        "rules": measure.rules_json(),
        "misses": Measure.groups_json(measure.misses),
        "unpredictable": Measure.groups_json(measure.unpredictable),
        "ambiguous_denials": Measure.groups_json(measure.ambiguous),
        "not_checked": {"denials": not_checked.count, "amount": money(not_checked.amount),
                        "claims": not_checked.claims},
        "trend": measure.trend_json(),
        "matching": {
            "lines_by": dict(sorted(measure.matched_by.items())),
            "ambiguous_lines": measure.ambiguous_line_count, "ambiguous": measure.ambiguous_lines,
            "unmatched_lines": measure.unmatched_line_count, "unmatched": measure.unmatched_lines,
            "unmatched_claim_ids": stats.unmatched_claim_ids, "duplicate_claim_ids": sorted(duplicates),
        },
        "remittances": {
            "files": stats.files, "transactions": stats.transactions, "claim_payments": stats.claim_payments,
            "service_lines": stats.service_lines, "reversals": stats.reversals,
            "reversals_applied": netting.reversals_applied, "reversals_unmatched": netting.reversals_unmatched,
            "replaced": netting.replaced, "reversed_without_new_decision": netting.reversed_without_new_decision,
            "errors": stats.errors, "warnings": stats.warnings,
        },
        "drafts": drafts(measure, checked, draft_threshold),
        "families": families.source,
        "diagnostics": [_diagnostic(d) for d in remit_problems + problems],
    }
    return Outcome(report, problems + remit_problems)


def _diagnostic(d: Diagnostic) -> dict[str, Any]:
    return {"code": d.code, "severity": d.severity, "message": d.message}
