// DOM building, number and time formatting, the API client. No framework: `h()` builds
// elements with text nodes only (never innerHTML from data), so nothing a user typed can run.

export const LAMPORTS = 1_000_000_000; // per SOL; also share units per share (1 share pays 1 SOL)

/** h("div.card#id", {attrs, on: {click}}, ...children): an element. */
export function h(tag, attrs, ...children) {
  const m = /^([a-z0-9-]+)((?:[.#][\w-]+)*)$/i.exec(tag);
  if (!m) throw new Error(`bad tag ${tag}`);
  const el = document.createElement(m[1]);
  for (const part of m[2].match(/[.#][\w-]+/g) || []) {
    if (part[0] === ".") el.classList.add(part.slice(1));
    else el.id = part.slice(1);
  }
  if (attrs && (typeof attrs !== "object" || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "on") for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === "class") el.className = v;
    else if (k === "style" && typeof v === "object") Object.assign(el.style, v);
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// ---- formatting --------------------------------------------------------------------------

const nf = (max, min = 0) =>
  new Intl.NumberFormat("en-US", { maximumFractionDigits: max, minimumFractionDigits: min });
const fmt2 = nf(2);
const fmt4 = nf(4);
const fmt9 = nf(9); // a lamport and a share unit are 10^-9: tiny amounts never read as 0
const fmtCompact = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });

/** Lamports (integer or string) as SOL, e.g. "1.25 SOL". */
export function sol(lamports, { unit = true, precise = false } = {}) {
  const v = Number(lamports) / LAMPORTS;
  let s;
  if (!Number.isFinite(v)) s = "–";
  else if (v !== 0 && Math.abs(v) < 0.0001) s = fmt9.format(v);
  else if (precise || Math.abs(v) < 1) s = fmt4.format(v);
  else if (Math.abs(v) >= 100_000) s = fmtCompact.format(v);
  else s = fmt2.format(v);
  return unit ? `${s} SOL` : s;
}

/** Signed SOL for P&L, e.g. "+0.12 SOL". */
export function signedSol(lamports) {
  const n = Number(lamports);
  return (n > 0 ? "+" : n < 0 ? "−" : "") + sol(Math.abs(n));
}

/** Share units as shares (1 share = 1e9 units, pays 1 SOL if it wins). */
export function shares(units) {
  const v = Number(units) / LAMPORTS;
  return (v !== 0 && Math.abs(v) < 0.01 ? fmt9 : fmt2).format(v);
}

/** A price (decimal string, 0..1) as a percentage, e.g. "52.3%". */
export function pct(price, digits = 1) {
  const v = Number(price);
  if (price === null || price === undefined || !Number.isFinite(v)) return "–";
  return `${(v * 100).toFixed(digits)}%`;
}

/** A change in price (0..1 units) as percentage points, e.g. "+2.1 pts". */
export function pts(delta) {
  if (delta === null || delta === undefined || !Number.isFinite(delta)) return "–";
  const v = delta * 100;
  if (Math.abs(v) < 0.05) return "0.0";
  return `${v > 0 ? "+" : "−"}${Math.abs(v).toFixed(1)}`;
}

export function bps(v) {
  return `${(Number(v) / 100).toFixed(2)}%`;
}

export function shortAddr(a) {
  return a ? `${a.slice(0, 4)}…${a.slice(-4)}` : "–";
}

export function dateTime(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  return d.toLocaleString(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
  });
}

// ---- the chain's clock ---------------------------------------------------------------------
// Deadlines are the program's: it checks them against the chain's clock, which can be ahead of
// this browser's (a local validator's clock is moved on by days in the demo). Every API response
// says what the chain's time is (X-Chain-Time, unix seconds) and so does every stream event
// (chain_time); the page keeps the difference and counts from `chainNow()`, never Date.now().

let chainOffsetMs = 0; // the chain's clock minus this browser's
let chainKnown = false;

/** The chain's time now, in milliseconds since the epoch (as Date.now()). */
export function chainNow() {
  return Date.now() + chainOffsetMs;
}

/** Take the chain's time from a response or an event (unix seconds, whole: the chain's clock
 * is somewhere in that second). A change of more than a second (the chain's clock was moved,
 * or the first reading) is announced with a "chainclock" event on window. */
export function noteChainTime(seconds) {
  if (seconds === null || seconds === undefined || seconds === "") return;
  const t = Number(seconds);
  if (!Number.isFinite(t) || t <= 0) return;
  const offset = t * 1000 + 500 - Date.now();
  if (chainKnown && Math.abs(offset - chainOffsetMs) <= 1500) return;
  chainOffsetMs = offset;
  chainKnown = true;
  window.dispatchEvent(new CustomEvent("chainclock", { detail: { offsetMs: offset } }));
}

/** A stream event's data (JSON), its chain_time noted. */
export function eventData(e) {
  const data = JSON.parse(e.data);
  if (data && typeof data === "object") noteChainTime(data.chain_time);
  return data;
}

/** "in 3h 20m" / "5m ago", counted from the chain's clock; a date beyond 60 days. Off-chain
 * times (a comment's, written by the server's wall clock) pass `now = Date.now()`. */
export function relative(iso, now = chainNow()) {
  if (!iso) return "";
  let s = Math.round((new Date(iso).getTime() - now) / 1000);
  if (Math.abs(s) > 60 * 86400) {
    const d = new Date(iso).toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
    return `on ${d}`;
  }
  const future = s > 0;
  s = Math.abs(s);
  const d = Math.floor(s / 86400), hr = Math.floor((s % 86400) / 3600);
  const mi = Math.floor((s % 3600) / 60), se = s % 60;
  const txt = d ? `${d}d ${hr}h` : hr ? `${hr}h ${mi}m` : mi ? `${mi}m` : `${se}s`;
  return future ? `in ${txt}` : `${txt} ago`;
}

/** A readable URL part from a question: "Will it rain in Lisbon?" is "will-it-rain-in-lisbon". */
export function slug(text) {
  return String(text ?? "").normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, "-").replace(/^-+|-+$/g, "").slice(0, 60).replace(/-+$/, "");
}

/** A market's page: its id (what the page reads) and its question's slug (for people; any slug,
 * or none, opens the same page). */
export function marketHref(m) {
  return `#${marketPath(m)}`;
}

/** After a transaction, until the indexer shows it: `check()` (async; truthy once it does,
 * a throw counts as not yet) every 250 ms, at most `tries` times, while `alive()`. Whether it did. */
export async function untilIndexed(check, { tries = 40, alive = () => true } = {}) {
  for (let i = 0; i < tries && alive(); i++) {
    try {
      if (await check()) return true;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

/** A market's shareable path URL, `/market/<id>/<slug>`: the server answers it with the page
 * and its Open Graph meta, and the page opens the market as its hash route would. */
export function marketPath(m) {
  const s = slug(m.question);
  return `/market/${m.id}${s ? `/${s}` : ""}`;
}

/** A wallet's profile page. */
export function userHref(address) {
  return `#/user/${address}`;
}

/** A wallet's address, short, linking to its profile (the whole address in its title). */
export function walletLink(address, { me = null } = {}) {
  if (!address) return "–";
  return h("a.mono.wallet-link", { href: userHref(address), title: address, "data-testid": "wallet-link", "data-wallet": address },
    shortAddr(address), me && address === me ? " (you)" : null);
}

let explorerCluster = "custom"; // a local validator: the explorer's custom cluster (localhost:8899)

/** Which cluster transaction links open in the explorer (the faucet's chain_id says it). */
export function setCluster(chainId) {
  if (chainId === "mainnet-beta" || chainId === "mainnet") explorerCluster = null;
  else if (chainId === "devnet" || chainId === "testnet") explorerCluster = chainId;
  else explorerCluster = "custom";
}

/** A transaction's page on the Solana explorer. */
export function txHref(signature) {
  const q = explorerCluster ? `?cluster=${explorerCluster}` : "";
  return `https://explorer.solana.com/tx/${encodeURIComponent(signature)}${q}`;
}

export function txLink(signature) {
  if (!signature) return "–";
  return h("a.mono", {
    href: txHref(signature), target: "_blank", rel: "noopener noreferrer", title: signature, "data-testid": "tx-link",
  }, `${signature.slice(0, 8)}…`);
}

/** "up" / "down" / "flat": the class of a signed amount. */
export function sign(n) {
  const v = Number(n);
  return v > 0 ? "up" : v < 0 ? "down" : "flat";
}

export const STATE_LABELS = {
  PROPOSED: "Proposed", APPROVED: "Approved", ACTIVE: "Trading", RESOLVING: "Resolving",
  DISPUTED: "Disputed", FINALIZED: "Final", CANCELLED: "Cancelled",
};

export function badge(state) {
  return h(`span.badge.state-${String(state).toLowerCase()}`, { "data-testid": "state" },
    STATE_LABELS[state] || state);
}

// ---- the API -----------------------------------------------------------------------------

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** Call the API; returns the JSON body or throws ApiError with the envelope's code/message. A
 * body is sent as JSON, or as it is when it is a Blob (a file) or bytes. */
export async function api(path, { method = "GET", body, params, signal } = {}) {
  let url = path;
  if (params) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") qs.set(k, v);
    const s = qs.toString();
    if (s) url += (url.includes("?") ? "&" : "?") + s;
  }
  const raw = body instanceof Blob || body instanceof Uint8Array;
  let resp;
  try {
    resp = await fetch(url, {
      method,
      signal,
      headers: body === undefined ? {}
        : { "Content-Type": raw ? (body.type || "application/octet-stream") : "application/json" },
      body: body === undefined ? undefined : raw ? body : JSON.stringify(body),
    });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError(0, "network", "the server is not answering");
  }
  noteChainTime(resp.headers.get("X-Chain-Time"));
  let data = null;
  const text = await resp.text();
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!resp.ok) {
    const err = data && data.error;
    let msg = err ? err.message : `${resp.status} ${resp.statusText}`;
    if (err && Array.isArray(err.details) && err.details[0] && err.details[0].field) {
      msg += ` (${err.details.map((d) => d.field + ": " + d.message).join("; ")})`;
    }
    throw new ApiError(resp.status, err ? err.code : "http_error", msg, err && err.details);
  }
  return data;
}

// ---- SHA-256 -----------------------------------------------------------------------------
// crypto.subtle exists only in secure contexts (https, localhost). A phone opening the demo over
// the LAN at http://192.168.x.y:8000 has none, so a small standard implementation backs it up.

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

function sha256Js(bytes) {
  const len = bytes.length;
  const padded = new Uint8Array(((len + 9 + 63) >> 6) << 6);
  padded.set(bytes);
  padded[len] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(len / 0x20000000));
  view.setUint32(padded.length - 4, (len << 3) >>> 0);
  const hs = new Uint32Array([
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
  ]);
  const w = new Uint32Array(64);
  const rotr = (x, n) => (x >>> n) | (x << (32 - n));
  for (let off = 0; off < padded.length; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(off + i * 4);
    for (let i = 16; i < 64; i++) {
      const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, hh] = hs;
    for (let i = 0; i < 64; i++) {
      const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) >>> 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      hh = g; g = f; f = e; e = (d + t1) >>> 0; d = c; c = b; b = a; a = (t1 + t2) >>> 0;
    }
    hs[0] += a; hs[1] += b; hs[2] += c; hs[3] += d; hs[4] += e; hs[5] += f; hs[6] += g; hs[7] += hh;
  }
  return Array.from(hs, (x) => x.toString(16).padStart(8, "0")).join("");
}

/** Hex SHA-256 of a string's UTF-8 bytes. */
export async function sha256Hex(text) {
  const bytes = new TextEncoder().encode(text);
  if (globalThis.crypto && crypto.subtle) {
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  return sha256Js(bytes);
}
export { sha256Js as _sha256Js };

export function b64decode(s) {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function b64encode(bytes) {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

/** An amount a person typed, as integer units of 10^-9 (lamports, or share units): exact, from
 * the digits, never through a float. "1.5" and "1,5" both mean one and a half (a decimal
 * comma); "1,500" could mean either 1.5 or fifteen hundred, so it is refused, as is anything
 * that is not digits with at most one separator: an amount is never reinterpreted (1,5 is
 * never 15). Returns { units, error }: units is null when the text is empty or invalid, and
 * error says what is wrong (null when nothing is). */
export function parseAmount(text) {
  const s = String(text ?? "").trim();
  if (!s) return { units: null, error: null };
  const m = /^(\d*)(?:([.,])(\d*))?$/.exec(s);
  if (!m || (!m[1] && !m[3])) return { units: null, error: "Enter a number, like 1.5" };
  const [, whole, sep, frac = ""] = m;
  if (sep === "," && frac.length === 3 && whole) {
    return { units: null, error: `Is that ${whole}.${frac} or ${whole}${frac}? Write it with a decimal point` };
  }
  if (frac.length > 9) return { units: null, error: "At most 9 decimals" };
  const units = BigInt(whole || "0") * 1_000_000_000n + BigInt((frac + "000000000").slice(0, 9));
  if (units > BigInt(Number.MAX_SAFE_INTEGER)) return { units: null, error: "That amount is too large" };
  return { units: Number(units), error: null };
}

/** Integer units of 10^-9 as the exact decimal text `parseAmount` reads back ("0.000000001"). */
export function unitsText(units) {
  const n = BigInt(units);
  const frac = (n % 1_000_000_000n).toString().padStart(9, "0").replace(/0+$/, "");
  return frac ? `${n / 1_000_000_000n}.${frac}` : `${n / 1_000_000_000n}`;
}

export function debounce(fn, ms) {
  let t = null;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}
