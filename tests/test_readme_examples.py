"""The README's example output stays true: each example block that starts with a claim id is
what `payerlint check` prints for that example claim, and each block that starts with
`$ python3 -m payerlint check ...` is what that command prints (a block may leave lines
out, never change one or their order)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

import pytest

from conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def code_blocks(text: str) -> list[str]:
    blocks, current = [], None
    for line in text.splitlines():
        if line.startswith("```"):
            if current is None:
                current = []
            else:
                blocks.append("\n".join(current) + "\n")
                current = None
        elif current is not None:
            current.append(line)
    return blocks


BLOCKS = [b for b in code_blocks(README) if re.match(r"EX-[A-Z0-9]+  ", b)]


def output_for(claim_id: str) -> str:
    path = next(p for p in (ROOT / "examples" / "claims").rglob("*.json")
                if f'"claim_id": "{claim_id}"' in p.read_text(encoding="utf-8"))
    run = subprocess.run([sys.executable, "-m", "payerlint", "check", str(path.relative_to(ROOT))],
                         capture_output=True, text=True, cwd=ROOT)
    return run.stdout


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: b.split()[0])
def test_a_readme_finding_is_what_check_prints(block):
    printed = output_for(block.split()[0]).splitlines()
    position = 0
    for line in block.rstrip("\n").splitlines():
        assert line in printed[position:], f"README line not printed (in this order): {line!r}"
        position = printed.index(line, position) + 1


def test_the_readme_has_finding_examples():
    assert len(BLOCKS) >= 2 and any("denial code:" in b for b in BLOCKS)


COMMANDS = [b for b in code_blocks(README) if b.startswith("$ python3 -m payerlint check ")]


@pytest.mark.parametrize("block", COMMANDS, ids=lambda b: b.splitlines()[0][len("$ python3 -m payerlint check "):])
def test_a_readme_command_prints_what_the_readme_shows(block):
    command, *expected = block.rstrip("\n").splitlines()
    argv = shlex.split(command[len("$ python3 -m "):])
    run = subprocess.run([sys.executable, "-m", *argv], capture_output=True, text=True, cwd=ROOT)
    printed = run.stdout.splitlines()
    position = 0
    for line in expected:
        assert line in printed[position:], f"README line not printed (in this order): {line!r}"
        position = printed.index(line, position) + 1


def test_the_readme_shows_checking_an_837p_file_with_its_documentation():
    assert any("examples/x12/therapy-claims.837 --documentation" in b for b in COMMANDS)
    assert any("837P: SV1-" in b for b in COMMANDS)
