// Entry point: hash routes, the header (navigation per role, language switch), session handling.
import { get, signOut, token } from "./api.js";
import { h, clear } from "./dom.js";
import { LANGUAGES, label, lang, setLang, t } from "./i18n.js";

const ROUTES = {
  login: () => import("./pages/login.js"),
  worklist: () => import("./pages/worklist.js"),
  exam: () => import("./pages/exam.js"),
  report: () => import("./pages/report.js"),
  qc: () => import("./pages/qc.js"),
  claims: () => import("./pages/claims.js"),
  audit: () => import("./pages/audit.js"),
};

// Where each role starts, and what it may open; the server checks again on every request.
const HOME = { physician: "worklist", technologist: "qc", qc_officer: "qc", billing: "claims", auditor: "audit" };
const NAV = {
  physician: ["worklist"], technologist: ["qc"], qc_officer: ["qc"], billing: ["claims"], auditor: ["audit"],
};

export const session = { me: null };
let teardown = null;

export function go(path) { location.hash = `#/${path}`; }

export function toast(message) {
  const el = document.getElementById("toast");
  el.textContent = message;
  setTimeout(() => { if (el.textContent === message) el.textContent = ""; }, 4000);
}

function header(route) {
  const top = clear(document.getElementById("top"));
  const langSelect = h("select", { "aria-label": t("lang"), id: "lang-select",
    onchange: (e) => { setLang(e.target.value); render(); } },
  LANGUAGES.map(([code, name]) => h("option", { value: code, selected: code === lang() }, name)));
  top.append(h("span", { class: "brand" }, t("app")));
  if (session.me) {
    top.append(h("nav", { "aria-label": "main" }, (NAV[session.me.role] || []).map((r) =>
      h("a", { href: `#/${r}`, "aria-current": r === route ? "page" : null }, t(`nav_${r}`)))));
    top.append(h("span", { id: "whoami" }, `${session.me.full_name} · ${label(session.me.role)}`));
    top.append(langSelect, h("button", { id: "logout", onclick: () => { signOut(); session.me = null; go("login"); } },
      t("logout")));
  } else {
    top.append(h("span", { class: "grow" }), langSelect);
  }
}

async function render() {
  if (teardown) { teardown(); teardown = null; }
  const [route, ...args] = (location.hash.replace(/^#\/?/, "") || "").split("/");
  if (!token()) { session.me = null; if (route !== "login") { go("login"); return; } }
  if (token() && !session.me) {
    try { session.me = await get("/api/me"); } catch { session.me = null; signOut(); go("login"); return; }
  }
  const name = ROUTES[route] ? route : (session.me ? HOME[session.me.role] || "login" : "login");
  if (name !== route) { go(name); return; }
  header(name);
  const main = clear(document.getElementById("main"));
  main.append(h("p", { class: "muted" }, t("loading")));
  try {
    const page = await ROUTES[name]();
    teardown = (await page.render(main, args, session)) || null;
  } catch (err) {
    clear(main).append(h("p", { class: "error", role: "alert" }, `${t("error")}: ${err.message}`));
  }
}

window.addEventListener("hashchange", render);
window.addEventListener("dualsign:unauthorized", () => { session.me = null; toast(t("session_expired")); go("login"); });
export const rerender = render;
render();
