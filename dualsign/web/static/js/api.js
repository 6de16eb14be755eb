// The REST API: bearer token kept for this browser tab only; a 401 sends the user back to login.
const TOKEN_KEY = "dualsign.token";

export class ApiError extends Error {
  constructor(status, detail) { super(typeof detail === "string" ? detail : JSON.stringify(detail)); this.status = status; }
}

export function token() { return sessionStorage.getItem(TOKEN_KEY); }
export function signOut() { sessionStorage.removeItem(TOKEN_KEY); }

export async function login(username, password) {
  const body = new URLSearchParams({ username, password });
  const r = await fetch("/api/auth/token", { method: "POST", body });
  if (!r.ok) throw new ApiError(r.status, (await r.json().catch(() => ({}))).detail || r.statusText);
  sessionStorage.setItem(TOKEN_KEY, (await r.json()).access_token);
}

async function request(method, path, body, raw = false) {
  const headers = { Authorization: `Bearer ${token()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (r.status === 401) {
    signOut();
    window.dispatchEvent(new CustomEvent("dualsign:unauthorized"));
  }
  if (!r.ok) throw new ApiError(r.status, (await r.json().catch(() => ({}))).detail || r.statusText);
  return raw ? r : r.json();
}

export const get = (path) => request("GET", path);
export const post = (path, body) => request("POST", path, body);
export const getRaw = (path) => request("GET", path, undefined, true);

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (Array.isArray(v)) v.forEach((x) => q.append(k, x));
    else if (v != null && v !== "") q.set(k, v);
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}
