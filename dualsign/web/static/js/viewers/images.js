// Images behind the bearer token: fetched, kept as object URLs, released by the viewer that asked for them.
import { getRaw } from "../api.js";

export function imageLoader() {
  const urls = new Map();
  async function load(path) {
    if (!urls.has(path)) {
      urls.set(path, getRaw(path).then((r) => r.blob()).then((b) => URL.createObjectURL(b)).then((url) =>
        new Promise((resolve, reject) => {
          const img = new Image();
          img.onload = () => resolve(img);
          img.onerror = () => reject(new Error(`image ${path} could not be decoded`));
          img.src = url;
        })));
    }
    return urls.get(path);
  }
  async function release() {
    for (const p of urls.values()) p.then((img) => URL.revokeObjectURL(img.src)).catch(() => {});
    urls.clear();
  }
  return { load, release };
}
