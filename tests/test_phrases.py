"""Phrase matching (evaluate/phrases.py): exact phrases keep their meaning, and the coding
guidance recognises a service however a note words it, without reading a specific manual
technique as something else. The paraphrases are synthetic notes written in the styles
clinicians use (abbreviations, inverted word order, words in between, shorthand)."""

from __future__ import annotations

import csv
import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ROOT
from payerlint.evaluate.phrases import PhraseMatcher, ServiceMatcher, exact_tokens, stem

GUIDANCE = ROOT / "rulebooks" / "medicare" / "tables" / "technique_codes.csv"


def guidance_rows() -> dict[str, str]:
    with open(GUIDANCE, encoding="utf-8") as handle:
        return {r["phrase"]: r["code"] for r in csv.DictReader(line for line in handle if not line.startswith("#"))}


CODES = guidance_rows()
MATCHER = ServiceMatcher(list(CODES))


def codes_in(text: str) -> set[str]:
    return {CODES[p] for p in MATCHER.found([text])}


# ------------------------------------------------------------------ exact phrases


@pytest.mark.parametrize("text, hit", [
    ("Patient tolerated well.", True),
    ("TOLERATED   WELL today", True),
    ("tolerated\nwell", True),
    ("tolerated it well", False),          # exact: no words in between
    ("well tolerated", False),             # exact: in order
    ("untolerated well", False),           # whole words
    ("tolerated wellness", False),
])
def test_an_exact_phrase_is_whole_words_in_order_ignoring_case_and_spacing(text, hit):
    assert PhraseMatcher("p", ["tolerated well"]).any(text) is hit


def test_exact_phrases_with_punctuation_match_the_same_punctuation():
    matcher = PhraseMatcher("p", ["e-stim", "~", "w/"])
    assert matcher.matched("applied E-Stim, ~20 min w/o rest") == ["e-stim", "~", "w/"]
    assert matcher.matched("estim") == []


def naive_found(phrases, text):
    """The same meaning written the slow way: each phrase's tokens as a run of the text's."""
    tokens = exact_tokens(text)
    out = []
    for phrase in phrases:
        words = exact_tokens(phrase)
        if words and any(tokens[i:i + len(words)] == words for i in range(len(tokens))):
            out.append(phrase)
    return out


WORDS = ["pain", "improved", "tolerated", "well", "rom", "gait", "e", "-", "stim", "ROM", "Well", "~"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=4).map(" ".join), min_size=1, max_size=8,
                unique=True),
       st.lists(st.sampled_from(WORDS + ["x", ".", "\n"]), max_size=40).map(" ".join))
def test_the_trie_finds_exactly_what_a_naive_scan_finds(phrases, text):
    matcher = PhraseMatcher("p", phrases)
    expected = naive_found(phrases, text)
    assert matcher.found([text]) == expected
    assert matcher.any(text) is bool(expected)


# ------------------------------------------------------------------ inflections


@pytest.mark.parametrize("words", [
    ("pack", "packs"), ("mobilization", "mobilizations", "mobilized", "mobilize", "mobilising", "mobilisation"),
    ("stretch", "stretches", "stretching", "stretched"), ("exercise", "exercises", "exercising", "exercised"),
    ("strengthen", "strengthening"), ("massage", "massaged", "massaging"), ("apply", "applied", "applies"),
    ("stimulation", "stimulated", "stimulate"), ("therapy", "therapies"), ("train", "training", "trained"),
])
def test_inflections_meet(words):
    assert len({stem(w) for w in words}) == 1, {w: stem(w) for w in words}


@pytest.mark.parametrize("a, b", [("traction", "tract"), ("mobility", "mobilization"), ("status", "stat"),
                                  ("hot", "hold"), ("ice", "icing")])
def test_different_words_stay_apart(a, b):
    assert stem(a) != stem(b)


# ------------------------------------------------------------------ services, however worded

PARAPHRASES = {
    "97110": [
        "Pt performed TherEx w/ 3# ankle weights",
        "ther ex: SLR 3x10, bridges 2x15",
        "Ther Ex x 15 min for hip abductors",
        "therapeutic exercises for hip strengthening",
        "therapeutic exercise program reviewed and progressed",
        "Exercise, therapeutic (quad sets, heel slides)",
        "exercises for strengthening of the glutes",
        "strengthening exercises for the rotator cuff",
        "strengthening exs: clamshells 3x12",
        "stretching exercises for hamstrings and calves",
        "AROM exercises of the shoulder in supine",
        "range of motion exercises to the knee",
        "guided exercises on the Total Gym",
    ],
    "97112": [
        "NMR: SLS on foam 3x30 sec",
        "neuromuscular re-education for balance, tandem stance",
        "neuromuscular reeducation of the scapular stabilizers",
        "neuro re-ed with perturbations",
        "balance training on the BOSU",
        "proprioceptive training, ankle, eyes closed",
    ],
    "97116": ["gait training with a rolling walker 150 ft", "gait trng w/ SPC on level surfaces",
              "Gait training: stairs with one rail"],
    "97530": ["therapeutic activities: floor-to-waist lifting", "ther act, transfers sit to stand x10",
              "TherAct for car transfers"],
    "97124": ["Swedish massage to the lumbar paraspinals", "massage, swedish, to the upper back",
              "effleurage to the calf", "petrissage of the upper trapezius", "relaxation massage, neck"],
    "97010": ["moist hot packs x10 min to the low back", "hot moist pack to L knee", "HP x 10 min to L knee",
              "MHP to cervical spine", "cold pack after exercise", "ice packs to the ankle 10 min",
              "moist heat to the shoulder", "cryotherapy to the knee", "packs, hot, to the lumbar spine"],
    "97012": ["mechanical traction 30 lb intermittent", "mech cervical traction 12#",
              "cervical traction, mechanical, 25 lb", "lumbar traction (mechanical) 60 lb",
              "traction machine, lumbar, 15 min"],
    "G0283": ["e-stim to the lumbar paraspinals 15 min", "estim premod x15", "IFC to lumbar 15 min",
              "interferential current to the knee", "TENS unit applied to the low back",
              "electrical stimulation, unattended, 15 minutes", "elec stim to quads"],
    "97032": ["attended e-stim to VMO during quad sets", "electrical stimulation (attended) to the wrist extensors",
              "attended electrical stimulation for muscle re-education"],
    "97035": ["US 1 MHz 1.0 W/cm2 to the lateral epicondyle", "ultrasound to the lateral ankle 8 min",
              "U/S continuous to the knee", "phonophoresis with dexamethasone"],
    "97140": ["STM to L UT", "IASTM w/ Graston to ITB", "jt mobs gr III PA L4-5", "joint mobilizations to R GH",
              "soft tissue mobilization of the upper trap", "instrument-assisted soft tissue mobilization, calf",
              "MFR to thoracic paraspinals", "myofascial release, plantar fascia", "manual traction, cervical",
              "Manual traction on table", "manual lymphatic drainage, LLE", "MLD for post-op edema",
              "trigger point release to levator scapulae", "muscle energy technique, SI joint",
              "strain counterstrain to the psoas"],
}


@pytest.mark.parametrize("code, text", [(c, t) for c, texts in PARAPHRASES.items() for t in texts])
def test_each_paraphrase_names_its_service(code, text):
    assert codes_in(text) == {code}, MATCHER.found([text])


# Specific manual techniques, and notes that mention a service without it being done: no
# service other than manual therapy may be read into them.
MANUAL_ONLY = [
    "grade III anterior-posterior talocrural joint mobilization",
    "Grade IV PA glides L3-L5, contract-relax to hip flexors",
    "manual traction with the patient supine on the treatment table",
    "manual cervical traction 3 x 60 sec",
    "table, manual traction",
    "PROM and joint mobs to the R shoulder",
    "passive stretching of the hamstrings by the therapist",
    "scapular mobilization, side-lying",
    "talocrural distraction, grade II",
    "mobilization with movement, ankle dorsiflexion",
    "cross-friction to the patellar tendon",
    "suboccipital release, supine",
    "hold-relax to the hip rotators",
]
NOT_DONE = [
    "pt declined e-stim today",
    "no HP today: skin check",
    "e-stim deferred, pacemaker",
    "declined HP and e-stim",
    "hot pack held due to redness",
    "w/o e-stim this session",
    "ultrasound contraindicated over the implant",
    "instead of mechanical traction, manual traction was used",
]
# Everyday words, and lists where two services sit side by side: (text, codes found).
ORDINARY = [
    ("pt told us the pain is better", set()),
    ("tens of repetitions without pain", set()),
    ("patient walked with a cane", set()),
    ("heel raises and calf stretch, 3 sets of 15", set()),
    ("single-leg balance on foam with perturbations", set()),
    ("step-ups and lifting practice", set()),
    ("exercise, therapeutic activities for transfers", {"97530"}),   # a list, not "therapeutic exercise"
]


@pytest.mark.parametrize("text", MANUAL_ONLY)
def test_a_specific_manual_technique_is_never_read_as_another_service(text):
    assert codes_in(text) <= {"97140"}, MATCHER.found([text])


@pytest.mark.parametrize("text", NOT_DONE)
def test_a_service_the_note_says_was_not_done_is_not_found(text):
    found = codes_in(text) - {"97140"}
    assert not found, MATCHER.found([text])


@pytest.mark.parametrize("text, codes", ORDINARY)
def test_ordinary_words_are_no_service(text, codes):
    assert codes_in(text) == codes, MATCHER.found([text])


def test_a_negation_about_something_else_does_not_hide_the_service():
    assert codes_in("no pain with STM to the upper trap") == {"97140"}
    assert codes_in("no c/o, then e-stim to the quads") == {"G0283"}


def test_the_longest_of_overlapping_phrases_wins():
    assert MATCHER.found(["attended electrical stimulation to the quads"]) == ["attended electrical stimulation"]
    assert MATCHER.found(["instrument assisted soft tissue mobilization"]) == \
        ["instrument assisted soft tissue mobilization"]


def test_capitals_are_kept_only_for_abbreviations_that_are_words():
    assert codes_in("US to the knee") == {"97035"} and codes_in("gave us a list") == set()
    assert codes_in("TENS for pain") == {"G0283"} and codes_in("tens of minutes") == set()


def test_a_phrase_does_not_cross_a_sentence():
    assert codes_in("hot. Pack the bag for home") == set()
    assert codes_in("mechanical; traction") == set()


def test_matching_reads_long_notes_in_one_pass():
    # Long, repetitive notes of the words the phrases share: the result is the same as on
    # one copy of the note (the benchmark bench_phrases.py shows the time is linear).
    note = "hot moist pack to the knee. jt mob gr III. no e-stim. "
    assert MATCHER.found([note * 400]) == MATCHER.found([note])
    hostile = ServiceMatcher([" ".join(["tolerated"] * n + [f"well{n}"]) for n in range(1, 31)])
    assert hostile.found(["tolerated " * 3000]) == []
    assert hostile.found(["tolerated " * 3000 + "tolerated well7"]) == [" ".join(["tolerated"] * 7 + ["well7"])]


# ------------------------------------------------------------------ through the rule


@pytest.mark.parametrize("technique, code", [
    ("moist hot packs to the ankle", "97010"),
    ("TherEx: heel raises 3x15 w/ 2# weight", "97110"),
    ("mech traction, lumbar", "97012"),
    ("estim to the calf 15 min", "G0283"),
    ("Swedish massage, calf", "97124"),
])
def test_the_coding_rule_recognises_paraphrases(check, clean_claim, technique, code):
    clean_claim["documentation"]["interventions"][0]["technique"] = technique
    result = check(clean_claim)
    [finding] = [f for f in result.findings if f.rule == "coding.technique_fits_other_code"]
    assert code in finding.message and finding.fix[0]["value"] == code


@pytest.mark.parametrize("technique", MANUAL_ONLY + NOT_DONE)
def test_the_coding_rule_stays_quiet_on_manual_techniques(check, clean_claim, technique):
    clean_claim["documentation"]["interventions"][0]["technique"] = technique
    assert "coding.technique_fits_other_code" not in {f.rule for f in check(clean_claim).findings}


def test_random_notes_in_guidance_words_never_crash_and_stay_within_the_table():
    rng = random.Random(7)
    words = re.findall(r"[\w/-]+", " ".join(CODES)) + ["no", "declined", ",", ".", "(", ")", "with", "for"]
    for _ in range(300):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 30)))
        assert set(MATCHER.found([text])) <= set(CODES)


def test_the_ascii_tokenizer_cuts_every_text_as_the_full_one_does():
    # A text of ASCII characters without a slash is cut by a simpler expression (no Unicode
    # classes, no shorthand): it must give exactly the tokens the full expression gives.
    import random
    import string

    from payerlint.evaluate.phrases import _ASCII_TOKEN, _SERVICE_TOKEN

    rng = random.Random(5)
    texts = ["Moist hot packs x10 min; manual traction", "pt declined HP | e-stim deferred.", "STM_L3-4 (grade III)"]
    texts += ["".join(rng.choice(string.printable.replace("/", "")) for _ in range(rng.randint(0, 60)))
              for _ in range(5000)]
    for text in texts:
        assert _ASCII_TOKEN.findall(text) == _SERVICE_TOKEN.findall(text), repr(text)


def test_every_text_is_cut_as_the_full_expression_cuts_it():
    # Plain ASCII is cut by a byte table and a split, ASCII with shorthand by an expression
    # without the look-behind: each must give exactly the tokens of the full expression.
    import random
    import string

    from payerlint.evaluate.phrases import _SERVICE_TOKEN, _Tokens

    shorthand = {"w/o": "without", "w/": "with", "d/c": "d/c"}

    def reference(text):
        return [shorthand[t.casefold()] if len(t) > 1 and "/" in t else t for t in _SERVICE_TOKEN.findall(text)]

    rng = random.Random(11)
    alphabet = string.printable + "wWdDoOcC////"
    texts = ["pt declined HP w/o e-stim; d/c US", "W/O e-stim, D/C'd", "aw/ w/on 3w/5 w/\nHP", "café w/ ß-pack",
             "hot pack\n(moist)", "x" * 3 + "\x0b\x1c\t|"]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60))) for _ in range(5000)]
    texts += ["".join(rng.choice(alphabet + "é•ßΣ\u00a0") for _ in range(rng.randint(0, 30))) for _ in range(1000)]
    for text in texts:
        assert _Tokens(text).text == reference(text), repr(text)


@pytest.mark.parametrize("text, found", [
    ("pulsed US to the knee", ["pulsed US", "US pulsed"]),
    ("US, pulsed", ["pulsed US", "US pulsed"]),
    ("pulsed us to the knee", []),
    ("moist hot HP", ["moist HP"]),
    ("HP moist", ["moist HP"]),
    ("moist hp", []),
    ("moist\nHP", []),
    ("hot pack", ["hot pack", "pack hot"]),
])
def test_a_word_in_capitals_is_matched_anywhere_in_a_phrase_and_either_order(text, found):
    # Both orders of a phrase share one trie; a word in capitals is looked up by its text
    # beside its stem, at any position of the phrase, not only the first.
    assert ServiceMatcher(["pulsed US", "US pulsed", "moist HP", "hot pack", "pack hot"]).found([text]) == found


def test_a_hash_in_an_exact_phrase_stands_for_any_number():
    """"about #" flags "about 20 minutes", not "educated about the home program"."""
    matcher = PhraseMatcher("approximate", ["about #", "approx. #", "~#", "# minutes or so"])
    assert matcher.matched("About 30 minutes") == ["about #"]
    assert matcher.matched("approx.  25 min; ~ 40 total") == ["approx. #", "~#"]
    assert matcher.matched("Timed 20 minutes or so") == ["# minutes or so"]
    assert not matcher.any("Educated about the home program; timed 38 minutes, total 45 minutes")
    assert not matcher.any("approx twenty minutes")


def test_exact_phrases_with_numbers_agree_with_a_plain_search():
    """Every phrase found by the trie walk (which forks on a number) is found by testing
    each phrase at each position, and no other, on random texts and phrase sets."""
    import random

    from payerlint.evaluate.phrases import exact_tokens

    rng = random.Random(11)
    words = ["about", "approx", ".", "20", "5", "minutes", "or", "so", "~", "#", "tolerated", "well", "x"]
    for _ in range(2000):
        phrases = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 3))) for _ in range(rng.randint(1, 6))]
        text = " ".join(rng.choice(words + ["7", "12"]) for _ in range(rng.randint(0, 12)))
        tokens = exact_tokens(text)
        expected = set()
        for phrase in phrases:
            want = exact_tokens(phrase)
            if any(all(a == b or (a == "#" and b.isdecimal()) for a, b in zip(want, tokens[s:s + len(want)]))
                   for s in range(len(tokens) - len(want) + 1)):
                expected.add(phrase)
        matcher = PhraseMatcher("random", phrases)
        assert set(matcher.matched(text)) == expected, (phrases, text)
        assert matcher.any(text) == bool(expected)
