// The signed report as a printable HTML page, in the interface language, and as PDF (Chinese or English).
import { get, getRaw } from "../api.js";
import { h } from "../dom.js";
import { label, lang, t } from "../i18n.js";
import { patientHeader } from "./exam.js";

// A version's signatures plus the AI signature of the preliminary version it builds on: both halves of the
// dual signature, each with the server's verification of that version.
export function signaturesBlock(version, all) {
  const base = version.content?.based_on ? all.find((r) => r.version === version.content.based_on.version) : null;
  const rows = [];
  if (base) for (const s of base.signatures) rows.push([s, base]);
  for (const s of version.signatures) rows.push([s, version]);
  return h("div", { class: "signatures" }, rows.map(([s, owner]) => h("div", { class: "sig", "data-kind": s.kind,
    "data-verified": String(owner.verified) },
  h("div", { class: "row" }, h("strong", {}, s.kind === "ai" ? t("ai_signature") : t("physician_signature")),
    h("span", {}, s.signer), s.licence_number ? h("span", {}, `${t("licence")}: ${s.licence_number}`) : null,
    h("span", { class: "grow" }),
    h("span", { class: owner.verified ? "ok sig-status" : "bad sig-status" },
      owner.verified ? `✓ ${t("verified")}` : `✗ ${t("not_verified")}: ${owner.problems.join("; ")}`)),
  h("div", { class: "muted" }, `${t("algorithm")}: ${s.algorithm} · ${t("signed_at")}: ${new Date(s.signed_at).toLocaleString()}`
    + (owner !== version ? ` · ${t("based_on", { n: owner.version })}` : "")),
  h("div", {}, h("code", {}, s.signature)))));
}

// The PDF comes through the API with the bearer token, then opens in the browser's own viewer.
async function openPdf(examId, version, l) {
  const blob = await (await getRaw(`/api/exams/${examId}/reports/${version}/pdf?lang=${l}`)).blob();
  const url = URL.createObjectURL(blob);
  window.open(url, "_blank");
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

export async function render(main, [examId, versionArg]) {
  const id = Number(examId);
  const [exam, reports] = await Promise.all([get(`/api/exams/${id}`), get(`/api/exams/${id}/reports`).then((r) => r.items)]);
  const signed = reports.filter((r) => r.status !== "preliminary");
  const report = versionArg ? reports.find((r) => r.version === Number(versionArg)) : (signed.at(-1) || reports.at(-1));
  if (!report) { main.replaceChildren(h("p", {}, t("empty"))); return; }
  const c = report.content;
  const zh = lang() !== "en";
  const findings = (c.findings || []).filter((f) => f.decision !== "rejected");
  const rejected = (c.findings || []).filter((f) => f.decision === "rejected");
  const note = report.status === "preliminary" ? (c.disclaimer?.[zh ? "zh" : "en"] ?? t("report_ai_disclaimer"))
    : t("report_final_note");
  main.replaceChildren(h("div", { class: "row no-print" },
    h("a", { href: `#/exam/${id}` }, `← ${t("back")}`), h("span", { class: "grow" }),
    ["zh", "en"].map((l) => h("button", { id: `report-pdf-${l}`, onclick: () => openPdf(id, report.version, l) },
      `PDF (${l === "zh" ? "中文" : "English"})`)),
    h("button", { onclick: () => window.print() }, t("print"))),
  h("article", { class: "report-page", id: "report", "data-status": report.status, "data-version": report.version },
    h("h1", {}, `${c.exam?.site_name ?? ""}`), h("h2", {}, `${label(c.exam?.modality)} ${t("final_report")}`),
    h("p", { class: "row" }, h("span", { class: "badge", id: "report-status" }, label(report.status)),
      h("span", {}, t("version", { n: report.version })), report.reason ? h("span", {}, `${t("amend_reason")}: ${report.reason}`) : null),
    patientHeader(exam),
    h("h2", {}, t("report_findings")),
    h("ul", {}, findings.map((f) => h("li", {}, f.label, f.decision === "edited" ? ` (${label("edited")})` : "",
      f.origin === "physician" ? ` (${label("added")})` : "",
      h("span", { class: "kv" }, ` ${Object.entries(f.measurements || {}).filter(([, v]) => typeof v === "number")
        .map(([k, v]) => `${k} ${v}`).join(", ")}`)))),
    rejected.length ? h("p", { class: "kv" }, `${label("rejected")}: `, rejected.map((f) => `${f.label} (${f.reason})`).join("; ")) : null,
    h("h2", {}, t("impression")), h("p", { id: "report-impression" }, c.impression ?? c.structured?.impression ?? ""),
    c.ai_summary ? h("p", { class: "kv" }, `${t("ai_text")}: ${c.ai_summary}`) : null,
    h("p", { class: "muted" }, note),
    h("h2", {}, t("signatures")), signaturesBlock(report, reports)));
  main.dataset.report = String(report.id);
}
