"""`payerlint remit`: measure every rule against the payer's actual decisions (835s).

Read in this order: `checked.py` (the claims and what payerlint predicted), `families.py`
with `carc_families.toml` (which payer codes mean the same ground), `remittances.py`
(835 claim payments matched to claims and netted), `measure.py` (hits, false alarms,
misses), `run.py` (the pipeline), `writers.py` and `html.py` (text, JSON, HTML),
`drafts.py` (draft rules for recurring misses), `command.py` (the CLI). docs/remit.md
is the user's guide.
"""
