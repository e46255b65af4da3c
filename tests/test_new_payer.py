"""Adding a payer with `payerlint payers new` must keep the project's own checks green:
the tests discover payers and quarters from the tree, never from a list written in them.

The checkout is copied, two payers are scaffolded into the copy (a commercial payer on
the common therapy rules and a Medicare Advantage plan on Medicare), and every test
marked `tree` (the checks that read every payer and rulebook) runs there."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PARTS = ("src", "tests", "grammar", "rulebooks", "payers", "examples", "benchmarks", "docs", "pyproject.toml",
         "README.md", "ARCHITECTURE.md")


def test_payers_new_in_the_checkout_keeps_the_repository_checks_green(tmp_path):
    copy = tmp_path / "checkout"
    copy.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", ".hypothesis", ".pytest_cache", "*.egg-info")
    for part in PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, copy / part, ignore=ignore)
        elif source.is_file():
            shutil.copy2(source, copy / part)
    env = {**os.environ, "PYTHONPATH": str(copy / "src")}
    for payer, kind in (("zz-new-commercial", "commercial"), ("zz-new-advantage", "medicare_advantage")):
        made = subprocess.run([sys.executable, "-m", "payerlint", "payers", "new", payer, "--type", kind,
                               "--name", f"New {kind} payer"], capture_output=True, text=True, cwd=copy, env=env)
        assert made.returncode == 0, made.stderr
        assert (copy / "payers" / f"{payer}.toml").is_file()
    # Only the modules that hold tree checks are collected (collecting all costs seconds).
    modules = sorted(str(path.relative_to(copy)) for path in (copy / "tests").rglob("test_*.py")
                     if "pytest.mark.tree" in path.read_text(encoding="utf-8"))
    checks = subprocess.run([sys.executable, "-m", "pytest", "-q", "-m", "tree", "-p", "no:cacheprovider", *modules],
                            capture_output=True, text=True, cwd=copy, env=env)
    summary = checks.stdout.strip().splitlines()[-1] if checks.stdout.strip() else checks.stderr
    assert checks.returncode == 0, checks.stdout[-4000:] + checks.stderr[-2000:]
    assert re.search(r"\b\d+ passed", summary) and not re.search(r"\b\d+ failed", summary), summary
    # The copy's own checks saw the new payers (they read the tree, not a list).
    listed = subprocess.run([sys.executable, "-m", "payerlint", "payers"], capture_output=True, text=True, cwd=copy,
                            env=env)
    assert "zz-new-commercial" in listed.stdout and "zz-new-advantage" in listed.stdout
