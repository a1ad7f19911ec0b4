// Your positions across markets (value marked to the current price, P&L) and your trades.

import { h, clear, api, sol, signedSol, shares, pct, badge, relative, dateTime, marketHref } from "/static/util.js";

export function renderPortfolio(view, ctx) {
  const { wallet, onCleanup } = ctx;
  const summaryEl = h("div.summary");
  const posEl = h("div");
  const tradesEl = h("div");
  let alive = true;
  onCleanup(() => { alive = false; });

  clear(view, h("section.portfolio", { "data-testid": "portfolio" },
    h("h1", "Portfolio"), summaryEl,
    h("section.panel", h("h2.panel-title", "Positions"), posEl),
    h("section.panel", h("h2.panel-title", "Trades"), tradesEl)));

  async function load() {
    const addr = wallet.address;
    if (!addr) { clear(posEl, h("p.muted", "Connect a wallet.")); return; }
    let positions, trades;
    try {
      [positions, trades] = await Promise.all([
        api(`/api/users/${addr}/positions`), api(`/api/users/${addr}/trades`, { params: { limit: 50 } }),
      ]);
    } catch (e) {
      clear(posEl, h("p.error", e.message));
      return;
    }
    if (!alive) return;
    const ps = positions.positions;
    const value = ps.reduce((a, p) => a + p.value, 0);
    const pnl = ps.reduce((a, p) => a + p.pnl, 0);
    clear(summaryEl,
      h("div.stat", h("span.k", "Wallet"), h("span.v.mono", { title: addr }, addr)),
      h("div.stat", h("span.k", "Balance"), h("span.v", wallet.balance === null ? "…" : sol(wallet.balance))),
      h("div.stat", h("span.k", "Positions value"), h("span.v", sol(value))),
      h("div.stat", h("span.k", "P&L"), h(`span.v.${pnl > 0 ? "up" : pnl < 0 ? "down" : "flat"}`, signedSol(pnl))));
    clear(posEl, ps.length
      ? h("div.table-wrap", h("table.table",
        h("thead", h("tr", ["Market", "State", "YES", "NO", "Price", "Value", "Invested", "P&L"].map((c) => h("th", c)))),
        h("tbody", ps.map((p) => h("tr", { "data-testid": "position-row" },
          h("td", h("a", { href: marketHref({ id: p.market_id, question: p.question }) }, p.question || p.market_id.slice(0, 12))),
          h("td", badge(p.state), p.has_claimed ? h("span.muted", " claimed") : null),
          h("td.num", shares(p.shares_yes)),
          h("td.num", shares(p.shares_no)),
          h("td.num", pct(p.price_yes)),
          h("td.num", sol(p.value)),
          h("td.num", sol(p.total_invested)),
          h(`td.num.${p.pnl > 0 ? "up" : p.pnl < 0 ? "down" : "flat"}`, signedSol(p.pnl)))))))
      : h("p.muted", "No positions yet: pick a market and buy YES or NO."));
    clear(tradesEl, trades.trades.length
      ? h("div.table-wrap", h("table.table",
        h("thead", h("tr", ["When", "Market", "Trade", "Shares", "Total", "YES after"].map((c) => h("th", c)))),
        h("tbody", trades.trades.map((t) => h("tr",
          h("td", { title: dateTime(t.at) }, relative(t.at)),
          h("td", h("a.mono", { href: marketHref({ id: t.market_id, question: t.question }) }, t.market_id.slice(0, 8))),
          h("td", h(`span.side.${t.side}`, t.side.toUpperCase()), " ", h(`span.${t.outcome}`, t.outcome.toUpperCase())),
          h("td.num", shares(t.shares)),
          h("td.num", sol(t.total)),
          h("td.num", pct(t.price_yes_after)))))))
      : h("p.muted", "No trades yet."));
  }

  let last = wallet.address;
  onCleanup(wallet.onChange(() => {
    if (wallet.address !== last) { last = wallet.address; load(); }
  }));
  load();
}
