// A wallet's public profile (#/user/<wallet>): its totals (GET /api/users/<wallet>), positions
// (its portfolio, without actions), trades, comments and the markets it created (counts).

import { h, clear, api, sol, signedSol, dateTime, shortAddr, sign } from "/static/util.js";
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
  clear(view, h("section.profile", { "data-testid": "profile", "data-wallet": address },
    h("h1", "Trader ", h("span.mono", { title: address }, shortAddr(address))),
    h("p.mono.profile-address", address), youEl,
    summaryEl,
    h("section.panel", h("h2.panel-title", "Positions"), posEl),
    h("section.panel", h("h2.panel-title", "Trades"), tradesEl)));

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
}
