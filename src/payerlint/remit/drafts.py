"""Drafts for recurring misses: a rule (and, for a bundling denial, an NCCI table row) a
lead can paste into a rulebook, with the evidence (claim ids, codes, money) in comments.

A draft is a starting point, never a finding: it warns (a rule with no source must not
deny), its citation says ASSUMPTION until the lead writes the payer's policy, and its
condition names only the procedure the payer denied, for the lead to narrow.
"""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal
from typing import Any

from payerlint.remit.checked import Checked
from payerlint.remit.remittances import CLAIM

_ID = re.compile(r"[^a-z0-9_]+")


def drafts(measure: Any, checked: dict[str, Checked], threshold: int = 2) -> list[dict[str, Any]]:
    """One draft per miss group (code, remarks, procedure) seen at least `threshold` times,
    for a predictable family and a procedure (not a denial of the whole claim)."""
    out = []
    for key, group in measure.misses.items():
        code, remarks, procedure = key
        family = measure.families.get(group.family)
        if group.count < threshold or procedure == CLAIM or family is None or family.kind != "predictable" \
                or not code or "-" not in code:
            continue
        rule_id = "draft." + _ID.sub("_", f"{code}_{procedure}".lower()).strip("_")
        remark_text = "".join(f" {r}" for r in remarks)
        evidence = (f"# Evidence: {code}{' (remarks' + remark_text + ')' if remarks else ''} on {procedure}, "
                    f"{group.count} denials, {group.amount.quantize(Decimal('0.01'))} denied; payers "
                    f"{', '.join(sorted(group.payers))}; quarters {', '.join(sorted(group.quarters))}; "
                    f"claims {', '.join(group.claims)}")
        denial = f"denial {code}" + (f" remark{remark_text}" if remarks else "")
        rule = "\n".join([
            f"# Draft by payerlint remit: the payer denied {procedure} with {code} and no rule predicted it.",
            evidence,
            "# The condition names only the procedure: narrow it to what the payer's policy says, and cite it.",
            f'rule {rule_id} "{procedure} denied with {code} on the payer\'s remittances"',
            "  for each line",
            f"  category {family.category}  severity warn  {denial}",
            f'  when code = "{procedure}"',
            f'  say "{{code}} on {{date}}: the payer denied this procedure with {code} on earlier claims; '
            f'check its policy before billing"',
            '  cite "ASSUMPTION: drafted by payerlint remit from remittances; replace with the payer\'s policy"',
            "",
        ])
        draft: dict[str, Any] = {"rule": rule_id, "code": code, "remarks": list(remarks), "procedure": procedure,
                                 "family": group.family, "count": group.count,
                                 "amount": f"{group.amount.quantize(Decimal('0.01'))}", "claims": group.claims,
                                 "text": rule}
        if group.family == "bundling":
            row = _ptp_row(procedure, code, group, checked)
            if row is not None:
                draft["ptp_row"] = row
        out.append(draft)
    out.sort(key=lambda d: (-d["count"], d["rule"]))
    return out


def _ptp_row(procedure: str, code: str, group: Any, checked: dict[str, Checked]) -> str | None:
    """A row for the NCCI table (column_1 = the code billed beside it most often on the same
    date in the evidence claims, column_2 = the denied procedure), or None when no evidence
    claim had another code that day."""
    beside: Counter = Counter()
    first = None
    for claim_id in group.claims:
        claim = checked.get(claim_id)
        if claim is None:
            continue
        days = {line.date for line in claim.lines if line.code == procedure}
        for line in claim.lines:
            if line.code != procedure and line.date in days:
                beside[line.code] += 1
        dated = sorted(d for d in days if d is not None)
        if dated and (first is None or dated[0] < first):
            first = dated[0]
    if not beside:
        return None
    column_1 = sorted(beside.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
    effective = first.isoformat() if first is not None else ""
    return (f'{column_1},{procedure},{effective},,1,no,"payerlint remit: {code} on claims '
            f'{" ".join(group.claims)}",C,"ASSUMPTION: seen on remittances only; confirm in the CMS PTP file"')
