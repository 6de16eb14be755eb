// 12-lead ECG on paper: 1 mm / 5 mm grid, 25 mm/s, 10 mm/mV. Drawn in SVG whose user unit is one millimetre,
// so the paper geometry is exact whatever the zoom; the AI's beat labels sit over the rhythm strip.
import { get, query } from "../api.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";

const SVG = "http://www.w3.org/2000/svg";
export const MM_PER_S = 25;
export const MM_PER_MV = 10;
const WINDOW_S = 10;
const LEFT = 10; // mm for the calibration pulse and lead names
const ROW = 25; // mm per lead row (±1.25 mV)
const BEAT_BAND = 5; // mm above the rhythm strip for beat labels
const LAYOUT = [["I", "aVR", "V1", "V4"], ["II", "aVL", "V2", "V5"], ["III", "aVF", "V3", "V6"]];
const RHYTHM_PREFERENCE = ["II", "MLII", "I", "V1"];
const MEASURES = [["m_hr", "hr_bpm", "/min"], ["m_rr", "rr_mean_ms", "ms"], ["m_pr", "pr_ms", "ms"], ["m_qrs", "qrs_ms", "ms"],
  ["m_qt", "qt_ms", "ms"], ["m_qtcb", "qtc_bazett_ms", "ms"], ["m_qtcf", "qtc_fridericia_ms", "ms"],
  ["m_paxis", "p_axis_deg", "°"], ["m_qrsaxis", "qrs_axis_deg", "°"], ["m_taxis", "t_axis_deg", "°"]];

function s(tag, attrs = {}, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v != null) el.setAttribute(k, String(v));
  if (text != null) el.textContent = text;
  return el;
}

function grid(width, height) {
  const minor = [], major = [];
  for (let x = 0; x <= width; x += 1) (x % 5 ? minor : major).push(`M${x} 0V${height}`);
  for (let y = 0; y <= height; y += 1) (y % 5 ? minor : major).push(`M0 ${y}H${width}`);
  return [s("path", { class: "grid-minor", d: minor.join(""), "data-step-mm": 1 }),
    s("path", { class: "grid-major", d: major.join(""), "data-step-mm": 5 })];
}

// 1 mV for 0.2 s: 10 mm high, 5 mm wide on correct paper.
function calibration(baseline) {
  const x = 2;
  return s("path", { class: "cal", d: `M${x} ${baseline}h1v${-MM_PER_MV}h${0.2 * MM_PER_S}v${MM_PER_MV}h1` });
}

// One lead's samples [from, to) as a polyline starting at x0 mm on the given baseline.
function trace(samples, fs, from, to, x0, baseline, lead) {
  const pts = [];
  for (let i = from; i < Math.min(to, samples.length); i++) {
    pts.push(`${(x0 + ((i - from) / fs) * MM_PER_S).toFixed(2)},${(baseline - (samples[i] / 1000) * MM_PER_MV).toFixed(2)}`);
  }
  return s("polyline", { class: "trace", points: pts.join(" "), "data-lead": lead, "data-first-sample": from,
    "data-x0": x0, "data-baseline": baseline, "data-fs": fs });
}

export function drawPaper(data) {
  const fs = data.fs_hz;
  const byName = Object.fromEntries(data.leads.map((name, i) => [name, data.samples[i]]));
  const twelve = LAYOUT.flat().every((name) => name in byName);
  const stripWidth = WINDOW_S * MM_PER_S;
  const rows = twelve ? LAYOUT.length : data.leads.length;
  const width = LEFT + stripWidth + 5;
  const height = Math.ceil((rows * ROW + BEAT_BAND + ROW) / 5) * 5;
  const svg = s("svg", { class: "ecg", viewBox: `0 0 ${width} ${height}`, role: "img",
    "aria-label": `ECG ${data.leads.length} leads, ${t("ecg_grid")}`, "data-mm-per-s": MM_PER_S,
    "data-mm-per-mv": MM_PER_MV, "data-width-mm": width, "data-height-mm": height });
  svg.append(...grid(width, height));
  const colSamples = Math.round((WINDOW_S / 4) * fs);
  for (let r = 0; r < rows; r++) {
    const baseline = r * ROW + ROW / 2 + 2.5;
    svg.append(calibration(baseline));
    if (twelve) {
      LAYOUT[r].forEach((name, c) => {
        const x0 = LEFT + c * (stripWidth / 4);
        svg.append(trace(byName[name], fs, c * colSamples, (c + 1) * colSamples, x0, baseline, name),
          s("text", { class: "lead-name", x: x0 + 1, y: baseline - 8 }, name));
        if (c) svg.append(s("path", { class: "cal", d: `M${x0} ${baseline - 2}v4` })); // lead-change tick
      });
    } else {
      const name = data.leads[r];
      svg.append(trace(byName[name], fs, 0, Math.round(WINDOW_S * fs), LEFT, baseline, name),
        s("text", { class: "lead-name", x: LEFT + 1, y: baseline - 8 }, name));
    }
  }
  // rhythm strip: a long lead across the whole window, with the AI's beat labels above it
  const rhythmLead = RHYTHM_PREFERENCE.find((n) => n in byName) || data.leads[0];
  const top = rows * ROW + BEAT_BAND;
  const baseline = top + ROW / 2 + 2.5;
  svg.append(calibration(baseline), trace(byName[rhythmLead], fs, 0, Math.round(WINDOW_S * fs), LEFT, baseline,
    `rhythm:${rhythmLead}`), s("text", { class: "lead-name", x: LEFT + 1, y: baseline - 8 }, `${rhythmLead} (${t("rhythm_strip")})`));
  const beats = s("g", { class: "beats", "aria-label": t("beats") });
  for (const b of data.beats) {
    if (b.t_s < 0 || b.t_s >= WINDOW_S) continue;
    beats.append(s("text", { class: b.label === "N" ? "beat" : "beat abn", x: (LEFT + b.t_s * MM_PER_S).toFixed(2),
      y: top - 0.8, "data-t": b.t_s }, b.label));
  }
  svg.append(beats);
  return svg;
}

function measurementsTable(data) {
  const m = data.measurements || {};
  const rows = MEASURES.filter(([, key]) => m[key] != null)
    .map(([name, key, unit]) => h("tr", {}, h("th", { scope: "row" }, t(name)), h("td", { "data-key": key }, `${m[key]} ${unit}`)));
  const rhythm = (data.rhythm || []).map((ep) => h("li", {}, `${ep.label} ${ep.start_s}–${ep.end_s} s`
    + (ep.hr_bpm ? ` · ${ep.hr_bpm}/min` : "")));
  const counts = Object.entries(data.beat_counts || {}).filter(([, n]) => n).map(([k, n]) => `${k} ${n}`).join(" · ");
  return h("div", { class: "row", style: "align-items:flex-start" },
    h("table", { class: "measurements", style: "width:auto", id: "ecg-measurements" },
      h("caption", { class: "muted" }, t("measurements")), h("tbody", {}, rows)),
    h("div", {}, h("ul", { id: "ecg-rhythm" }, rhythm), h("p", { class: "muted" }, `${t("beats")}: ${counts}`)));
}

export async function mount(container, exam) {
  let start = 0;
  let zoom = 1;
  const paper = h("div", { class: "ecg-wrap", id: "ecg-paper", tabindex: 0, "aria-label": t("viewer") });
  const info = h("span", { class: "muted" });
  const tools = h("div", { class: "row no-print" },
    h("span", { class: "badge" }, t("ecg_grid")), info,
    h("button", { id: "ecg-earlier", onclick: () => show(start - WINDOW_S) }, `◀ ${t("earlier")}`),
    h("button", { id: "ecg-later", onclick: () => show(start + WINDOW_S) }, `${t("later")} ▶`),
    h("button", { id: "ecg-zoom-out", "aria-label": t("zoom_out"), onclick: () => setZoom(zoom / 1.25) }, "−"),
    h("button", { id: "ecg-zoom-in", "aria-label": t("zoom_in"), onclick: () => setZoom(zoom * 1.25) }, "+"));
  const details = h("div");
  container.replaceChildren(tools, paper, details);

  function setZoom(z) {
    zoom = Math.min(4, Math.max(0.5, z));
    const svg = paper.querySelector("svg");
    // CSS millimetres: at zoom 1 the paper is drawn at its nominal printed size
    if (svg) svg.style.width = `${svg.dataset.widthMm * zoom}mm`;
  }

  async function show(from) {
    const data = await get(`/api/exams/${exam.id}/ecg${query({ start_s: Math.max(0, from), seconds: WINDOW_S })}`);
    start = data.start_s;
    paper.replaceChildren(drawPaper(data));
    setZoom(zoom);
    details.replaceChildren(measurementsTable(data));
    info.textContent = `${data.start_s.toFixed(1)}–${Math.min(data.duration_s, data.start_s + WINDOW_S).toFixed(1)} s / ${data.duration_s} s`;
    tools.querySelector("#ecg-earlier").disabled = start <= 0;
    tools.querySelector("#ecg-later").disabled = start + WINDOW_S >= data.duration_s;
  }
  paper.addEventListener("keydown", (e) => {
    if (e.key === "ArrowRight") show(start + WINDOW_S);
    else if (e.key === "ArrowLeft") show(start - WINDOW_S);
    else if (e.key === "+" || e.key === "=") setZoom(zoom * 1.25);
    else if (e.key === "-") setZoom(zoom / 1.25);
  });
  await show(0);
}
