"""The built wheel carries the grammar, the schemas and the bundled rulebook tree, and an
installed payerlint checks a claim from outside the checkout.

The wheel is built with the installed build backend (no network) and installed with
--no-deps into a fresh virtual environment made with --system-site-packages. This test
never skips when CI=true.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _need_hatchling():
    try:
        import hatchling  # noqa: F401
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("hatchling is needed to build the wheel (pip install -e '.[test]')")
        pytest.skip("hatchling is not installed: pip install -e '.[test]' to run the wheel test")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    _need_hatchling()
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        check=True, cwd=out,
    )
    wheels = list(out.glob("payerlint-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_contains_the_grammar_schemas_and_rulebooks(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "payerlint/_bundled/grammar/payerlint.lark" in names
    assert "payerlint/schemas/claim.schema.json" in names
    assert "payerlint/_bundled/rulebooks/medicare/2026Q2.rules" in names
    assert "payerlint/_bundled/rulebooks/medicare/tables/ncci_ptp_therapy.csv" in names
    # The typed API, the result contract and the workbench (served from the package).
    assert {"payerlint/py.typed", "payerlint/schemas/result.schema.json", "payerlint/schemas/diagnostic.schema.json",
            "payerlint/server/static/index.html", "payerlint/server/static/app.js",
            "payerlint/server/static/style.css"} <= names


def test_installed_wheel_checks_a_claim_outside_the_checkout(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    python = venv / ("Scripts" if os.name == "nt" else "bin") / "python"
    # When the tests themselves run in a virtual environment, its packages (lark,
    # jsonschema, ...) are not the base interpreter's: list their folder for the new one.
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], *site.getsitepackages()}
    Path(purelib, "payerlint_test_deps.pth").write_text("\n".join(sorted(ours)) + "\n")
    subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)], check=True)

    work = tmp_path / "elsewhere"
    work.mkdir()
    claim = json.loads((ROOT / "tests" / "data" / "clean_claim.json").read_text())
    claim["lines"][0]["units"] = 2  # 22 minutes support 1 unit: a denial to see
    (work / "claim.json").write_text(json.dumps(claim))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PAYERLINT_HOME")}

    where = subprocess.run([str(python), "-c", "import payerlint, payerlint.home as h; print(payerlint.__file__); "
                            "print(h.bundled_root())"], cwd=work, env=env, check=True, capture_output=True, text=True)
    module_file, bundled = where.stdout.split()
    assert Path(module_file).is_relative_to(venv), module_file
    assert Path(bundled).is_relative_to(venv) and Path(bundled).name == "_bundled"

    run = subprocess.run([str(python), "-m", "payerlint", "check", "claim.json", "--rulebook", "medicare@2026Q2",
                          "--format", "json"], cwd=work, env=env, capture_output=True, text=True)
    assert run.returncode == 1, run.stderr
    results = json.loads(run.stdout)
    assert results[0]["verdict"] == "deny"
    assert [f["rule"] for f in results[0]["findings"]] == ["units.total"]
