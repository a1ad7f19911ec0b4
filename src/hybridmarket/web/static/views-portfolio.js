// Your portfolio: each position's shares, average entry price, value, realized and unrealized
// P&L (GET /api/users/<wallet>/portfolio, exact lamports) and the action that applies now (sell,
// claim in one click, withdraw the liquidity of a market you created); totals; your trades.
// The tables are shared with the profile page (views-user.js), which shows them without actions.

import {
  h, clear, api, sol, signedSol, shares, pct, badge, relative, dateTime, marketHref, txLink, sign, LAMPORTS, untilIndexed,
} from "/static/util.js";

/** An average price (lamports per share unit, an exact decimal string) as SOL per share. */
function avgPrice(text) {
  return text === null || text === undefined ? "–" : sol(Number(text) * LAMPORTS, { precise: true });
}

function marketLink(m, extra = "") {
  return h("a", { href: marketHref({ id: m.market_id, question: m.question }) + extra }, m.question || `${m.market_id.slice(0, 12)}…`);
}

/** One figure per side held ("10.00 YES", "2.00 NO"), or "–". */
function perSide(p, yes, no) {
  const out = [];
  if (p.shares_yes) out.push(h("div", h("span.yes", "YES "), yes));
  if (p.shares_no) out.push(h("div", h("span.no", "NO "), no));
  return out.length ? out : "–";
}

/** After a claim or a withdrawal: wait (a few seconds at most) for the indexer to show it. */
function indexed(address, check) {
  return untilIndexed(async () => check(await api(`/api/users/${address}/portfolio`)));
}

/** The action a position allows now, for its owner: a link to the market's trade box to sell, a
 * button to claim, a button to withdraw the liquidity of a settled market it created. */
function actionCell(p, ctx, reload) {
  const { wallet, toast, act } = ctx;
  if (p.action === "sell") {
    const outcome = p.shares_yes ? "yes" : "no";
    return h("a.btn.btn-small", { href: marketHref({ id: p.market_id, question: p.question }) + `?trade=sell&outcome=${outcome}`, "data-testid": "action-sell" }, "Sell");
  }
  if (p.action === "claim") {
    const btn = h("button.btn.btn-small.btn-primary", { type: "button", "data-testid": "action-claim" }, `Claim ${sol(p.value)}`);
    btn.addEventListener("click", () => act(btn, "Signing…", async () => {
      await wallet.marketTransaction(p.market_id, "claim");
      toast(`Claimed ${sol(p.value)}`, "ok");
      await indexed(wallet.address, (pf) => pf.positions.some((x) => x.market_id === p.market_id && x.has_claimed));
      reload();
    }));
    return btn;
  }
  if (p.action === "withdraw_liquidity") return withdrawButton(p, ctx, reload);
  return p.has_claimed ? h("span.muted", "Claimed") : null;
}

function withdrawButton(m, ctx, reload) {
  const { wallet, toast, act } = ctx;
  const btn = h("button.btn.btn-small", { type: "button", "data-testid": "action-withdraw" },
    m.withdrawable ? `Withdraw ${sol(m.withdrawable)}` : "Withdraw liquidity");
  btn.addEventListener("click", () => act(btn, "Signing…", async () => {
    await wallet.marketTransaction(m.market_id, "withdraw");
    toast("Liquidity withdrawn", "ok");
    await indexed(wallet.address, (pf) => !pf.created.some((x) => x.market_id === m.market_id && x.withdrawable >= (m.withdrawable || 1)));
    reload();
  }));
  return btn;
}

/** The positions of a portfolio as a table; `ctx` given: the owner's, with actions. */
export function positionsTable(pf, ctx = null, reload = null) {
  const ps = pf.positions;
  if (!ps.length) return h("p.muted", { "data-testid": "no-positions" }, ctx ? "No positions yet: pick a market and buy YES or NO." : "No positions.");
  const cols = ["Market", "State", "Shares", "Avg. entry", "Value", "Realized P&L", "Unrealized P&L"];
  if (ctx) cols.push("Action");
  return h("div.table-wrap", h("table.table",
    h("thead", h("tr", cols.map((c, i) => h(i > 1 && i < 7 ? "th.num" : "th", { scope: "col" }, c)))),
    h("tbody", ps.map((p) => h("tr", { "data-testid": "position-row", "data-market": p.market_id },
      h("td", marketLink(p)),
      h("td", badge(p.state)),
      h("td.num", { "data-testid": "pos-shares" }, perSide(p, shares(p.shares_yes), shares(p.shares_no))),
      h("td.num", { "data-testid": "pos-avg" }, perSide(p, avgPrice(p.average_price_yes), avgPrice(p.average_price_no))),
      h("td.num", { "data-testid": "pos-value", title: `${p.value} lamports` }, sol(p.value)),
      h(`td.num.${sign(p.realized_pnl)}`, { "data-testid": "pos-realized", title: `${p.realized_pnl} lamports` }, signedSol(p.realized_pnl)),
      h(`td.num.${sign(p.unrealized_pnl)}`, { "data-testid": "pos-unrealized", title: `${p.unrealized_pnl} lamports` }, signedSol(p.unrealized_pnl)),
      ctx ? h("td", actionCell(p, ctx, reload)) : null)))));
}

/** A wallet's trades as a table (the market's question, side, shares, price, the transaction). */
export function tradesTable(trades) {
  if (!trades.length) return h("p.muted", "No trades yet.");
  return h("div.table-wrap", h("table.table",
    h("thead", h("tr", ["When", "Market", "Trade", "Shares", "Price", "Total", "YES after", "Transaction"].map((c, i) => h(i >= 3 && i <= 6 ? "th.num" : "th", { scope: "col" }, c)))),
    h("tbody", trades.map((t) => h("tr", { "data-testid": "trade-row" },
      h("td", { title: dateTime(t.at) }, relative(t.at)),
      h("td", marketLink(t)),
      h("td", h(`span.side.${t.side}`, t.side.toUpperCase()), " ", h(`span.${t.outcome}`, t.outcome.toUpperCase())),
      h("td.num", shares(t.shares)),
      // What a share cost (or fetched), fees included: the trade's total over its shares.
      h("td.num", { "data-testid": "trade-price" }, t.shares ? sol((t.total * LAMPORTS) / t.shares, { precise: true }) : "–"),
      h("td.num", sol(t.total)),
      h("td.num", pct(t.price_yes_after)),
      h("td", txLink(t.signature)))))));
}

/** A trades table with "Older trades" (GET /api/users/<w>/trades pages). */
export function tradeHistory(el, address) {
  let rows = [];
  const more = h("button.btn.btn-ghost.btn-small", { type: "button", hidden: true }, "Older trades");
  let before = null;
  async function load(next = false) {
    const d = await api(`/api/users/${address}/trades`, { params: { limit: 50, before: next ? before : undefined } });
    rows = next ? rows.concat(d.trades) : d.trades;
    before = d.next_before;
    clear(el, tradesTable(rows), more);
    more.hidden = !before;
  }
  more.addEventListener("click", () => load(true).catch((e) => console.warn(e)));
  return load;
}

function stat(label, value, attrs = {}, cls = "") {
  return h("div.stat", attrs, h("span.k", label), h(`span.v${cls}`, value));
}

export function totalsStats(t) {
  return [
    stat("Positions value", sol(t.value), { "data-testid": "total-value", title: `${t.value} lamports` }),
    stat("Cost basis", sol(t.cost_basis), { title: `${t.cost_basis} lamports` }),
    stat("Realized P&L", signedSol(t.realized_pnl), { "data-testid": "total-realized", title: `${t.realized_pnl} lamports` }, `.${sign(t.realized_pnl)}`),
    stat("Unrealized P&L", signedSol(t.unrealized_pnl), { "data-testid": "total-unrealized", title: `${t.unrealized_pnl} lamports` }, `.${sign(t.unrealized_pnl)}`),
    stat("P&L", signedSol(t.pnl), { "data-testid": "total-pnl", title: `${t.pnl} lamports` }, `.${sign(t.pnl)}`),
  ];
}

export function renderPortfolio(view, ctx) {
  const { wallet, onCleanup } = ctx;
  const summaryEl = h("div.summary", { "data-testid": "portfolio-totals" });
  const posEl = h("div");
  const createdEl = h("div");
  const tradesEl = h("div", { "data-testid": "trade-history" });
  let alive = true;
  onCleanup(() => { alive = false; });

  clear(view, h("section.portfolio", { "data-testid": "portfolio" },
    h("h1", "Portfolio"), summaryEl,
    h("section.panel", h("h2.panel-title", "Positions"), posEl),
    createdEl,
    h("section.panel", h("h2.panel-title", "Trades"), tradesEl)));

  async function load() {
    const addr = wallet.address;
    if (!addr) { clear(posEl, h("p.muted", "Connect a wallet.")); return; }
    let pf;
    try {
      pf = await api(`/api/users/${addr}/portfolio`);
    } catch (e) {
      clear(posEl, h("p.error", e.message));
      return;
    }
    if (!alive || wallet.address !== addr) return;
    const t = pf.totals;
    clear(summaryEl,
      h("div.stat", h("span.k", "Wallet"), h("a.v.mono", { href: `#/user/${addr}`, title: "Your public profile" }, addr)),
      stat("Balance", wallet.balance === null ? "…" : sol(wallet.balance)),
      totalsStats(t),
      t.claimable ? stat("To claim", sol(t.claimable), { "data-testid": "total-claimable" }) : null,
      t.withdrawable ? stat("To withdraw", sol(t.withdrawable), { "data-testid": "total-withdrawable" }) : null);
    clear(posEl, positionsTable(pf, ctx, load));
    // Settled markets it created with liquidity left, unless a position's action says it.
    const created = pf.created.filter((c) => !pf.positions.some((p) => p.market_id === c.market_id && p.action === "withdraw_liquidity"));
    clear(createdEl, created.length
      ? h("section.panel", { "data-testid": "created-liquidity" }, h("h2.panel-title", "Liquidity to withdraw"),
        h("div.table-wrap", h("table.table",
          h("thead", h("tr", h("th", { scope: "col" }, "Market you created"), h("th", { scope: "col" }, "State"), h("th.num", { scope: "col" }, "Withdrawable"), h("th", { scope: "col" }, "Action"))),
          h("tbody", created.map((c) => h("tr",
            h("td", marketLink(c)), h("td", badge(c.state)), h("td.num", sol(c.withdrawable)),
            h("td", withdrawButton(c, ctx, load))))))))
      : null);
    await tradeHistory(tradesEl, addr)().catch((e) => clear(tradesEl, h("p.error", e.message)));
  }

  let last = wallet.address;
  onCleanup(wallet.onChange(() => {
    if (wallet.address !== last) { last = wallet.address; load(); }
  }));
  // A market of yours settled while the page is open: its claim is offered at once.
  onCleanup(ctx.live.on("notification", (n) => {
    if (n.kind === "claimable" || n.kind === "finalized") load();
  }));
  load();
}
