// Leaderboards (#/leaderboards?by=profit|volume&period=all|week): realized profit or volume, all
// time or this week (the chain's), from GET /api/leaderboards. The choices are links, so they
// live in the URL (shareable, and the back button returns to the previous board).

import { h, clear, api, sol, signedSol, walletLink, sign } from "/static/util.js";

const BY = [["profit", "Realized profit"], ["volume", "Volume"]];
const PERIOD = [["all", "All time"], ["week", "This week"]];

export function boardHash(by, period) {
  const p = new URLSearchParams();
  if (by !== "profit") p.set("by", by);
  if (period !== "all") p.set("period", period);
  const s = p.toString();
  return `#/leaderboards${s ? `?${s}` : ""}`;
}

export function renderLeaderboards(view, ctx) {
  const { wallet, query, onCleanup } = ctx;
  const by = BY.some(([v]) => v === query.get("by")) ? query.get("by") : "profit";
  const period = PERIOD.some(([v]) => v === query.get("period")) ? query.get("period") : "all";
  let alive = true;
  onCleanup(() => { alive = false; });
  document.title = "Leaderboards · hybridmarket";

  const tabs = (label, options, current, href) => h("nav.seg.board-tabs", { "aria-label": label },
    options.map(([v, text]) => h(`a${v === current ? ".on" : ""}`, {
      href: href(v), "data-testid": `board-${v}`, "aria-current": v === current ? "true" : null,
    }, text)));
  const weekEl = h("p.muted", { "data-testid": "board-period" });
  const bodyEl = h("div", { "data-testid": "leaderboard" }, h("p.muted", "Loading…"));
  const more = h("button.btn.btn-ghost.btn-small", { type: "button", hidden: true }, "More");
  clear(view, h("section.leaderboards", { "data-testid": "leaderboards" },
    h("h1", "Leaderboards"),
    h("div.board-controls",
      tabs("Rank by", BY, by, (v) => boardHash(v, period)),
      tabs("Period", PERIOD, period, (v) => boardHash(by, v))),
    weekEl,
    h("section.panel", bodyEl, more)));

  let entries = [];
  let cursor = null;
  async function load(next = false) {
    const d = await api("/api/leaderboards", { params: { by, period, limit: 25, cursor: next ? cursor : undefined } });
    if (!alive) return;
    entries = next ? entries.concat(d.entries) : d.entries;
    cursor = d.next_cursor;
    more.hidden = !cursor;
    weekEl.textContent = d.week ? `The week of Monday ${d.week} (UTC, by the chain's clock).` : "Since the first trade.";
    const me = wallet.address;
    clear(bodyEl, entries.length
      ? h("div.table-wrap", h("table.table.board",
        h("caption.visually-hidden", `${BY.find(([v]) => v === by)[1]}, ${PERIOD.find(([v]) => v === period)[1].toLowerCase()}`),
        h("thead", h("tr", h("th.num", { scope: "col" }, "Rank"), h("th", { scope: "col" }, "Trader"),
          ["Realized P&L", "Volume", "Trades"].map((c) => h("th.num", { scope: "col" }, c)))),
        h("tbody", entries.map((e) => h(`tr${e.wallet === me ? ".me" : ""}`, { "data-testid": "board-row", "data-wallet": e.wallet },
          h("td.num", String(e.rank)),
          h("td", walletLink(e.wallet, { me })),
          h(`td.num.${sign(e.realized_pnl)}`, { title: `${e.realized_pnl} lamports` }, signedSol(e.realized_pnl)),
          h("td.num", { title: `${e.volume} lamports` }, sol(e.volume)),
          h("td.num", String(e.trades)))))))
      : h("p.muted", "Nobody has traded in this period yet."));
  }
  more.addEventListener("click", () => load(true).catch((e) => console.warn(e)));
  load().catch((e) => clear(bodyEl, h("p.error", e.message)));
}
