"""The Medicare rulebook's data: its tables carry their sources and grades and nothing made
up, its params are the researched values, and editing data in the text changes outcomes."""

from __future__ import annotations

import shutil

import csv
import re
from datetime import date
from decimal import Decimal

import pytest

from .claims import RULEBOOK, TABLES, claim, fired, line, load

PTP_FILE = TABLES / "ncci_ptp_therapy.csv"
MUE_FILE = TABLES / "mue_practitioner.csv"


def rows(path):
    with open(path, encoding="utf-8") as handle:
        return list(csv.DictReader(text for text in handle if not text.startswith("#")))


def header(path):
    with open(path, encoding="utf-8") as handle:
        return next(text for text in handle if not text.startswith("#")).strip().split(",")


# ------------------------------------------------------------------ NCCI PTP rows (as reported)

PT_EVALS, OT_EVALS = ("97161", "97162", "97163"), ("97165", "97166", "97167")
# Order not confirmed: the rows whose sources do not confirm the order, 97012 with 97140 (one
# C source puts 97140 in column 2, no other), and 97140 with 97530 (one C source).
UNCONFIRMED = ({(e, "97140") for e in PT_EVALS + OT_EVALS} | {("97530", "97116"), ("97150", "97110")}
               | {("97140", c) for c in ("29581", "29582", "29583", "29584")} | {("97012", "97140")}
               | {("97140", "97530")})
CONFIRMED = ({(c, e) for c in ("97530", "97150") for e in PT_EVALS + OT_EVALS + ("97164",)}
             | {(c, t) for c in ("98940", "98941", "98942") for t in ("97140", "97112", "97124")})
REVERSED = {(c, e) for c in ("97530", "97150") for e in PT_EVALS + OT_EVALS}
# No source read gives these as NCCI edits: they stay out of the table (the pairs practices
# report denials for are warned about by their own rules, marked as assumptions).
NOT_FOUND = {("97140", c) for c in ("97124", "97018", "G0283", "97750")} | \
    {(c, "97140") for c in ("98925", "98926", "98927", "98928", "98929")} | \
    {(c, e) for c in ("97750", "97755") for e in PT_EVALS + OT_EVALS + ("97164", "97168")}


@pytest.mark.parametrize("row", rows(PTP_FILE), ids=lambda r: f"{r['column_1']}-{r['column_2']}")
def test_every_ptp_row_names_its_source_and_grade(row):
    assert row["source"].strip() and row["grade"] in ("A", "B", "C")
    assert row["modifier_indicator"] in ("0", "1", "9")
    assert row["order_confirmed"] in ("yes", "no")
    for column in ("effective", "deleted"):
        assert row[column] == "" or date.fromisoformat(row[column])
    # No row was read from a CMS file, so none can claim grade A (grade A rows deny).
    assert row["grade"] != "A"


def test_the_ptp_table_claims_no_cms_file_version():
    text = PTP_FILE.read_text(encoding="utf-8")
    assert not re.search(r"v3[0-9]{2}r[0-9]", text), "no CMS file version: no row came from one"
    for path in sorted(RULEBOOK.parent.glob("*.rules")):
        assert not re.search(r"v3[0-9]{2}r[0-9]", path.read_text(encoding="utf-8")), path.name


def test_ptp_rows_are_the_reported_pairs():
    pairs = {(r["column_1"], r["column_2"]): r for r in rows(PTP_FILE)}
    assert len(pairs) == len(rows(PTP_FILE)), "one row per pair"
    assert set(pairs) == UNCONFIRMED | CONFIRMED
    assert {p for p, r in pairs.items() if r["order_confirmed"] == "no"} == UNCONFIRMED
    # The 2020 hard edits CMS reversed are kept with indicator 9, so they never fire.
    assert {p for p, r in pairs.items() if r["modifier_indicator"] == "9"} == REVERSED
    assert not any(r["modifier_indicator"] == "0" for r in pairs.values())


def test_pairs_no_source_gives_are_absent():
    pairs = {(r["column_1"], r["column_2"]) for r in rows(PTP_FILE)}
    assert not (NOT_FOUND | {(b, a) for a, b in NOT_FOUND}) & pairs


def test_the_compiled_ptp_table_is_the_file(medicare):
    table = medicare.tables["ncci_ptp"]
    assert len(table.rows) == len(rows(PTP_FILE))
    row = table.rows[("97161", "97140")]
    values = dict(zip([c.name for c in table.columns], row))
    assert values["order_confirmed"] is False and values["modifier_indicator"] == 1
    assert values["effective"] == date(2020, 1, 1) and values["deleted"] is None


# ------------------------------------------------------------------ MUE (brief sec. 3)

def test_mue_table_ships_without_made_up_values(medicare):
    assert rows(MUE_FILE) == []
    assert len(medicare.tables["mue"].rows) == 0
    assert {"code", "mue", "mai", "mai_text"} <= set(header(MUE_FILE))
    comments = MUE_FILE.read_text(encoding="utf-8")
    assert "EMPTY ON PURPOSE" in comments and "payerlint import mue" in comments


# ------------------------------------------------------------------ the other tables

def test_technique_guidance_points_at_medicare_codes():
    guidance = rows(TABLES / "technique_codes.csv")
    phrases = [r["phrase"] for r in guidance]
    assert len(phrases) == len(set(phrases)) and all(p == p.strip() for p in phrases)
    # Capitals mean "only in capitals" (services_found): only short abbreviations whose
    # lowercase is an ordinary word ("US" is not "us") are written so.
    assert all(p == p.lower() or (p.isupper() and len(p) <= 4) for p in phrases)
    assert all(re.fullmatch(r"[0-9A-Z][0-9]{3}[0-9A-Z]", r["code"]) for r in guidance)
    assert "97014" not in {r["code"] for r in guidance}, "Medicare bills G0283, not 97014 (brief sec. 4.5)"
    unattended = {r["code"] for r in guidance if "stim" in r["phrase"] and "attended" not in r["phrase"]
                  and "manual" not in r["phrase"]}
    assert unattended == {"G0283"}


def test_discipline_modifiers():
    table = {r["discipline"]: (r["therapy_modifier"], r["assistant_modifier"]) for r in rows(TABLES / "therapy_disciplines.csv")}
    assert table == {"PT": ("GP", "CQ"), "OT": ("GO", "CO"), "SLP": ("GN", "")}


# ------------------------------------------------------------------ params are the brief's values

@pytest.mark.parametrize("name, value", [
    ("kx_threshold_pt_slp", Decimal("2480.00")), ("kx_threshold_ot", Decimal("2480.00")),
    ("medical_review_threshold", Decimal("3000.00")), ("de_minimis_percent", 10),
    ("progress_report_treatment_days", 10), ("certification_days", 30), ("recertification_days", 90),
    ("unit_method", "cms_total_time"),
])
def test_param_values(medicare, name, value):
    assert medicare.params[name].value == value
    assert medicare.params[name].citation


def test_codesets_from_the_brief(medicare):
    sets = medicare.codesets
    assert "97014" not in sets["always_therapy"] and "G0283" in sets["always_therapy"]
    assert "97012" in sets["untimed"] and "97012" not in sets["timed"]
    assert {"97140", "97110", "97035"} <= sets["timed"].codes and not sets["timed"].codes & {"97161", "G0283"}
    assert all(c in sets["chiropractic_covered"] for c in ("98940", "98941", "98942"))
    assert "98943" not in sets["chiropractic_covered"]
    assert all(c in sets["subluxation"] for c in ("M99.00", "M99.05")) and "M99.06" not in sets["subluxation"]


# ------------------------------------------------------------------ editing data changes outcomes

@pytest.fixture
def copy_of_rulebook(tmp_path):
    """The rulebook text in a fresh folder, beside a copy of its tables (a link out of
    the folder would be refused: tables stay inside the rulebook tree)."""
    shutil.copytree(TABLES, tmp_path / "tables")
    path = tmp_path / "2026Q2.rules"
    path.write_text(RULEBOOK.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def edited(path, old: str, new: str):
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")
    return load(path)


def test_adding_a_phrase_to_a_phrase_set_changes_the_verdict(check, copy_of_rulebook):
    data = claim()
    data["documentation"]["patient_response"] = "Feels looser after mobilization"
    assert check(data).verdict == "clean"
    assert check(data, rulebook=load(copy_of_rulebook)).verdict == "clean", "the copy alone changes nothing"
    rulebook = edited(copy_of_rulebook, '"no complaints"', '"no complaints" "feels looser"')
    assert "feels looser" in rulebook.phrases["vague_response"].phrases
    result = check(data, rulebook=rulebook)
    assert result.verdict == "warn" and fired(result) == {"documentation.response_not_measurable"}


def test_editing_the_kx_threshold_param_changes_the_verdict(check, copy_of_rulebook):
    data = claim(line("97140", 1, 22))
    data["episode"]["therapy_amount_ytd"] = "2100.00"
    assert check(data).verdict == "clean"
    rulebook = edited(copy_of_rulebook, "param kx_threshold_pt_slp = $2,480.00", "param kx_threshold_pt_slp = $2,000.00")
    result = check(data, rulebook=rulebook)
    assert result.verdict == "deny" and fired(result) == {"threshold.kx_missing"}
    assert "$2,000.00 KX threshold" in result.findings[0].message


def test_adding_a_ptp_row_changes_the_verdict(check, tmp_path):
    (tmp_path / "tables").mkdir()
    for source in TABLES.iterdir():
        (tmp_path / "tables" / source.name).write_bytes(source.read_bytes())
    with open(tmp_path / "tables" / "ncci_ptp_therapy.csv", "a", encoding="utf-8") as handle:
        handle.write('97140,97110,2026-01-01,,1,,"synthetic test row from a CMS file",A,\n')
    path = tmp_path / "2026Q2.rules"
    path.write_text(RULEBOOK.read_text(encoding="utf-8"), encoding="utf-8")
    data = claim(line("97140", 1, 22), line("97110", 1, 15))
    assert not {"ptp.modifier_required", "ptp.reported_pair"} & fired(check(data))
    assert "ptp.modifier_required" in fired(check(data, rulebook=load(path)))
