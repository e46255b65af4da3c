"""ASC X12 for payerlint: 837P professional claims in (`read_837p`) and out
(`write_837p`), fixes told as 837P edits (`translate_fix`), and 835 remittance advice in
(`read_835`). See docs/x12.md for what is read from where.

Readers never raise and never drop anything: every claim (or claim payment) is a record,
and every part of a file that could not be read is a record with its diagnostics.
"""

from payerlint.x12.claims837 import read_837p
from payerlint.x12.fixes import Edit, apply_fix, translate_fix
from payerlint.x12.provenance import SegmentRef, X12Record
from payerlint.x12.remit835 import (Adjustment, ClaimPayment, Party, ProviderAdjustment, RemitRecord, Remittance,
                                    ServicePayment, read_835)
from payerlint.x12.writer837 import WriterSettings, write_837p

__all__ = [
    "Adjustment", "ClaimPayment", "Edit", "Party", "ProviderAdjustment", "RemitRecord", "Remittance", "SegmentRef",
    "ServicePayment", "WriterSettings", "X12Record", "apply_fix", "read_835", "read_837p", "translate_fix",
    "write_837p",
]
