// One exam: patient header, QC verdict, the modality's viewer, the AI findings to decide one by one, the AI
// text beside the physician's changes, signing with the password re-entered, then the signed versions.
import { get, post } from "../api.js";
import { h } from "../dom.js";
import { label, t } from "../i18n.js";
import { toast } from "../main.js";
import { imageLoader } from "../viewers/images.js";
import { viewerFor } from "../viewers/index.js";
import { signaturesBlock } from "./report.js";

const REVIEWABLE = ["preliminary", "in_review"];
const SIGNED = ["final", "amended"];

export function age(birthDate) {
  if (!birthDate) return "";
  const b = new Date(birthDate), now = new Date();
  return Math.floor((now - b) / (365.2425 * 864e5));
}

const fmt = (v) => (typeof v === "object" && v !== null ? JSON.stringify(v) : String(v));

export function patientHeader(exam) {
  const p = exam.patient || {};
  return h("section", { class: "card", id: "patient-header", "aria-label": t("patient") },
    h("div", { class: "row" },
      h("strong", { style: "font-size:16px" }, p.name || "—"),
      h("span", {}, label(`sex_${p.sex || "U"}`)),
      p.birth_date ? h("span", {}, `${t("age", { n: age(p.birth_date) })} (${p.birth_date})`) : null,
      h("span", {}, `${t("mrn")}: ${p.medical_record_number ?? "—"}`),
      p.insurance_number ? h("span", {}, `${t("insurance")}: ${p.insurance_number}`) : null),
    h("div", { class: "row muted" },
      h("span", {}, `${t("accession")}: ${exam.accession}`), h("span", {}, label(exam.modality)),
      h("span", { class: `badge u-${exam.urgency || "unknown"}`, id: "exam-urgency" }, label(exam.urgency || "unknown")),
      h("span", { id: "exam-status" }, `${t("status")}: ${label(exam.status)}`),
      h("span", {}, `${t("site")}: ${exam.site}`), h("span", {}, `${t("reading_site")}: ${exam.reading_site}`),
      h("span", {}, `${t("received_at")}: ${new Date(exam.received_at).toLocaleString()}`)));
}

function qcVerdict(exam, preliminary) {
  const reasons = exam.qc_reasons || [];
  const quality = preliminary?.content?.quality;
  const ok = reasons.length === 0 && (quality ? quality.usable : true);
  return h("section", { class: "card", id: "qc-verdict", "aria-label": t("qc_verdict") },
    h("strong", {}, `${t("qc_verdict")}: `),
    h("span", { class: ok ? "ok" : "bad" }, ok ? t("qc_pass") : t("qc_fail")),
    reasons.length ? h("ul", {}, reasons.map((r) => h("li", {}, r))) : null,
    exam.ai_summary ? h("p", { class: "muted", id: "ai-summary" }, exam.ai_summary) : null);
}

function measurementsText(m) {
  return Object.entries(m || {}).map(([k, v]) => `${k}: ${fmt(v)}`).join(" · ");
}

export async function render(main, [examId]) {
  const id = Number(examId);
  let exam, findings, reports;
  let impression = null;
  let teardownViewer = null;

  async function load() {
    exam = await get(`/api/exams/${id}`);
    [findings, reports] = await Promise.all([get(`/api/exams/${id}/findings`).then((r) => r.items),
      get(`/api/exams/${id}/reports`).then((r) => r.items)]);
  }

  const preliminary = () => reports.find((r) => r.status === "preliminary") || null;
  const reviewable = () => REVIEWABLE.includes(exam.status);

  async function decide(f, body) {
    try {
      const updated = await post(`/api/exams/${id}/findings/${f.id}/decision`, body);
      Object.assign(f, updated);
      exam.status = exam.status === "preliminary" ? "in_review" : exam.status;
      drawReview();
      window.dispatchEvent(new CustomEvent("dualsign:findings-changed"));
    } catch (err) { toast(`${t("error")}: ${err.message}`); }
  }

  const keyImages = imageLoader();
  function keyImage(name) {
    const img = h("img", { class: "key-image", alt: `${t("key_image")}: ${name}`, "data-key-image": name });
    keyImages.load(`/api/exams/${id}/images/${encodeURIComponent(name)}`).then((loaded) => { img.src = loaded.src; })
      .catch(() => { img.alt = `${t("key_image")}: ${t("error")}`; });
    return img;
  }

  function findingCard(f) {
    const state = f.origin === "physician" ? "added" : f.review_state;
    const actions = h("div", { class: "f-actions" });
    // A click on the card (not its buttons) shows the finding in the viewer, e.g. jumps to its CT slice.
    const card = h("article", { class: "finding", "data-finding-id": f.id, "data-state": f.review_state,
      "aria-label": f.label, onclick: (e) => {
        if (!e.target.closest("button, input, form")) window.dispatchEvent(new CustomEvent("dualsign:finding", { detail: f }));
      } },
    h("div", { class: "row" }, h("span", { class: "f-label grow" }, f.label),
      f.critical ? h("span", { class: "badge u-critical" }, t("critical_flag")) : null,
      h("span", { class: "badge f-state" }, label(state))),
    h("div", { class: "kv" }, [f.code, f.confidence != null ? `${t("confidence")} ${Math.round(f.confidence * 100)}%` : null]
      .filter(Boolean).join(" · ")),
    h("div", { class: "kv" }, measurementsText(f.measurements)),
    f.location?.key_image ? keyImage(f.location.key_image) : null,
    f.reject_reason ? h("div", { class: "kv bad" }, `${t("reject_reason")}: ${f.reject_reason}`) : null,
    actions);
    if (!reviewable()) return card;
    actions.append(...[
      h("button", { class: "f-accept", onclick: () => decide(f, { decision: "accepted" }) }, t("accept")),
      h("button", { class: "f-reject danger", onclick: () => rejectForm(f, actions) }, t("reject")),
      Object.values(f.measurements || {}).some((v) => typeof v === "number")
        ? h("button", { class: "f-edit", onclick: () => editForm(f, actions) }, t("edit")) : null].filter(Boolean));
    return card;
  }

  function rejectForm(f, actions) {
    const reason = h("input", { class: "f-reason grow", "aria-label": t("reject_reason"), placeholder: t("reject_reason"),
      required: true });
    actions.replaceChildren(h("form", { class: "row grow", onsubmit: (e) => {
      e.preventDefault();
      if (!reason.value.trim()) { toast(t("reason_required")); return; }
      decide(f, { decision: "rejected", reason: reason.value.trim() });
    } }, reason, h("button", { class: "danger f-reject-confirm", type: "submit" }, t("reject")),
    h("button", { type: "button", onclick: drawReview }, t("cancel"))));
    reason.focus();
  }

  function editForm(f, actions) {
    const inputs = Object.entries(f.measurements).filter(([, v]) => typeof v === "number").map(([k, v]) =>
      h("label", { class: "field" }, k, h("input", { type: "number", step: "any", name: k, value: v, "aria-label": k })));
    actions.replaceChildren(h("form", { class: "row", onsubmit: (e) => {
      e.preventDefault();
      const measurements = { ...f.measurements };
      for (const input of e.target.querySelectorAll("input")) measurements[input.name] = Number(input.value);
      decide(f, { decision: "edited", measurements });
    } }, inputs, h("button", { type: "submit", class: "primary" }, t("save")),
    h("button", { type: "button", onclick: drawReview }, t("cancel"))));
    actions.querySelector("input")?.focus();
  }

  function addFindingForm() {
    const text = h("input", { id: "new-finding", class: "grow", "aria-label": t("label"), placeholder: t("label") });
    return h("form", { class: "row", onsubmit: async (e) => {
      e.preventDefault();
      if (!text.value.trim()) return;
      try {
        findings.push(await post(`/api/exams/${id}/findings`, { kind: "statement", label: text.value.trim() }));
        drawReview();
      } catch (err) { toast(`${t("error")}: ${err.message}`); }
    } }, text, h("button", { type: "submit" }, t("add")));
  }

  function comparison() {
    const pre = preliminary();
    const aiText = pre?.content?.structured?.impression || exam.ai_summary || "";
    const aiList = h("ul", {}, findings.filter((f) => f.origin === "ai").map((f) =>
      h("li", {}, f.label, h("span", { class: "kv" }, ` ${measurementsText(f.ai_measurements)}`))));
    const mine = h("ul", { id: "physician-changes" }, findings.map((f) => {
      if (f.origin === "physician") return h("li", {}, h("ins", {}, `+ ${f.label}`));
      if (f.review_state === "rejected") return h("li", {}, h("del", {}, f.label), ` — ${f.reject_reason}`);
      if (f.review_state === "edited") {
        const changed = Object.keys(f.measurements || {}).filter((k) => fmt(f.measurements[k]) !== fmt(f.ai_measurements?.[k]));
        return h("li", {}, f.label, " ", changed.map((k) => h("span", { class: "kv" }, `${k}: `,
          h("del", {}, fmt(f.ai_measurements?.[k])), " → ", h("ins", {}, fmt(f.measurements[k])), " ")));
      }
      if (f.review_state === "accepted") return h("li", {}, `✓ ${f.label}`);
      return h("li", { class: "muted" }, `? ${f.label} (${label("proposed")})`);
    }));
    const impressionBox = h("textarea", { id: "impression", "aria-label": t("impression"), disabled: !reviewable(),
      oninput: (e) => { impression = e.target.value; } });
    impressionBox.value = impression ?? aiText;
    return h("section", { class: "card", "aria-label": `${t("ai_text")} / ${t("physician_text")}` },
      h("div", { class: "side-by-side" },
        h("div", { id: "ai-text" }, h("h2", {}, t("ai_text")), h("p", {}, aiText), aiList,
          pre ? h("p", { class: "kv" }, pre.content?.disclaimer?.[document.documentElement.lang === "en" ? "en" : "zh"] ?? "") : null),
        h("div", {}, h("h2", {}, t("physician_text")), mine,
          h("label", { class: "field", for: "impression" }, t("impression")), impressionBox)));
  }

  function signDialog() {
    const pass = h("input", { type: "password", id: "sign-password", autocomplete: "current-password", required: true });
    const error = h("p", { class: "error", role: "alert", id: "sign-error" });
    const dialog = h("dialog", { id: "sign-dialog", "aria-labelledby": "sign-title" }, h("form", { onsubmit: async (e) => {
      e.preventDefault();
      error.textContent = "";
      try {
        const text = document.getElementById("impression")?.value ?? impression ?? "";
        await post(`/api/exams/${id}/sign`, { password: pass.value, impression: text });
        dialog.close();
        dialog.remove();
        await refresh();
      } catch (err) { error.textContent = err.message; pass.select(); }
    } }, h("h2", { id: "sign-title" }, t("sign_title")), h("p", { class: "muted" }, t("sign_note")),
    h("label", { class: "field", for: "sign-password" }, t("password")), pass, error,
    h("div", { class: "row" }, h("button", { class: "primary", type: "submit", id: "sign-confirm" }, t("sign")),
      h("button", { type: "button", onclick: () => { dialog.close(); dialog.remove(); } }, t("cancel")))));
    document.body.append(dialog);
    dialog.showModal();
    pass.focus();
  }

  function amendForm() {
    const reason = h("input", { id: "amend-reason", required: true });
    const text = h("textarea", { id: "amend-impression" });
    const signed = reports.filter((r) => SIGNED.includes(r.status)).at(-1);
    text.value = signed?.content?.impression ?? "";
    const pass = h("input", { id: "amend-password", type: "password", autocomplete: "current-password", required: true });
    const error = h("p", { class: "error", role: "alert" });
    return h("details", { class: "card no-print" }, h("summary", {}, t("amend")), h("form", { onsubmit: async (e) => {
      e.preventDefault();
      try {
        await post(`/api/exams/${id}/amend`, { password: pass.value, reason: reason.value.trim(), impression: text.value });
        await refresh();
      } catch (err) { error.textContent = err.message; }
    } }, h("label", { class: "field", for: "amend-reason" }, t("amend_reason")), reason,
    h("label", { class: "field", for: "amend-impression" }, t("impression")), text,
    h("label", { class: "field", for: "amend-password" }, t("password")), pass, error,
    h("button", { type: "submit", class: "primary" }, t("amend"))));
  }

  const reviewPanel = h("div");
  const bottom = h("div");
  function drawReview() {
    const open = findings.filter((f) => f.origin === "ai" && f.review_state === "proposed").length;
    reviewPanel.replaceChildren(h("section", { class: "card", id: "findings", "aria-label": t("findings") },
      h("h2", {}, `${t("findings")} (${findings.length})`), findings.map(findingCard),
      reviewable() ? h("h2", {}, t("add_finding")) : null, reviewable() ? addFindingForm() : null));
    if (reviewable()) {
      bottom.replaceChildren(comparison(), h("div", { class: "row card no-print" },
        h("span", { class: open ? "bad" : "ok", id: "unreviewed" }, open ? t("unreviewed", { n: open }) : ""),
        h("span", { class: "grow" }),
        h("button", { class: "primary", id: "sign", disabled: open > 0, onclick: signDialog }, t("sign"))));
    } else {
      bottom.replaceChildren(h("section", { class: "card", id: "reports", "aria-label": t("reports") },
        h("div", { class: "row" }, h("h2", { class: "grow" }, t("reports")),
          h("a", { href: `#/report/${id}`, id: "view-report" }, t("view_report"))),
        reports.slice().reverse().map((r) => h("div", { class: "report-version", "data-version": r.version,
          "data-status": r.status }, h("strong", {}, `${t("version", { n: r.version })} · ${label(r.status)}`),
        r.reason ? h("span", {}, ` — ${r.reason}`) : null, signaturesBlock(r, reports)))),
      SIGNED.includes(exam.status) ? amendForm() : null);
    }
  }

  async function refresh() {
    await load();
    const viewerBox = h("div", { id: "viewer" });
    main.replaceChildren(patientHeader(exam), qcVerdict(exam, preliminary()),
      h("div", { class: "exam-layout" }, h("section", { class: "card", "aria-label": t("viewer") }, viewerBox),
        reviewPanel), bottom);
    drawReview();
    main.dataset.status = exam.status;
    if (teardownViewer) teardownViewer();
    const viewer = await viewerFor(exam.modality);
    if (viewer) teardownViewer = (await viewer.mount(viewerBox, exam)) || null;
    else viewerBox.append(h("p", { class: "muted" }, t("no_viewer", { modality: label(exam.modality) })));
  }

  // A finding the physician added on the image (e.g. a missed nodule clicked on a CT slice).
  const onAdded = (e) => {
    if (!findings.some((f) => f.id === e.detail.id)) findings.push(e.detail);
    drawReview();
  };
  const onError = (e) => toast(`${t("error")}: ${e.detail}`);
  window.addEventListener("dualsign:finding-added", onAdded);
  window.addEventListener("dualsign:error", onError);
  await refresh();
  return () => {
    window.removeEventListener("dualsign:finding-added", onAdded);
    window.removeEventListener("dualsign:error", onError);
    if (teardownViewer) teardownViewer();
    keyImages.release();
  };
}
