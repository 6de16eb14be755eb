// Fundus photograph: zoom and pan, the AI's lesion boxes toggled per type, optic disc and fovea marks.
// Everything is drawn in the photo's own pixel coordinates (an SVG over the image with the same transform).
import { get } from "../api.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";
import { imageLoader } from "./images.js";

const SVG = "http://www.w3.org/2000/svg";
const TYPES = { microaneurysm: "#ffd400", haemorrhage: "#35a7ff", hard_exudate: "#31c453", soft_exudate: "#ff4df0" };

function s(tag, attrs = {}) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v != null) el.setAttribute(k, String(v));
  return el;
}

export async function mount(container, exam) {
  const marks = await get(`/api/exams/${exam.id}/fundus`);
  const images = imageLoader();
  const img = await images.load(`/api/exams/${exam.id}/fundus/image`);
  const width = marks.width || img.naturalWidth, height = marks.height || img.naturalHeight;
  let zoom = 1, panX = 0, panY = 0;
  const visible = new Set(Object.keys(TYPES));

  const photo = h("img", { src: img.src, alt: t("fundus_photo"), draggable: "false", class: "fundus-photo" });
  const overlay = s("svg", { viewBox: `0 0 ${width} ${height}`, class: "fundus-overlay", id: "fundus-overlay" });
  const stage = h("div", { class: "fundus-stage" }, photo, overlay);
  const frame = h("div", { class: "fundus-frame", id: "fundus-viewer", tabindex: 0, "aria-label": t("viewer") }, stage);
  const toggles = Object.entries(TYPES).map(([type, colour]) => {
    const n = marks.lesions.filter((l) => l.type === type).length;
    return h("label", { class: "toggle", style: `border-bottom: 3px solid ${colour}` },
      h("input", { type: "checkbox", checked: true, "data-lesion-type": type, onchange: (e) => {
        if (e.target.checked) visible.add(type); else visible.delete(type);
        draw();
      } }), ` ${t(`lesion_${type}`)} (${n})`);
  });
  const tools = h("div", { class: "row no-print" }, toggles,
    h("button", { id: "fundus-zoom-out", "aria-label": t("zoom_out"), onclick: () => setZoom(zoom / 1.25) }, "−"),
    h("button", { id: "fundus-zoom-in", "aria-label": t("zoom_in"), onclick: () => setZoom(zoom * 1.25) }, "+"),
    h("button", { onclick: () => { zoom = 1; panX = panY = 0; place(); } }, t("reset_view")));
  container.replaceChildren(tools, frame,
    h("p", { class: "muted" }, `${t("laterality")}: ${marks.laterality ?? "—"} · ICDR ${marks.grade ?? "—"}`));

  function draw() {
    const stroke = Math.max(2, width / 400);
    const parts = [];
    for (const l of marks.lesions) {
      if (!visible.has(l.type)) continue;
      const [x0, y0, x1, y1] = l.box;
      parts.push(s("rect", { x: x0 - 2, y: y0 - 2, width: x1 - x0 + 4, height: y1 - y0 + 4, fill: "none",
        stroke: TYPES[l.type], "stroke-width": stroke, "data-lesion-type": l.type }));
    }
    if (marks.optic_disc) {
      const [cx, cy] = marks.optic_disc.centre_xy;
      parts.push(s("circle", { cx, cy, r: marks.optic_disc.diameter_px / 2, fill: "none", stroke: "#fff",
        "stroke-width": stroke, id: "fundus-disc" }));
    }
    if (marks.fovea) {
      const [fx, fy] = marks.fovea.centre_xy, arm = width / 60;
      parts.push(s("path", { d: `M${fx - arm} ${fy}H${fx + arm}M${fx} ${fy - arm}V${fy + arm}`, stroke: "#fff",
        "stroke-width": stroke, id: "fundus-fovea" }));
    }
    overlay.replaceChildren(...parts);
    frame.dataset.boxes = String(parts.filter((p) => p.tagName === "rect").length);
  }
  function place() { stage.style.transform = `translate(${panX}px, ${panY}px) scale(${zoom})`; }
  function setZoom(z) { zoom = Math.min(8, Math.max(1, z)); place(); }
  frame.addEventListener("wheel", (e) => { e.preventDefault(); setZoom(zoom * (e.deltaY < 0 ? 1.1 : 1 / 1.1)); }, { passive: false });
  frame.addEventListener("keydown", (e) => {
    if (e.key === "+" || e.key === "=") setZoom(zoom * 1.25);
    else if (e.key === "-") setZoom(zoom / 1.25);
  });
  let drag = null;
  frame.addEventListener("mousedown", (e) => { drag = { x: e.clientX - panX, y: e.clientY - panY }; });
  window.addEventListener("mouseup", () => { drag = null; });
  frame.addEventListener("mousemove", (e) => { if (drag) { panX = e.clientX - drag.x; panY = e.clientY - drag.y; place(); } });
  draw();
  place();
  return () => images.release();
}
