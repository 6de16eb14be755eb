// Chest CT: axial slices scrolled with the wheel or the keys, lung / mediastinal window, zoom and pan, the
// nodule marks at their positions; a finding clicked in the list jumps to its slice; in "add" mode a click on
// the image adds a missed nodule there (voxel and LPS millimetres) for the physician to describe.
import { get, post } from "../api.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";
import { imageLoader } from "./images.js";

const STATE_COLOUR = { proposed: "#ffd400", accepted: "#31c453", edited: "#31c453", rejected: "#ff4d4f", added: "#35a7ff" };

export async function mount(container, exam) {
  const geo = await get(`/api/exams/${exam.id}/ct`);
  let findings = (await get(`/api/exams/${exam.id}/findings`)).items;
  const images = imageLoader();
  let slice = Math.floor(geo.slices / 2);
  let win = "lung";
  let zoom = 1, panX = 0, panY = 0;
  let adding = false;
  const [sz, sy, sx] = geo.spacing_mm;

  const canvas = h("canvas", { id: "ct-canvas", class: "ct-canvas", tabindex: 0, "aria-label": t("viewer"),
    width: 512, height: 512 });
  const sliceInfo = h("span", { id: "ct-slice", class: "muted" });
  const winButtons = Object.keys(geo.windows).map((w) => h("button", { "data-window": w, id: `ct-window-${w}`,
    onclick: () => { win = w; draw(); } }, t(`window_${w}`)));
  const addButton = h("button", { id: "ct-add", "aria-pressed": "false", onclick: () => {
    adding = !adding; addButton.setAttribute("aria-pressed", String(adding)); canvas.style.cursor = adding ? "crosshair" : "grab";
  } }, t("add_nodule"));
  const tools = h("div", { class: "row no-print" }, winButtons, sliceInfo,
    h("button", { id: "ct-zoom-out", "aria-label": t("zoom_out"), onclick: () => setZoom(zoom / 1.25) }, "−"),
    h("button", { id: "ct-zoom-in", "aria-label": t("zoom_in"), onclick: () => setZoom(zoom * 1.25) }, "+"),
    h("button", { id: "ct-reset", onclick: () => { zoom = 1; panX = panY = 0; draw(); } }, t("reset_view")), addButton);
  const legend = h("p", { class: "muted" }, `${t("slice_thickness")}: ${geo.slice_thickness_mm ?? "?"} mm · Lung-RADS ${geo.lung_rads?.category ?? "—"}`);
  container.replaceChildren(tools, canvas, legend);

  // Canvas pixel -> voxel (column, row) of the current slice, through zoom and pan.
  function fit() {
    const scale = Math.min(canvas.width / geo.columns, canvas.height / geo.rows) * zoom;
    return { scale, x0: (canvas.width - geo.columns * scale) / 2 + panX, y0: (canvas.height - geo.rows * scale) / 2 + panY };
  }
  const toVoxel = (cx, cy) => { const f = fit(); return [(cx - f.x0) / f.scale, (cy - f.y0) / f.scale]; };
  function toLps(z, y, x) {
    const d = [x * sx, y * sy, z * sz];
    return geo.origin_lps.map((o, i) => o + geo.axes[i][0] * d[0] + geo.axes[i][1] * d[1] + geo.axes[i][2] * d[2]);
  }

  function marks() {
    return findings.filter((f) => Array.isArray(f.location?.center_voxel)).map((f) => {
      const [z, y, x] = f.location.center_voxel;
      const diameter = f.measurements?.long_axis_mm ?? 6;
      const state = f.origin === "physician" ? "added" : f.review_state;
      return { f, z, y, x, r: diameter / 2, state };
    });
  }

  let drawing = 0;
  async function draw() {
    const ticket = ++drawing;
    slice = Math.max(0, Math.min(geo.slices - 1, slice));
    sliceInfo.textContent = `${t("slice")} ${slice + 1} / ${geo.slices}`;
    canvas.dataset.slice = String(slice);
    canvas.dataset.window = win;
    for (const b of winButtons) b.classList.toggle("primary", b.dataset.window === win);
    const img = await images.load(`/api/exams/${exam.id}/ct/slices/${slice}?window=${win}`);
    if (ticket !== drawing) return;
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    const f = fit();
    ctx.imageSmoothingEnabled = zoom < 2;
    ctx.drawImage(img, f.x0, f.y0, geo.columns * f.scale, geo.rows * f.scale);
    let shown = 0;
    for (const m of marks()) {
      const dz = Math.abs(m.z - slice) * sz;
      if (dz > m.r + sz / 2) continue; // the nodule does not reach this slice
      shown += 1;
      const rPx = Math.max(Math.sqrt(Math.max(m.r * m.r - dz * dz, 1)) / sx, 3) * f.scale + 4;
      ctx.strokeStyle = STATE_COLOUR[m.state] || "#ffd400";
      ctx.lineWidth = 2;
      ctx.setLineDash(m.state === "rejected" ? [4, 3] : []);
      ctx.beginPath();
      ctx.arc(f.x0 + m.x * f.scale, f.y0 + m.y * f.scale, rPx, 0, 2 * Math.PI);
      ctx.stroke();
    }
    canvas.dataset.marks = String(shown);
    // Neighbours next: scrolling stays smooth.
    for (const k of [slice + 1, slice - 1]) if (k >= 0 && k < geo.slices) images.load(`/api/exams/${exam.id}/ct/slices/${k}?window=${win}`);
  }
  function setZoom(z) { zoom = Math.min(8, Math.max(0.5, z)); draw(); }
  const go = (k) => { slice = k; draw(); };

  canvas.addEventListener("wheel", (e) => {
    e.preventDefault();
    if (e.ctrlKey) setZoom(zoom * (e.deltaY < 0 ? 1.1 : 1 / 1.1));
    else go(slice + (e.deltaY > 0 ? 1 : -1));
  }, { passive: false });
  canvas.addEventListener("keydown", (e) => {
    const step = { ArrowDown: 1, ArrowUp: -1, PageDown: 10, PageUp: -10 }[e.key];
    if (step) { e.preventDefault(); go(slice + step); } else if (e.key === "Home") go(0);
    else if (e.key === "End") go(geo.slices - 1);
    else if (e.key === "+" || e.key === "=") setZoom(zoom * 1.25);
    else if (e.key === "-") setZoom(zoom / 1.25);
    else if (e.key === "w") { win = win === "lung" ? "mediastinal" : "lung"; draw(); }
  });
  let drag = null;
  canvas.addEventListener("mousedown", (e) => { if (!adding) drag = { x: e.clientX - panX, y: e.clientY - panY }; });
  window.addEventListener("mouseup", () => { drag = null; });
  canvas.addEventListener("mousemove", (e) => { if (drag) { panX = e.clientX - drag.x; panY = e.clientY - drag.y; draw(); } });
  canvas.addEventListener("click", async (e) => {
    if (!adding) return;
    const rect = canvas.getBoundingClientRect();
    const [x, y] = toVoxel((e.clientX - rect.left) * canvas.width / rect.width, (e.clientY - rect.top) * canvas.height / rect.height);
    if (x < 0 || y < 0 || x >= geo.columns || y >= geo.rows) return;
    const lps = toLps(slice, y, x).map((v) => Math.round(v * 10) / 10);
    try {
      const added = await post(`/api/exams/${exam.id}/findings`, { kind: "nodule",
        label: t("added_nodule_label", { slice: slice + 1 }),
        location: { center_voxel: [slice, Math.round(y), Math.round(x)], center_mm: lps, slice } });
      findings.push(added);
      adding = false;
      addButton.setAttribute("aria-pressed", "false");
      canvas.style.cursor = "grab";
      window.dispatchEvent(new CustomEvent("dualsign:finding-added", { detail: added }));
      draw();
    } catch (err) { window.dispatchEvent(new CustomEvent("dualsign:error", { detail: err.message })); }
  });
  const onFinding = (e) => {
    const v = e.detail?.location?.center_voxel;
    if (Array.isArray(v)) go(v[0]);
  };
  const onChanged = async () => { findings = (await get(`/api/exams/${exam.id}/findings`)).items; draw(); };
  window.addEventListener("dualsign:finding", onFinding);
  window.addEventListener("dualsign:findings-changed", onChanged);
  const first = marks()[0];
  if (first) slice = first.z;
  await draw();
  return () => {
    window.removeEventListener("dualsign:finding", onFinding);
    window.removeEventListener("dualsign:findings-changed", onChanged);
    images.release();
  };
}
