"""Shared helpers of the X12 tests: where they find their files.

`data/` holds hand-written synthetic files (no real patient, provider or payer). The
third-party TR3 samples and pyx12's summary of them live outside the repository in
`../shared/external/` (see its README); tests that need them skip when it is absent,
as in a user's clone. `PAYERLINT_SHARED` points elsewhere when the checkout is not
beside it (a git worktree, say).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"
SHARED = Path(os.environ.get("PAYERLINT_SHARED") or ROOT.parent / "shared")
EXTERNAL = SHARED / "external"

needs_shared = pytest.mark.skipif(
    not EXTERNAL.is_dir(), reason=f"third-party X12 samples not found at {EXTERNAL} (../shared beside the checkout)")


def three_claims() -> bytes:
    return (DATA / "therapy-three-claims.837").read_bytes()
