"""The physician workstation in a real browser (Debian's Chromium via Playwright): worklist order, the ECG
paper geometry, per-finding review, signing, the final report with both signatures, and the billing,
auditor and technologist pages. One server and one browser for the module: the machine is shared.

Screenshots of every step land in test-artifacts/web/ (gitignored; CI keeps them as artefacts)."""

from __future__ import annotations

import csv
import datetime as dt
import importlib
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import DEMO_SAMPLES, REPO
from tests.core.client import sample_files
from tests.core.network import PASSWORD, build_network
from tests.web.server import CHROMIUM, CHROMIUM_ARGS, api_login, serve

playwright_api = importlib.import_module("playwright.sync_api")  # in the test extra: missing means broken
if not Path(CHROMIUM).exists():
    pytest.fail(f"{CHROMIUM} is missing: install the Debian package 'chromium'", pytrace=False)

ARTIFACTS = REPO / "test-artifacts" / "web"
URGENCY_RANK = {"critical": 0, "urgent": 1, "routine": 2}
PX_PER_CSS_MM = 96 / 25.4
ROWS = "#worklist-rows tr[data-exam-id]"


def _upload(base: str, headers: dict[str, str], paths: list[Path], mrn: str, name: str,
            modality: str = "ecg") -> int:
    files = [("files", (p.name, p.read_bytes(), "application/octet-stream")) for p in paths]
    r = httpx.post(f"{base}/api/exams", headers=headers, files=files, timeout=60,
                   data={"modality": modality, "patient_mrn": mrn, "patient_name": name, "patient_sex": "M",
                         "patient_birth_date": "1957-03-14", "insurance_number": f"INS-{mrn}"})
    assert r.status_code in (200, 201), r.text
    return int(r.json()["id"])


def _wait(base: str, headers: dict[str, str], exam_id: int, wanted: set[str], timeout: float = 180) -> str:
    deadline = time.monotonic() + timeout
    while True:
        status: str = httpx.get(f"{base}/api/exams/{exam_id}", headers=headers).json()["status"]
        if status in wanted:
            return status
        assert time.monotonic() < deadline, f"exam {exam_id} stuck in {status}"
        time.sleep(0.25)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Network A/T with one user per role; the VT strip sent from township T (read at A), a 12-lead ECG
    from A, and an unreadable upload that fails QC at intake."""
    with serve(tmp_path_factory.mktemp("web-home")) as (base, rt):
        build_network(rt)
        tech_t, tech_a = api_login(base, "tech.t", PASSWORD), api_login(base, "technologist.a", PASSWORD)
        vt = _upload(base, tech_t, sample_files("mitdb223_vt"), "T-1", "Wang Jianguo")
        twelve = _upload(base, tech_a, sample_files("E07509"), "A-1", "Chen Zhiming")
        junk = ARTIFACTS.parent / "junk-ecg.txt"
        junk.parent.mkdir(parents=True, exist_ok=True)
        junk.write_text("not an ECG\n")
        bad = _upload(base, tech_a, [junk], "A-2", "Li Xiaoyan")
        ct = _upload(base, tech_a, sorted((DEMO_SAMPLES / "lidc-idri-0001-slab").iterdir()), "A-3", "Liu Guifang",
                     modality="chest_ct")
        eye = _upload(base, tech_a, [DEMO_SAMPLES / "fundus" / "idrid_46.jpg"], "A-4", "Huang Xiuying",
                      modality="fundus")
        for exam_id, headers in ((vt, tech_t), (twelve, tech_a), (ct, tech_a), (eye, tech_a)):
            assert _wait(base, headers, exam_id, {"preliminary", "qc_failed", "analysis_failed"}) == "preliminary"
        assert _wait(base, tech_a, bad, {"qc_failed"}) == "qc_failed"
        yield {"base": base, "vt": vt, "twelve": twelve, "bad": bad, "ct": ct, "fundus": eye}


@pytest.fixture(scope="module")
def browser(stack: dict[str, Any]) -> Iterator[Any]:
    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Steps:
    """A signed-in browser tab that keeps a screenshot of every step."""

    def __init__(self, browser: Any, base: str, prefix: str) -> None:
        self.context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
        self.page = self.context.new_page()
        self.page.set_default_timeout(20000)
        self.base, self.prefix, self.n = base, prefix, 0
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def shot(self, name: str) -> None:
        self.n += 1
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{self.prefix}-{self.n:02d}-{name}.png"), full_page=True)

    def login(self, username: str) -> None:
        self.page.goto(f"{self.base}/")
        self.page.fill("#username", username)
        self.page.fill("#password", PASSWORD)
        self.shot("login")
        self.page.click("#login-submit")
        self.page.wait_for_selector("#whoami")

    def close(self) -> None:
        self.context.close()
        assert not self.errors, self.errors


def test_worklist_in_api_order_most_urgent_first(browser: Any, stack: dict[str, Any]) -> None:
    base = stack["base"]
    api = httpx.get(f"{base}/api/worklist", headers=api_login(base, "physician.a", PASSWORD)).json()
    s = Steps(browser, base, "1-worklist")
    s.login("physician.a")
    s.page.wait_for_selector("#worklist-rows tr")
    s.shot("worklist")
    rows = s.page.eval_on_selector_all(ROWS, "rs => rs.map(r => [Number(r.dataset.examId), r.dataset.urgency])")
    assert [r[0] for r in rows] == [e["id"] for e in api["items"]], "the worklist must keep the API's order"
    assert {stack["vt"], stack["twelve"]} <= {r[0] for r in rows}  # the township VT strip is routed to A
    ranks = [URGENCY_RANK.get(u, 9) for _, u in rows]
    assert ranks == sorted(ranks), f"most urgent first: {rows}"
    counts = s.page.inner_text("#urgency-counts")
    for urgency, n in api["by_urgency"].items():
        assert str(n) in counts, (urgency, counts)
    # filters: an urgency count narrows the table to that urgency; the text filter finds a patient by name
    s.page.click(f'#urgency-counts [data-urgency="{rows[0][1]}"]')
    assert set(s.page.eval_on_selector_all(ROWS, "rs => rs.map(r => r.dataset.urgency)")) == {rows[0][1]}
    s.page.click('#urgency-counts [data-urgency="all"]')
    s.page.fill("#f-text", "Chen Zhiming")
    assert s.page.eval_on_selector_all(ROWS, "rs => rs.map(r => Number(r.dataset.examId))") == [stack["twelve"]]
    s.close()
    critical = [e["id"] for e in api["items"] if e["urgency"] == "critical"]
    # The VT strip (MIT-BIH 223) is the critical one, and the screen shows it first.
    assert critical == [stack["vt"]]
    assert rows[0][1] == "critical" and rows[0][0] == stack["vt"]


def _geometry(page: Any) -> dict[str, Any]:
    return dict(page.evaluate("""() => {
      const svg = document.querySelector('svg.ecg');
      const box = svg.getBoundingClientRect(), vb = svg.viewBox.baseVal;
      const steps = (cls) => { const xs = [...document.querySelector(cls).getAttribute('d').matchAll(/M([\\d.]+) 0V/g)]
        .map(m => Number(m[1])); return xs.slice(1, 4).map((x, i) => x - xs[i]); };
      const cal = document.querySelector('path.cal').getBBox();
      const lead = document.querySelector('polyline.trace[data-lead="II"]');
      const pts = lead.getAttribute('points').trim().split(' ').map(p => p.split(',').map(Number));
      return { pxPerMmX: box.width / vb.width, pxPerMmY: box.height / vb.height,
        minor: steps('path.grid-minor'), major: steps('path.grid-major'), calHeight: cal.height,
        mmPerS: Number(svg.dataset.mmPerS), mmPerMv: Number(svg.dataset.mmPerMv), fs: Number(lead.dataset.fs),
        x0: Number(lead.dataset.x0), baseline: Number(lead.dataset.baseline), first: Number(lead.dataset.firstSample),
        pts, leads: [...document.querySelectorAll('polyline.trace')].map(p => p.dataset.lead),
        beats: document.querySelectorAll('g.beats text').length };
    }"""))


def test_review_sign_report_claim_audit(browser: Any, stack: dict[str, Any]) -> None:
    base, exam_id = stack["base"], stack["twelve"]
    doctor = api_login(base, "physician.a", PASSWORD)
    s = Steps(browser, base, "2-sign")
    s.login("physician.a")
    s.page.wait_for_selector(f'#worklist-rows tr[data-exam-id="{exam_id}"] a')
    s.page.click(f'#worklist-rows tr[data-exam-id="{exam_id}"] a')
    s.page.wait_for_selector("svg.ecg polyline.trace")
    s.shot("exam-ecg")

    # paper: 1 mm / 5 mm grid, 25 mm/s, 10 mm/mV, drawn at nominal CSS millimetres, uniform in x and y
    g = _geometry(s.page)
    assert g["mmPerS"] == 25 and g["mmPerMv"] == 10
    assert g["minor"] == [1, 1, 1] and g["major"] == [5, 5, 5]
    assert g["calHeight"] == pytest.approx(10, abs=0.01)  # the 1 mV calibration pulse is 10 mm
    assert g["pxPerMmX"] == pytest.approx(g["pxPerMmY"], rel=1e-3)
    assert g["pxPerMmX"] == pytest.approx(PX_PER_CSS_MM, rel=0.01)
    assert [n for n in g["leads"] if not n.startswith("rhythm")] == [
        "I", "aVR", "V1", "V4", "II", "aVL", "V2", "V5", "III", "aVF", "V3", "V6"]
    assert g["leads"][-1] == "rhythm:II" and g["beats"] > 0
    wave = httpx.get(f"{base}/api/exams/{exam_id}/ecg", headers=doctor).json()
    lead_ii = wave["samples"][wave["leads"].index("II")]
    assert len(g["pts"]) == round(2.5 * wave["fs_hz"])  # one 2.5 s column of the 3×4 layout
    for i in (0, 100, len(g["pts"]) - 1):
        x, y = g["pts"][i]
        assert x - g["x0"] == pytest.approx(i / g["fs"] * 25, abs=0.01)  # 25 mm per second
        assert g["baseline"] - y == pytest.approx(lead_ii[g["first"] + i] / 1000 * 10, abs=0.01)  # 10 mm per mV
    assert s.page.locator("#ecg-measurements td").count() >= 5

    # review: reject the first AI finding with a reason, accept the rest; signing stays off until then
    cards = s.page.locator("#findings .finding")
    n = cards.count()
    assert n >= 2
    assert s.page.locator("#sign").is_disabled()
    first = cards.nth(0)
    first.locator(".f-reject").click()
    first.locator(".f-reject-confirm").click()  # no reason: refused in the page
    assert first.get_attribute("data-state") == "proposed"
    first.locator(".f-reason").fill("Artefact in the precordial leads, not a true finding")
    first.locator(".f-reject-confirm").click()
    s.page.wait_for_selector("#findings .finding >> nth=0 >> xpath=self::*[@data-state='rejected']")
    for i in range(1, n):
        s.page.locator("#findings .finding").nth(i).locator(".f-accept").click()
        s.page.wait_for_selector(f"#findings .finding >> nth={i} >> xpath=self::*[@data-state='accepted']")
    assert "Artefact in the precordial leads" in s.page.inner_text("#physician-changes")
    s.page.fill("#impression", "Sinus bradycardia with right bundle branch block.")
    s.shot("reviewed")

    # sign: a wrong password is refused in the dialog, the right one signs
    s.page.click("#sign")
    s.page.fill("#sign-password", "not-my-password")
    s.page.click("#sign-confirm")
    s.page.wait_for_selector("#sign-error:not(:empty)")
    s.shot("wrong-password")
    s.page.fill("#sign-password", PASSWORD)
    s.page.click("#sign-confirm")
    s.page.wait_for_selector("main[data-status='final']")
    final = s.page.locator("#reports .report-version[data-status='final']")
    kinds = final.locator(".sig").evaluate_all("ss => ss.map(s => [s.dataset.kind, s.dataset.verified])")
    assert sorted(kinds) == [["ai", "true"], ["physician", "true"]]
    s.shot("final")

    # the HTML report, in Chinese then English, with both signatures verified
    s.page.click("#view-report")
    s.page.wait_for_selector("#report[data-status='final']")
    assert s.page.locator("#report .sig .ok").count() == 2
    assert "签名已验证" in s.page.inner_text("#report")
    assert "Sinus bradycardia with right bundle branch block." in s.page.inner_text("#report-impression")
    s.shot("report-zh")
    s.page.select_option("#lang-select", "en")
    s.page.wait_for_selector("#report[data-status='final']")
    assert "Signatures verified" in s.page.inner_text("#report") and "Final" in s.page.inner_text("#report-status")
    s.shot("report-en")
    s.close()

    api_reports = httpx.get(f"{base}/api/exams/{exam_id}/reports", headers=doctor).json()["items"]
    exam_accession = api_reports[-1]["content"]["exam"]["accession"]
    assert [r["status"] for r in api_reports] == ["preliminary", "final"] and all(r["verified"] for r in api_reports)

    billing = Steps(browser, base, "3-billing")
    billing.login("billing.a")
    billing.page.wait_for_selector(f'#claims-table tr[data-exam-id="{exam_id}"]')
    assert billing.page.locator("#export-csv").is_visible() and billing.page.locator("#export-json").is_visible()
    with billing.page.expect_download() as download:
        billing.page.click("#export-csv")
    assert download.value.suggested_filename.endswith(".csv")
    billing.shot("claims")
    billing.close()

    auditor = Steps(browser, base, "4-audit")
    auditor.login("auditor.a")
    auditor.page.wait_for_selector("#audit-table")
    final_id = next(r["id"] for r in api_reports if r["status"] == "final")
    events = httpx.get(f"{base}/api/audit/events", headers=api_login(base, "auditor.a", PASSWORD),
                       params={"action": "sign", "outcome": "success", "object_id": str(exam_id)}).json()["items"]
    assert [e["detail"]["report_id"] for e in events] == [final_id]
    # Sign, amend and retract are audited against the exam (like their refusals), the report id in the detail.
    auditor.page.select_option("#audit-action", "sign")
    auditor.page.select_option("#audit-outcome", "success")
    auditor.page.fill("#audit-object-type", "exam")
    auditor.page.fill("#audit-object-id", str(exam_id))
    auditor.page.click("#audit-search")
    auditor.page.wait_for_selector(f"#audit-results[data-query*='object_id={exam_id}'] #audit-table")
    rows = auditor.page.locator("#audit-table tbody tr")
    assert rows.count() == 1
    text = rows.first.inner_text()
    assert "physician.a" in text and f"exam {exam_id}" in text and exam_accession in text
    auditor.shot("sign-event")
    auditor.close()


def test_technologist_sees_qc_failures(browser: Any, stack: dict[str, Any]) -> None:
    s = Steps(browser, stack["base"], "5-qc")
    s.login("technologist.a")
    s.page.wait_for_selector(f'#qc-table tr[data-exam-id="{stack["bad"]}"]')
    assert "junk-ecg.txt" in s.page.inner_text(f'#qc-table tr[data-exam-id="{stack["bad"]}"]')
    s.shot("qc-failures")
    s.close()


def test_ct_review_reject_false_positive_sign_claim(browser: Any, stack: dict[str, Any]) -> None:
    """The issue's path on a real chest CT: worklist (critical ECG first) -> open the CT -> the viewer scrolls
    and marks the nodules -> add a mark -> reject an AI mark with a reason -> sign -> final with both signatures
    -> the billing user sees the claim. On these slices the AI marks the four readers' nodule alone (the only
    nodule >= 3 mm they marked), so the mark rejected here is that one: the test is of the reject path."""
    base, exam_id = stack["base"], stack["ct"]
    s = Steps(browser, base, "8-ct")
    s.login("physician.a")
    s.page.wait_for_selector(ROWS)
    assert s.page.locator(ROWS).first.get_attribute("data-urgency") == "critical"
    s.shot("worklist")
    s.page.click(f'#worklist-rows tr[data-exam-id="{exam_id}"] a')
    canvas = s.page.locator("#ct-canvas")
    s.page.wait_for_selector("#ct-canvas[data-marks]")
    doctor = api_login(base, "physician.a", PASSWORD)
    geo = httpx.get(f"{base}/api/exams/{exam_id}/ct", headers=doctor).json()
    nodule = next(f for f in geo["nodules"])
    with (REPO / "tests" / "data" / "ct_nodule" / "lidc-idri-0001-readers.csv").open() as fh:
        marks = list(csv.DictReader(fh))
    readers = [sum(float(m[f"centroid_{a}_mm"]) for m in marks) / len(marks) for a in "xyz"]
    ai_nodule = next(f for f in httpx.get(f"{base}/api/exams/{exam_id}/findings", headers=doctor).json()["items"]
                     if f["kind"] in ("nodule", "mass"))
    assert math.dist(ai_nodule["location"]["center_mm"], readers) < 15.0  # the readers' nodule
    ai_card = s.page.locator(f'#findings .finding[data-finding-id="{ai_nodule["id"]}"]')
    # the viewer opens on the first marked nodule's slice, with its mark drawn
    assert int(canvas.get_attribute("data-slice")) == nodule["center_voxel"][0]
    assert int(canvas.get_attribute("data-marks")) >= 1
    s.shot("ct-nodule")
    # wheel and keys scroll; the window toggles
    start = int(canvas.get_attribute("data-slice"))
    canvas.hover()
    s.page.mouse.wheel(0, 120)
    s.page.wait_for_function(f"document.querySelector('#ct-canvas').dataset.slice !== '{start}'")
    canvas.focus()
    s.page.keyboard.press("Home")
    s.page.wait_for_selector("#ct-canvas[data-slice='0']")
    s.page.click("#ct-window-mediastinal")
    s.page.wait_for_selector("#ct-canvas[data-window='mediastinal']")
    s.shot("ct-mediastinal")
    # a finding clicked in the list jumps to its slice
    ai_slice = ai_nodule["location"]["center_voxel"][0]
    ai_card.locator(".f-label").click()
    s.page.wait_for_selector(f"#ct-canvas[data-slice='{ai_slice}']")
    # add a mark by clicking the image (as a missed nodule would be), then reject it as a false positive
    before = s.page.locator("#findings .finding").count()
    s.page.click("#ct-add")
    box = canvas.bounding_box()
    assert box is not None
    s.page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5)
    s.page.wait_for_function("n => document.querySelectorAll('#findings .finding').length > n", arg=before)
    items = httpx.get(f"{base}/api/exams/{exam_id}/findings", headers=doctor).json()["items"]
    added = [f for f in items if f["origin"] == "physician"]
    assert len(added) == 1 and added[0]["kind"] == "nodule"
    z, y, x = added[0]["location"]["center_voxel"]
    assert z == ai_slice and 0 <= x < geo["columns"] and 0 <= y < geo["rows"]
    for f in items:
        if f["origin"] == "ai":
            card = s.page.locator(f'#findings .finding[data-finding-id="{f["id"]}"]')
            card.locator(".f-accept").click()
            s.page.wait_for_selector(f'#findings .finding[data-finding-id="{f["id"]}"][data-state="accepted"]')
    # the AI's findings are all decided; now reject one AI finding to check the path
    ai_card.locator(".f-reject").click()
    ai_card.locator(".f-reason").fill("Not confirmed on review (test of the reject path)")
    ai_card.locator(".f-reject-confirm").click()
    s.page.wait_for_selector("#findings .finding[data-state='rejected']")
    s.page.fill("#impression", "Nodule marked by the physician; the AI mark rejected on review.")
    s.shot("ct-reviewed")
    s.page.click("#sign")
    s.page.fill("#sign-password", PASSWORD)
    s.page.click("#sign-confirm")
    s.page.wait_for_selector("main[data-status='final']")
    final = s.page.locator("#reports .report-version[data-status='final']")
    kinds = final.locator(".sig").evaluate_all("ss => ss.map(s => [s.dataset.kind, s.dataset.verified])")
    assert sorted(kinds) == [["ai", "true"], ["physician", "true"]]
    s.shot("ct-final")
    s.close()

    signed = [r for r in httpx.get(f"{base}/api/exams/{exam_id}/reports", headers=doctor).json()["items"]
              if r["status"] == "final"][0]
    reason = "Not confirmed on review (test of the reject path)"
    assert [f["reason"] for f in signed["content"]["rejected_ai_findings"]] == [reason]
    billing = Steps(browser, base, "9-ct-billing")
    billing.login("billing.a")
    billing.page.wait_for_selector(f'#claims-table tr[data-exam-id="{exam_id}"]')
    billing.shot("claims")
    billing.close()


def test_fundus_viewer_overlays(browser: Any, stack: dict[str, Any]) -> None:
    base, exam_id = stack["base"], stack["fundus"]
    marks = httpx.get(f"{base}/api/exams/{exam_id}/fundus", headers=api_login(base, "physician.a", PASSWORD)).json()
    s = Steps(browser, base, "10-fundus")
    s.login("physician.a")
    s.page.goto(f"{base}/app/#/exam/{exam_id}")
    s.page.wait_for_selector("#fundus-viewer[data-boxes]")
    assert int(s.page.get_attribute("#fundus-viewer", "data-boxes")) == len(marks["lesions"])
    assert (s.page.locator("#fundus-disc").count() == 1) == bool(marks["optic_disc"])
    # the overlay's coordinate system is the photo's own pixels
    assert s.page.get_attribute("#fundus-overlay", "viewBox") == f"0 0 {marks['width']} {marks['height']}"
    s.shot("fundus")
    for box in s.page.locator("[data-lesion-type]").element_handles():
        if box.evaluate("e => e.tagName") == "INPUT":
            box.uncheck()
    s.page.wait_for_selector("#fundus-viewer[data-boxes='0']")
    s.shot("fundus-overlays-off")
    s.close()


def test_claims_default_period_is_this_month_in_china(browser: Any, stack: dict[str, Any]) -> None:
    # 17:30 UTC on 30 November is 01:30 on 1 December in Beijing: the billing officer's default period is
    # December 1-1, whatever zone the browser runs in (here UTC, the server's too).
    context = browser.new_context(locale="zh-CN", timezone_id="UTC")
    page = context.new_page()
    page.set_default_timeout(20000)
    page.clock.set_fixed_time(dt.datetime(2026, 11, 30, 17, 30, tzinfo=dt.UTC))
    page.goto(f"{stack['base']}/")
    page.fill("#username", "billing.a")
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("#claims-from")
    assert page.input_value("#claims-from") == "2026-12-01"
    assert page.input_value("#claims-to") == "2026-12-01"
    context.close()
