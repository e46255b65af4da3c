"""`payerlint check` on 837P files, as a billing team runs it: every claim one result
through the one claim path, broken parts one error result each with the others still
checked, segment locations and 837P edits in the results, and what an 837P does not carry
named as such. The files are synthetic (examples/x12/, hand-edited here)."""

from __future__ import annotations

import contextlib
import io
import json
import sys

from payerlint.cli import main

from .helpers import ROOT

EXAMPLE = ROOT / "examples" / "x12" / "therapy-claims.837"
DOCS = ROOT / "examples" / "x12" / "therapy-claims.documentation.jsonl"
HOME = ["--home", str(ROOT)]


def run(*argv, stdin: bytes | None = None, monkeypatch=None):
    out, err = io.StringIO(), io.StringIO()
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["check", *argv, *HOME])
    return code, out.getvalue(), err.getvalue()


def results(*argv, **kwargs) -> list[dict]:
    code, out, err = run(*argv, "--format", "jsonl", **kwargs)
    assert code in (0, 1), err
    return [json.loads(line) for line in out.splitlines()]


def example(tmp_path, old: bytes = b"", new: bytes = b"", name: str = "claims.837"):
    path = tmp_path / name
    text = EXAMPLE.read_bytes()
    if old:
        assert old in text, old
        text = text.replace(old, new)
    path.write_bytes(text)
    return path


# ------------------------------------------------------------------ one path, one result per claim


def test_every_claim_of_the_file_is_checked_and_the_broken_one_is_an_error_naming_segments():
    found = results(str(EXAMPLE), "--documentation", str(DOCS))
    assert [(r["claim_id"], r["verdict"]) for r in found] == [
        ("X12-01", "deny"), ("X12-02", "warn"), ("X12-03", "error"), ("X12-04", "clean"), ("X12-05", "deny")]
    assert [r["record"] for r in found] == [f"{EXAMPLE}:CLM {n}" for n in range(1, 6)]
    broken = found[2]
    (finding,) = broken["findings"]
    assert finding["rule"] == "input.x12" and finding["category"] == "input" and finding["pointer"] == "/diagnoses/0"
    assert f"{EXAMPLE}:39:1: segment 37 (HI) of ST 0001, element HI01-1: qualifier BK" in finding["message"]
    assert broken["source"]["locations"]["/diagnoses/0"] == "segment 37 (HI) of ST 0001, element HI01-2"
    assert found[3]["complete"] and found[3]["source"]["format"] == "X12 837P (005010X222A1)"


def test_a_broken_envelope_is_one_error_result_and_the_claims_are_still_checked(tmp_path):
    path = example(tmp_path, b"SE*53*0001~", b"SE*52*0001~")
    found = results(str(path))
    assert [r["claim_id"] for r in found] == ["X12-01", "X12-02", "X12-03", "X12-04", "X12-05", None]
    envelope = found[-1]
    assert envelope["verdict"] == "error" and envelope["record"] == f"{path}:ST 0001"
    (finding,) = envelope["findings"]
    assert finding["rule"] == "input.x12"
    assert finding["message"] == (f"{path}:55:1: segment 53 (SE) of ST 0001, element SE01: says '52' segments, "
                                  "the transaction set has 53 (ST to SE)")
    assert [r["verdict"] for r in found[:5]] == ["clean", "warn", "error", "clean", "deny"]


def test_a_4010_file_is_one_error_result_saying_what_to_do(tmp_path):
    path = example(tmp_path, b"005010X222A1", b"004010X098A1")
    code, out, _ = run(str(path), "--format", "jsonl")
    (result,) = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and result["verdict"] == "error"
    messages = [f["message"] for f in result["findings"]]
    assert any("segment 1 (ST) of ST 0001: version 004010X098A1 is the 4010 837P" in m and
               "convert 4010 files to 5010 first" in m for m in messages)
    assert any("ST 0001 holds 5 claim(s) (CLM) that were not read" in m for m in messages)


def test_a_missing_required_loop_makes_its_claims_errors_and_the_next_transaction_is_read(tmp_path):
    text = EXAMPLE.read_bytes()
    # A second transaction set whose subscriber has no payer loop (2010BB).
    body = text[text.index(b"ST*837"):text.index(b"GE*")]
    second = body.replace(b"ST*837*0001", b"ST*837*0002").replace(b"SE*53*0001", b"SE*52*0002")
    second = second.replace(b"NM1*PR*2*MEDICARE PART B*****PI*SYNMAC01~\n", b"")
    path = tmp_path / "two.837"
    path.write_bytes(text.replace(b"GE*1*1~", second + b"GE*2*1~"))
    found = results(str(path))
    assert len(found) == 10
    assert [r["verdict"] for r in found[:5]] == ["clean", "warn", "error", "clean", "deny"]
    for result in found[5:]:
        assert result["verdict"] == "error"
        assert any("required loop 2010BB (Payer Name" in f["message"] for f in result["findings"])


def test_segments_of_a_claim_without_its_clm_are_reported_when_no_claim_takes_them(tmp_path):
    # The first claim loses its CLM and the other claims move to a subscriber of their
    # own: the first subscriber is left holding a claim's segments and no claim.
    path = example(tmp_path, b"CLM*X12-01*48.00***11:B:1*Y*A*Y*Y~\n", b"")
    second = (b"HL*3*1*22*0~\nSBR*P*18*******MB~\nNM1*IL*1*SYNTHETIC*PATIENTTWO****MI*SYN000000A2~\n"
              b"NM1*PR*2*MEDICARE PART B*****PI*SYNMAC01~\n")
    text = path.read_bytes().replace(b"CLM*X12-02", second + b"CLM*X12-02").replace(b"SE*53*0001", b"SE*56*0001")
    path.write_bytes(text)
    code, out, _ = run(str(path), "--format", "jsonl")
    found = [json.loads(line) for line in out.splitlines()]
    assert code == 1
    assert [r["claim_id"] for r in found] == ["X12-02", "X12-03", "X12-04", "X12-05", None]
    orphaned = found[-1]
    assert orphaned["verdict"] == "error" and orphaned["record"] == f"{path}:ST 0001"
    messages = [f["message"] for f in orphaned["findings"]]
    assert any("(HI) of ST 0001: segment HI is not expected in loop 2010BB" in m for m in messages)
    assert any("(SV1) of ST 0001: segment SV1 is not expected" in m for m in messages)


def test_reader_warnings_are_warn_findings_beside_the_rules(tmp_path):
    path = example(tmp_path, b"CLM*X12-04*48.00*", b"CLM*X12-04*50.00*")
    (result,) = [r for r in results(str(path), "--documentation", str(DOCS)) if r["claim_id"] == "X12-04"]
    assert result["verdict"] == "warn"
    (finding,) = result["findings"]
    assert finding["rule"] == "input.x12" and finding["severity"] == "warn"
    assert "CLM02, the total claim charge, differs from the sum" in finding["message"]


def test_content_starting_with_isa_is_read_as_837p_from_standard_input_and_from_folders(tmp_path, monkeypatch):
    found = results("-", stdin=EXAMPLE.read_bytes(), monkeypatch=monkeypatch)
    assert [r["record"] for r in found] == [f"<stdin>:CLM {n}" for n in range(1, 6)]
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "a.edi").write_bytes(EXAMPLE.read_bytes())
    (folder / "b.json").write_text((ROOT / "tests" / "data" / "clean_claim.json").read_text())
    (folder / "c.txt").write_bytes(EXAMPLE.read_bytes())  # not a claim file's name: not read
    found = results(str(folder))
    assert [r["record"].rsplit("/", 1)[1] for r in found] == [f"a.edi:CLM {n}" for n in range(1, 6)] + ["b.json"]
    named = tmp_path / "claims.dat"
    named.write_bytes(b"\xef\xbb\xbf\r\n" + EXAMPLE.read_bytes())  # any name, a BOM and a blank line
    assert len(results(str(named))) == 5


def test_input_x12_reads_every_file_as_837p_and_json_input_does_not(tmp_path):
    not_x12 = tmp_path / "claims.837"
    not_x12.write_text('{"claim_id": "J-1"}\n')
    (result,) = results(str(not_x12), "--input", "x12")
    assert result["verdict"] == "error" and result["findings"][0]["rule"] == "input.x12"
    assert result["findings"][0]["message"] == (f"{not_x12}:1:1: cannot read an X12 interchange: expected the "
                                                "interchange to start with an ISA segment")
    empty = tmp_path / "empty.x12"
    empty.write_bytes(b"\r\n")
    code, _, err = run(str(empty))
    assert code == 2 and f"cannot read {empty}: it holds no 837P claim" in err
    (result,) = results(str(not_x12), "--input", "json")
    assert result["claim_id"] == "J-1" and result["findings"][0]["rule"] == "input.schema"


def test_two_workers_give_the_same_results_as_one_process():
    from payerlint.batch import CheckerSpec, ParallelChecker
    from payerlint.formats import input_formats
    from payerlint.claims.reader import Reading, read_records
    from payerlint.compile.loader import Loader
    from payerlint.home import resolve_home
    from payerlint.payers.registry import Registry
    from payerlint.api import Router
    from payerlint.x12.documentation import Documentation

    home = resolve_home(str(ROOT))
    router = Router(Registry.load(home), Loader(home))

    def check(jobs: int) -> list[str]:
        formats = input_formats("auto", router.registry, Documentation(str(DOCS)))
        records = read_records([str(EXAMPLE)] * 3, reading=Reading(defer=jobs > 1), formats=formats)
        runner = ParallelChecker(router, CheckerSpec(str(ROOT)), jobs, chunk=4, min_parallel=1)
        out = [r.dumps() for r in runner.check_records(records)]
        assert runner.parallel == (jobs > 1) and runner.fallback is None
        return out

    one = check(1)
    assert len(one) == 15 and check(2) == one


# ------------------------------------------------------------------ what an 837P does not carry


def test_data_an_837p_does_not_carry_is_named_not_evaluated_with_what_to_do():
    code, out, _ = run(str(EXAMPLE))
    assert code == 1
    assert "X12-04  CLEAN  medicare@2026Q2  (no findings)  INCOMPLETE: 23 rules could not run" in out
    assert ("  ! could not run, the claim has no /lines/0/minutes (not in an 837P file; supply it with "
            "--documentation): units.lone_under_8, units.total") in out
    assert ("; 4 of them read from 837P files (no minutes, note or episode data in them) had no --documentation "
            "record") in out
    (clean,) = [r for r in results(str(EXAMPLE)) if r["claim_id"] == "X12-04"]
    assert not clean["complete"] and len(clean["not_evaluated"]) == 23  # who performed each line too
    assert clean["source"]["documentation"] is None
    assert clean["source"]["locations"]["/documentation"] == "not in an 837P file; supply it with --documentation"
    # The prior authorization number is the 837P's (REF*G1): present here, so not missing.
    assert not [n for n in clean["not_evaluated"] if n["missing"].startswith("/episode/prior_authorization")]


def test_the_summary_on_standard_error_counts_claims_without_documentation():
    code, _, err = run(str(EXAMPLE), "--summary")
    assert "  4 of those claims were read from 837P files (no minutes, note or episode data in them) and had no " \
           "--documentation record" in err


# ------------------------------------------------------------------ fixes as 837P edits


def test_each_fix_is_also_the_837p_edit_in_text_and_json():
    code, out, _ = run(str(EXAMPLE), "--documentation", str(DOCS))
    assert ("          fix:  replace /lines/0/units 1\n"
            "          837P: SV1-04 set 1 on LX 1 (segment 23 of ST 0001)\n") in out
    assert "          837P: SV1-01-4 add 59 on LX 2 (segment 33 of ST 0001)\n" in out
    found = {r["claim_id"]: r for r in results(str(EXAMPLE), "--documentation", str(DOCS))}
    units = found["X12-01"]
    (finding,) = units["findings"]
    assert list(finding)[list(finding).index("fix") + 1] == "x12"
    assert finding["x12"] == [{"edit": "SV1-04 set 1 on LX 1 (segment 23 of ST 0001)", "action": "set",
                               "target": "SV1-04", "value": "1", "lx": 1, "pointer": "/lines/0/units",
                               "segment": {"segment": "SV1", "number": 23, "transaction": "0001", "element": "SV104",
                                           "lx": 1, "loop": "2400", "line": 25}}]
    assert units["x12"] == finding["x12"]  # the combined fix
    assert list(units)[list(units).index("fix") + 1] == "x12"
    assert found["X12-04"]["x12"] == [] and "x12" not in found["X12-03"]


def test_the_combined_fix_of_two_findings_is_told_as_one_set_of_edits(tmp_path):
    # X12-05 without GP and billed 2 units for 22 minutes: two findings, two edits together.
    path = example(tmp_path, b"SV1*HC:97140*48.00*UN*1***1~", b"SV1*HC:97140*48.00*UN*2***1~")
    docs = tmp_path / "docs.jsonl"
    record = json.loads(DOCS.read_text().splitlines()[3])
    record["claim_id"] = "X12-05"
    docs.write_text(json.dumps(record) + "\n")
    (result,) = [r for r in results(str(path), "--documentation", str(docs)) if r["claim_id"] == "X12-05"]
    assert {f["rule"] for f in result["findings"]} == {"modifier.therapy_missing", "units.total"}
    assert [e["edit"] for e in result["x12"]] == ["SV1-01-3 add GP on LX 1 (segment 51 of ST 0001)",
                                                  "SV1-04 set 1 on LX 1 (segment 51 of ST 0001)"]


def test_a_fix_on_data_the_837p_does_not_carry_is_a_note(tmp_path):
    # A PTA as rendering provider of a PT evaluation: the rule's fix-less finding, and a
    # documentation fix (minutes) told as a note, not as an 837P element.
    from payerlint.x12.records import EditedFinding, X12Locations
    from payerlint.evaluate.result import Finding

    locations = X12Locations("X12 837P", {}, {}, None, {}, False)
    edits = locations.edits({"lines": [{"code": "97140", "units": 2, "minutes": 30}]},
                            [{"op": "replace", "path": "/lines/0/minutes", "value": 22}])
    assert edits[0]["action"] == "note" and edits[0]["segment"] is None
    assert edits[0]["edit"].startswith("no 837P element carries /lines/0/minutes")
    finding = EditedFinding(**{f: None for f in ("rule", "rulebook", "category", "severity", "line", "message",
                                                 "citation")}, x12=tuple(edits))
    assert isinstance(finding, Finding) and finding.to_json()["x12"] == edits


def test_a_pta_rendering_an_evaluation_is_found_through_the_shared_taxonomy(tmp_path):
    path = example(tmp_path, b"LX*1~\nSV1*HC:97140*48.00*UN*1***1~",
                   b"LX*1~\nSV1*HC:97161:GP*98.00*UN*1***1~")
    text = path.read_bytes().replace(b"CLM*X12-05*48.00*", b"CLM*X12-05*98.00*")
    # 2310B: the rendering provider is a physical therapy assistant.
    text = text.replace(b"HI*ABK:S93402D~\nLX*1~\nSV1*HC:97161",
                        b"HI*ABK:S93402D~\nNM1*82*1*ASSISTANT*PAT****XX*1234567893~\nPRV*PE*PXC*225200000X~\n"
                        b"LX*1~\nSV1*HC:97161")
    path.write_bytes(text.replace(b"SE*53*0001~", b"SE*55*0001~"))
    (result,) = [r for r in results(str(path)) if r["claim_id"] == "X12-05"]
    assert "coding.evaluation_by_pta" in {f["rule"] for f in result["findings"]}
    assert result["source"]["locations"]["/lines/0"].startswith("segment 52 (LX)")


# ------------------------------------------------------------------ --documentation


def docs_file(tmp_path, *records) -> str:
    path = tmp_path / "docs.jsonl"
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return str(path)


def example_docs() -> list[dict]:
    return [json.loads(line) for line in DOCS.read_text().splitlines()]


def test_documentation_is_merged_by_control_number_and_by_position(tmp_path):
    found = {r["claim_id"]: r for r in results(str(EXAMPLE), "--documentation", str(DOCS))}
    units, pair = found["X12-01"], found["X12-02"]
    assert units["complete"] and pair["complete"]
    locations = units["source"]["locations"]
    assert units["source"]["documentation"] == f"{DOCS}:1"
    # X12-01's lines are matched by REF*6R; X12-02's by position.
    assert units["findings"][0]["message"].endswith("22 timed minutes support 1 under the CMS 8-minute rule")
    assert locations["/lines/0/units"] == "segment 23 (SV1) of ST 0001, element SV104, LX 1"
    # The minutes decide: 30 minutes support the 2 units billed.
    docs = example_docs()
    docs[0]["lines"][0]["minutes"] = 30
    docs[0]["documentation"]["total_timed_minutes"] = 30
    docs[0]["documentation"]["interventions"][0]["minutes"] = 30
    found = {r["claim_id"]: r for r in results(str(EXAMPLE), "--documentation", docs_file(tmp_path, *docs))}
    assert (found["X12-01"]["verdict"], found["X12-01"]["complete"]) == ("clean", True)


def test_a_documentation_record_that_disagrees_with_the_837p_is_an_error_naming_both(tmp_path):
    docs = example_docs()
    docs[1]["lines"][1]["code"] = "97110"        # matched by position, but LX 2 bills 97140
    docs[3]["episode"]["prior_authorization"]["number"] = "PA-99"   # REF*G1 says PA-55
    found = {r["claim_id"]: r for r in results(str(EXAMPLE), "--documentation", docs_file(tmp_path, *docs))}
    pair, clean = found["X12-02"], found["X12-04"]
    assert pair["verdict"] == "error" and clean["verdict"] == "error"
    (finding,) = pair["findings"]
    assert finding["rule"] == "input.documentation" and finding["pointer"] == "/lines/1/code"
    assert finding["message"] == (f"/lines/1/code: {tmp_path / 'docs.jsonl'}:2 /lines/1/code differs from the 837P's "
                                  "value (segment 33 (SV1) of ST 0001, element SV101-2, LX 2); correct whichever is "
                                  "wrong")
    (finding,) = clean["findings"]
    assert finding["pointer"] == "/episode/prior_authorization/number"
    assert "segment 42 (REF) of ST 0001, element REF02" in finding["message"]
    assert "PA-99" not in json.dumps(found) and "PA-55" not in finding["message"]  # no values quoted
    assert found["X12-01"]["verdict"] == "deny"  # the others are still checked


def test_documentation_may_not_add_what_the_837p_would_carry(tmp_path):
    docs = example_docs()
    docs[3]["lines"][0]["modifiers"] = ["GP", "59"]
    docs[3]["diagnoses"] = ["S93.402D"]   # the same as the 837P's: fine
    docs[3]["lines"].append({"minutes": 8})   # the 837P has one line
    found = {r["claim_id"]: r for r in results(str(EXAMPLE), "--documentation", docs_file(tmp_path, *docs))}
    messages = [f["message"] for f in found["X12-04"]["findings"]]
    assert len(messages) == 2
    assert any("/lines/0/modifiers differs from the 837P's value" in m for m in messages)
    assert any("/lines/1: the 837P claim has 1 service line(s)" in m for m in messages)


def test_unmatched_unreadable_and_duplicate_documentation_records_are_reported(tmp_path):
    docs = example_docs()
    stray = {"claim_id": "NOT-IN-FILE", "documentation": {"total_timed_minutes": 8}}
    path = docs_file(tmp_path, docs[0], stray, "{not json", {"documentation": {}}, docs[1], docs[1])
    code, out, _ = run(str(EXAMPLE), "--documentation", path, "--format", "jsonl")
    found = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and len(found) == 5 + 3
    leftovers = found[5:]
    assert [r["record"] for r in leftovers] == [f"{path}:2", f"{path}:3", f"{path}:4"]
    assert leftovers[0]["claim_id"] == "NOT-IN-FILE" and leftovers[0]["verdict"] == "error"
    assert "no 837P claim of the input has this claim_id" in leftovers[0]["findings"][0]["message"]
    assert "invalid JSON" in leftovers[1]["findings"][0]["message"]
    assert "needs a claim_id" in leftovers[2]["findings"][0]["message"]
    (pair,) = [r for r in found if r["claim_id"] == "X12-02"]
    assert pair["verdict"] == "error"
    assert f"2 documentation records have this claim_id ({path}:5, {path}:6)" in pair["findings"][0]["message"]


def test_a_documentation_file_that_cannot_be_read_is_a_usage_error(tmp_path):
    code, out, err = run(str(EXAMPLE), "--documentation", str(tmp_path / "missing.jsonl"))
    assert code == 2 and out == "" and "--documentation" in err and "no such file" in err


def test_values_from_the_documentation_are_located_in_it(tmp_path):
    docs = example_docs()
    docs[3]["documentation"]["total_timed_minutes"] = -5          # the claim schema refuses it
    del docs[0]["episode"]["therapy_amount_ytd"]                 # the threshold rules need it
    path = docs_file(tmp_path, *docs)
    found = {r["claim_id"]: r for r in results(str(EXAMPLE), "--documentation", path)}
    invalid = found["X12-04"]
    assert invalid["verdict"] == "error"
    assert invalid["findings"][0]["pointer"] == "/documentation/total_timed_minutes"
    assert invalid["source"]["locations"]["/documentation/total_timed_minutes"] == \
        f"{path}:4 /documentation/total_timed_minutes"
    partial = found["X12-01"]
    assert {n["missing"] for n in partial["not_evaluated"]} == {"/episode/therapy_amount_ytd"}
    assert partial["source"]["locations"]["/episode/therapy_amount_ytd"] == \
        f"not in an 837P file, nor in {path}:1 (/episode/therapy_amount_ytd)"
    # A line matched by its control number sits at its own index in the documentation.
    from payerlint.x12.documentation import merge_claim

    claim = {"claim_id": "C", "lines": [{"code": "97140", "units": 1, "control_number": "A"},
                                        {"code": "97110", "units": 1, "control_number": "B"}]}
    merged = merge_claim(claim, {"claim_id": "C", "lines": [{"control_number": "B", "minutes": 8},
                                                            {"control_number": "A", "minutes": 22}]}, "d:1", {})
    assert merged.conflicts == () and [line["minutes"] for line in merged.data["lines"]] == [22, 8]
    assert merged.merged == {"/lines/0/minutes": "/lines/1/minutes", "/lines/1/minutes": "/lines/0/minutes"}
    # ...and one line matched twice (by position, then by control number) is a conflict.
    twice = merge_claim(claim, {"claim_id": "C", "lines": [{"minutes": 22}, {"control_number": "A"}]}, "d:1", {})
    (conflict,) = twice.conflicts
    assert conflict.message == "d:1 /lines/1 and /lines/0 both match the 837P claim, at /lines/0"
    assert claim["lines"][0] == {"code": "97140", "units": 1, "control_number": "A"}  # not changed in place
