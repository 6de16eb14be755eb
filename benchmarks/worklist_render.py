"""Worklist rendering speed in Chromium: 10,000 exams against an empty worklist, same browser, same run.

Seeds 10,000 preliminary ECG exams straight into a temporary SQLite database through the ORM (no files,
no analysis), serves the app, signs in as a physician and times the worklist's own performance measure
'worklist:render' (filter over all rows, counts, the rows in view built and inserted, layout forced), plus
click-to-next-frame and a jump to the end of the list. Target: < 500 ms.

    .venv/bin/python benchmarks/worklist_render.py [--exams 10000] [--repeats 7]

Needs the Debian package 'chromium' and `pip install playwright` (no browser download)."""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import sync_playwright  # noqa: E402

from dualsign.accounts.models import Site  # noqa: E402
from dualsign.audit import service as audit  # noqa: E402
from dualsign.exams.models import Exam  # noqa: E402
from dualsign.patients import service as patients  # noqa: E402
from dualsign.runtime import Runtime  # noqa: E402
from tests.core.network import PASSWORD, build_network  # noqa: E402
from tests.web.server import CHROMIUM, CHROMIUM_ARGS, serve  # noqa: E402

SUMMARIES = ["ECG 12-lead 10 s: Sinus rhythm; HR 72/min", "ECG 12-lead 10 s: Atrial fibrillation; HR 118/min",
             "ECG 2-lead 25 s: Ventricular tachycardia; HR 160/min", "ECG 12-lead 10 s: Sinus bradycardia, "
             "Right bundle branch block, Low QRS voltage (precordial leads), Right axis deviation; HR 48/min"]


def seed(rt: Runtime, n: int) -> None:
    rng = random.Random(7)
    with rt.db.session() as session:
        site = session.query(Site).filter_by(code="A").one()
        people = [patients.find_or_create(session, audit.SYSTEM, site_id=site.id, mrn=f"B-{i:04d}",
                                          name=f"患者{i:04d} Patient", sex=rng.choice("MF"),
                                          birth_date=dt.date(1940 + i % 60, 1 + i % 12, 1 + i % 28),
                                          insurance_number=f"4403{i:014d}") for i in range(500)]
        now = dt.datetime.now(dt.UTC)
        session.add_all(Exam(
            accession=f"BENCH{i:08d}", patient_id=people[i % len(people)].id, site_id=site.id,
            reading_site_id=site.id, modality="ecg", status=rng.choice(["preliminary", "in_review"]),
            content_sha256=hashlib.sha256(str(i).encode()).hexdigest(),
            urgency=rng.choices(["critical", "urgent", "routine"], [1, 5, 94])[0], ai_summary=rng.choice(SUMMARIES),
            received_at=now - dt.timedelta(minutes=rng.randint(0, 72 * 60))) for i in range(n))


def measure(page: Any, base: str, username: str, repeats: int) -> dict[str, Any]:
    page.goto(f"{base}/app/#/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    started = time.perf_counter()
    page.click("#login-submit")
    page.wait_for_selector("#worklist-summary:not(:empty)", timeout=300_000)
    first_load = time.perf_counter() - started  # login + API fetch of the whole worklist + first render
    first = page.evaluate("performance.getEntriesByName('worklist:render').at(-1).duration")
    renders, frames = [], []
    for _ in range(repeats):  # the 'all' count chip redraws every row from the data already loaded
        frames.append(page.evaluate("""async () => {
          const t0 = performance.now();
          document.querySelector('#urgency-counts [data-urgency="all"]').click();
          await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
          return performance.now() - t0; }"""))
        renders.append(page.evaluate("performance.getEntriesByName('worklist:render').at(-1).duration"))
    jumps = []
    for top in ("el.scrollHeight", "el.scrollHeight / 2", "0"):  # the window follows the scroll position
        jumps.append(page.evaluate(f"""async () => {{
          const el = document.getElementById('worklist-scroll'); const t0 = performance.now();
          el.scrollTop = {top}; el.dispatchEvent(new Event('scroll'));
          await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(r, 0))));
          return performance.now() - t0; }}"""))
    rows = int(page.get_attribute("table.worklist", "aria-rowcount") or 1) - 1
    last = page.evaluate("[...document.querySelectorAll('#worklist-rows tr[data-exam-id]')].length")
    return {"rows": rows, "rows_in_dom": last, "scroll_ms": jumps, "first_render_ms": first, "render_ms": renders,
            "frame_ms": frames, "login_fetch_render_s": first_load}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--exams", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dualsign-bench-") as tmp, serve(Path(tmp), worker=False) as (base, rt):
        build_network(rt)
        t0 = time.perf_counter()
        seed(rt, args.exams)
        print(f"seeded {args.exams} exams in {time.perf_counter() - t0:.1f} s")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            results = {}
            for label, user in (("empty", "physician.b"), ("full", "physician.a")):
                context = browser.new_context(viewport={"width": 1440, "height": 1000})
                results[label] = measure(context.new_page(), base, user, args.repeats)
                context.close()
            browser.close()
    for label, r in results.items():
        print(f"{label:5s} rows={r['rows']:6d} (in DOM {r['rows_in_dom']})  "
              f"first render {r['first_render_ms']:7.1f} ms  "
              f"re-render median {statistics.median(r['render_ms']):7.1f} ms (max {max(r['render_ms']):.1f})  "
              f"click-to-frame median {statistics.median(r['frame_ms']):7.1f} ms (max {max(r['frame_ms']):.1f})  "
              f"scroll end/middle/top {', '.join(f'{x:.0f}' for x in r['scroll_ms'])} ms  "
              f"login+fetch+render {r['login_fetch_render_s']:.2f} s")
    full = results["full"]
    ok = full["rows"] == args.exams and max(full["frame_ms"] + [full["first_render_ms"]]) < 500
    print(f"target: {args.exams} rows rendered in < 500 ms: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
