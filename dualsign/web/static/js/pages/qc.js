// Technologists and QC officers: exams that failed quality control, with the reasons, to be retaken.
import { get } from "../api.js";
import { h } from "../dom.js";
import { label, t } from "../i18n.js";

export async function render(main) {
  const data = await get("/api/exams?status=qc_failed");
  main.replaceChildren(h("h1", {}, t("qc_failures")),
    data.items.length === 0 ? h("p", { class: "muted", id: "qc-empty" }, t("no_qc_failures")) :
      h("table", { id: "qc-table" }, h("thead", {}, h("tr", {}, [t("accession"), t("modality"), t("site"), t("received_at"),
        t("reasons")].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, data.items.map((e) => h("tr", { "data-exam-id": e.id }, h("td", {}, e.accession),
        h("td", {}, label(e.modality)), h("td", {}, e.site), h("td", {}, new Date(e.received_at).toLocaleString()),
        h("td", {}, h("ul", {}, (e.qc_reasons || []).map((r) => h("li", {}, r)))))))));
}
