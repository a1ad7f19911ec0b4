// The page's one live stream (GET /api/stream, an EventSource). A browser holds only six
// connections to a server over HTTP/1.1, across all its tabs, so a tab keeps one stream for all
// it shows: every market (the list), one market (its page) or none (the other pages), and the
// wallet's notifications on every page (the top bar's badge).
//
// While a page is drawn it says what it shows (`want`); the router then `apply`s it, which keeps
// the stream open when nothing changed. Pages listen with `on(kind, fn)` (market, trade, comment,
// notification; "open" with {reconnect}, "error"): after a reconnect they read what they show
// again, since events sent during the gap are lost.

import { eventData } from "/static/util.js";

const KINDS = ["market", "trade", "comment", "notification"];

export class Live {
  constructor(wallet) {
    this.wallet = wallet;
    this.wanted = null; // "all", a market id, or null
    this.url = null; // of the stream open
    this.es = null;
    this.connected = false;
    this.handlers = new Map();
    wallet.onChange(() => this.apply()); // the wallet's notifications follow the wallet in use
  }

  /** What the page being drawn shows: "all" markets, one market's id, or null. */
  want(scope) {
    this.wanted = scope;
  }

  /** Listen to `kind`; returns the function that stops it. */
  on(kind, fn) {
    if (!this.handlers.has(kind)) this.handlers.set(kind, new Set());
    this.handlers.get(kind).add(fn);
    return () => this.handlers.get(kind).delete(fn);
  }

  emit(kind, data) {
    for (const fn of this.handlers.get(kind) || []) {
      try { fn(data); } catch (e) { console.error(e); }
    }
  }

  /** The stream's URL for what is wanted, or null when there is nothing to follow. */
  target() {
    const p = new URLSearchParams();
    const addr = this.wallet.address;
    if (this.wanted && this.wanted !== "all") p.append("market", this.wanted);
    if (addr) p.set("wallet", addr);
    if (!this.wanted) {
      if (!addr) return null;
      p.set("events", "notification");
    }
    const s = p.toString();
    return `/api/stream${s ? `?${s}` : ""}`;
  }

  /** Open the stream for what is wanted, unless it is open already. */
  apply() {
    const url = this.target();
    if (url === this.url) return;
    if (this.es) this.es.close();
    this.es = null;
    this.url = url;
    this.connected = false;
    this.emit("error");
    if (!url) return;
    const es = new EventSource(url);
    this.es = es;
    let opens = 0;
    es.addEventListener("open", () => {
      this.connected = true;
      this.emit("open", { reconnect: opens++ > 0 });
    });
    es.addEventListener("error", () => {
      this.connected = false;
      this.emit("error");
    });
    for (const kind of KINDS) es.addEventListener(kind, (e) => this.emit(kind, eventData(e)));
  }
}
