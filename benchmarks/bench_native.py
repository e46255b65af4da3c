"""What compiling the evaluator to native code buys, measured: the Medicare rulebook's
generated Python (`Program.source`), and the modules it calls (phrase matching, built-ins,
runtime helpers, the engine, patches, results, the check path), each built by Cython into
an extension module, against the same code run by the interpreter, on the same claims.

    PYTHONPATH=src python3 benchmarks/bench_native.py [--claims 5000] [--rounds 3]

Needs Cython (`pip install cython`) and a C compiler; without them it says so and stops.
The builds take about three minutes on one core (the generated module is about 6,000
lines, and the C that Cython writes for it about 10 MB).

This is the measurement behind a decision, not a feature: the end-to-end goal of issue 9
(within 5x of a json round trip, one core) would need evaluation to take about 0.6 of its time,
and this asks whether compiling the code we have gets there. Four forms are timed: all
interpreted; the generated rules native; the modules they call native (a copy of the
package with those modules built); both. Each runs in a child process that times the
evaluation alone (the rules, without reading, screening or writing: best of 5 passes over
the claims) and prints a digest of what fired and what was not evaluated, which must be
the same for all four. Rounds run the four in turn, so a drift of the machine moves all.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


RUNTIME = ["evaluate/phrases.py", "evaluate/functions.py", "evaluate/runtime.py", "evaluate/values.py",
           "evaluate/engine.py", "evaluate/patch.py", "evaluate/result.py", "check.py"]
"""The modules the generated rules call while a claim is evaluated."""

CHILD = r'''
import hashlib, importlib.util, json, re, sys, time
from payerlint.api import Router
from payerlint.claims.model import Claim
from payerlint.claims.reader import read_records
from payerlint.evaluate.program import Ctx

corpus, native = sys.argv[1], sys.argv[2]
router = Router()
records = [r.data for r in read_records([corpus]) if r.data is not None]
claims = [Claim(data) for data in records if not router.validator.validate(data)]
program = router.choice.route(claims[0]).parts[0].program
runners = [run for _, run in program.runners]
if native:
    namespace = next(code.run.__globals__ for code in program.rules if code.run is not None)
    defined = set(re.findall(r"^def (\w+)\(", program.source, re.M))
    spec = importlib.util.spec_from_file_location("payerlint_rules_native", native)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, value in namespace.items():
        if name not in defined and not name.startswith("__"):
            setattr(module, name, value)
    runners = [getattr(module, run.__name__) for run in runners]

def run_all():
    out = []
    for claim in claims:
        ctx, skipped, fired = Ctx(claim), {}, []
        for run in runners:
            run(ctx, lambda index, frame, line, initial: fired.append((index, line)), skipped)
        out.append((fired, sorted(skipped)))
    return out

digest = hashlib.sha256(repr(run_all()).encode()).hexdigest()
best = float("inf")
for _ in range(5):
    start = time.process_time()
    run_all()
    best = min(best, time.process_time() - start)
print(json.dumps({"us": best / len(claims) * 1e6, "claims": len(claims), "digest": digest,
                  "phrases": importlib.util.find_spec("payerlint.evaluate.phrases").origin}))
'''


def cythonize(paths: list[Path], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "Cython.Build.Cythonize", "-i", "-3", *map(str, paths)], cwd=cwd,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"Cython could not build {paths[0].name}:\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def generated_module(folder: Path) -> Path:
    """The generated source as an extension module: every name the source reads from its
    namespace is declared at the top (Cython wants each global known); the child sets
    each to the namespace's object after import."""
    from payerlint.api import Router
    from payerlint.claims.model import Claim
    from payerlint.claims.reader import read_records

    router = Router()
    first = next(r.data for r in read_records([str(folder / "claims.jsonl")]) if r.data is not None)
    program = router.choice.route(Claim(first)).parts[0].program
    namespace = next(code.run.__globals__ for code in program.rules if code.run is not None)
    defined = set(re.findall(r"^def (\w+)\(", program.source, re.M))
    names = [n for n in namespace if n not in defined and not n.startswith("__")]
    path = folder / "payerlint_rules_native.py"
    path.write_text("".join(f"{name} = None\n" for name in names) + "\n" + program.source, encoding="utf-8")
    took = cythonize([path], folder)
    built = next(folder.glob("payerlint_rules_native*.so"), None) or next(folder.glob("payerlint_rules_native*.pyd"))
    print(f"the generated rules: {program.source.count(chr(10)):,} lines of Python, built in {took:.0f} s "
          f"({built.stat().st_size / 2**20:.1f} MiB)")
    return built


def native_runtime(folder: Path) -> Path:
    """A copy of the package whose runtime modules are extension modules; the bundled data
    beside it, as in a checkout, so the copy finds its rulebooks."""
    import payerlint

    package = Path(payerlint.__file__).resolve().parent
    top = package.parent.parent
    root = folder / "native"
    shutil.copytree(package, root / "src" / "payerlint", ignore=shutil.ignore_patterns("__pycache__"))
    for data in ("grammar", "rulebooks", "payers"):
        (root / data).symlink_to(top / data, target_is_directory=True)
    took = cythonize([root / "src" / "payerlint" / module for module in RUNTIME], root / "src" / "payerlint")
    print(f"the runtime ({len(RUNTIME)} modules) built in {took:.0f} s")
    return root / "src"




def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if importlib.util.find_spec("Cython") is None:
        print("Cython is not installed: nothing to compare (pip install cython)")
        return
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        print("no C compiler: nothing to compare")
        return
    import payerlint

    src = str(Path(payerlint.__file__).resolve().parent.parent)
    with tempfile.TemporaryDirectory(prefix="payerlint-native-") as name:
        folder = Path(name)
        subprocess.run([sys.executable, str(HERE / "corpus.py"), str(folder / "claims.jsonl"), "--claims",
                        str(args.claims)], check=True, capture_output=True)
        rules = generated_module(folder)
        runtime = native_runtime(folder)
        forms = [("all interpreted", src, ""), ("generated rules native", src, str(rules)),
                 ("runtime native", str(runtime), ""), ("both native", str(runtime), str(rules))]
        times: dict[str, list[float]] = {label: [] for label, _, _ in forms}
        digests = set()
        for n in range(args.rounds):
            print(f"round {n + 1}, evaluation only, CPU time per claim (best of 5 passes):")
            base = None
            for label, path, native in forms:
                done = subprocess.run([sys.executable, "-c", CHILD, str(folder / "claims.jsonl"), native],
                                      env={**os.environ, "PYTHONPATH": path}, capture_output=True, text=True)
                if done.returncode != 0:
                    raise SystemExit(f"{label} failed:\n{done.stderr[-3000:]}")
                out = json.loads(done.stdout.strip().splitlines()[-1])
                compiled = not out["phrases"].endswith(".py")
                if compiled != (path != src):
                    raise SystemExit(f"{label}: the child imported {out['phrases']}, not the form asked for")
                digests.add(out["digest"])
                base = base or out["us"]
                times[label].append(out["us"] / base)
                print(f"   {label:24s} {out['us']:6.1f} us   ratio {out['us'] / base:.2f}")
        if len(digests) != 1:
            raise SystemExit("the forms disagree on what fired: not comparable")
        print("all four forms: the same rules fire and the same are not evaluated on every claim")
        for label, ratios in times.items():
            print(f"   median ratio, {label:24s} {sorted(ratios)[len(ratios) // 2]:.2f}")
        print("   (the end-to-end goal of 5x a json round trip needs evaluation at about 0.6 of all interpreted)")


if __name__ == "__main__":
    main()
