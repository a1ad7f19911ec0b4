// Notifications: what happened to the markets the wallet follows or holds (resolution proposed,
// dispute opened, finalized, claimable, a comment). The database keeps them while the wallet is
// away (GET /api/users/<wallet>/notifications); new ones arrive live on the page's stream
// (live.js: `?wallet=<wallet>`, `notification` events). The top bar's badge counts the unread
// ones; the page lists them newest first and marks them read (signed with SIWS).

import { h, clear, api, dateTime, relative, marketHref, walletLink, debounce } from "/static/util.js";

/** The wallet's unread count and new notifications, for the whole app (the badge) and the
 * notifications page. Listeners get ("count") when the count may have changed, ("new", n) for
 * a notification that just arrived, ("reconnected") after the stream (re)opened. */
export class NotificationCenter {
  constructor(wallet, live) {
    this.wallet = wallet;
    this.live = live;
    this.address = null;
    this.unread = 0;
    this.listeners = new Set();
    this.recount = debounce(() => this.count(), 150);
  }

  on(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit(...args) {
    this.listeners.forEach((fn) => { try { fn(...args); } catch (e) { console.error(e); } });
  }

  /** Follow the wallet in use (again when it changes). */
  start() {
    const sync = () => {
      if (this.wallet.address === this.address) return;
      this.address = this.wallet.address;
      this.unread = 0;
      this.emit("count");
    };
    this.wallet.onChange(sync);
    sync();
    // Opened, or reopened: what arrived meanwhile is persisted, so count again.
    this.live.on("open", ({ reconnect }) => {
      this.count();
      if (reconnect) this.emit("reconnected");
    });
    this.live.on("notification", (n) => {
      this.emit("new", n);
      this.recount();
    });
  }

  async count() {
    const addr = this.address;
    if (!addr) return;
    try {
      const d = await api(`/api/users/${addr}/notifications`, { params: { unread: true, limit: 1 } });
      if (addr !== this.address) return;
      this.unread = d.unread;
      this.emit("count");
    } catch (e) {
      console.warn(e);
    }
  }
}

const OUTCOMES = { yes: "YES", no: "NO", invalid: "Invalid (paid at the last price)" };

/** What a notification says, in words. */
function describe(n, me) {
  switch (n.kind) {
    case "resolution_proposed":
      return ["A resolution was proposed.", n.deadline ? ` It can be disputed until ${dateTime(n.deadline)} (${relative(n.deadline)}).` : ""];
    case "dispute_opened":
      return ["The resolution is disputed.", n.deadline ? ` Voting ends ${dateTime(n.deadline)} (${relative(n.deadline)}).` : ""];
    case "finalized":
      return [`Final outcome: ${OUTCOMES[n.outcome] || "–"}.`];
    case "claimable":
      return [`Settled (${OUTCOMES[n.outcome] || "cancelled"}): your position has a claim to make. `, h("a", { href: "#/portfolio" }, "Claim it in your portfolio")];
    case "comment":
      return ["New comment by ", walletLink(n.author, { me }), "."];
    default:
      return [n.kind];
  }
}

function item(n, me) {
  return h(`li.notification${n.read ? "" : ".unread"}`, { "data-testid": "notification", "data-id": n.id, "data-kind": n.kind },
    h("div.notification-head",
      n.read ? null : h("span.chip.chip-small", { "data-testid": "unread" }, "new"),
      h("a", { href: marketHref({ id: n.market_id, question: n.question }) }, n.question || `${n.market_id.slice(0, 12)}…`),
      h("time.muted", { datetime: n.created_at, title: dateTime(n.created_at) }, relative(n.created_at, Date.now()))), // the server's clock
    h("p.notification-body", describe(n, me)));
}

export function renderNotifications(view, ctx, center) {
  const { wallet, toast, act, onCleanup } = ctx;
  let alive = true;
  onCleanup(() => { alive = false; });
  document.title = "Notifications · hybridmarket";
  const listEl = h("ol.notifications", { "data-testid": "notifications" });
  const statusEl = h("p.muted", { "data-testid": "notifications-status" }, "Loading…");
  const readBtn = h("button.btn.btn-small", { type: "button", "data-testid": "mark-read", hidden: true }, "Mark all as read");
  const more = h("button.btn.btn-ghost.btn-small", { type: "button", hidden: true }, "Older");
  clear(view, h("section.notifications-page", { "data-testid": "notifications-page" },
    h("h1", "Notifications"),
    h("p.muted", "About the markets you follow or hold: resolutions, disputes, outcomes, claims and comments."),
    h("div.notifications-tools", readBtn),
    h("section.panel", statusEl, listEl, more)));

  let shown = new Map(); // id -> notification, newest first in the list
  let cursor = null;
  function draw() {
    const ns = [...shown.values()].sort((a, b) => b.id - a.id);
    clear(listEl, ns.map((n) => item(n, wallet.address)));
    statusEl.textContent = ns.length ? "" : wallet.address ? "Nothing yet. Follow a market to hear what happens to it." : "Connect a wallet.";
    statusEl.hidden = !!ns.length;
    readBtn.hidden = !ns.some((n) => !n.read);
    more.hidden = !cursor;
  }
  async function load(next = false) {
    const addr = wallet.address;
    if (!addr) { shown = new Map(); cursor = null; draw(); return; }
    const d = await api(`/api/users/${addr}/notifications`, { params: { limit: 50, cursor: next ? cursor : undefined } });
    if (!alive || wallet.address !== addr) return;
    if (!next) shown = new Map([...shown].filter(([, n]) => n.id > (d.notifications[0] ? d.notifications[0].id : 0)));
    for (const n of d.notifications) shown.set(n.id, n);
    cursor = d.next_cursor;
    draw();
  }
  readBtn.addEventListener("click", () => act(readBtn, "Signing…", async () => {
    const upTo = Math.max(...shown.keys());
    const { message, signature } = await wallet.signAction("read_notifications", String(upTo));
    const out = await api("/api/notifications/read", {
      method: "POST", body: { wallet: wallet.address, up_to: upTo, message, signature },
    });
    for (const n of shown.values()) if (n.id <= upTo) n.read = true;
    draw();
    center.count();
    toast(`Marked ${out.marked} read`, "ok");
    ctx.announce("Notifications marked read");
  }));
  more.addEventListener("click", () => load(true).catch((e) => console.warn(e)));

  onCleanup(center.on((what, n) => {
    if (what === "new" && n && !shown.has(n.id)) {
      shown.set(n.id, n);
      draw();
    } else if (what === "reconnected") {
      load().catch((e) => console.warn(e));
    }
  }));
  let last = wallet.address;
  onCleanup(wallet.onChange(() => {
    if (wallet.address !== last) { last = wallet.address; shown = new Map(); load().catch((e) => console.warn(e)); }
  }));
  load().catch((e) => { statusEl.hidden = false; statusEl.textContent = e.message; });
}
