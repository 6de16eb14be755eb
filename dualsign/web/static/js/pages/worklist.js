// The physician's worklist, in the order the API gives (AI urgency, then waiting time). Only the rows in
// view (plus a margin) are in the DOM, between two spacer rows that keep the scroll height of the whole
// list: laying out 10,000 full rows takes seconds, a window of them a few milliseconds
// (benchmarks/worklist_render.py). Filters and counts always work on the whole list.
import { get, query } from "../api.js";
import { esc, h } from "../dom.js";
import { label, t } from "../i18n.js";

const REFRESH_MS = 30000;
const ROW_PX = 28; // fixed row height (css: table.worklist td) lets the window be computed, not measured
const MARGIN_ROWS = 30;
const URGENCIES = ["critical", "urgent", "routine", "unknown"];
const MODALITIES = ["ecg", "chest_ct", "fundus"];
const STATUSES = { open: ["preliminary", "in_review"], preliminary: ["preliminary"], in_review: ["in_review"],
  final: ["final", "amended"] };

export function waiting(minutes) {
  if (minutes < 60) return t("minutes", { n: minutes });
  if (minutes < 1440) return t("hours", { h: Math.floor(minutes / 60), m: minutes % 60 });
  return t("days", { d: Math.floor(minutes / 1440), h: Math.floor((minutes % 1440) / 60) });
}

function rowHtml(e, index) {
  const u = e.urgency || "unknown";
  const p = e.patient || {};
  return `<tr class="${esc(u)}" data-exam-id="${e.id}" data-urgency="${esc(u)}" aria-rowindex="${index + 2}">`
    + `<td><span class="badge u-${esc(u)}">${esc(label(u))}</span></td>`
    + `<td><a href="#/exam/${e.id}">${esc(e.accession)}</a></td>`
    + `<td>${esc(p.name)}</td><td>${esc(label(e.modality))}</td><td>${esc(label(e.status))}</td>`
    + `<td title="${esc(e.ai_summary)}">${esc(e.ai_summary)}</td>`
    + `<td>${esc(waiting(e.waiting_minutes))}</td><td>${esc(e.site)}</td></tr>`;
}

export function render(main) {
  const state = { items: [], rows: [], byUrgency: {}, urgency: "", text: "", modality: "", status: "open", timer: null,
    window: [-1, -1], loading: false };
  const counts = h("div", { class: "row counts", role: "group", "aria-label": t("urgency"), id: "urgency-counts" });
  const tbody = h("tbody", { id: "worklist-rows" });
  const summary = h("span", { class: "muted", id: "worklist-summary", "aria-live": "polite" });
  const updated = h("span", { class: "muted", id: "worklist-updated" });
  const empty = h("p", { class: "muted", id: "worklist-empty", hidden: true }, t("empty"));

  const select = (id, options, value, onchange) => h("select", { id, onchange },
    options.map(([v, text]) => h("option", { value: v, selected: v === value }, text)));
  const filters = h("div", { class: "row card", role: "search" },
    h("label", { class: "field" }, t("modality"), select("f-modality", [["", t("all")], ...MODALITIES.map((m) => [m, label(m)])],
      "", (e) => { state.modality = e.target.value; load(); })),
    h("label", { class: "field" }, t("status"), select("f-status", [["open", `${label("preliminary")} + ${label("in_review")}`],
      ["preliminary", label("preliminary")], ["in_review", label("in_review")], ["final", label("final")]],
    "open", (e) => { state.status = e.target.value; load(); })),
    h("label", { class: "field grow" }, t("search"), h("input", { id: "f-text", type: "search",
      oninput: (e) => { state.text = e.target.value.trim().toLowerCase(); draw(); } })),
    h("label", { class: "row" }, h("input", { type: "checkbox", id: "f-auto", checked: true,
      onchange: (e) => schedule(e.target.checked) }), t("auto_refresh")),
    h("button", { id: "refresh", onclick: () => load() }, t("refresh")));

  const table = h("table", { class: "worklist", "aria-describedby": "worklist-summary" },
    h("colgroup", {}, [7, 12, 9, 7, 8, 37, 9, 11].map((w) => h("col", { style: `width:${w}%` }))),
    h("thead", {}, h("tr", { "aria-rowindex": 1 }, [t("urgency"), t("accession"), t("patient"), t("modality"), t("status"), t("summary"),
      t("waiting"), t("site")].map((c) => h("th", { scope: "col" }, c)))), tbody);

  const scroller = h("div", { class: "worklist-scroll", id: "worklist-scroll",
    onscroll: () => requestAnimationFrame(() => drawWindow(false)) }, table);
  main.replaceChildren(h("h1", {}, t("worklist")), h("div", { class: "row" }, counts, summary, updated), filters,
    scroller, empty);

  // The rows between the scroll position and one screen further, with a margin either side.
  function drawWindow(force) {
    const n = state.rows.length;
    const first = Math.max(0, Math.min(Math.floor(scroller.scrollTop / ROW_PX) - MARGIN_ROWS, n - 1));
    const last = Math.min(n, first + Math.ceil((scroller.clientHeight || 800) / ROW_PX) + 2 * MARGIN_ROWS);
    if (!force && first === state.window[0] && last === state.window[1]) return;
    state.window = [first, last];
    const spacer = (rows) => (rows ? `<tr class="spacer" aria-hidden="true"><td colspan="8" style="height:${rows * ROW_PX}px"></td></tr>` : "");
    tbody.innerHTML = spacer(first) + state.rows.slice(first, last).map((e, i) => rowHtml(e, first + i)).join("")
      + spacer(n - last);
  }

  function drawCounts() {
    const total = Object.values(state.byUrgency).reduce((a, b) => a + b, 0);
    const button = (u, n, text) => h("button", { "aria-pressed": String(state.urgency === u), dataset: { urgency: u || "all" },
      class: u ? `badge u-${u}` : "badge", onclick: () => { state.urgency = state.urgency === u ? "" : u; draw(); } },
    `${text} ${n}`);
    counts.replaceChildren(button("", total, t("all")),
      ...URGENCIES.filter((u) => state.byUrgency[u]).map((u) => button(u, state.byUrgency[u], label(u))));
  }

  function draw() {
    performance.mark("worklist:render:start");
    const rows = state.items.filter((e) => (!state.urgency || (e.urgency || "unknown") === state.urgency)
      && (!state.text || `${e.accession} ${e.patient?.name ?? ""}`.toLowerCase().includes(state.text)));
    state.rows = rows;
    table.setAttribute("aria-rowcount", String(rows.length + 1));
    drawWindow(true);
    drawCounts();
    summary.textContent = `${t("total", { n: state.items.length })} · ${t("shown", { n: rows.length })}`;
    empty.hidden = rows.length > 0;
    void table.offsetHeight; // force layout, so the measure includes it
    performance.mark("worklist:render:end");
    performance.measure("worklist:render", "worklist:render:start", "worklist:render:end");
  }

  async function load() {
    if (state.loading) return; // a large worklist can take longer to fetch than the refresh interval
    state.loading = true;
    try { await fetchAndDraw(); } finally { state.loading = false; }
  }

  async function fetchAndDraw() {
    const data = await get(`/api/worklist${query({ modality: state.modality, status: STATUSES[state.status], limit: 10000 })}`);
    state.items = data.items;
    state.byUrgency = data.by_urgency;
    draw();
    updated.textContent = t("updated", { time: new Date().toLocaleTimeString() });
    main.dataset.loaded = String(Date.now());
  }

  function schedule(on) {
    clearInterval(state.timer);
    state.timer = on ? setInterval(() => { if (!document.hidden) load().catch(() => {}); }, REFRESH_MS) : null;
  }

  schedule(true);
  load().catch((err) => { empty.hidden = false; empty.textContent = `${t("error")}: ${err.message}`; });
  return () => clearInterval(state.timer);
}
