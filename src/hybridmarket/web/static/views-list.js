// The market list: search, category and state filters, sort; each card shows the YES price, its
// change over 24 hours (from the hourly history), volume and a state badge. Cards update live.

import {
  h, clear, api, pct, pts, sol, badge, relative, dateTime, debounce, chainNow, marketHref,
} from "/static/util.js";

const SORTS = [["relevance", "Best match"], ["volume", "Volume"], ["newest", "Newest"], ["closing", "Closing soon"]];
// "" is the API's default, open markets (status=open); "all" and "settled" are statuses; the
// rest are single states.
const STATES = ["", "all", "settled", "PROPOSED", "APPROVED", "ACTIVE", "RESOLVING", "DISPUTED", "FINALIZED", "CANCELLED"];
const STATE_NAMES = {
  "": "Open markets", all: "All markets", settled: "Settled (final or cancelled)",
  PROPOSED: "Proposed (voting)", APPROVED: "Approved", ACTIVE: "Trading",
  RESOLVING: "Resolving", DISPUTED: "Disputed", FINALIZED: "Finalized", CANCELLED: "Cancelled",
};
let categories = null;

/** The list's filters, search and sort from the page's URL (#/?q=…&category=…&state=…&sort=…),
 * so a list can be shared and the back button goes back to the previous one. */
export function readFilters(query) {
  const q = query || new URLSearchParams();
  const state = q.get("state") || "";
  const sort = q.get("sort") || "";
  return {
    q: (q.get("q") || "").trim(),
    category: (q.get("category") || "").trim().toLowerCase(),
    state: STATES.includes(state) ? state : "",
    sort: SORTS.some(([v]) => v === sort) ? sort : "", // "": the API's (best match with a search)
  };
}

/** The order the list is in: the one chosen, else the API's default (best match when
 * searching, else volume); best match means nothing without a search. */
export function effectiveSort(f) {
  if (f.sort === "relevance" && !f.q) return "volume";
  return f.sort || (f.q ? "relevance" : "volume");
}

/** The URL of the list with these filters (defaults left out: the plain list is #/). */
export function listHash(f) {
  const p = new URLSearchParams();
  if (f.q) p.set("q", f.q);
  if (f.category) p.set("category", f.category);
  if (f.state) p.set("state", f.state);
  if (f.sort && f.sort !== (f.q ? "relevance" : "volume")) p.set("sort", f.sort);
  const s = p.toString();
  return s ? `#/?${s}` : "#/";
}

/** The list request's filters: a single state, or a status (open, the default; all; settled). */
function listParams(f) {
  const status = f.state === "all" || f.state === "settled" ? f.state : null;
  return {
    q: f.q, category: f.category, sort: effectiveSort(f),
    state: status || !f.state ? undefined : f.state, status: status || undefined,
  };
}
const changeCache = new Map(); // market id -> {at, value}

/** The YES price's change over the last 24 h of the chain's clock: the list's own `change_24h`
 * when the API gives it (null: unknown), else from the hourly history, to the hour: now vs. the
 * close of the last hourly bucket that ended before then (0.5, the opening price, for markets
 * younger than that). */
export async function change24h(m) {
  if ("change_24h" in m) return m.change_24h === null ? null : Number(m.change_24h);
  const hit = changeCache.get(m.id);
  if (hit && hit.price === m.price_yes && Date.now() - hit.at < 60_000) return hit.value;
  const now = chainNow();
  const since = new Date(now - 30 * 86400_000).toISOString();
  const { points } = await api(`/api/markets/${m.id}/history`, {
    params: { interval: "1h", since, limit: 1000 },
  });
  const cutoff = now - 86400_000;
  let base = null;
  for (const p of points) if (new Date(p.t).getTime() + 3600_000 <= cutoff) base = Number(p.close);
  if (base === null) {
    if (!points.length) base = Number(m.price_yes);
    else if (new Date(m.created_at).getTime() > now - 30 * 86400_000) base = 0.5;
    else base = Number(points[0].open);
  }
  const value = Number(m.price_yes) - base;
  changeCache.set(m.id, { at: Date.now(), price: m.price_yes, value });
  return value;
}

const OUTCOME = { yes: "YES", no: "NO", invalid: "Invalid" };

function foot(m) {
  const r = m.resolution;
  if (m.state === "FINALIZED") return `Final since ${dateTime(r.finalized_at)}`;
  if (m.state === "CANCELLED") return `Cancelled ${dateTime(r.cancelled_at)}`;
  if (m.state === "RESOLVING") return `Resolver says ${OUTCOME[r.proposed_outcome] || "–"}; final ${relative(r.dispute_deadline)} unless disputed`;
  if (m.state === "DISPUTED") return `Disputed: ${m.votes.dispute.total} votes so far`;
  if (m.state === "PROPOSED") return `${m.votes.proposal.total} votes so far`;
  return m.closes_at ? `Closes ${relative(m.closes_at)}` : "";
}

function card(m) {
  const final = m.resolution.final_outcome;
  const change = h("span.change", { "data-testid": "change" }, "…");
  const yes = Number(m.price_yes);
  const el = h("a.card.market-card", { href: marketHref(m), "data-testid": "market-card", "data-id": m.id },
    h("div.card-top",
      m.category ? h("span.chip", m.category) : null,
      badge(m.state)),
    h("h3.card-q", m.question),
    h("div.card-stats",
      m.state === "FINALIZED"
        ? h("div.card-price", h(`span.big.${final === "no" ? "no" : "yes"}`, { "data-testid": "price" }, OUTCOME[final] || "–"),
          h("span.muted", final === "invalid" ? " paid at last price" : " won"))
        : m.state === "CANCELLED"
          ? h("div.card-price", h("span.big", { "data-testid": "price" }, "Cancelled"),
            m.activated_at ? h("span.muted", " paid at last price") : null)
          : h("div.card-price",
          h("span.big.yes", { "data-testid": "price" }, pct(m.price_yes)),
          h("span.muted", " YES")),
      h("div.card-meta",
        h("span", { title: "Change of the YES price over 24 hours, in percentage points" }, change, h("span.muted", " 24h")),
        h("span", { title: "Volume traded" }, h("span.muted", "Vol "), sol(m.volume))),
    ),
    m.state === "FINALIZED" || m.state === "CANCELLED"
      ? null // a settled market has an outcome, not a price
      : h("div.bar", { "aria-hidden": "true" }, h("span.bar-yes", { style: { width: `${(yes * 100).toFixed(1)}%` } })),
    h("div.card-foot.muted", foot(m)),
  );
  el.market = m;
  el.change = undefined; // the 24 h change, once known
  change24h(m).then((v) => {
    el.change = v;
    change.textContent = pts(v);
    change.classList.toggle("up", v > 0.0005);
    change.classList.toggle("down", v < -0.0005);
  }).catch(() => { change.textContent = "–"; });
  return el;
}

export function renderList(view, ctx) {
  const grid = h("div.grid", { "data-testid": "market-grid" });
  const filters = readFilters(ctx.query);
  const more = h("button.btn.btn-ghost.more", { type: "button", hidden: true }, "Load more");
  const status = h("p.muted.list-status");
  const search = h("input.input", {
    type: "search", placeholder: "Search questions…", value: filters.q, "aria-label": "Search markets",
    "data-testid": "search",
  });
  const catSel = h("select.input", { "aria-label": "Category", "data-testid": "category" },
    h("option", { value: "" }, "All categories"));
  const stateSel = h("select.input", { "aria-label": "State", "data-testid": "state-filter" },
    STATES.map((s) => h("option", { value: s, selected: s === filters.state }, STATE_NAMES[s])));
  const sortSel = h("select.input", { "aria-label": "Sort by", "data-testid": "sort" },
    SORTS.map(([v, l]) => h("option", { value: v, selected: v === effectiveSort(filters) }, l)));
  function syncSort() {
    sortSel.value = effectiveSort(filters);
    sortSel.querySelector('option[value="relevance"]').disabled = !filters.q;
  }
  syncSort();

  let cursor = null;
  let generation = 0;
  const cards = new Map();

  async function load(append = false) {
    const gen = ++generation;
    if (!append) { cursor = null; cards.clear(); }
    status.textContent = append ? "" : "Loading…";
    try {
      const data = await api("/api/markets", {
        params: { ...listParams(filters), limit: 24, cursor },
      });
      if (gen !== generation) return null;
      if (!append) grid.replaceChildren();
      for (const m of data.markets) {
        const c = card(m);
        cards.set(m.id, c);
        grid.append(c);
      }
      cursor = data.next_cursor;
      more.hidden = !cursor;
      status.textContent = grid.children.length ? "" : "No markets match.";
      return grid.children.length;
    } catch (e) {
      if (gen === generation) status.textContent = `Could not load markets: ${e.message}`;
      return null;
    }
  }

  async function loadCategories() {
    if (!categories) {
      try {
        const data = await api("/api/markets", { params: { limit: 100, sort: "newest", status: "all" } });
        categories = [...new Set(data.markets.map((m) => m.category).filter(Boolean))].sort();
      } catch { categories = []; }
    }
    const shown = new Set(categories);
    if (filters.category) shown.add(filters.category); // from a shared link: kept even if unknown here
    for (const c of [...shown].sort()) catSel.append(h("option", { value: c, selected: c === filters.category }, c));
  }

  /** A change of the filters: into the URL (a choice is a new history entry; typing in the
   * search replaces the current one, not one per key), then the list again. */
  async function changed(push) {
    const url = listHash(filters);
    if (url !== (location.hash || "#/")) {
      if (push) history.pushState(null, "", url);
      else history.replaceState(null, "", url);
      ctx.routed();
    }
    const n = await load();
    if (n !== null) ctx.announce(n ? `${n}${cursor ? "+" : ""} market${n === 1 ? "" : "s"}` : "No markets match.");
  }
  let typing = false; // one history entry per search, not one per key
  search.addEventListener("focus", () => { typing = false; });
  search.addEventListener("input", debounce(() => {
    if (filters.q === search.value.trim()) return;
    filters.q = search.value.trim();
    if (!filters.q && filters.sort === "relevance") filters.sort = "";
    syncSort();
    changed(!typing);
    typing = true;
  }, 250));
  catSel.addEventListener("change", () => { filters.category = catSel.value; changed(true); });
  stateSel.addEventListener("change", () => { filters.state = stateSel.value; changed(true); });
  sortSel.addEventListener("change", () => { filters.sort = sortSel.value; changed(true); });
  more.addEventListener("click", () => load(true));

  document.title = "Markets · hybridmarket";
  clear(view,
    h("section.list-page",
      h("div.list-head",
        h("h1", "Markets"),
        h("p.muted", "Binary markets on Solana: buy YES or NO; each winning share pays 1 SOL.")),
      h("div.filters", search, catSel, stateSel, sortSel),
      status, grid, more));
  loadCategories();
  load();

  // Live: replace a card when its market changes.
  ctx.live.want("all");
  ctx.onCleanup(ctx.live.on("open", ({ reconnect }) => { if (reconnect) load(); })); // caught up
  ctx.onCleanup(ctx.live.on("market", (m) => {
    const old = cards.get(m.id);
    if (!old || !old.isConnected) return;
    // The 24 h change moved with the price since: the base 24 h ago is the same.
    if (!("change_24h" in m) && typeof old.change === "number") {
      m.change_24h = String(old.change + (Number(m.price_yes) - Number(old.market.price_yes)));
    }
    const fresh = card(m);
    cards.set(m.id, fresh);
    old.replaceWith(fresh);
  }));
}
