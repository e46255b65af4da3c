"""Reading claim files: what a user running payerlint over their exports would notice."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tracemalloc

import pytest

from payerlint.claims.reader import Record, read_records
from payerlint.source import Span

SECRET = "Jane Q Patient"  # stands in for patient data that must never reach a message


def claim(n: int) -> dict:
    return {"claim_id": f"C-{n}", "patient": {"id": f"P-{n}", "name": SECRET}}


def write(path, text: str | bytes) -> str:
    if isinstance(text, str):
        text = text.encode("utf-8")
    path.write_bytes(text)
    return str(path)


def jsonl(*values) -> str:
    return "".join(json.dumps(v) + "\n" for v in values)


def read(*paths, stdin=None) -> list[Record]:
    return list(read_records(list(paths), stdin=stdin))


def assert_no_secret(records: list[Record]) -> None:
    for r in records:
        if r.error is not None:
            assert SECRET not in r.error.render()
            assert SECRET not in json.dumps(r.error.to_json())
            assert all(SECRET not in n for n in r.error.notes)
            assert SECRET not in r.error.message


# --- detection -----------------------------------------------------------------------


def test_single_object_file(tmp_path):
    path = write(tmp_path / "one.json", json.dumps(claim(1), indent=2))
    [record] = read(path)
    assert record == Record(path, claim(1), None)


def test_single_object_on_one_line(tmp_path):
    path = write(tmp_path / "one.json", json.dumps(claim(1)) + "\n\n")
    [record] = read(path)
    assert record.origin == path and record.data == claim(1)


def test_array_file_origins_are_indexes(tmp_path):
    path = write(tmp_path / "batch.json", json.dumps([claim(0), claim(1), claim(2)], indent=1))
    records = read(path)
    assert [r.origin for r in records] == [f"{path}[0]", f"{path}[1]", f"{path}[2]"]
    assert [r.data["claim_id"] for r in records] == ["C-0", "C-1", "C-2"]


def test_empty_array_yields_nothing(tmp_path):
    assert read(write(tmp_path / "none.json", "  []\n")) == []


def test_jsonl_detected_by_content_not_extension(tmp_path):
    path = write(tmp_path / "claims.json", jsonl(claim(1), claim(2)))
    records = read(path)
    assert [r.origin for r in records] == [f"{path}:1", f"{path}:2"]
    assert [r.data for r in records] == [claim(1), claim(2)]


def test_object_in_jsonl_extension_is_still_an_object(tmp_path):
    path = write(tmp_path / "odd.jsonl", json.dumps(claim(1), indent=2))
    assert read(path) == [Record(path, claim(1), None)]


def test_jsonl_blank_lines_skipped_but_counted(tmp_path):
    path = write(tmp_path / "c.jsonl", "\n" + json.dumps(claim(1)) + "\n\n   \n" + json.dumps(claim(2)) + "\n")
    records = read(path)
    assert [r.origin for r in records] == [f"{path}:2", f"{path}:5"]


# --- bad input ---------------------------------------------------------------------------


def test_broken_second_line_yields_three_records(tmp_path):
    bad = '{"claim_id": "C-2" "patient": {"name": "' + SECRET + '"}}'
    path = write(tmp_path / "claims.jsonl", json.dumps(claim(1)) + "\n" + bad + "\n" + json.dumps(claim(3)) + "\n")
    records = read(path)
    assert len(records) == 3
    assert records[0].data == claim(1) and records[2].data == claim(3)
    broken = records[1]
    assert broken.data is None and broken.origin == f"{path}:2"
    assert broken.error.code == "claim_unreadable"
    assert f"{path}:2:20:" in broken.error.message
    assert "invalid JSON: Expecting ',' delimiter" in broken.error.message
    assert broken.error.span == Span(path, 2, 20, 2, 21)
    assert SECRET not in broken.error.message


def test_broken_first_line_of_jsonl_loses_nothing_else(tmp_path):
    path = write(tmp_path / "claims.jsonl", '{"claim_id": \n' + jsonl(claim(2), claim(3)))
    records = read(path)
    assert [r.origin for r in records] == [f"{path}:1", f"{path}:2", f"{path}:3"]
    assert records[0].error.code == "claim_unreadable"
    assert [r.data for r in records[1:]] == [claim(2), claim(3)]


def test_a_line_cut_short_is_named_at_its_end(tmp_path):
    # The JSON stops at the line break: the place is the end of the line, not its column 1.
    cut = json.dumps(claim(2))[:40]
    path = write(tmp_path / "claims.jsonl", jsonl(claim(1)) + cut + "\n" + jsonl(claim(3)))
    broken = read(path)[1]
    assert broken.error.span == Span(path, 2, len(cut) + 1, 2, len(cut) + 2)
    assert f"{path}:2:{len(cut) + 1}: invalid JSON:" in broken.error.message
    assert "(the line ends before the claim does: is it cut short?)" in broken.error.message


def test_a_key_written_twice_is_an_error_naming_the_key_and_its_object(tmp_path):
    # {"units": 2, "units": 1}: this reader would keep the last, another the first, so the
    # claim checked and the claim billed could differ. Neither is checked; the rest go on.
    twice = json.dumps(claim(2)).replace('"claim_id"', '"lines": [{"units": 2, "units": 1}], "claim_id"')
    path = write(tmp_path / "claims.jsonl", jsonl(claim(1)) + twice + "\n" + jsonl(claim(3)))
    records = read(path)
    assert [r.data is not None for r in records] == [True, False, True]
    error = records[1].error
    assert error.code == "claim_unreadable"
    assert 'the key "units" is written twice in one object (in /lines/0)' in error.message
    assert error.span.line == 2
    assert_no_secret(records)


def test_a_whole_document_with_a_key_written_twice_is_refused(tmp_path):
    path = write(tmp_path / "one.json", '{\n  "claim_id": "C-1",\n  "claim_id": "C-2"\n}\n')
    [record] = read(path)
    assert 'the key "claim_id" is written twice in one object (in the top object)' in record.error.message


def test_in_an_array_of_claims_only_the_claim_with_a_key_written_twice_is_refused(tmp_path):
    twice = json.dumps(claim(2)).replace('"claim_id"', '"patient": {}, "claim_id"')
    path = write(tmp_path / "claims.json", "[" + ", ".join([json.dumps(claim(1)), twice, json.dumps(claim(3))]) + "]")
    records = read(path)
    assert [r.origin for r in records] == [f"{path}[0]", f"{path}[1]", f"{path}[2]"]
    assert records[0].data == claim(1) and records[2].data == claim(3)
    assert 'the key "patient" is written twice in one object (in the top object)' in records[1].error.message
    assert_no_secret(records)


def test_no_text_hides_a_key_written_twice(tmp_path):
    # A key spaced from its colon, or a quote written as an escape, must not balance out a
    # dropped key; documents one after another, and claims whose repeated key sits in an
    # object a later key replaced, are each refused alone; a key that is no field name (an
    # extension's free text, perhaps a patient's) is not quoted.
    spaced = '{"claim_id": "C-1", "units": 1, "units": 4, "patient" : {}}'
    escaped = '{"claim_id": "C-1", "units": 1, "units": 4, "x-n": "\\u0022:"}'
    for text in (spaced, escaped):
        [record] = read(write(tmp_path / "one.json", text))
        assert 'the key "units" is written twice' in record.error.message, text
    pretty = json.dumps(claim(1), indent=1).replace('"claim_id"', '"claim_id": "X",\n "claim_id"', 1)
    first, second = read(write(tmp_path / "docs.json", pretty + "\n" + json.dumps(claim(2), indent=1) + "\n"))
    assert first.data is None and 'the key "claim_id" is written twice' in first.error.message
    assert second.data == claim(2)
    replaced = json.dumps(claim(2))[:-1] + ', "x-a": {"k": 1, "k": 2}, "x-a": 3}'
    records = read(write(tmp_path / "claims.json", "[" + ", ".join([json.dumps(claim(1)), replaced,
                                                                      json.dumps(claim(3))]) + "]"))
    assert [r.data is not None for r in records] == [True, False, True]
    assert "in an object a later key replaced" in records[1].error.message
    [private] = read(write(tmp_path / "x.json", json.dumps(claim(4))[:-1] + f', "x-notes": {{"{SECRET}": 1, "{SECRET}": 2}}}}'))
    assert "a key is written twice in one object (in /x-notes)" in private.error.message
    assert_no_secret([private])


def test_a_claim_nested_deeper_than_orjson_writes_is_still_read(tmp_path):
    deep = json.dumps(claim(2))[:-1] + ', "x-deep": ' + "[" * 1000 + "]" * 1000 + "}"
    records = read(write(tmp_path / "claims.json", "[" + ", ".join([json.dumps(claim(1)), deep,
                                                                      json.dumps(claim(3))]) + "]"))
    assert [r.data is not None for r in records] == [True, True, True]


def test_keys_spaced_from_their_colons_are_read_as_usual(tmp_path):
    # `"key" : value` has no `":` for the quick count to see: the exact check decides, and
    # finds each key once.
    path = write(tmp_path / "one.json", json.dumps(claim(1), indent=2).replace('": ', '" : '))
    [record] = read(path)
    assert record.data == claim(1)


def test_json_messages_say_what_is_wrong_where_it_is(tmp_path):
    # The json module's "Unterminated string starting at" stops where it printed a position;
    # a number too long for Python names its own column, not 1:1.
    unclosed = '{"claim_id": "C-1", "patient": {"name": "Jane Q Patient}}'
    long_number = '{"claim_id": "C-2", "units": ' + "9" * 5000 + "}"
    # The unclosed string on the last line, with no line break after it (a break would be
    # a control character inside the string, which has its own message).
    path = write(tmp_path / "claims.jsonl", jsonl(claim(0)) + long_number + "\n" + unclosed)
    _, second, first = read(path)
    assert f"{path}:3:41: invalid JSON: a string is not closed: it starts here" in first.error.message
    assert f"{path}:2:30: invalid JSON: a number has too many digits" in second.error.message
    assert_no_secret([first, second])


def test_truncated_last_line(tmp_path):
    path = write(tmp_path / "claims.jsonl", jsonl(claim(1)) + json.dumps(claim(2))[:25])
    records = read(path)
    assert len(records) == 2 and records[1].error.code == "claim_unreadable"
    assert records[1].origin == f"{path}:2"


def test_malformed_whole_file_names_line_and_column(tmp_path):
    text = '{\n  "claim_id": "C-1",\n  "lines": [1 2]\n}\n'
    path = write(tmp_path / "one.json", text)
    [record] = read(path)
    assert record.data is None and record.error.code == "claim_unreadable"
    assert f"{path}:3:15: invalid JSON: Expecting ',' delimiter" in record.error.message
    assert record.error.span == Span(path, 3, 15, 3, 16)


def test_malformed_array_is_one_error(tmp_path):
    path = write(tmp_path / "batch.json", "[\n" + json.dumps(claim(1)) + ",\n" + '{"claim_id": }' + "\n]")
    [record] = read(path)
    assert record.error.code == "claim_unreadable" and f"{path}:3:" in record.error.message


def test_values_that_are_not_objects(tmp_path):
    arr = write(tmp_path / "a.json", json.dumps([claim(1), [SECRET], SECRET, 3, None]))
    lines = write(tmp_path / "b.jsonl", jsonl(claim(1), [SECRET], 4.5))
    single = write(tmp_path / "c.json", json.dumps(SECRET))
    records = read(arr, lines, single)
    codes = [(r.origin, r.error.code if r.error else None) for r in records]
    assert codes == [
        (f"{arr}[0]", None),
        (f"{arr}[1]", "claim_not_object"),
        (f"{arr}[2]", "claim_not_object"),
        (f"{arr}[3]", "claim_not_object"),
        (f"{arr}[4]", "claim_not_object"),
        (f"{lines}:1", None),
        (f"{lines}:2", "claim_not_object"),
        (f"{lines}:3", "claim_not_object"),
        (single, "claim_not_object"),
    ]
    assert "found an array" in records[1].error.message
    assert "found a string" in records[2].error.message
    assert_no_secret(records)


def test_missing_file_then_next_path(tmp_path):
    good = write(tmp_path / "good.json", json.dumps(claim(1)))
    missing = str(tmp_path / "missing.json")
    records = read(missing, good)
    assert records[0].origin == missing and records[0].error.code == "file_unreadable"
    assert "no such file" in records[0].error.message
    assert records[1].data == claim(1)


def test_empty_file_and_empty_directory(tmp_path):
    empty = write(tmp_path / "empty.json", "  \n\n")
    (tmp_path / "nothing").mkdir()
    (tmp_path / "nothing" / "notes.txt").write_text("x")
    records = read(empty, str(tmp_path / "nothing"))
    assert [r.error.code for r in records] == ["file_unreadable", "file_unreadable"]
    assert "no .json or .jsonl files" in records[1].error.message


def test_permission_denied(tmp_path, monkeypatch):
    locked = write(tmp_path / "locked.json", json.dumps(claim(1)))
    os.chmod(locked, 0)
    if os.name != "posix" or os.access(locked, os.R_OK):
        # Root (as in CI containers) reads a mode-0 file: the open is refused here
        # instead, with the error the operating system gives anyone else.
        from payerlint.claims import reader

        def refusing(path, *args, **kwargs):
            if os.path.basename(path) == "locked.json":
                raise PermissionError(13, "Permission denied", path)
            return open(path, *args, **kwargs)

        monkeypatch.setattr(reader, "open", refusing, raising=False)
    try:
        records = read(locked, write(tmp_path / "ok.json", json.dumps(claim(2))))
    finally:
        os.chmod(locked, 0o600)
    assert records[0].error.code == "file_unreadable" and "permission" in records[0].error.message
    assert records[1].data == claim(2)


def test_not_utf8_single_file_is_one_unreadable_record(tmp_path):
    path = write(tmp_path / "latin.json", json.dumps({"name": "Jos\u00e9"}, ensure_ascii=False).encode("latin-1"))
    [record] = read(path)
    assert record.error.code == "claim_unreadable" and "not UTF-8" in record.error.message
    assert record.error.span == Span(path, 1, 14, 1, 15)


def test_broken_first_line_then_not_utf8_line_costs_two_lines(tmp_path):
    data = b'{"claim_id": \n' + '{"name": "Jos\u00e9"}\n'.encode("latin-1") + jsonl(claim(3)).encode()
    path = write(tmp_path / "c.jsonl", data)
    records = read(path)
    assert [r.origin for r in records] == [f"{path}:1", f"{path}:2", f"{path}:3"]
    assert [r.error.code if r.error else None for r in records] == ["claim_unreadable", "claim_unreadable", None]
    assert "not UTF-8" in records[1].error.message and records[2].data == claim(3)


def test_jsonl_whose_first_line_is_an_array_is_still_jsonl(tmp_path):
    path = write(tmp_path / "c.jsonl", jsonl([claim(0)], claim(1), claim(2)))
    records = read(path)
    assert [r.origin for r in records] == [f"{path}:1", f"{path}:2", f"{path}:3"]
    assert records[0].error.code == "claim_not_object" and "found an array" in records[0].error.message
    assert [r.data for r in records[1:]] == [claim(1), claim(2)]


def test_one_line_array_file_is_still_an_array(tmp_path):
    path = write(tmp_path / "a.json", json.dumps([claim(0), claim(1)]) + "\n")
    assert [r.origin for r in read(path)] == [f"{path}[0]", f"{path}[1]"]


def test_a_one_line_array_longer_than_a_claim_is_still_an_array(tmp_path, monkeypatch):
    # `json.dumps(claims)` writes thousands of claims on one line: a document, not one
    # claim that is too long. A too-long line that is not first, or not an array, is
    # still one unreadable record.
    from payerlint.claims import reader

    monkeypatch.setattr(reader, "MAX_RECORD_BYTES", 1000)
    claims = [claim(n) for n in range(40)]
    path = write(tmp_path / "a.json", json.dumps(claims) + "\n")
    records = read(path)
    assert [r.data for r in records] == claims and records[39].origin == f"{path}[39]"
    monkeypatch.setattr(reader, "MAX_DOCUMENT_LINE_BYTES", 2000)
    (only,) = read(path)
    assert only.data is None and "a claim may be at most 1,000 bytes" in only.error.message


def test_documents_one_after_another_are_one_record_each(tmp_path):
    # What `jq . a.json b.json` writes: pretty-printed documents back to back.
    text = json.dumps(claim(1), indent=2) + "\n" + json.dumps(claim(2), indent=2) + "\n"
    path = write(tmp_path / "two.json", text)
    records = read(path)
    second_line = json.dumps(claim(1), indent=2).count("\n") + 2
    assert [r.data for r in records] == [claim(1), claim(2)]
    assert [r.origin for r in records] == [f"{path}:1", f"{path}:{second_line}"]


def test_bom_only_at_the_start_of_the_file(tmp_path):
    data = b"\xef\xbb\xbf" + jsonl(claim(1)).encode() + b"\xef\xbb\xbf" + jsonl(claim(2)).encode() + jsonl(claim(3)).encode()
    path = write(tmp_path / "c.jsonl", data)
    records = read(path)
    assert [r.data for r in records] == [claim(1), None, claim(3)]
    assert records[1].origin == f"{path}:2"
    assert "byte-order mark (U+FEFF) may only start the file" in records[1].error.message
    # Inside a string, U+FEFF is text like any other.
    [inside] = read(write(tmp_path / "d.json", json.dumps({"note": "a\ufeffb"}, ensure_ascii=False)))
    assert inside.data == {"note": "a\ufeffb"}


def test_lone_surrogate_escapes_are_one_bad_record(tmp_path):
    lines = ['{"claim_id": "\\ud800"}', '{"\\udc00": 1}', '{"ok": "\\ud83d\\ude00"}', json.dumps(claim(4))]
    path = write(tmp_path / "c.jsonl", "\n".join(lines) + "\n")
    records = read(path)
    assert [r.error.code if r.error else None for r in records] == ["claim_unreadable", "claim_unreadable", None, None]
    assert "half a surrogate pair" in records[0].error.message
    assert records[0].error.span == Span(path, 1, 15, 1, 16)
    assert records[2].data == {"ok": "\U0001F600"}


def test_integers_past_64_bits_stay_exact(tmp_path):
    path = write(tmp_path / "c.jsonl", '{"n": 1000000000000000000000000000000}\n{"n": 2}\n')
    records = read(path)
    assert records[0].data == {"n": 10**30} and type(records[0].data["n"]) is int
    assert records[1].data == {"n": 2}


def test_nan_and_infinity_are_not_numbers(tmp_path):
    path = write(tmp_path / "c.jsonl", '{"n": NaN}\n{"n": 1e999}\n{"n": -Infinity}\n' + jsonl(claim(4)))
    records = read(path)
    assert [r.error.code if r.error else None for r in records] == ["claim_unreadable"] * 3 + [None]


def test_a_line_longer_than_a_claim_is_skipped_without_holding_it(tmp_path, monkeypatch):
    from payerlint.claims import reader

    monkeypatch.setattr(reader, "MAX_RECORD_BYTES", 1000)
    path = write(tmp_path / "c.jsonl", jsonl(claim(1)) + '{"x": "' + "a" * 5000 + '"}\n' + jsonl(claim(3)))
    records = read(path)
    assert [r.data for r in records] == [claim(1), None, claim(3)]
    assert "5,010 bytes; a claim may be at most 1,000 bytes" in records[1].error.message


def test_not_utf8_line_in_jsonl_costs_one_record(tmp_path):
    data = jsonl(claim(1)).encode() + '{"name": "Jos\u00e9"}\n'.encode("latin-1") + jsonl(claim(3)).encode()
    path = write(tmp_path / "c.jsonl", data)
    records = read(path)
    assert [r.data for r in records] == [claim(1), None, claim(3)]
    assert records[1].error.code == "claim_unreadable" and records[1].origin == f"{path}:2"
    assert records[1].error.span == Span(path, 2, 14, 2, 15)


def test_bom_and_crlf(tmp_path):
    crlf = jsonl(claim(1), claim(2)).replace("\n", "\r\n")
    lines = write(tmp_path / "c.jsonl", b"\xef\xbb\xbf" + crlf.encode())
    single = write(tmp_path / "one.json", b"\xef\xbb\xbf" + json.dumps(claim(3), indent=2).replace("\n", "\r\n").encode())
    array = write(tmp_path / "arr.json", b"\xef\xbb\xbf" + json.dumps([claim(4)]).encode())
    records = read(lines, single, array)
    assert [r.data for r in records] == [claim(1), claim(2), claim(3), claim(4)]
    assert [r.origin for r in records] == [f"{lines}:1", f"{lines}:2", single, f"{array}[0]"]


def test_crlf_error_column_is_right(tmp_path):
    path = write(tmp_path / "c.jsonl", (jsonl(claim(1)) + '{"a" 1}\n').replace("\n", "\r\n"))
    records = read(path)
    assert records[1].error.span == Span(path, 2, 6, 2, 7)


def test_huge_number_and_deep_nesting_do_not_raise(tmp_path):
    path = write(tmp_path / "c.jsonl", '{"n": ' + "9" * 5000 + "}\n" + "[" * 100000 + "\n" + jsonl(claim(3)))
    records = read(path)
    assert [r.error.code if r.error else None for r in records] == ["claim_unreadable", "claim_unreadable", None]


def test_floats_stay_floats_and_money_strings_stay_strings(tmp_path):
    path = write(tmp_path / "c.json", '{"units": 1.0, "charge": "48.00", "minutes": 22}')
    [record] = read(path)
    assert type(record.data["units"]) is float and record.data["charge"] == "48.00"
    assert type(record.data["minutes"]) is int


# --- directories and stdin ----------------------------------------------------------------


def test_directory_is_recursive_sorted_and_filtered(tmp_path):
    root = tmp_path / "exports"
    (root / "b").mkdir(parents=True)
    (root / "a" / "deep").mkdir(parents=True)
    write(root / "z.json", json.dumps(claim(9)))
    write(root / "b" / "x.jsonl", jsonl(claim(5), claim(6)))
    write(root / "a" / "deep" / "y.JSON", json.dumps(claim(1)))
    write(root / "a" / "m.json", json.dumps([claim(2)]))
    write(root / "a" / "readme.txt", "not claims")
    write(root / "a" / "data.csv", "id\n1\n")
    records = read(str(root))
    assert [r.data["claim_id"] for r in records] == ["C-1", "C-2", "C-5", "C-6", "C-9"]
    assert records[0].origin == os.path.join(str(root), "a", "deep", "y.JSON")
    assert records[2].origin == os.path.join(str(root), "b", "x.jsonl") + ":1"


def test_stdin_jsonl_and_object():
    stream = io.StringIO(jsonl(claim(1)) + "{oops}\n" + jsonl(claim(3)))
    records = read("-", stdin=stream)
    assert [r.origin for r in records] == ["<stdin>:1", "<stdin>:2", "<stdin>:3"]
    assert records[1].error.code == "claim_unreadable" and "<stdin>:2:2:" in records[1].error.message
    [one] = read("-", stdin=io.StringIO("\ufeff" + json.dumps(claim(1), indent=2)))
    assert one == Record("<stdin>", claim(1), None)


def test_stdin_between_files(tmp_path):
    a = write(tmp_path / "a.json", json.dumps(claim(1)))
    records = read(a, "-", a, stdin=io.StringIO(json.dumps([claim(2)])))
    assert [r.origin for r in records] == [a, "<stdin>[0]", a]


def test_process_stdin_is_read_as_utf8_bytes():
    # As the CLI passes it: sys.stdin itself. A bad byte costs one line, whatever the locale.
    script = (
        "import sys\n"
        "from payerlint.claims.reader import read_records\n"
        "for r in read_records(['-'], stdin=sys.stdin):\n"
        "    print(r.origin, r.error.code if r.error else r.data['claim_id'])\n"
    )
    data = b"\xef\xbb\xbf" + jsonl(claim(1)).encode() + b'{"name": "Jos\xe9"}\r\n' + jsonl(claim(3)).encode()
    src = os.path.join(os.path.dirname(__file__), "..", "..", "src")
    env = dict(os.environ, PYTHONPATH=os.path.abspath(src), LC_ALL="C", PYTHONIOENCODING="ascii")
    out = subprocess.run([sys.executable, "-c", script], input=data, capture_output=True, env=env, check=True)
    assert out.stdout.decode().split("\n") == ["<stdin>:1 C-1", "<stdin>:2 claim_unreadable", "<stdin>:3 C-3", ""]


# --- streaming ----------------------------------------------------------------------------


class CountingReader(io.RawIOBase):
    """A file that counts how many bytes the reader has pulled from it."""

    def __init__(self, data: bytes):
        self._inner = io.BytesIO(data)
        self.pulled = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self._inner.readinto(buffer)
        self.pulled += n
        return n


def test_first_record_does_not_read_whole_stdin():
    data = jsonl(*(claim(i) for i in range(50_000))).encode()
    raw = CountingReader(data)
    stream = io.TextIOWrapper(io.BufferedReader(raw), encoding="utf-8")
    records = read_records(["-"], stdin=stream)
    first, second = next(records), next(records)
    assert first.data == claim(0) and second.origin == "<stdin>:2"
    assert raw.pulled < 100_000 < len(data)


def test_memory_stays_flat_over_a_large_jsonl_file(tmp_path):
    path = tmp_path / "big.jsonl"
    with open(path, "w", encoding="utf-8") as out:
        for i in range(100_000):
            out.write(json.dumps(claim(i)) + "\n")
    size = path.stat().st_size
    assert size > 5_000_000
    tracemalloc.start()
    try:
        records = read_records([str(path)])
        assert next(records).data == claim(0)
        _, peak_first = tracemalloc.get_traced_memory()
        count = 1 + sum(1 for _ in records)
        _, peak_all = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 100_000
    assert peak_first < 200_000
    assert peak_all < 500_000 < size / 10


def test_a_pipe_or_device_in_a_folder_is_an_error_record_not_a_hang(tmp_path):
    # Opening a pipe blocks until someone writes; a link to /dev/zero never ends.
    write(tmp_path / "a.json", json.dumps(claim(1)))
    os.mkfifo(tmp_path / "b.json")
    (tmp_path / "c.jsonl").symlink_to("/dev/zero")
    records = read(str(tmp_path))
    assert [r.data for r in records] == [claim(1), None, None]
    assert all("not a regular file" in r.error.message for r in records[1:])


def test_an_endless_line_stops_the_stream_with_an_error(monkeypatch):
    from payerlint.claims import reader

    monkeypatch.setattr(reader, "MAX_RECORD_BYTES", 1000)
    monkeypatch.setattr(reader, "MAX_SKIPPED_LINE_BYTES", 50_000)
    (record,) = read("/dev/zero")
    assert record.data is None and "runs past 50,000 bytes without ending" in record.error.message


def test_json_lines_ending_in_a_bare_cr_are_one_record_each_named_by_line(tmp_path):
    path = write(tmp_path / "c.jsonl", "\r".join(json.dumps(claim(n)) for n in range(3)) + "\r")
    records = read(path)
    assert [r.data for r in records] == [claim(0), claim(1), claim(2)]
    assert [r.origin for r in records] == [f"{path}:1", f"{path}:2", f"{path}:3"]
