"""The cache of compiled rulebooks on disk: a second process does not compile again, and
any change to a file the compile read, a damaged entry, or a base that now means another
file (a team tree over the bundled one) is a miss, never a stale answer."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT
from payerlint.compile import cache, pipeline
from payerlint.compile.loader import Loader
from payerlint.home import Home


@pytest.fixture
def tree(tmp_path, monkeypatch):
    monkeypatch.setenv("PAYERLINT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("PAYERLINT_NO_CACHE", raising=False)
    shutil.copytree(ROOT / "rulebooks" / "medicare", tmp_path / "rulebooks" / "medicare")
    shutil.copytree(ROOT / "rulebooks" / "uhc-medicare-advantage", tmp_path / "rulebooks" / "uhc-medicare-advantage")
    return tmp_path


def fresh_load(tree, ref: str):
    """A new loader, as a new process would have: nothing in memory."""
    return Loader(Home(tree, "t"), disk_cache=True).load(ref)


@pytest.fixture
def compiles(monkeypatch):
    count = []
    real = pipeline.compile_path

    def counting(path, loader=None, *args, **kwargs):
        count.append(os.path.basename(path))
        return real(path, loader, *args, **kwargs)

    monkeypatch.setattr(pipeline, "compile_path", counting)
    return count


def test_the_second_load_reads_the_cache_and_gives_the_same_rulebook(tree, compiles):
    first = fresh_load(tree, "uhc-medicare-advantage@2026Q2")
    assert sorted(compiles) == ["2026Q2.rules", "2026Q2.rules"]  # the payer's and its base
    second = fresh_load(tree, "uhc-medicare-advantage@2026Q2")
    assert len(compiles) == 2
    assert second == first and second.base == first.base
    assert [r.id for r in second.rules] == [r.id for r in first.rules]
    # Tables come back with every row; the parts read only by lint and the diff, too.
    table = second.base.tables["ncci_ptp"]
    assert dict(table.rows.items()) == dict(first.base.tables["ncci_ptp"].rows.items())
    assert set(second.graph.nodes) == set(first.graph.nodes)
    assert second.layered.rules.keys() == first.layered.rules.keys()


@pytest.mark.parametrize("edit", ["rulebook", "table", "base"])
def test_any_change_to_a_file_read_is_a_miss(tree, compiles, edit):
    fresh_load(tree, "uhc-medicare-advantage@2026Q2")
    before = len(compiles)
    target = {"rulebook": tree / "rulebooks" / "uhc-medicare-advantage" / "2026Q2.rules",
              "table": tree / "rulebooks" / "medicare" / "tables" / "ncci_ptp_therapy.csv",
              "base": tree / "rulebooks" / "medicare" / "2026Q2.rules"}[edit]
    stat = target.stat()
    text = target.read_text(encoding="utf-8")
    if edit == "table":  # the last row's source, one letter changed: same size, same time
        head, _, last = text.rstrip("\n").rpartition("\n")
        edited = head + "\n" + last.replace("a", "b", 1) + "\n"
    else:
        edited = text + "\n# an edit\n"
    target.write_text(edited, encoding="utf-8")
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # the time says nothing changed
    fresh_load(tree, "uhc-medicare-advantage@2026Q2")
    assert len(compiles) > before


def test_a_damaged_or_altered_entry_is_a_miss(tree, compiles):
    fresh_load(tree, "medicare@2026Q2")
    entries = list((tree / "cache" / "rulebooks").glob("*.plc"))
    assert entries
    for entry in entries:
        data = bytearray(entry.read_bytes())
        data[len(data) // 2] ^= 0xFF
        entry.write_bytes(bytes(data))
    compiled = fresh_load(tree, "medicare@2026Q2")
    assert len(compiles) == 2 and compiled.id == "medicare@2026Q2"


def test_a_base_that_now_means_another_file_is_a_miss(tree, compiles, tmp_path):
    fresh_load(tree, "uhc-medicare-advantage@2026Q2")
    before = len(compiles)
    # A team tree over this one gives medicare@2026Q2 another file.
    team = tmp_path / "team"
    shutil.copytree(tree / "rulebooks" / "medicare", team / "rulebooks" / "medicare")
    home = Home(team, "--home", underneath=(tree,))
    compiled = Loader(home, disk_cache=True).load(str(tree / "rulebooks" / "uhc-medicare-advantage" / "2026Q2.rules"))
    assert os.path.realpath(compiled.base.path).startswith(os.path.realpath(team))
    assert len(compiles) > before


def test_a_base_two_levels_up_that_now_means_another_file_is_a_miss(tree, tmp_path):
    # medicaid-ky extends therapy-common, which extends medicare: a team tree that gives
    # medicare@2026Q2 another file changes what medicaid-ky inherits, though its own base
    # (therapy-common) is the same file. The entry written under the bundled tree is stale.
    for family in ("therapy-common", "medicaid-ky"):
        shutil.copytree(ROOT / "rulebooks" / family, tree / "rulebooks" / family)
    kentucky = str(tree / "rulebooks" / "medicaid-ky" / "2026Q2.rules")
    before = Loader(Home(tree, "t"), disk_cache=True).load(kentucky)
    assert "units.total" in {r.id for r in before.rules}
    team = tmp_path / "team"
    shutil.copytree(tree / "rulebooks" / "medicare", team / "rulebooks" / "medicare")
    rules = team / "rulebooks" / "medicare" / "2026Q2.rules"
    text = rules.read_text(encoding="utf-8")
    start = text.index('rule units.total "')
    rules.write_text(text[:start] + text[start:].replace("severity deny", "severity warn", 1), encoding="utf-8")
    home = Home(team, "--home", underneath=(tree,))
    after = Loader(home, disk_cache=True).load(kentucky)
    chain = []
    level = after
    while level is not None:
        chain.append(os.path.realpath(level.path))
        level = level.base
    assert chain[-1].startswith(os.path.realpath(team))
    assert {r.id: r.severity for r in after.rules}["units.total"] == "warn"


def test_cache_clear_and_info(tree):
    fresh_load(tree, "medicare@2026Q2")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    info = subprocess.run([sys.executable, "-m", "payerlint", "cache", "info"], capture_output=True, text=True,
                          env=env)
    assert "1 cached rulebook" in info.stdout
    cleared = subprocess.run([sys.executable, "-m", "payerlint", "cache", "clear"], capture_output=True, text=True,
                             env=env)
    assert cleared.returncode == 0 and "removed 1 cached rulebook" in cleared.stdout
    assert not list((tree / "cache" / "rulebooks").glob("*.plc"))


def test_entries_are_data_only():
    # The decoder builds only the compiled form's own classes, named in the entry.
    with pytest.raises(ValueError, match="does not cache"):
        cache._Decoder(lambda path: None).decode((cache._C, "os:system", ["true"]))


def test_the_cache_keeps_to_its_size_budget_but_always_keeps_the_newest(tree, monkeypatch):
    fresh_load(tree, "uhc-medicare-advantage@2026Q2")  # the payer's entry and its base's
    entries = sorted((tree / "cache" / "rulebooks").glob("*.plc"), key=lambda p: p.stat().st_mtime_ns)
    assert len(entries) == 2
    monkeypatch.setattr(cache, "MAX_BYTES", 1)  # smaller than any entry
    fresh_load(tree, "medicare@2026Q1")
    left = list((tree / "cache" / "rulebooks").glob("*.plc"))
    assert len(left) == 1 and left[0] not in entries
