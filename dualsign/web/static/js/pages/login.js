import { login } from "../api.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";
import { go, session } from "../main.js";

export function render(main) {
  const error = h("p", { class: "error", role: "alert", id: "login-error" });
  const user = h("input", { id: "username", name: "username", autocomplete: "username", required: true });
  const pass = h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password",
    required: true });
  const form = h("form", { onsubmit: async (e) => {
    e.preventDefault();
    error.textContent = "";
    try {
      await login(user.value.trim(), pass.value);
      session.me = null;
      go("");
    } catch { error.textContent = t("login_failed"); pass.select(); }
  } },
  h("label", { class: "field", for: "username" }, t("username")), user,
  h("label", { class: "field", for: "password" }, t("password")), pass,
  h("button", { class: "primary", type: "submit", id: "login-submit" }, t("login")), error);
  main.replaceChildren(h("section", { class: "card login" }, h("h1", {}, t("app")), form));
  user.focus();
}
