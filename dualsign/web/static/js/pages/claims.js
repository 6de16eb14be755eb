// Billing staff: claim entries (charges and reversals) and the settlement export for their site.
import { getRaw, get, query } from "../api.js";
import { h } from "../dom.js";
import { label, t } from "../i18n.js";
import { session, toast } from "../main.js";

const yuan = (fen) => (fen / 100).toFixed(2);
// Billing periods are China days (Asia/Shanghai, UTC+8, no daylight saving), whatever the browser's zone.
const chinaToday = () => new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 10);

export async function render(main) {
  const today = chinaToday();
  const from = h("input", { type: "date", id: "claims-from", value: `${today.slice(0, 8)}01` });
  const to = h("input", { type: "date", id: "claims-to", value: today });
  const body = h("div");
  const site = session.me?.site?.code;

  // A download needs the bearer token, so it is fetched here and handed to the browser as a blob.
  async function download(format) {
    try {
      const r = await getRaw(`/api/claims/export${query({ site, from: from.value, to: to.value, format })}`);
      const blob = format === "json" ? new Blob([JSON.stringify(await r.json(), null, 2)], { type: "application/json" })
        : await r.blob();
      const a = h("a", { href: URL.createObjectURL(blob), download: `settlement-${site}-${from.value}-${to.value}.${format}` });
      document.body.append(a); a.click(); a.remove();
    } catch (err) { toast(`${t("error")}: ${err.message}`); }
  }

  async function load() {
    const data = await get(`/api/claims${query({ from: from.value, to: to.value })}`);
    body.replaceChildren(data.items.length === 0 ? h("p", { class: "muted" }, t("no_claims")) :
      h("table", { id: "claims-table" }, h("thead", {}, h("tr", {}, [t("time"), t("accession"), t("entry"), t("service"),
        t("amount"), t("self_pay"), t("fund"), t("insurance")].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, data.items.map((c) => h("tr", { "data-claim-id": c.id, "data-exam-id": c.exam_id },
        h("td", {}, new Date(c.created_at).toLocaleString()), h("td", {}, `#${c.exam_id}`),
        h("td", {}, label(c.entry_kind)), h("td", {}, `${c.service_code} ${c.service_name}`),
        h("td", {}, yuan(c.amount_fen)), h("td", {}, yuan(c.self_pay_fen)), h("td", {}, yuan(c.fund_fen)),
        h("td", {}, c.insurance_number ?? "—"))))));
  }

  main.replaceChildren(h("h1", {}, t("claims")),
    h("div", { class: "row card" }, h("label", { class: "field" }, t("from"), from), h("label", { class: "field" }, t("to"), to),
      h("button", { onclick: load, id: "claims-load" }, t("refresh")), h("span", { class: "grow" }),
      h("button", { id: "export-csv", onclick: () => download("csv") }, t("export_csv")),
      h("button", { id: "export-json", onclick: () => download("json") }, t("export_json"))), body);
  await load();
}
