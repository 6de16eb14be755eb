// Auditors: search the hash-chained audit trail (who did what to which object, when, from where, outcome).
import { get, query } from "../api.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";

const ACTIONS = ["", "create", "read", "update", "upload", "qc", "analyze", "review", "route", "sign", "amend", "retract",
  "verify", "export", "claim", "reverse", "login", "logout"];

export async function render(main) {
  const actor = h("input", { id: "audit-actor" });
  const action = h("select", { id: "audit-action" }, ACTIONS.map((a) => h("option", { value: a }, a || t("any"))));
  const objectType = h("input", { id: "audit-object-type" });
  const objectId = h("input", { id: "audit-object-id", size: 8 });
  const outcome = h("select", { id: "audit-outcome" }, ["", "success", "failure", "denied"].map((o) =>
    h("option", { value: o }, o || t("any"))));
  const body = h("div", { "aria-live": "polite", id: "audit-results" });

  async function search(e) {
    e?.preventDefault();
    const q = query({ actor: actor.value.trim(), action: action.value, object_type: objectType.value.trim(),
      object_id: objectId.value.trim(), outcome: outcome.value, limit: 500 });
    const data = await get(`/api/audit/events${q}`);
    body.dataset.query = q; // which search the table shows
    const items = data.items.slice().reverse(); // newest first
    body.replaceChildren(items.length === 0 ? h("p", { class: "muted" }, t("no_events")) :
      h("table", { id: "audit-table" }, h("thead", {}, h("tr", {}, ["#", t("time"), t("actor"), t("role"), t("action"),
        t("object"), t("outcome"), "IP", t("detail")].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, items.map((ev) => h("tr", { "data-seq": ev.seq, "data-action": ev.action, "data-outcome": ev.outcome },
        h("td", {}, ev.seq), h("td", {}, new Date(ev.at).toLocaleString()), h("td", {}, ev.actor ?? ""),
        h("td", {}, ev.role ?? ""), h("td", {}, ev.action), h("td", {}, `${ev.object_type} ${ev.object_id ?? ""}`),
        h("td", { class: ev.outcome === "success" ? "ok" : "bad" }, ev.outcome),
        h("td", {}, ev.client_address ?? ""),
        h("td", { class: "kv" }, ev.detail && Object.keys(ev.detail).length ? JSON.stringify(ev.detail) : ""))))));
  }

  main.replaceChildren(h("h1", {}, t("audit")), h("form", { class: "row card", role: "search", onsubmit: search },
    h("label", { class: "field" }, t("actor"), actor), h("label", { class: "field" }, t("action"), action),
    h("label", { class: "field" }, t("object"), objectType), h("label", { class: "field" }, "ID", objectId),
    h("label", { class: "field" }, t("outcome"), outcome), h("button", { type: "submit", class: "primary", id: "audit-search" },
      t("do_search"))), body);
  await search();
}
