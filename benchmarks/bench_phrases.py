"""Benchmark phrase matching: linear in the length of the note, whatever the phrase count.

    PYTHONPATH=src python3 benchmarks/bench_phrases.py [--phrases 200] [--repeat 5]

For notes of 2,500 to 40,000 characters it times, on the same text in the same run:
- reference: `str.lower()` of the text and a stdlib `re.findall(r"\\w+")` scan of it;
- `PhraseMatcher.found` (exact phrases: `mentions`, `phrases_found`) and `.any`;
- `ServiceMatcher.found` (`services_found`: inflections, words in between, negation);
and prints microseconds per call and nanoseconds per character. Linear means the
nanoseconds per character stay flat as the note grows. An adversarial note (one word
repeated, phrases that repeat it and then differ at the end) is timed too, the case where a
regular-expression alternation backtracks into every phrase at every position.

Then one whole claim: a rulebook with a 200-phrase set read by `mentions any`, `mentions
all`, `mentions none`, `phrases_found` and `services_found` over four 20,000-character note
fields, checked end to end (validation, evaluation, result).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from payerlint.evaluate.phrases import PhraseMatcher, ServiceMatcher  # noqa: E402

WORDS = ("patient tolerated treatment well with manual therapy to the lumbar spine soft tissue mobilization "
         "hot pack ice exercise gait stairs walking pain reduced range of motion improved strength knee "
         "shoulder ankle hip flexion extension rotation grade glide stretch balance transfer reach").split()


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def note(rng: random.Random, size: int) -> str:
    out, length = [], 0
    while length < size:
        word = rng.choice(WORDS)
        out.append(word + (". " if rng.random() < 0.08 else " "))
        length += len(out[-1])
    return "".join(out)[:size]


def phrase_set(rng: random.Random, count: int) -> list[str]:
    return sorted({" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4))) for _ in range(count * 3)})[:count]


def regex_alternation(phrases: list[str]) -> re.Pattern:
    """The phrases as one case-insensitive alternation of whole words: how phrase sets were
    matched before evaluate/phrases.py, and the shape a stdlib scan of them takes."""
    bodies = sorted((r"\s+".join(map(re.escape, p.split())) for p in phrases), key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(bodies) + r")(?!\w)", re.IGNORECASE)


def line(label: str, seconds: float, size: int, reference: float) -> str:
    return (f"  {label:<34} {seconds * 1e6:>10,.0f} us  {seconds * 1e9 / size:>7.1f} ns/char"
            f"  {seconds / reference:>6.1f}x str.lower")


def matchers(args) -> None:
    rng = random.Random(2026)
    phrases = phrase_set(rng, args.phrases)
    exact, service = PhraseMatcher("bench", phrases), ServiceMatcher(phrases)
    alternation = regex_alternation(phrases)
    print(f"phrases: {len(phrases)} (1-4 words from a {len(WORDS)}-word clinical vocabulary)")
    for size in (2_500, 5_000, 10_000, 20_000, 40_000):
        text = note(rng, size)
        lower = best(lambda: text.lower(), args.repeat)
        print(f"note of {size:,} characters")
        print(line("reference: str.lower()", lower, size, lower))
        print(line("reference: re.findall(r'\\w+')", best(lambda: re.findall(r"\w+", text), args.repeat), size, lower))
        print(line("reference: re alternation scan", best(lambda: alternation.findall(text), args.repeat), size, lower))
        print(line("PhraseMatcher.found (exact)", best(lambda: exact.found([text]), args.repeat), size, lower))
        print(line("PhraseMatcher.any (exact)", best(lambda: exact.any(text), args.repeat), size, lower))
        print(line("ServiceMatcher.found (services)", best(lambda: service.found([text]), args.repeat), size, lower))
    hostile = [" ".join(["tolerated"] * n + [f"well{n}"]) for n in range(1, 31)]
    exact, service = PhraseMatcher("hostile", hostile), ServiceMatcher(hostile)
    alternation = regex_alternation(hostile)
    for size in (10_000, 20_000):
        word = "tolerated "
        text = (word * (size // len(word)))[:size]
        lower = best(lambda: text.lower(), args.repeat)
        print(f"adversarial note of {size:,} characters: one word repeated; 30 phrases repeat it 1-30 times, then differ")
        print(line("reference: str.lower()", lower, size, lower))
        print(line("reference: re alternation scan", best(lambda: alternation.findall(text), args.repeat), size, lower))
        print(line("PhraseMatcher.found (exact)", best(lambda: exact.found([text]), args.repeat), size, lower))
        print(line("ServiceMatcher.found (services)", best(lambda: service.found([text]), args.repeat), size, lower))


RULEBOOK = """
rulebook bench "Phrase benchmark"
  quarter 2026Q2
  facts as of 2026-11-27
phrases many "200 phrases" = {phrases}
let all_texts = [documentation.patient_response, documentation.functional_goals,
                 documentation.clinical_reasoning, documentation.skilled_care_justification]
rule bench.any "any" category documentation severity info
  when documentation.patient_response mentions any of many
  say "found" cite "benchmark"
rule bench.all "all" category documentation severity info
  when documentation.functional_goals mentions all of many
  say "found" cite "benchmark"
rule bench.none "none" category documentation severity info
  when documentation.clinical_reasoning mentions none of many
  say "found" cite "benchmark"
rule bench.found "found" category documentation severity info
  with found = phrases_found(all_texts, ["{first}", "{second}"])
  when any(found)
  say "found" cite "benchmark"
rule bench.services "services" category documentation severity info
  with found = services_found(all_texts, ["{first}", "{second}"])
  when any(found)
  say "found" cite "benchmark"
"""


def whole_claim(args) -> None:
    from payerlint.api import Checker
    from payerlint.compile.loader import Loader
    from payerlint.home import Home

    rng = random.Random(7)
    phrases = phrase_set(rng, args.phrases)
    text = RULEBOOK.format(phrases=" ".join(json.dumps(p) for p in phrases), first=phrases[0], second=phrases[-1])
    claim = json.loads((HERE.parent / "tests" / "data" / "clean_claim.json").read_text(encoding="utf-8"))
    notes = {key: note(rng, 20_000) for key in ("patient_response", "functional_goals", "clinical_reasoning",
                                                 "skilled_care_justification")}
    claim["documentation"].update(notes)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "2026Q2.rules"
        path.write_text(text, encoding="utf-8")
        checker = Checker(Loader(Home(Path(folder), "benchmark"), disk_cache=False).load(str(path)))
        checker.check(claim)
        seconds = best(lambda: checker.check(claim), args.repeat)
    reference = best(lambda: [v.lower() for v in notes.values()], args.repeat)
    chars = sum(map(len, notes.values()))
    print(f"one claim, {len(phrases)} phrases, 4 note fields of 20,000 characters ({chars:,} characters), "
          "5 phrase rules checked end to end:")
    print(f"  check: {seconds * 1e3:,.1f} ms   reference: str.lower() of the four notes {reference * 1e3:,.2f} ms"
          f"   ({seconds / reference:,.0f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phrases", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    matchers(args)
    whole_claim(args)


if __name__ == "__main__":
    main()
