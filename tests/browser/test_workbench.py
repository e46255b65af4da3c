"""The web workbench in a real headless Chromium (OS packages, driven by Selenium), against
`payerlint serve` running as a process: each page loads, a claim is checked and its
findings read (message, citation, the fix as a sentence, the explanation), a rulebook is
browsed, two quarters are compared with a claims file, the graph is panned and a rule's
inputs shown, and the check form is used with the keyboard alone. One browser and one
server for the module. Every claim here is synthetic."""

from __future__ import annotations

import json
import time

import pytest

from browser import start_browser
from conftest import DATA, ROOT
from serverproc import ServerProcess, need

pytestmark = pytest.mark.browser
need("fastapi", "server")
need("selenium", "test")

from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

MARKER = "ZZWORKBENCHPATIENT"


@pytest.fixture(scope="module")
def server():
    process = ServerProcess()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def driver(server):
    import shutil

    browser, profile = start_browser()
    yield browser
    browser.quit()
    shutil.rmtree(profile, ignore_errors=True)


def denied_claim() -> dict:
    claim = json.loads((DATA / "clean_claim.json").read_text())
    claim["claim_id"] = "WB-1"
    claim["patient"]["id"] = MARKER
    claim["lines"][0]["units"] = 2
    return claim


def wait(driver, condition, timeout=20):
    return WebDriverWait(driver, timeout).until(lambda d: condition(d))


def open_page(driver, server, page):
    driver.get("about:blank")  # a fresh document each time, not a jump within the last one
    driver.get(f"{server.base}/#{page}")
    wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#check-payer option")) > 1)


def set_text(driver, element_id, text):
    driver.execute_script("document.getElementById(arguments[0]).value = arguments[1];", element_id, text)


def test_each_page_loads_from_the_navigation_without_errors(driver, server):
    open_page(driver, server, "check")
    for page, heading in (("rules", "Rules"), ("quarters", "Compare quarters"), ("graph", "Dependency graph"),
                          ("check", "Check a claim")):
        driver.find_element(By.CSS_SELECTOR, f'nav a[data-page="{page}"]').click()
        section = driver.find_element(By.ID, f"page-{page}")
        wait(driver, lambda d: section.is_displayed())
        assert section.find_element(By.TAG_NAME, "h2").text == heading
        assert driver.find_element(By.CSS_SELECTOR, f'nav a[data-page="{page}"]').get_attribute("aria-current") == "page"
        assert driver.switch_to.active_element.text == heading  # focus moves to the page's heading
        others = [s for s in driver.find_elements(By.CSS_SELECTOR, "main section") if s.is_displayed()]
        assert others == [section]
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []


def test_checking_a_claim_shows_verdict_findings_fix_citation_and_explanation(driver, server):
    open_page(driver, server, "check")
    set_text(driver, "check-claim", json.dumps(denied_claim(), indent=2))
    driver.find_element(By.ID, "check-submit").click()
    finding = wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#check-results .finding"))[0]
    card = driver.find_element(By.CSS_SELECTOR, "#check-results .claim")
    assert card.find_element(By.CSS_SELECTOR, ".verdict").text.lower() == "deny"
    assert "claim WB-1" in card.text and "medicare@2026Q2" in card.text
    assert "units.total" in finding.text and "whole claim" in finding.text
    assert "2 timed units billed on 2026-05-14; 22 timed minutes support 1" in finding.text
    assert "Fix: set line 1 units to 1" in finding.text
    assert "Source: CMS Pub. 100-04 Ch. 5 sec. 20.2" in finding.text
    finding.find_element(By.TAG_NAME, "summary").click()
    read = finding.find_element(By.CSS_SELECTOR, "details ul").text
    assert "param unit_method = cms_total_time" in read
    assert "Checked 1 claim(s): 1 deny" in driver.find_element(By.ID, "status").text
    assert MARKER not in driver.find_element(By.ID, "check-results").text  # only what the result says


def test_a_chosen_payer_and_quarter_and_json_lines_with_a_broken_line(driver, server):
    open_page(driver, server, "check")
    Select(driver.find_element(By.ID, "check-payer")).select_by_value("medicare")
    Select(driver.find_element(By.ID, "check-quarter")).select_by_value("2026Q3")
    lines = json.dumps(denied_claim()) + "\nnot json at all\n" + json.dumps({**denied_claim(), "claim_id": "WB-2"})
    set_text(driver, "check-claim", lines)
    driver.find_element(By.ID, "check-submit").click()
    cards = wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#check-results .claim"))
    assert len(cards) == 3, [c.text for c in cards]
    assert "medicare@2026Q3" in cards[0].text
    assert cards[1].find_element(By.CSS_SELECTOR, ".verdict").text.lower() == "error"
    assert "request:2:1: invalid JSON" in cards[1].text


def test_an_uploaded_837p_file_is_checked_with_segments_and_837p_edits(driver, server):
    open_page(driver, server, "check")
    # The file chooser, as a user picks a file (Selenium types the path into it).
    driver.find_element(By.ID, "check-file").send_keys(str(ROOT / "examples" / "x12" / "therapy-claims.837"))
    wait(driver, lambda d: d.find_element(By.ID, "check-claim").get_property("value").startswith("ISA*"))
    driver.find_element(By.ID, "check-submit").click()
    cards = wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#check-results .claim"))
    assert len(cards) == 5, [c.text for c in cards]
    assert "Read from X12 837P (005010X222A1), request:CLM 1" in cards[0].text
    broken = cards[2]
    assert broken.find_element(By.CSS_SELECTOR, ".verdict").text.lower() == "error"
    assert "In your file: segment 37 (HI) of ST 0001, element HI01-2" in broken.text
    gp = cards[4]
    assert "In the 837P: SV1-01-3 add GP on LX 1 (segment 51 of ST 0001)" in gp.text
    assert "In your file: segment 50 (LX) of ST 0001, element LX01, LX 1" in gp.text
    assert "/lines/0/minutes not in an 837P file; supply it with --documentation" in gp.text
    assert "Checked 5 claim(s): 2 clean, 1 warn, 1 error, 1 deny." in driver.find_element(By.ID, "status").text
    assert "SYNTHETIC" not in driver.find_element(By.ID, "check-results").text


def test_a_pasted_fhir_claim_shows_fhir_locations(driver, server):
    open_page(driver, server, "check")
    set_text(driver, "check-claim", (DATA / "fhir" / "therapy-bundle.json").read_text())
    driver.find_element(By.ID, "check-submit").click()
    cards = wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#check-results .claim"))
    read = [c for c in cards if "Read from FHIR R4 Claim, request Bundle.entry[" in c.text]
    assert len(cards) > 1 and len(read) >= 2
    assert any("Change: Claim.item[" in c.text for c in read)


def test_malformed_json_is_reported_with_its_line_and_column(driver, server):
    open_page(driver, server, "check")
    set_text(driver, "check-claim", '{\n  "claim_id": "X",,\n}')
    driver.find_element(By.ID, "check-submit").click()
    status = driver.find_element(By.ID, "status")
    wait(driver, lambda d: "line 2, column" in status.text)
    assert "problem" in status.get_attribute("class")


def test_rules_page_shows_rules_by_category_with_inheritance_params_and_code_sets(driver, server):
    open_page(driver, server, "rules")
    Select(driver.find_element(By.ID, "rules-payer")).select_by_value("uhc-medicare-advantage")
    Select(driver.find_element(By.ID, "rules-quarter")).select_by_value("2026Q2")
    driver.find_element(By.CSS_SELECTOR, "#rules-form button").click()
    out = driver.find_element(By.ID, "rules-out")
    wait(driver, lambda d: "Params" in out.text)
    assert "uhc-medicare-advantage@2026Q2" in out.text and "Extends medicare@2026Q2" in out.text
    row = next(r for r in out.find_elements(By.CSS_SELECTOR, "tbody tr") if "units.total" in r.text)
    assert "inherited from medicare@2026Q2 (rulebooks/medicare/2026Q2.rules:" in row.text
    assert "CMS Pub. 100-04" in row.text and "deny" in row.text.lower()
    headings = [h.text.lower() for h in out.find_elements(By.TAG_NAME, "h4")]
    assert headings == sorted(headings) and any(h.startswith("units") for h in headings)
    assert "unit_method" in out.text and "cms_total_time" in out.text
    timed = next(r for r in out.find_elements(By.CSS_SELECTOR, "tbody tr") if r.text.startswith("timed"))
    assert "97140" in timed.text


def test_quarters_page_shows_the_diff_and_the_replay_of_a_claims_file(driver, server):
    open_page(driver, server, "quarters")
    Select(driver.find_element(By.ID, "quarters-payer")).select_by_value("medicare")
    Select(driver.find_element(By.ID, "quarters-old")).select_by_value("2025Q4")
    Select(driver.find_element(By.ID, "quarters-new")).select_by_value("2026Q1")
    driver.find_element(By.ID, "quarters-claims").send_keys(str(ROOT / "examples/replay/kx-threshold-2025-2026.jsonl"))
    driver.find_element(By.CSS_SELECTOR, "#quarters-form button").click()
    out = driver.find_element(By.ID, "quarters-out")
    summary = wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".replay-summary"))[0]
    # Two KX rules: past the threshold before the claim (deny) and carried past it by the
    # claim's own charges (warn), so claims between the two thresholds now warn.
    assert summary.text == "12 claims checked, 9 changed outcome."
    assert "medicare@2025Q4 → medicare@2026Q1" in out.text
    assert "param kx_threshold_pt_slp: $2,410.00 -> $2,480.00" in out.text
    assert "Reaches: threshold.kx_crossed_by_claim, threshold.kx_missing" in out.text
    assert "verdict deny -> warn: 3" in out.text


def test_graph_pans_and_a_selected_rule_shows_what_it_reads(driver, server):
    open_page(driver, server, "graph")
    Select(driver.find_element(By.ID, "graph-payer")).select_by_value("medicare")
    driver.find_element(By.CSS_SELECTOR, "#graph-form button").click()
    nodes = wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#graph-canvas .node"))
    assert len(nodes) > 30
    layer = driver.find_element(By.CSS_SELECTOR, "#graph-canvas svg > g")
    before = layer.get_attribute("transform")
    canvas = driver.find_element(By.CSS_SELECTOR, "#graph-canvas svg")
    # Grab the canvas where no node is (dragging a node does not pan), wherever the layout
    # put the nodes; Selenium's offsets count from the element's centre.
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", canvas)
    empty = driver.execute_script("""
        const svg = arguments[0], r = svg.getBoundingClientRect();
        for (let y = Math.max(r.top, 0) + 5; y < Math.min(r.bottom, innerHeight) - 5; y += 10)
          for (let x = Math.max(r.left, 0) + 5; x < Math.min(r.right, innerWidth) - 5; x += 10)
            if (document.elementFromPoint(x, y) === svg) return [x - r.left - r.width / 2, y - r.top - r.height / 2];
        return null;""", canvas)
    assert empty is not None
    ActionChains(driver).move_to_element_with_offset(canvas, int(empty[0]), int(empty[1])).click_and_hold() \
        .move_by_offset(120 if empty[0] < 0 else -120, 60 if empty[1] < 0 else -60).release().perform()
    dragged = layer.get_attribute("transform")
    assert dragged != before
    canvas.send_keys(Keys.ARROW_RIGHT)
    assert layer.get_attribute("transform") != dragged
    rule = driver.find_element(By.CSS_SELECTOR, '#graph-canvas .node[data-node="rule:units.total"]')
    driver.execute_script("arguments[0].focus()", rule)
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    detail = driver.find_element(By.ID, "graph-detail")
    wait(driver, lambda d: "Reads directly:" in detail.text)
    assert "rule units.total" in detail.text
    assert rule.get_attribute("aria-pressed") == "true"
    inputs = [n.get_attribute("data-node") for n in driver.find_elements(By.CSS_SELECTOR, "#graph-canvas .node.input")]
    assert inputs and all(i.split(":")[0] in ("param", "let", "codeset", "table", "phrases") for i in inputs)
    assert driver.find_elements(By.CSS_SELECTOR, "#graph-canvas .edge.lit")
    direct = detail.find_elements(By.CSS_SELECTOR, "button[data-node]")
    assert {b.text for b in direct} <= set(inputs) | {n.get_attribute("data-node") for n in nodes}


def test_the_check_form_works_with_the_keyboard_alone(driver, server):
    open_page(driver, server, "check")
    body = driver.find_element(By.TAG_NAME, "body")
    body.click()
    visited = []
    for _ in range(25):
        ActionChains(driver).send_keys(Keys.TAB).perform()
        active = driver.switch_to.active_element
        visited.append(active.get_attribute("id") or active.text)
        if active.get_attribute("id") == "check-claim":
            break
    assert visited[-1] == "check-claim", visited
    assert visited.index("check-payer") < visited.index("check-claim")
    outline = driver.execute_script("return getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # the focus is visible
    claim = json.dumps(denied_claim())
    ActionChains(driver).send_keys(claim).perform()
    order = []
    for _ in range(5):
        ActionChains(driver).send_keys(Keys.TAB).perform()
        order.append(driver.switch_to.active_element.get_attribute("id"))
        if order[-1] == "check-submit":
            break
    assert order == ["check-file", "check-format", "check-explain", "check-submit"], order
    ActionChains(driver).send_keys(Keys.ENTER).perform()
    finding = wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#check-results .finding"))[0]
    assert "Fix: set line 1 units to 1" in finding.text


def test_a_claim_file_opened_from_disk_is_checked(driver, server):
    open_page(driver, server, "check")
    driver.find_element(By.ID, "check-file").send_keys(str(DATA / "clean_claim.json"))
    wait(driver, lambda d: '"C-1001"' in d.find_element(By.ID, "check-claim").get_attribute("value"))
    driver.find_element(By.ID, "check-submit").click()
    card = wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#check-results .claim"))[0]
    assert card.find_element(By.CSS_SELECTOR, ".verdict").text.lower() == "clean"
    assert "No findings." in card.text and "Every rule that applies could run." in card.text


def test_remittances_page_measures_rules_and_draws_the_charts(driver, server, tmp_path):
    import sys

    sys.path.insert(0, str(ROOT / "tests"))
    from remit.synth import PATIENT_NAME, scenario

    claims, remits = scenario()
    (tmp_path / "claims.jsonl").write_text("".join(json.dumps(c) + "\n" for c in claims))
    paths = []
    for i, text in enumerate(remits):
        (tmp_path / f"r{i}.835").write_bytes(text)
        paths.append(str(tmp_path / f"r{i}.835"))
    open_page(driver, server, "remit")
    driver.find_element(By.ID, "remit-835").send_keys("\n".join(paths))
    driver.find_element(By.ID, "remit-claims").send_keys(str(tmp_path / "claims.jsonl"))
    driver.find_element(By.CSS_SELECTOR, "#remit-form button[type=submit]").click()
    out = driver.find_element(By.ID, "remit-out")
    wait(driver, lambda d: out.find_elements(By.CSS_SELECTOR, ".remit-card"), timeout=60)
    cards = {c.find_element(By.TAG_NAME, "span").text: c.find_element(By.TAG_NAME, "b").text
             for c in out.find_elements(By.CSS_SELECTOR, ".remit-card")}
    assert (cards["hit rate"], cards["caught"], cards["missed"]) == ("63.6%", "$304.00", "$240.00")
    assert len(out.find_elements(By.CSS_SELECTOR, ".remit-chart svg rect")) > 5
    assert "draft" not in out.text and PATIENT_NAME not in out.text
    assert "18 claims measured" in driver.find_element(By.ID, "status").text
    assert driver.find_element(By.ID, "remit-html").is_enabled()
