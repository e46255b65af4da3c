"""docs/authoring.md is run, step by step, in a copy of the rulebook tree: every command,
every file it writes or edits, and the output excerpts it shows. The guide cannot drift
from the tool.

What the guide's Markdown means to this test:
- a ```sh block: one command per line; `# exit N` at the end of a line is the exit code it
  must give (0 otherwise);
- a ```text block after a ```sh block: lines the last command's output must contain;
- `<!-- file: PATH -->`, `<!-- append: PATH -->` before a block: write or append it;
- `<!-- edit: PATH -->` before a ```diff block: the lines marked ' ' and '-' are replaced
  by those marked ' ' and '+' (they must occur once in the file).
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import shutil
import subprocess
from pathlib import Path

from conftest import ROOT
from payerlint.cli import main

GUIDE = ROOT / "docs" / "authoring.md"
_BLOCK = re.compile(r"(?:<!-- (file|append|edit): (\S+) -->\n)?```(\w*)\n(.*?)```", re.S)


def steps(text: str) -> list[tuple]:
    out = []
    for match in _BLOCK.finditer(text):
        action, path, lang, body = match.groups()
        if action:
            out.append((action, path, body))
        elif lang == "sh":
            out.append(("sh", None, body))
        elif lang == "text":
            out.append(("expect", None, body))
    return out


def apply_edit(path: Path, diff: str) -> None:
    old, new = [], []
    for line in diff.splitlines():
        mark, rest = line[:1], line[1:]
        if mark in (" ", "-"):
            old.append(rest)
        if mark in (" ", "+"):
            new.append(rest)
    text = path.read_text(encoding="utf-8")
    before = "\n".join(old) + "\n"
    assert text.count(before) == 1, f"the guide's edit of {path.name} does not match exactly once:\n{before}"
    path.write_text(text.replace(before, "\n".join(new) + "\n"), encoding="utf-8")


def run_command(command: str, tree: Path) -> tuple[int, str]:
    """`payerlint ...` runs in this process (the command line's own `main`, as the console
    script does); anything else (mkdir, cp) in bash."""
    words = shlex.split(command)
    if words[0] == "payerlint":
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(words[1:])
        return code, out.getvalue() + err.getvalue()
    run = subprocess.run(["bash", "-c", command], cwd=tree, capture_output=True, text=True)
    return run.returncode, run.stdout + run.stderr


def test_the_guide_runs_as_written(tmp_path, monkeypatch):
    tree = tmp_path / "tree"
    tree.mkdir()
    shutil.copytree(ROOT / "rulebooks", tree / "rulebooks")
    shutil.copytree(ROOT / "payers", tree / "payers")
    # As the guide says: run from the top of the tree, which PAYERLINT_HOME names.
    monkeypatch.chdir(tree)
    monkeypatch.setenv("PAYERLINT_HOME", str(tree))
    commands = 0
    last = None
    for kind, path, body in steps(GUIDE.read_text(encoding="utf-8")):
        if kind == "file":
            (tree / path).parent.mkdir(parents=True, exist_ok=True)
            (tree / path).write_text(body, encoding="utf-8")
        elif kind == "append":
            with open(tree / path, "a", encoding="utf-8") as handle:
                handle.write("\n" + body)
        elif kind == "edit":
            apply_edit(tree / path, body)
        elif kind == "sh":
            for line in body.splitlines():
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                command, _, comment = line.partition("  # ")
                expected = int(re.search(r"exit (\d)", comment).group(1)) if "exit" in comment else 0
                code, output = run_command(command, tree)
                last = (command, output)
                assert code == expected, f"{command}: exit {code}\n{output[-3000:]}"
                commands += 1
        elif kind == "expect":
            assert last is not None, "an output block before any command"
            command, output = last
            shown = [line.rstrip() for line in output.splitlines()]
            for line in body.splitlines():
                if line.strip() and "..." not in line:
                    assert any(line.rstrip() in s for s in shown), f"{command}: no line has\n{line}\n---\n{output[-3000:]}"
    assert commands >= 8


def test_the_guide_formats_and_lints_the_rulebook_it_writes():
    # The walkthrough is the whole loop: compile, format, test, lint, next quarter, diff.
    commands = [body for kind, _, body in steps(GUIDE.read_text(encoding="utf-8")) if kind == "sh"]
    for verb in ("compile", "fmt --check", "test", "lint", "quarter new", "diff"):
        assert any(f"payerlint {verb}" in body for body in commands), verb
