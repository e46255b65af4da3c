"""A deterministic corpus of synthetic Medicare outpatient PT/OT claims, for benchmarks.

Every identifier is made up: claim and patient ids carry a `SYN` prefix, NPIs are random
10-digit numbers with a valid NPI check digit (so they look real to a Luhn check) drawn
from a small seeded pool, and no claim describes a real person or provider.

The claims are meant to look like a week of exports from a few hundred private
practices rather than like a fuzzer's output:

- PT (about 70%), OT (about 25%) and chiropractic (about 4%: spinal manipulation 98940,
  subluxation M99.0x first, sometimes with 97140, which Medicare does not cover from a
  chiropractor) claims, 1-6 lines, dates of service 2026-04-01..2026-06-30;
- timed codes run 8-45 minutes (5-7 for an injected lone short service) and are billed
  by the CMS 8-minute rule (the allocation of Pub. 100-04 Ch. 5 sec. 20.2); untimed codes
  are 1 unit; GP/GO on every therapy line, CQ/CO on assistant lines, 59 on the column-2
  code of an NCCI pair, KX once the year's therapy amount passes the $2,480 threshold, AT
  on chiropractic manipulation;
- diagnoses from a short list of common therapy conditions, with matching body regions,
  clinical indications, techniques, measurable responses and functional goals;
- treatment notes on about 92% of claims (the rest have none, as real exports do);
- about 15% of claims carry a billing error a payer would catch (wrong units, missing
  GP/GO, 97140 beside 97012 without 59, missing KX, vague note phrases, an ICD-10 header
  like M54.5, a pointer to no diagnosis, ...), and about 2% are not valid against the claim
  schema at all (units as a string, a date that does not exist, a 9-digit NPI, ...).

`generate(n, seed)` is prefix-stable: the first k claims are the same for every n >= k.
No two claims are equal even ignoring their claim ids. This module does not import
payerlint, so it can run in a child process with nothing on the path.

    python3 benchmarks/corpus.py OUT.jsonl [--claims N] [--seed S]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from datetime import date, timedelta
from typing import Iterator

FIRST_DAY = date(2026, 4, 1)
LAST_DAY = date(2026, 6, 30)
KX_THRESHOLD = 2480  # CY2026, PT+SLP combined and OT separately

TIMED = frozenset({"97110", "97112", "97116", "97124", "97140", "97530", "97035"})
UNTIMED = frozenset({"97010", "97012", "G0283", "97161", "97162", "97163", "97164", "97014"})
EVALUATIONS = ("97161", "97162", "97163")

# A practice's usual charge per unit (billed charges run well above the fee schedule).
CHARGE = {
    "97110": 45, "97112": 52, "97116": 44, "97124": 40, "97140": 48, "97530": 55, "97035": 22,
    "97010": 15, "97012": 30, "G0283": 25, "97014": 25, "97161": 160, "97162": 175, "97163": 190,
    "97164": 110, "98940": 55,
}
# Typical minutes of each timed code (a triangular distribution: low, high, mode).
MINUTES = {
    "97110": (8, 45, 18), "97112": (8, 30, 15), "97116": (8, 25, 12), "97124": (8, 25, 12),
    "97140": (8, 30, 15), "97530": (8, 45, 16), "97035": (8, 12, 8),
}

# ------------------------------------------------------------------ conditions

# Each primary diagnosis with how it is treated and written up. `codes` are the timed
# codes a therapist would pick for it, with weights; `modalities` the untimed ones.
CONDITIONS = {
    "S93.401A": dict(
        region="right ankle", what="Right ankle sprain", weight=10,
        impairments=["dorsiflexion limited to {a} degrees", "single-leg stance {s} seconds", "edema 2 cm figure-of-eight"],
        measures=["dorsiflexion {a} to {b} degrees", "single-leg stance {s} to {t} seconds", "pain {p}/10 to {q}/10 with stairs"],
        goals=["Climb one flight of stairs without a rail by week {w}", "Walk {d} feet on uneven ground without pain by week {w}",
               "Return to work shifts standing 4 hours by week {w}"],
        codes={"97110": 5, "97140": 4, "97112": 4, "97116": 2, "97530": 2, "97035": 1},
        modalities={"97010": 3, "G0283": 1},
        manual=["grade III anterior-posterior talocrural joint mobilization",
                "grade II-III posterior talar glides with distraction", "soft-tissue mobilization of the peroneals"],
    ),
    "S93.402D": dict(
        region="left ankle", what="Left ankle sprain, subsequent care", weight=10,
        impairments=["dorsiflexion limited to {a} degrees", "single-leg stance {s} seconds", "antalgic gait"],
        measures=["dorsiflexion {a} to {b} degrees", "single-leg stance {s} to {t} seconds", "stair pain {p}/10 to {q}/10"],
        goals=["Climb stairs reciprocally without a rail by week {w}", "Walk {d} feet without a limp by week {w}",
               "Return to running 1 mile by week {w}"],
        codes={"97110": 5, "97140": 4, "97112": 4, "97116": 2, "97530": 2},
        modalities={"97010": 3, "G0283": 1},
        manual=["grade III anterior-posterior talocrural joint mobilization",
                "grade II subtalar joint mobilization", "soft-tissue mobilization of the gastrocnemius"],
    ),
    "S83.241A": dict(
        region="right knee", what="Right medial meniscus tear", weight=9,
        impairments=["knee flexion limited to {k} degrees", "quadriceps lag {l} degrees", "pain {p}/10 on stairs"],
        measures=["knee flexion {k} to {k2} degrees", "quadriceps lag {l} to {l2} degrees", "pain {p}/10 to {q}/10 on stairs"],
        goals=["Climb stairs step-over-step by week {w}", "Squat to lift a 10 lb box from the floor by week {w}",
               "Walk {d} feet without a cane by week {w}"],
        codes={"97110": 6, "97140": 3, "97112": 3, "97116": 3, "97530": 3, "97035": 1},
        modalities={"97010": 3, "G0283": 2},
        manual=["grade III patellar mobilization in all planes", "tibiofemoral posterior glide mobilization",
                "soft-tissue mobilization of the medial hamstrings"],
    ),
    "M25.661": dict(
        region="right knee", what="Right knee stiffness after arthroplasty", weight=8,
        impairments=["knee flexion limited to {k} degrees", "knee extension lacks {l} degrees", "TUG {s} seconds"],
        measures=["knee flexion {k} to {k2} degrees", "extension lag {l} to {l2} degrees", "TUG {t} to {s} seconds"],
        goals=["Stand up from a low chair without using the arms by week {w}", "Walk {d} feet with no device by week {w}",
               "Climb one flight of stairs by week {w}"],
        codes={"97110": 6, "97140": 4, "97116": 3, "97530": 3, "97112": 2},
        modalities={"97010": 3, "G0283": 2},
        manual=["grade IV tibiofemoral flexion mobilization", "patellar mobilization, superior-inferior glides",
                "scar mobilization of the anterior knee incision"],
    ),
    "S39.012A": dict(
        region="lumbar spine", what="Lumbar muscle strain", weight=8,
        impairments=["lumbar flexion limited to {a} degrees", "sitting tolerance {m} minutes", "Oswestry {o}%"],
        measures=["lumbar flexion {a} to {b} degrees", "sitting tolerance {m} to {m2} minutes", "pain {p}/10 to {q}/10"],
        goals=["Sit through a 1-hour drive without pain by week {w}", "Lift a 20 lb grandchild from the floor by week {w}",
               "Return to gardening 30 minutes by week {w}"],
        codes={"97110": 5, "97140": 4, "97112": 2, "97530": 3, "97124": 2},
        modalities={"97010": 4, "97012": 2, "G0283": 2},
        manual=["grade III posterior-anterior mobilization L3-L5", "soft-tissue mobilization of the lumbar paraspinals",
                "sustained natural apophyseal glides L4-L5"],
    ),
    "M54.50": dict(
        region="lumbar spine", what="Low back pain", weight=9,
        impairments=["lumbar flexion limited to {a} degrees", "standing tolerance {m} minutes", "Oswestry {o}%"],
        measures=["lumbar flexion {a} to {b} degrees", "standing tolerance {m} to {m2} minutes", "pain {p}/10 to {q}/10"],
        goals=["Stand 30 minutes to cook a meal by week {w}", "Walk {d} feet to the mailbox and back by week {w}",
               "Sleep through the night without waking from pain by week {w}"],
        codes={"97110": 6, "97112": 2, "97530": 3, "97124": 2, "97116": 1},
        modalities={"97010": 4, "97012": 2, "G0283": 2},
        manual=[],
    ),
    "M54.12": dict(
        region="cervical spine", what="Cervical radiculopathy", weight=7,
        impairments=["cervical rotation limited to {a} degrees", "grip {g} lb on the left", "NDI {o}%"],
        measures=["cervical rotation {a} to {b} degrees", "grip {g} to {g2} lb", "arm pain {p}/10 to {q}/10"],
        goals=["Turn the head to check traffic while driving by week {w}", "Reach an overhead shelf without arm pain by week {w}",
               "Type 45 minutes at work without numbness by week {w}"],
        codes={"97110": 5, "97140": 4, "97112": 3, "97530": 2, "97124": 1},
        modalities={"97010": 3, "97012": 3, "G0283": 1},
        manual=["grade III cervical lateral glides C5-C6", "suboccipital release and upper cervical mobilization",
                "soft-tissue mobilization of the upper trapezius and scalenes"],
    ),
    "M75.41": dict(
        region="right shoulder", what="Right shoulder impingement", weight=9,
        impairments=["shoulder flexion limited to {f} degrees", "painful arc 70-120 degrees", "QuickDASH {o}"],
        measures=["shoulder flexion {f} to {f2} degrees", "external rotation {a} to {b} degrees", "pain {p}/10 to {q}/10 reaching"],
        goals=["Reach the top kitchen shelf without pain by week {w}", "Dress the upper body independently by week {w}",
               "Lift a 10 lb grocery bag to shoulder height by week {w}"],
        codes={"97110": 6, "97140": 4, "97112": 2, "97530": 3, "97035": 2},
        modalities={"97010": 3, "G0283": 2},
        manual=["grade III posterior glenohumeral glides", "inferior glenohumeral glide mobilization at 90 degrees abduction",
                "soft-tissue mobilization of the posterior cuff"],
    ),
    "M79.18": dict(
        region="upper back", what="Myalgia of the neck and upper back", weight=5,
        impairments=["cervical rotation limited to {a} degrees", "tender points in the upper trapezius", "sitting tolerance {m} minutes"],
        measures=["cervical rotation {a} to {b} degrees", "sitting tolerance {m} to {m2} minutes", "pain {p}/10 to {q}/10"],
        goals=["Work at the computer 2 hours without pain by week {w}", "Carry a purse 15 minutes without pain by week {w}",
               "Sleep 6 hours without waking by week {w}"],
        codes={"97110": 5, "97112": 2, "97530": 2, "97124": 3},
        modalities={"97010": 4, "G0283": 2},
        manual=[],
    ),
}
MANUAL_THERAPY_DX = ("S93.401A", "S93.402D", "S83.241A", "S39.012A", "M54.12", "M75.41", "M25.661")
# OT sees mostly the upper quarter; the weights above are PT's.
OT_WEIGHTS = {"M75.41": 10, "M54.12": 6, "M79.18": 5, "M25.661": 2, "S39.012A": 1, "M54.50": 2}

TECHNIQUES = {
    "97110": ["therapeutic exercise: {region} strengthening with resistance bands, 3x12",
              "strengthening exercises for the {region}, progressive resistance 3x10",
              "range of motion exercises for the {region}, active-assisted then active",
              "stretching exercises for the {region}, 3x30 seconds each"],
    "97112": ["neuromuscular re-education: single-leg balance on foam with perturbations",
              "proprioceptive training on a wobble board, eyes open and closed",
              "postural stabilization drills with tactile cueing",
              "motor control retraining of the deep stabilizers with biofeedback"],
    "97116": ["gait training with verbal cues for heel strike and step length",
              "gait training on stairs and ramps with contact guard",
              "gait training over uneven surfaces, reducing the assistive device"],
    "97124": ["deep friction massage of the {region} musculature",
              "massage of the {region} paraspinals to reduce guarding",
              "myofascial massage of the {region}"],
    "97530": ["therapeutic activities: floor-to-waist lifting with hip hinge",
              "therapeutic activities: car transfer practice and step-ups",
              "functional reaching and carrying tasks with graded weight",
              "dynamic activities simulating household chores"],
    "97035": ["ultrasound 1 MHz, 1.0 W/cm2, continuous, to the {region}",
              "pulsed ultrasound 3 MHz at 20% to the {region}"],
    "97010": ["hot pack to the {region}, 10 minutes", "cold pack to the {region} after exercise"],
    "97012": ["mechanical traction, intermittent, 40% body weight", "mechanical traction, static, 25 lb"],
    "G0283": ["unattended electrical stimulation, IFC to the {region}", "unattended electrical stimulation, premodulated, to the {region}"],
    "97014": ["unattended electrical stimulation, IFC to the {region}"],
}
DC_TECHNIQUES = ["diversified spinal manipulation, L4-L5 and L5-S1", "diversified manipulation, T6-T8 and L3-L4",
                 "drop-table manipulation, lumbar spine two regions"]
VAGUE_TECHNIQUES = ["manual therapy performed", "Manual therapy provided as tolerated", "hands-on techniques", "soft tissue work"]
VAGUE_RESPONSES = ["Tolerated treatment well", "Patient did well, no complaints", "Feels better today", "ROM improved"]
STATES = ("OR", "WA", "CA", "ID", "NV", "AZ", "TX", "FL", "OH", "PA", "NY", "NC", "GA", "MI", "IL", "MN")

# Injected billing errors with their relative weights.
ERRORS = {
    "units_over": 12, "units_all_to_one": 4, "lone_under_8": 4, "untimed_units": 3,
    "missing_therapy_modifier": 10, "wrong_therapy_modifier": 3, "missing_59": 7, "kx_missing": 8,
    "vague_technique": 8, "vague_response": 6, "invalid_icd": 7, "pointer_invalid": 3,
    "minutes_disagree": 4, "intervention_missing": 3, "approximate_time": 3, "duplicate_line": 3,
    "progress_overdue": 3, "code_97014": 2, "mt_without_support": 3, "missing_cq": 2,
}
SCHEMA_BREAKS = ("units_string", "bad_date", "short_npi", "lowercase_modifier", "charge_number",
                 "unknown_field", "no_lines", "missing_npi", "minutes_negative")

ERROR_RATE = 0.15
SCHEMA_RATE = 0.02
DOCUMENTED_RATE = 0.92


# ------------------------------------------------------------------ helpers


def npi_check_digit(first9: str) -> str:
    """The NPI check digit: Luhn over '80840' + the first nine digits."""
    total = 0
    for i, ch in enumerate(reversed("80840" + first9)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def cms_allocation(minutes: list[int]) -> list[int]:
    """Units per timed line under the CMS total-time method (Pub. 100-04 Ch. 5 sec. 20.2)."""
    total_minutes = sum(minutes)
    total = 0 if total_minutes < 8 else (total_minutes + 7) // 15
    units = [m // 15 for m in minutes]
    order = sorted(range(len(minutes)), key=lambda i: (-(minutes[i] % 15), -minutes[i], i))
    for i in order[:max(0, total - sum(units))]:
        units[i] += 1
    return units


def _pick(rng: random.Random, weights: dict):
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _money(amount: float) -> str:
    return f"{amount:.2f}"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _fill(rng: random.Random, template: str, region: str) -> str:
    a = rng.randint(5, 40)
    k = rng.randint(70, 100)
    f = rng.randint(90, 130)
    p = rng.randint(4, 8)
    m = rng.randint(10, 25)
    s = rng.randint(3, 12)
    l = rng.randint(5, 15)
    g = rng.randint(25, 50)
    return template.format(
        a=a, b=a + rng.randint(3, 15), k=k, k2=k + rng.randint(4, 20), f=f, f2=f + rng.randint(5, 30),
        p=p, q=p - rng.randint(1, 3), m=m, m2=m + rng.randint(5, 30), s=s, t=s + rng.randint(2, 10),
        l=l, l2=max(0, l - rng.randint(2, 8)), g=g, g2=g + rng.randint(3, 12), o=rng.randint(20, 60),
        w=rng.choice((4, 6, 8, 10, 12)), d=rng.choice((150, 300, 500, 1000)), region=region)


class _Providers:
    """A seeded pool of practices: NPI, discipline, state, how they charge."""

    def __init__(self, rng: random.Random, size: int = 240):
        self.pool = []
        seen = set()
        while len(self.pool) < size:
            first9 = str(rng.randint(1, 2)) + "".join(str(rng.randint(0, 9)) for _ in range(8))
            if first9 in seen:
                continue
            seen.add(first9)
            roll = rng.random()
            discipline = "PT" if roll < 0.70 else "OT" if roll < 0.97 else "DC"
            self.pool.append({
                "npi": first9 + npi_check_digit(first9), "discipline": discipline,
                "state": rng.choice(STATES), "markup": rng.choice((0.85, 0.9, 1.0, 1.0, 1.1, 1.2, 1.3)),
                "assistants": rng.random() < 0.45, "time_statement": rng.random() < 0.35,
                "pos": "11" if rng.random() < 0.9 else "22",
            })

    def pick(self, rng: random.Random) -> dict:
        return rng.choice(self.pool)


# ------------------------------------------------------------------ one claim


def _line(code, provider, units, minutes, pointers, region, performed_by, assistant_minutes, modifiers):
    line = {"code": code, "modifiers": modifiers, "units": units}
    if minutes is not None:
        line["minutes"] = minutes
    line["charge"] = _money(CHARGE[code] * provider["markup"] * units)
    line["diagnosis_pointers"] = pointers
    if region is not None:
        line["body_region"] = region
    line["performed_by"] = performed_by
    line["assistant_minutes"] = assistant_minutes
    return line


def _therapy_claim(rng: random.Random, index: int, claim_id: str, provider: dict, errors: list[str]) -> dict:
    discipline = provider["discipline"]
    gmod = "GP" if discipline == "PT" else "GO"
    amod = "CQ" if discipline == "PT" else "CO"
    assistant = "PTA" if discipline == "PT" else "OTA"
    weights = {dx: c["weight"] for dx, c in CONDITIONS.items()} if discipline == "PT" else OT_WEIGHTS
    primary = _pick(rng, weights)
    cond = CONDITIONS[primary]
    region = cond["region"]
    dos = FIRST_DAY + timedelta(days=rng.randint(0, (LAST_DAY - FIRST_DAY).days))

    # Episode: plan of care started with the evaluation, visits two or three a week.
    visit = 1 if rng.random() < 0.08 else rng.randint(2, 28)
    since_start = 0 if visit == 1 else min(85, int((visit - 1) * rng.uniform(2.0, 3.2)))
    start = dos - timedelta(days=since_start)
    end = start + timedelta(days=rng.choice((56, 60, 84, 90)))
    if end < dos:
        end = start + timedelta(days=90)
    certified = start + timedelta(days=rng.randint(0, 12))
    certified_on = None if certified > dos and rng.random() < 0.5 else certified.isoformat()
    visits_year = visit + (rng.choice((0, 0, 0, 4, 8, 12)) if rng.random() < 0.3 else 0)
    ytd = round(visits_year * rng.uniform(88, 132), 2)
    last_report = None if visit == 1 else max(1, visit - rng.randint(0, min(9, visit - 1)))
    if "kx_missing" in errors:
        ytd = max(ytd, KX_THRESHOLD + rng.uniform(15, 900))
    if "progress_overdue" in errors and visit >= 12:
        last_report = visit - rng.randint(10, 11)
    episode = {"visit_number": visit, "visits_this_year": visits_year, "evaluation_date": start.isoformat(),
               "plan_of_care": {"start": start.isoformat(), "certified_on": certified_on, "end": end.isoformat()},
               "last_progress_report_visit": last_report}
    auth = rng.random()
    if auth < 0.1:
        episode["prior_authorization"] = {"number": f"PA-{rng.randint(10000, 99999)}", "visits_authorized": rng.choice((12, 16, 20, 24)),
                                          "valid_from": start.isoformat(), "valid_to": end.isoformat()}
    elif auth < 0.5:
        episode["prior_authorization"] = None
    episode["therapy_amount_ytd"] = _money(ytd)
    over_kx = ytd > KX_THRESHOLD

    # Diagnoses: the primary plus up to two others.
    diagnoses = [primary]
    others = [d for d in CONDITIONS if d != primary and CONDITIONS[d]["region"] != region]
    for _ in range(rng.choices((0, 1, 2), weights=(6, 3, 1))[0]):
        extra = rng.choice(others)
        if extra not in diagnoses:
            diagnoses.append(extra)
    if "invalid_icd" in errors:
        # The classic: M54.5 (a header since FY2022) where M54.50 belongs.
        if primary == "M54.50":
            diagnoses[0] = "M54.5"
        elif len(diagnoses) > 1:
            diagnoses[-1] = "M54.5"
        else:
            diagnoses.append("M54.5")

    # Which codes: an evaluation on visit 1, a re-evaluation now and then (PT only).
    codes: list[str] = []
    evaluation = None
    if discipline == "PT" and visit == 1:
        evaluation = rng.choice(EVALUATIONS)
    elif discipline == "PT" and visit % 10 == 0 and rng.random() < 0.5:
        evaluation = "97164"
    if evaluation:
        codes.append(evaluation)
    timed_weights = dict(cond["codes"])
    if discipline == "OT":
        timed_weights.pop("97116", None)
    supports_mt = primary in MANUAL_THERAPY_DX
    if not supports_mt and "mt_without_support" not in errors:
        timed_weights.pop("97140", None)
    n_lines = rng.choices((1, 2, 3, 4, 5, 6), weights=(8, 22, 30, 22, 12, 6))[0]
    n_timed = max(0 if evaluation else 1, n_lines - len(codes) - (1 if rng.random() < 0.35 else 0))
    if evaluation:
        n_timed = min(n_timed, 2)
    for _ in range(n_timed):
        choices = {c: w for c, w in timed_weights.items() if c not in codes}
        if not choices:
            break
        codes.append(_pick(rng, choices))
    modalities = dict(cond["modalities"])
    if "code_97014" in errors:
        modalities = {"97014": 1}
    while len(codes) < n_lines:
        choices = {c: w for c, w in modalities.items() if c not in codes}
        if not choices:
            break
        codes.append(_pick(rng, choices))
    if "missing_59" in errors and "97140" not in codes or "mt_without_support" in errors and "97140" not in codes:
        codes.append("97140")
    if "missing_59" in errors and "97012" not in codes:
        codes.append("97012")
    if "duplicate_line" in errors:
        timed_in = [c for c in codes if c in TIMED]
        if timed_in:
            codes.append(timed_in[0])
    if "lone_under_8" in errors:
        codes = [rng.choice([c for c in cond["codes"] if c != "97035"])] + [c for c in codes if c not in TIMED][:2]
    # At most six lines: an injected error's lines stay, routine ones make room.
    needed = {"97140", "97012"} if "missing_59" in errors else set()
    while len(codes) > 6:
        spare = max(i for i, c in enumerate(codes) if c not in needed and c != evaluation and i != len(codes) - 1)
        del codes[spare]

    # Minutes and units: redraw until the CMS allocation gives every timed line a unit.
    timed_idx = [i for i, c in enumerate(codes) if c in TIMED]
    for _attempt in range(20):
        minutes = {i: round(rng.triangular(*MINUTES[codes[i]])) for i in timed_idx}
        if "lone_under_8" in errors:
            minutes = {i: rng.randint(5, 7) for i in timed_idx}
            break
        if sum(minutes.values()) > 80:
            continue
        if all(cms_allocation([minutes[i] for i in timed_idx])):
            break
    allocated = cms_allocation([minutes[i] for i in timed_idx]) if timed_idx else []
    units = {i: u for i, u in zip(timed_idx, allocated)}
    if "lone_under_8" in errors:
        units = {i: 1 for i in timed_idx}
    for i, c in enumerate(codes):
        if c not in TIMED:
            units[i] = 1
            minutes[i] = rng.randint(20, 45) if c in EVALUATIONS or c == "97164" else rng.randint(10, 15)

    # Lines.
    pointer_choices = [[1]] + ([[1, 2], [2, 1]] if len(diagnoses) > 1 else [])
    use_assistant = provider["assistants"] and not evaluation and rng.random() < 0.5
    lines = []
    for i, code in enumerate(codes):
        by_assistant = use_assistant and code not in EVALUATIONS and code != "97164" and rng.random() < 0.7
        modifiers = [gmod]
        if by_assistant:
            modifiers.append(amod)
        line_region = region if code in TIMED or rng.random() < 0.5 else None
        lines.append(_line(code, provider, units[i], minutes[i], list(rng.choice(pointer_choices)), line_region,
                           assistant if by_assistant else discipline, minutes[i] if by_assistant else 0, modifiers))
    # NCCI pairs: 59 on the column-2 code.
    present = set(codes)
    for i, code in enumerate(codes):
        needs_59 = (code == "97140" and (present & {"97012", "97161", "97162", "97163"})) or \
                   (code == "97164" and "97530" in present) or (code == "97116" and "97530" in present)
        if needs_59 and not ("missing_59" in errors and code == "97140"):
            lines[i]["modifiers"].insert(0, "59")
    if over_kx and "kx_missing" not in errors:
        for line in lines:
            line["modifiers"].append("KX")
    if "duplicate_line" in errors and len(lines) >= 2 and lines[-1]["code"] in TIMED:
        lines[-1]["body_region"] = "contralateral " + region.split()[-1]

    # The note: one intervention per line except evaluations.
    documented = rng.random() < DOCUMENTED_RATE or any(
        e in errors for e in ("vague_technique", "vague_response", "minutes_disagree", "intervention_missing", "approximate_time"))
    claim = {
        "claim_id": claim_id,
        "payer_id": "medicare",
        "patient": {"id": f"SYN-P{rng.randint(100000, 999999)}",
                    "birth_date": date(rng.randint(1934, 1961), rng.randint(1, 12), rng.randint(1, 28)).isoformat(),
                    "state": provider["state"]},
        "provider": {"npi": provider["npi"], "discipline": discipline},
        "date_of_service": dos.isoformat(),
        "place_of_service": provider["pos"],
        "diagnoses": diagnoses,
        "episode": episode,
        "lines": lines,
    }
    if documented:
        claim["documentation"] = _note(rng, cond, region, lines, provider, errors)
    return claim


def _note(rng, cond, region, lines, provider, errors) -> dict:
    interventions = []
    for line in lines:
        code = line["code"]
        if code in EVALUATIONS or code == "97164":
            continue
        if code == "97140":
            pool = cond["manual"] or ["soft-tissue mobilization of the " + region + " musculature"]
            technique = rng.choice(pool)
        else:
            technique = rng.choice(TECHNIQUES[code]).format(region=region)
        interventions.append({"code": code, "technique": technique, "body_region": line.get("body_region", region),
                              "minutes": line["minutes"]})
    timed = sum(line["minutes"] for line in lines if line["code"] in TIMED)
    total = sum(line["minutes"] for line in lines) + rng.choice((0, 0, 5, 8, 10))
    note = {
        "clinical_indication": f"{cond['what']}; " + "; ".join(
            _fill(rng, t, region) for t in rng.sample(cond["impairments"], 2)),
        "interventions": interventions,
        "patient_response": _sentence("; ".join(_fill(rng, t, region) for t in rng.sample(cond["measures"], 2))),
        "functional_goals": _fill(rng, rng.choice(cond["goals"]), region),
        "skilled_care_justification": rng.choice((
            "Graded progression and manual cueing need a therapist's judgment",
            "Joint restriction needs graded mobilization the patient cannot self-apply",
            "Balance deficits need skilled guarding and progression to prevent falls",
            "Exercise dosage is adjusted each visit to the symptom response")),
        "clinical_reasoning": rng.choice((
            f"Deficits in {region} mobility and strength limit the goal activity; treatment targets both",
            "Capsular end-feel points to mobilization over stretching; strengthening follows the range gained",
            "Symptoms centralize with repeated movement; loading progressed as tolerance builds",
            "Neuromuscular control is the limiting factor; balance work chosen over pure strengthening")),
        "total_timed_minutes": timed,
        "total_treatment_minutes": max(total, timed),
    }
    if provider["time_statement"] or "approximate_time" in errors:
        note["time_statement"] = (f"approximately {total} minutes of treatment" if "approximate_time" in errors
                                  else f"Timed code treatment {timed} minutes; total treatment time {max(total, timed)} minutes")
    if "vague_technique" in errors:
        mt = [n for n in interventions if n["code"] == "97140"] or interventions
        if mt:
            mt[0]["technique"] = rng.choice(VAGUE_TECHNIQUES)
    if "vague_response" in errors:
        note["patient_response"] = rng.choice(VAGUE_RESPONSES)
    if "minutes_disagree" in errors:
        note["total_timed_minutes"] = timed + rng.choice((-8, -5, 5, 7, 10))
    if "intervention_missing" in errors and interventions:
        timed_notes = [n for n in interventions if n["code"] in TIMED]
        if timed_notes:
            interventions.remove(rng.choice(timed_notes))
    return note


def _chiro_claim(rng: random.Random, index: int, claim_id: str, provider: dict, errors: list[str]) -> dict:
    dos = FIRST_DAY + timedelta(days=rng.randint(0, (LAST_DAY - FIRST_DAY).days))
    visit = rng.randint(1, 24)
    start = dos - timedelta(days=min(80, (visit - 1) * 3))
    primary = rng.choice(("M99.03", "M99.03", "M99.02", "M99.01"))
    diagnoses = [primary, rng.choice(("M54.50", "M54.12", "M79.18"))]
    if "invalid_icd" in errors:
        diagnoses[1] = "M54.5"
    modifiers = ["AT"] if "missing_therapy_modifier" not in errors else []
    lines = [{"code": "98940", "modifiers": modifiers, "units": 1, "charge": _money(CHARGE["98940"] * provider["markup"]),
              "diagnosis_pointers": [1, 2], "body_region": "lumbar spine", "performed_by": "DC", "assistant_minutes": 0}]
    if rng.random() < 0.3:  # chiropractors do bill therapy codes; Medicare does not cover them
        minutes = rng.randint(8, 22)
        lines.append({"code": "97140", "modifiers": ["59", "GP"], "units": 1, "minutes": minutes,
                      "charge": _money(CHARGE["97140"] * provider["markup"]), "diagnosis_pointers": [2],
                      "body_region": "lumbar spine", "performed_by": "DC", "assistant_minutes": 0})
    claim = {
        "claim_id": claim_id, "payer_id": "medicare",
        "patient": {"id": f"SYN-P{rng.randint(100000, 999999)}",
                    "birth_date": date(rng.randint(1934, 1961), rng.randint(1, 12), rng.randint(1, 28)).isoformat()},
        "provider": {"npi": provider["npi"], "discipline": "DC"},
        "date_of_service": dos.isoformat(), "place_of_service": "11", "diagnoses": diagnoses,
        "episode": {"visit_number": visit, "visits_this_year": visit, "evaluation_date": start.isoformat(),
                    "plan_of_care": {"start": start.isoformat(), "certified_on": start.isoformat(),
                                     "end": (start + timedelta(days=90)).isoformat()},
                    "last_progress_report_visit": max(1, visit - rng.randint(0, 8)),
                    "therapy_amount_ytd": _money(visit * rng.uniform(40, 70))},
        "lines": lines,
    }
    if rng.random() < DOCUMENTED_RATE:
        interventions = [{"code": "98940", "technique": rng.choice(DC_TECHNIQUES), "body_region": "lumbar spine"}]
        timed = 0
        if len(lines) > 1:
            interventions.append({"code": "97140", "technique": "soft-tissue mobilization of the lumbar paraspinals",
                                  "body_region": "lumbar spine", "minutes": lines[1]["minutes"]})
            timed = lines[1]["minutes"]
        a = rng.randint(20, 45)
        claim["documentation"] = {
            "clinical_indication": f"Segmental dysfunction L4-L5 with lumbar flexion limited to {a} degrees",
            "interventions": interventions,
            "patient_response": f"Lumbar flexion {a} to {a + rng.randint(5, 15)} degrees; "
                                f"pain {rng.randint(5, 8)}/10 to {rng.randint(2, 4)}/10",
            "functional_goals": f"Sit through a 1-hour drive without pain by week {rng.choice((4, 6, 8))}",
            "skilled_care_justification": "Manipulation of the restricted segments needs a chiropractor's skill",
            "clinical_reasoning": "Segmental restriction with local tenderness; manipulation chosen for the hypomobile segments",
            "total_timed_minutes": timed, "total_treatment_minutes": timed + rng.randint(10, 20),
        }
    return claim


def _break_schema(rng: random.Random, claim: dict) -> None:
    """Make a claim invalid against claim.schema.json the way real exports do."""
    kind = rng.choice(SCHEMA_BREAKS)
    line = claim["lines"][0]
    if kind == "units_string":
        line["units"] = str(line["units"])
    elif kind == "bad_date":
        claim["date_of_service"] = rng.choice(("2026-04-31", "2026-06-31", "04/15/2026", "2026-5-7"))
    elif kind == "short_npi":
        claim["provider"]["npi"] = claim["provider"]["npi"][:9]
    elif kind == "lowercase_modifier":
        line["modifiers"] = [m.lower() for m in line["modifiers"]] or ["gp"]
    elif kind == "charge_number":
        line["charge"] = float(line["charge"])
    elif kind == "unknown_field":
        claim["rendering_provider_name"] = "SYNTHETIC"
    elif kind == "no_lines":
        claim["lines"] = []
    elif kind == "missing_npi":
        del claim["provider"]["npi"]
    else:
        line["minutes"] = -line.get("minutes", 10)


def _errors_for(rng: random.Random) -> list[str]:
    if rng.random() >= ERROR_RATE:
        return []
    count = 1 if rng.random() < 0.8 else 2
    out: list[str] = []
    while len(out) < count:
        e = _pick(rng, ERRORS)
        if e not in out:
            out.append(e)
    return out


def _apply_line_errors(rng: random.Random, claim: dict, errors: list[str]) -> None:
    """Errors that edit the lines after they are built."""
    lines = claim["lines"]
    timed = [l for l in lines if l["code"] in TIMED]
    for e in errors:
        if e == "units_over" and timed:
            rng.choice(timed)["units"] += 1
        elif e == "units_all_to_one" and len(timed) >= 2:
            total = sum(l["units"] for l in timed)
            keep = max(timed, key=lambda l: l.get("minutes", 0))
            for l in timed:
                l["units"] = total if l is keep else 0
        elif e == "units_all_to_one" and timed:
            timed[0]["units"] += 1
        elif e == "untimed_units":
            untimed = [l for l in lines if l["code"] in UNTIMED]
            if untimed:
                rng.choice(untimed)["units"] = 2
            elif timed:
                timed[0]["units"] += 1
        elif e == "missing_therapy_modifier":
            line = rng.choice(lines)
            line["modifiers"] = [m for m in line["modifiers"] if m not in ("GP", "GO")]
        elif e == "wrong_therapy_modifier":
            line = rng.choice(lines)
            line["modifiers"] = ["GO" if m == "GP" else "GP" if m == "GO" else m for m in line["modifiers"]]
        elif e == "pointer_invalid":
            rng.choice(lines)["diagnosis_pointers"] = [len(claim["diagnoses"]) + 1]
        elif e == "missing_cq":
            for line in lines:
                if line["code"] in TIMED and line["performed_by"] in ("PT", "OT"):
                    line["performed_by"] += "A"
                    line["assistant_minutes"] = line.get("minutes", 0)
                    break


def _fingerprint(claim: dict) -> bytes:
    body = {k: v for k, v in claim.items() if k != "claim_id"}
    return hashlib.blake2b(json.dumps(body, sort_keys=True).encode(), digest_size=16).digest()


# ------------------------------------------------------------------ the corpus


def generate(n: int, seed: int = 2026) -> Iterator[dict]:
    """`n` distinct synthetic claims, the same ones for the same (n, seed)."""
    rng = random.Random(seed)
    providers = _Providers(random.Random(seed * 7919 + 1))
    seen: set[bytes] = set()
    produced = 0
    while produced < n:
        claim_id = f"SYN{seed % 10000:04d}-{produced + 1:07d}"
        provider = providers.pick(rng)
        errors = _errors_for(rng)
        if provider["discipline"] == "DC":
            claim = _chiro_claim(rng, produced, claim_id, provider, errors)
        else:
            claim = _therapy_claim(rng, produced, claim_id, provider, errors)
            _apply_line_errors(rng, claim, errors)
        if rng.random() < SCHEMA_RATE:
            _break_schema(rng, claim)
        fingerprint = _fingerprint(claim)
        if fingerprint in seen:
            continue  # an exact repeat (ignoring the id): draw another
        seen.add(fingerprint)
        produced += 1
        yield claim


def write_jsonl(path, n: int, seed: int = 2026) -> int:
    """Write `generate(n, seed)` as JSON Lines to `path`; return the bytes written."""
    written = 0
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for claim in generate(n, seed):
            text = json.dumps(claim, ensure_ascii=False, separators=(",", ":")) + "\n"
            f.write(text)
            written += len(text.encode("utf-8"))
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write a synthetic Medicare PT/OT claim corpus as JSON Lines.")
    parser.add_argument("output", help="the .jsonl file to write")
    parser.add_argument("--claims", type=int, default=20_000, help="how many claims (default 20,000)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    args = parser.parse_args(argv)
    size = write_jsonl(args.output, args.claims, args.seed)
    print(f"wrote {args.claims:,} claims ({size / 2**20:.1f} MiB) to {args.output}")


if __name__ == "__main__":
    main()
