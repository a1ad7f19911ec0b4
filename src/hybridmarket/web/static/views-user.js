// A wallet's public profile (#/user/<wallet>): its totals (GET /api/users/<wallet>), positions
// (its portfolio, without actions), trades, the markets it created and its comments.

import { h, clear, api, sol, signedSol, dateTime, relative, shortAddr, sign, badge, marketHref } from "/static/util.js";
import { positionsTable, tradeHistory } from "/static/views-portfolio.js";

const WALLET_RE = /^[1-9A-HJ-NP-Za-km-z]{32,44}$/;

export function renderUser(view, address, ctx) {
  const { wallet, onCleanup } = ctx;
  let alive = true;
  onCleanup(() => { alive = false; });
  if (!WALLET_RE.test(address)) {
    clear(view, h("div.panel", h("h1", "Not a wallet address"), h("p.muted", address), h("a", { href: "#/" }, "← All markets")));
    return;
  }
  document.title = `${shortAddr(address)} · hybridmarket`;
  const summaryEl = h("div.summary", { "data-testid": "profile-totals" });
  const youEl = h("p.muted");
  const posEl = h("div", h("p.muted", "Loading positions…"));
  const tradesEl = h("div", { "data-testid": "trade-history" }, h("p.muted", "Loading trades…"));
  const createdEl = h("div", { "data-testid": "profile-markets" }, h("p.muted", "Loading markets…"));
  const commentsEl = h("div", { "data-testid": "profile-comment-list" }, h("p.muted", "Loading comments…"));
  clear(view, h("section.profile", { "data-testid": "profile", "data-wallet": address },
    h("h1", "Trader ", h("span.mono", { title: address }, shortAddr(address))),
    h("p.mono.profile-address", address), youEl,
    summaryEl,
    h("section.panel", h("h2.panel-title", "Positions"), posEl),
    h("section.panel", h("h2.panel-title", "Trades"), tradesEl),
    h("section.panel", h("h2.panel-title", "Markets created"), createdEl),
    h("section.panel", h("h2.panel-title", "Comments"), commentsEl)));

  const stat = (label, value, attrs = {}, cls = "") => h("div.stat", attrs, h("span.k", label), h(`span.v${cls}`, value));
  const syncYou = () => {
    clear(youEl, wallet.address === address ? ["This is your wallet. ", h("a", { href: "#/portfolio" }, "Your portfolio"), " has the actions."] : null);
  };
  onCleanup(wallet.onChange(syncYou));
  syncYou();

  api(`/api/users/${address}`).then((u) => {
    if (!alive) return;
    clear(summaryEl,
      stat("Realized P&L", signedSol(u.realized_pnl), { "data-testid": "profile-realized", title: `${u.realized_pnl} lamports` }, `.${sign(u.realized_pnl)}`),
      stat("Volume", sol(u.volume), { "data-testid": "profile-volume", title: `${u.volume} lamports` }),
      stat("Trades", String(u.trades), { "data-testid": "profile-trades" }),
      stat("Markets traded", String(u.markets_traded)),
      stat("Markets created", String(u.markets_created), { "data-testid": "profile-created" }),
      stat("Comments", String(u.comments), { "data-testid": "profile-comments" }),
      stat("Active since", u.first_seen ? dateTime(u.first_seen) : "–"),
      stat("Last seen", u.last_seen ? dateTime(u.last_seen) : "–"));
  }).catch((e) => clear(summaryEl, h("p.error", e.message)));
  api(`/api/users/${address}/portfolio`).then((pf) => {
    if (alive) clear(posEl, positionsTable(pf));
  }).catch((e) => clear(posEl, h("p.error", e.message)));
  tradeHistory(tradesEl, address)().catch((e) => clear(tradesEl, h("p.error", e.message)));
  const link = (x) => h("a", { href: marketHref({ id: x.market_id, question: x.question }) }, x.question || `${x.market_id.slice(0, 12)}…`);
  api(`/api/users/${address}/markets`, { params: { limit: 50 } }).then((d) => {
    if (!alive) return;
    clear(createdEl, d.markets.length
      ? h("div.table-wrap", h("table.table",
        h("thead", h("tr", h("th", { scope: "col" }, "Market"), h("th", { scope: "col" }, "State"),
          h("th", { scope: "col" }, "Proposed"), h("th.num", { scope: "col" }, "Volume"))),
        h("tbody", d.markets.map((m) => h("tr", { "data-testid": "created-row" },
          h("td", link(m)), h("td", badge(m.state)),
          h("td", { title: dateTime(m.created_at) }, relative(m.created_at)), h("td.num", sol(m.volume)))))))
      : h("p.muted", "No markets proposed."));
  }).catch((e) => clear(createdEl, h("p.error", e.message)));
  api(`/api/users/${address}/comments`, { params: { limit: 50 } }).then((d) => {
    if (!alive) return;
    clear(commentsEl, d.comments.length
      ? h("ol.comments", d.comments.map((c) => h("li.comment", { "data-testid": "profile-comment" },
        h("div.comment-head", link(c),
          h("time.muted", { datetime: c.created_at, title: dateTime(c.created_at) }, relative(c.created_at, Date.now()))), // the server's clock
        h("p.comment-body", c.content))))
      : h("p.muted", "No comments."));
  }).catch((e) => clear(commentsEl, h("p.error", e.message)));
}
