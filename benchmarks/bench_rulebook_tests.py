"""Run the shipped rulebook tests and print where the time goes, beside a reference
measured in the same run (a stdlib json round trip of the base claim, once per case run).

    PYTHONPATH=src python3 benchmarks/bench_rulebook_tests.py [--repeat 3]

Compiling the rulebooks is timed apart from running the cases (which includes compiling
each distinct set of param/table overrides once), so a slower check path and a slower
compiler show up separately. CPU seconds (process_time), best of --repeat.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from payerlint.authoring.rulebook_tests import run_tests  # noqa: E402
from payerlint.compile.pipeline import Loader  # noqa: E402
from payerlint.home import Home  # noqa: E402
from payerlint.quarter import quarters_in  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    families = sorted(p.parent for p in (ROOT / "rulebooks").glob("*/tests") if p.is_dir())
    best = None
    for _ in range(args.repeat):
        loader = Loader(Home(ROOT, "bench"))
        start = time.process_time()
        for family in families:
            for quarter in quarters_in(family):
                loader.load(str(family / f"{quarter}.rules"))
        compiled = time.process_time()
        report = run_tests([str(f) for f in families], loader, 100)
        ran = time.process_time()
        claim = json.loads((families[0] / "tests" / "claims" / "clean.json").read_text(encoding="utf-8"))
        for _ in range(len(report.runs)):
            json.loads(json.dumps(claim))
        reference = time.process_time()
        figures = (compiled - start, ran - compiled, reference - ran, len(report.runs), report.failed)
        best = figures if best is None or figures[1] < best[1] else best
    compile_s, run_s, ref_s, runs, failed = best
    print(f"families: {', '.join(f.name for f in families)}")
    print(f"compile the rulebooks:      {compile_s:6.2f} s")
    print(f"run {runs} case runs:       {run_s:6.2f} s  ({1000 * run_s / runs:.2f} ms each; {failed} failed)")
    print(f"reference, {runs} json round trips of the base claim: {ref_s:6.3f} s "
          f"({run_s / ref_s if ref_s else float('inf'):.0f}x)")


if __name__ == "__main__":
    main()
