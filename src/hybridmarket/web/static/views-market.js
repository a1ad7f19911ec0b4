// One market: question, description, criteria; the price chart; the trade box with a live quote;
// proposal or dispute voting; resolution status; the creator's and resolver's actions; your
// position; the recent trades (the tape), the largest holders, volume and traders over time;
// follow and share; the discussion. Live from the tab's stream (live.js), for this market.

import {
  h, clear, api, pct, sol, signedSol, shares, bps, badge, shortAddr, dateTime, relative,
  debounce, ApiError, parseAmount, unitsText, chainNow, marketHref, marketPath, walletLink,
  untilIndexed,
} from "/static/util.js";
import { ActivityChart, PriceChart } from "/static/chart.js";
import { renderDiscussion } from "/static/views-discussion.js";
import { receiptPanel } from "/static/views-receipt.js";

const SLIPPAGE_KEY = "hybridmarket.slippageBps";
const TAPE = 20; // trades on the tape
const HOLDERS = 5; // holders per side
const INTERVALS = [["1h", "Hourly", 3600], ["1d", "Daily", 86400], ["1w", "Weekly", 7 * 86400]];
const BUCKETS = 30; // activity intervals shown, back from now

function section(title, attrs, ...children) {
  return h("section.panel", attrs || {}, title ? h("h2.panel-title", title) : null, ...children);
}

/** A toggle button's state: shown (.on) and said (aria-pressed). */
function press(button, on) {
  button.classList.toggle("on", on);
  button.setAttribute("aria-pressed", on ? "true" : "false");
}

function row(label, value, attrs) {
  return h("div.kv", attrs || {}, h("span.k", label), h("span.v", value));
}

const evidenceText = new Map(); // CID -> Promise of its text (null: not text, or unreadable)

/** The evidence a resolver wrote (or linked) as text, shown under its link; links in it are
 * links (http and https only), everything else stays text. Files are only linked. */
function evidencePreview(cid) {
  const el = h("blockquote.evidence-text", { "data-testid": "evidence-text", hidden: true });
  if (!cid) return el;
  if (!evidenceText.has(cid)) {
    evidenceText.set(cid, fetch(`/ipfs/${cid}`).then(async (r) => {
      if (!r.ok || !/^text\/plain/.test(r.headers.get("Content-Type") || "")) return null;
      return (await r.text()).slice(0, 2000);
    }).catch(() => null));
  }
  evidenceText.get(cid).then((text) => {
    if (!text) return;
    const parts = text.trim().split(/(https?:\/\/[^\s<>"]+)/);
    el.replaceChildren(...parts.map((part, i) => (i % 2
      ? h("a", { href: part.replace(/[.,;:!?)]+$/, ""), target: "_blank", rel: "noopener noreferrer nofollow" }, part)
      : part)));
    el.hidden = false;
  });
  return el;
}

function ipfsLink(cid, text) {
  if (!cid) return "–";
  return h("a.mono", { href: `/ipfs/${cid}`, target: "_blank", rel: "noopener", title: cid }, text || `${cid.slice(0, 10)}…${cid.slice(-6)}`);
}

function sizeText(bytes) {
  const n = Number(bytes);
  if (!Number.isFinite(n)) return "the server's limit";
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(n % (1 << 20) ? 1 : 0)} MiB` : `${Math.round(n / 1024)} KiB`;
}

/** What a share of a market that ended without an outcome (cancelled, or resolved invalid)
 * pays: the last price (the program's payout), not what its holder paid. */
function lastPricePays(m) {
  const yes = sol(Math.floor(Number(m.price_yes) * 1e9), { precise: true });
  const no = sol(Math.floor(Number(m.price_no) * 1e9), { precise: true });
  return `Each position is paid at the last price: a YES share ${yes}, a NO share ${no}.`;
}

function outcomeText(o) {
  return o === "yes" ? "YES" : o === "no" ? "NO" : o === "invalid" ? "Invalid (paid at the last price)" : "–";
}

export function renderMarket(view, id, ctx) {
  const { wallet, toast, act, onCleanup } = ctx;
  let market = null;
  let position = null;
  const feeTotalEl = h("span", { "data-testid": "fee-total" }, "–"); // filled by the trade box
  let actionsState = null; // (state, wallet) the action panel was drawn for
  let alive = true;
  onCleanup(() => { alive = false; });

  const headEl = h("div.market-head");
  const pricesEl = h("div.prices", { "data-testid": "prices" });
  const chartEl = h("div.chart", { "data-testid": "chart" });
  const chartNote = h("p.muted.chart-note");
  const spanSeg = h("div.seg.seg-small.span-seg", { role: "group", "aria-label": "Time range" },
    [["3600", "1H"], ["86400", "1D"], ["604800", "1W"], ["", "All"]].map(([v, label]) =>
      h(`button${v ? "" : ".on"}`, {
        type: "button", "data-span": v, "data-testid": `span-${label.toLowerCase()}`, "aria-pressed": v ? "false" : "true",
      }, label)));
  const aboutEl = h("div.slot-about");
  const resolutionEl = h("div.slot-resolution");
  const actionsEl = h("div.slot-actions");
  const positionEl = h("div.slot-position");
  const liveEl = h("ol.live-trades", { "data-testid": "live-trades" });
  const holdersEl = h("div", { "data-testid": "holders" }, h("p.muted", "Loading holders…"));
  // Activity: the chart, and its figures as a table (folded) for screen readers and exact reading.
  const activityNote = h("p.muted", "Loading activity…");
  const activityChartEl = h("div.chart.activity-chart", { "data-testid": "activity-chart", role: "img", hidden: true });
  const activityTable = h("div.table-wrap");
  const activityFigures = h("details.activity-figures", { "data-testid": "activity-figures", hidden: true },
    h("summary", "The figures"), activityTable);
  const activityEl = h("div", { "data-testid": "activity" }, activityNote, activityChartEl, activityFigures);
  const toolsEl = h("div.market-tools");
  let activityInterval = "1d";
  const intervalSel = h("select.input.input-small", {
    "aria-label": "Activity per", "data-testid": "activity-interval",
    on: { change: (e) => { activityInterval = e.currentTarget.value; loadActivity(); } },
  }, INTERVALS.map(([v, label]) => h("option", { value: v, selected: v === activityInterval }, label)));
  const liveDot = h("span.live-dot", { title: "Live updates" }, "live");
  const discussionEl = h("div.slot-discussion");
  // On a phone the trade box is far down the page: a bar at the bottom brings it up, while
  // the box itself is out of sight (narrow screens only, see app.css).
  const barYes = h("button.btn.btn-yes", { type: "button", "data-testid": "bar-buy-yes", on: { click: () => goTrade("yes") } }, "Buy YES");
  const barNo = h("button.btn.btn-no", { type: "button", "data-testid": "bar-buy-no", on: { click: () => goTrade("no") } }, "Buy NO");
  const tradeBar = h("div.trade-bar", { "data-testid": "trade-bar", role: "region", "aria-label": "Quick trade", hidden: true }, barYes, barNo);
  let tradeBoxEl = null;
  let tradeBoxSeen = false;
  const seen = new IntersectionObserver((entries) => {
    for (const e of entries) if (e.target === tradeBoxEl) tradeBoxSeen = e.isIntersecting && e.intersectionRatio >= 0.5;
    syncBar();
  }, { threshold: [0, 0.5, 1] });
  onCleanup(() => seen.disconnect());
  function syncBar() {
    const active = market && market.state === "ACTIVE" && tradeBoxEl && tradeBoxEl.isConnected;
    tradeBar.hidden = !active || tradeBoxSeen;
    if (active) {
      barYes.textContent = `Buy YES ${pct(market.price_yes)}`;
      barNo.textContent = `Buy NO ${pct(market.price_no)}`;
    }
  }
  /** The portfolio's "Sell" link (?trade=sell&outcome=…): the trade box, set to sell. */
  function goSell(outcome) {
    if (!tradeBoxEl) return;
    tradeBoxEl.querySelector('[data-testid="side-sell"]').click();
    tradeBoxEl.querySelector(`[data-testid="outcome-${outcome === "no" ? "no" : "yes"}"]`).click();
    tradeBoxEl.scrollIntoView({ block: "start" });
    tradeBoxEl.querySelector('[data-testid="trade-input"]').focus({ preventScroll: true });
  }
  function goTrade(outcome) {
    if (!tradeBoxEl) return;
    tradeBoxEl.querySelector('[data-testid="side-buy"]').click();
    tradeBoxEl.querySelector(`[data-testid="outcome-${outcome}"]`).click();
    tradeBoxEl.scrollIntoView({ block: "start" });
    tradeBoxEl.querySelector('[data-testid="trade-input"]').focus({ preventScroll: true });
  }

  clear(view,
    h("div.market-page", { "data-testid": "market-page", "data-id": id },
      h("a.back", { href: "#/" }, "← All markets"),
      headEl,
      h("div.layout",
        h("div.main-col",
          section(null, { class: "panel prices-panel" }, pricesEl),
          section("Price history", { class: "panel chart-panel" }, spanSeg, chartEl, chartNote),
          section("Volume and traders", { class: "panel activity-panel" }, intervalSel, activityEl),
          aboutEl,
          resolutionEl,
          discussionEl),
        h("aside.side-col",
          actionsEl,
          positionEl,
          section("Recent trades", { class: "panel live-panel" }, liveDot, liveEl),
          section("Largest holders", { class: "panel holders-panel" }, holdersEl))),
      tradeBar));

  const chart = new PriceChart(chartEl);
  for (const b of spanSeg.children) {
    b.addEventListener("click", () => {
      for (const o of spanSeg.children) press(o, o === b);
      chart.setSpan(b.dataset.span ? Number(b.dataset.span) : null);
    });
  }
  onCleanup(() => chart.destroy());
  const activityChart = new ActivityChart(activityChartEl);
  onCleanup(() => activityChart.destroy());

  // ---- header, prices, about, resolution ------------------------------------------------

  /** A settled market shows its outcome and what a share pays, not the last trading price
   * (which says nothing once the outcome is known). Null while it still trades. */
  function settledHead(m) {
    const out = m.resolution.final_outcome;
    let outcome = null;
    let payout = null;
    let cls = "";
    if (m.state === "CANCELLED") {
      outcome = "Cancelled";
      payout = m.activated_at ? lastPricePays(m) : "It never opened for trading: nobody holds shares.";
    } else if (m.state === "FINALIZED" && (out === "yes" || out === "no")) {
      const won = out.toUpperCase();
      const lost = out === "yes" ? "NO" : "YES";
      outcome = `${won} won`;
      payout = `Each ${won} share pays 1 SOL; ${lost} shares pay nothing.`;
      cls = `.${out}`;
    } else if (m.state === "FINALIZED") {
      outcome = "Invalid";
      payout = lastPricePays(m);
    } else {
      return null;
    }
    return [h(`div.price-big.outcome${cls}`, { "data-testid": "settled-outcome" },
      h("span.label", "Outcome"), h("span", outcome),
      h("span.muted.payout", { "data-testid": "settled-payout" }, payout))];
  }

  function renderHead() {
    const m = market;
    document.title = `${m.question} · hybridmarket`;
    clear(headEl,
      h("div.chips", m.category ? h("span.chip", m.category) : null, badge(m.state),
        m.closes_at ? h("span.muted", `Closes ${dateTime(m.closes_at)}`) : null),
      h("h1.question", { "data-testid": "question" }, m.question),
      toolsEl);
    clear(pricesEl,
      ...(settledHead(m) || [
        h("div.price-big.yes", h("span.label", "YES"), h("span", { "data-testid": "price-yes" }, pct(m.price_yes))),
        h("div.price-big.no", h("span.label", "NO"), h("span", { "data-testid": "price-no" }, pct(m.price_no))),
      ]),
      h("div.stats",
        row("Volume", sol(m.volume), { "data-testid": "volume" }),
        row("Liquidity", sol(m.liquidity)),
        row("Trades", String(m.trades_count), { "data-testid": "trades-count" })));
    clear(aboutEl, section("About this market", null,
      m.description ? h("p.description", m.description) : h("p.muted", "No description."),
      h("h3", "Resolution criteria"),
      m.resolution_criteria ? h("p.criteria", { "data-testid": "criteria" }, m.resolution_criteria) : h("p.muted", "None given."),
      h("div.kv-grid",
        row("Creator", walletLink(m.creator, { me: wallet.address })),
        row("Resolver", walletLink(m.resolver, { me: wallet.address })),
        row("Created", dateTime(m.created_at)),
        m.activated_at ? row("Trading since", dateTime(m.activated_at)) : null,
        row("Liquidity parameter b", sol(m.b_parameter)),
        row("Trading fee", feeTotalEl),
        row("Account", h("span.mono", { title: m.address }, shortAddr(m.address))))));
    renderResolution();
  }

  function renderResolution() {
    const m = market, r = m.resolution;
    const show = r.resolution_proposed_at || m.state === "CANCELLED" || m.state === "FINALIZED";
    if (!show) { clear(resolutionEl); return; }
    const rows = [];
    if (r.resolution_proposed_at) {
      rows.push(row("Proposed outcome", h("strong", { "data-testid": "proposed-outcome" }, outcomeText(r.proposed_outcome))));
      rows.push(row("Evidence", ipfsLink(r.evidence_cid), { "data-testid": "evidence" }));
      rows.push(evidencePreview(r.evidence_cid));
      rows.push(row("Resolved", dateTime(r.resolution_proposed_at)));
      if (r.dispute_deadline) {
        const open = m.state === "RESOLVING" && new Date(r.dispute_deadline).getTime() > chainNow();
        rows.push(row("Dispute window", open
          ? `open until ${dateTime(r.dispute_deadline)} (${relative(r.dispute_deadline)})`
          : `until ${dateTime(r.dispute_deadline)}`));
      }
    }
    if (r.dispute_initiated_at) {
      rows.push(row("Disputed by", walletLink(r.dispute_initiator, { me: wallet.address })));
      rows.push(row("Disputed", dateTime(r.dispute_initiated_at)));
      if (r.dispute_voting_deadline) {
        rows.push(row("Dispute voting ends", `${dateTime(r.dispute_voting_deadline)} (${relative(r.dispute_voting_deadline)})`));
      }
    }
    if (r.finalized_at) {
      rows.push(row("Final outcome", h("strong", { "data-testid": "final-outcome" }, outcomeText(r.final_outcome))));
      rows.push(row("Finalized", dateTime(r.finalized_at)));
    }
    if (r.cancelled_at) rows.push(row("Cancelled", dateTime(r.cancelled_at)));
    clear(resolutionEl, section("Resolution", { "data-testid": "resolution" }, h("div.kv-grid", rows)));
  }

  // ---- chart ---------------------------------------------------------------------------

  async function loadChart() {
    let data = await api(`/api/markets/${id}/history`, { params: { interval: "raw", limit: 5000 } });
    let note = "";
    if (data.points.length >= 5000) {
      data = await api(`/api/markets/${id}/history`, { params: { interval: "1h", limit: 5000 } });
      note = "Hourly closes.";
    }
    if (!alive) return;
    const pts = data.points.slice();
    const start = market.activated_at;
    if (start && (!pts.length || new Date(pts[0].t) > new Date(start))) {
      pts.unshift({ t: start, price_yes: "0.5" }); // LMSR opens at 50 % (no shares yet)
    }
    if (pts.length) pts.push({ t: new Date(chainNow()).toISOString(), price_yes: market.price_yes }); // up to now, the chain's
    chartEl.hidden = !pts.length;
    if (pts.length) chart.setData(pts);
    chartEl.dataset.history = String(data.points.length); // price points from the API
    chartNote.textContent = pts.length
      ? `${data.points.length} price point${data.points.length === 1 ? "" : "s"}. ${note}`
      : "Not trading yet.";
  }
  const reloadChart = debounce(() => loadChart().catch((e) => console.warn(e)), 150);

  // ---- position ------------------------------------------------------------------------

  async function loadPosition() {
    const addr = wallet.address;
    if (!addr) { position = null; renderPosition(); return; }
    try {
      const data = await api(`/api/users/${addr}/positions`);
      position = data.positions.find((p) => p.market_id === id) || null;
    } catch { position = null; }
    if (alive && market) { renderPosition(); renderActions(); }
  }

  function renderPosition() {
    if (!position || (!position.shares_yes && !position.shares_no && !position.total_invested)) {
      clear(positionEl, section("Your position", { "data-testid": "position" },
        h("p.muted", wallet.address ? "You hold no shares in this market." : "Connect a wallet to trade.")));
      return;
    }
    const p = position;
    const pnlCls = p.pnl > 0 ? "up" : p.pnl < 0 ? "down" : "";
    clear(positionEl, section("Your position", { "data-testid": "position" },
      h("div.kv-grid",
        row("YES shares", shares(p.shares_yes), { "data-testid": "pos-yes" }),
        row("NO shares", shares(p.shares_no), { "data-testid": "pos-no" }),
        row("Value", sol(p.value), { "data-testid": "pos-value" }),
        row("Invested", sol(p.total_invested)),
        p.total_withdrawn ? row("Sold for", sol(p.total_withdrawn)) : null,
        p.claimed ? row("Claimed", sol(p.claimed), { "data-testid": "pos-claimed" }) : null,
        row("P&L", h(`span.${pnlCls || "flat"}`, { "data-testid": "pnl" }, signedSol(p.pnl))))));
  }

  // ---- actions (by state and role) -----------------------------------------------------

  /** Draw the panels for the market's state and the wallet's role; when nothing that decides
   * them changed, refresh the ones drawn (keeps what is typed in the trade box). */
  function renderActions() {
    const m = market;
    const me = wallet.address;
    const settled = m.state === "FINALIZED" || m.state === "CANCELLED";
    const p = position;
    const key = [m.state, me, settled && p ? `${p.has_claimed}:${p.value}:${p.claimed}` : ""].join("|");
    if (key === actionsState) {
      for (const panel of actionsEl.children) if (panel.refresh) panel.refresh();
      syncBar();
      return;
    }
    actionsState = key;
    const panels = [];
    if (m.state === "ACTIVE") panels.push(tradeBox());
    if (m.state === "PROPOSED") panels.push(votePanel("proposal"));
    if (m.state === "DISPUTED") panels.push(votePanel("dispute"));
    if (me) panels.push(receiptPanel(id, me, m.state)); // hidden until this wallet has voted
    if (m.state === "RESOLVING") panels.push(disputePanel());
    if (m.state === "APPROVED") panels.push(activatePanel(m.creator === me));
    if (m.state === "ACTIVE" && me && m.resolver === me) panels.push(resolvePanel());
    if (settled) panels.push(claimPanel());
    // Only a market that opened holds the creator's liquidity (the program pays nothing else).
    if (settled && me && m.creator === me && m.activated_at) panels.push(withdrawPanel());
    clear(actionsEl, panels);
    syncBar();
  }

  /** Build the transaction `path` (body: the fields, or an async function giving them), sign
   * and relay it, then `done`. */
  async function send(button, busyLabel, path, body, done) {
    return act(button, busyLabel, async () => {
      if (!wallet.address) throw new Error("connect a wallet first");
      const fields = typeof body === "function" ? await body() : body;
      const { built, out } = await wallet.marketTransaction(id, path, fields);
      await done(built, out);
      settle();
      return out;
    });
  }

  /** After a transaction: the indexer picks it up within a moment; the stream tells us, but
   * poll a little too in case the stream is down. */
  async function settle() {
    const before = market.updated_at;
    await untilIndexed(async () => {
      const m = await api(`/api/markets/${id}`);
      if (m.updated_at === before) return false;
      onMarket(m);
      return true;
    }, { tries: 20, alive: () => alive });
    loadPosition();
  }

  function tradeBox() {
    const st = {
      side: "buy", outcome: "yes", mode: "amount",
      slippage: Number(localStorage.getItem(SLIPPAGE_KEY) || 100),
    };
    const quoteEl = h("div.quote", { "data-testid": "quote" });
    // Text, not type=number: a number input silently drops or reinterprets a decimal comma.
    const input = h("input.input.amount-input", {
      type: "text", inputmode: "decimal", autocomplete: "off", placeholder: "0.0",
      "aria-label": "Amount", "data-testid": "trade-input",
    });
    const unitEl = h("span.unit", "SOL");
    const submit = h("button.btn.btn-primary.btn-block", { type: "button", "data-testid": "trade-submit", disabled: true }, "Buy YES");
    const holdEl = h("p.muted.hold");
    const slipSummary = h("span.muted");
    const seg = (name, options, attrs = {}) => h("div.seg", { role: "group", ...attrs },
      options.map(([v, label]) => h("button", {
        type: "button", "data-value": v, "data-testid": `${name}-${v}`,
        on: { click: () => { st[name] = v; sync(); requote(); } },
      }, label)));
    const sideSeg = seg("side", [["buy", "Buy"], ["sell", "Sell"]], { "aria-label": "Buy or sell" });
    const outcomeSeg = h("div.outcome-seg", { role: "group", "aria-label": "Outcome" },
      ["yes", "no"].map((o) => h(`button.outcome.outcome-${o}`, {
        type: "button", "data-value": o, "data-testid": `outcome-${o}`,
        on: { click: () => { st.outcome = o; sync(); requote(); } },
      }, h("span", o.toUpperCase()), h("span.outcome-price", { "data-price": o }))));
    const modeSeg = seg("mode", [["amount", "SOL"], ["shares", "Shares"]], { "aria-label": "Amount in SOL or shares" });
    const slipInput = h("input.input.slip-input", {
      type: "number", min: "0", max: "50", step: "0.1", "aria-label": "Slippage tolerance (%)",
      "data-testid": "slippage", value: String(st.slippage / 100),
    });
    const slipError = h("p.error.slip-error", { "data-testid": "slippage-error", hidden: true });
    function setSlippage(v) {
      st.slippage = v;
      slipInput.value = String(v / 100);
      slipError.hidden = true;
      localStorage.setItem(SLIPPAGE_KEY, String(v));
      sync();
      requote(); // the quote's limits depend on it
    }
    slipInput.addEventListener("change", () => {
      const text = slipInput.value.trim().replace(",", ".");
      const v = Math.round(Number(text) * 100);
      if (text && Number.isFinite(v) && v >= 0 && v <= 5000) {
        setSlippage(v);
      } else {
        slipError.textContent = "Slippage tolerance is a percentage from 0 to 50.";
        slipError.hidden = false;
      }
    });
    const slipPresets = h("div.seg.seg-small", { role: "group", "aria-label": "Slippage presets" }, [50, 100, 200].map((b) => h("button", {
      type: "button", "data-value": String(b),
      on: { click: () => setSlippage(b) },
    }, `${b / 100}%`)));
    const maxBtn = h("button.btn.btn-small.btn-ghost", {
      type: "button", hidden: true,
      on: {
        click: () => {
          const held = position ? (st.outcome === "yes" ? position.shares_yes : position.shares_no) : 0;
          input.value = unitsText(held);
          requote();
        },
      },
    }, "Max");

    function units() {
      const { units: u } = parseAmount(input.value);
      return u && u > 0 ? u : null;
    }

    function sync() {
      if (st.side === "sell") st.mode = "shares";
      for (const b of sideSeg.children) press(b, b.dataset.value === st.side);
      for (const b of outcomeSeg.children) press(b, b.dataset.value === st.outcome);
      for (const b of modeSeg.children) {
        press(b, b.dataset.value === st.mode);
        b.disabled = st.side === "sell" && b.dataset.value === "amount";
      }
      for (const b of slipPresets.children) press(b, Number(b.dataset.value) === st.slippage);
      slipSummary.textContent = `${(st.slippage / 100).toFixed(2)}%`;
      for (const el of outcomeSeg.querySelectorAll("[data-price]")) {
        el.textContent = pct(el.dataset.price === "yes" ? market.price_yes : market.price_no);
      }
      unitEl.textContent = st.mode === "amount" ? "SOL" : "shares";
      submit.textContent = `${st.side === "buy" ? "Buy" : "Sell"} ${st.outcome.toUpperCase()}`;
      submit.classList.toggle("btn-no", st.outcome === "no");
      const held = position ? (st.outcome === "yes" ? position.shares_yes : position.shares_no) : 0;
      holdEl.textContent = st.side === "sell" ? `You hold ${shares(held)} ${st.outcome.toUpperCase()} shares.` : "";
      maxBtn.hidden = st.side !== "sell" || !held;
    }

    let quoteCtl = null;
    let lastQuote = null;
    async function fetchQuote() {
      const u = units();
      lastQuote = null;
      submit.disabled = true;
      if (quoteCtl) quoteCtl.abort();
      const held = position ? (st.outcome === "yes" ? position.shares_yes : position.shares_no) : 0;
      if (u && st.side === "sell" && u > held) {
        // Checked before anything is signed: the program would refuse it, after the fee.
        clear(quoteEl, h("p.error", { "data-testid": "sell-too-much" },
          `You hold ${shares(held)} ${st.outcome.toUpperCase()} shares: you cannot sell ${shares(u)}.`));
        return;
      }
      if (!u) {
        const { error } = parseAmount(input.value);
        clear(quoteEl, error
          ? h("p.error", { "data-testid": "amount-error" }, error)
          : h("p.muted", "Enter an amount to see a quote."));
        return;
      }
      quoteCtl = new AbortController();
      const params = { outcome: st.outcome, side: st.side };
      params[st.mode === "amount" ? "amount" : "shares"] = u;
      try {
        const data = await api(`/api/markets/${id}/price`, { params, signal: quoteCtl.signal });
        const q = data.quote;
        lastQuote = { q, u, st: { ...st } };
        const impactCls = q.price_impact_bps > 500 ? "warn" : "";
        const fees = q.fees.protocol + q.fees.resolver + q.fees.lp;
        clear(quoteEl,
          row(st.side === "buy" ? "You get" : "You sell", `${shares(q.shares)} ${st.outcome.toUpperCase()} shares`, { "data-testid": "quote-shares" }),
          row("Average price", pct(q.average_price, 2)),
          row("Cost before fees", sol(q.amount, { precise: true })),
          row("Fees", sol(fees, { precise: true }), { title: `protocol ${sol(q.fees.protocol, { precise: true })}, resolver ${sol(q.fees.resolver, { precise: true })}, liquidity providers ${sol(q.fees.lp, { precise: true })}` }),
          h("div.fee-detail.muted",
            `protocol ${sol(q.fees.protocol, { precise: true, unit: false })} · resolver ${sol(q.fees.resolver, { precise: true, unit: false })} · LP ${sol(q.fees.lp, { precise: true, unit: false })}`),
          row(st.side === "buy" ? "Total cost" : "You receive", h("strong", sol(q.total, { precise: true })), { "data-testid": "quote-total" }),
          row("Price after", `${pct(q.price_before, 1)} → ${pct(q.price_after, 1)}`),
          row("Price impact", h(`span.${impactCls || "flat"}`, bps(q.price_impact_bps)), { "data-testid": "quote-impact" }),
          st.side === "buy"
            ? row("Max with slippage", sol(q.total + Math.floor((q.total * st.slippage) / 10000), { precise: true }))
            : row("Min with slippage", sol(q.total - Math.floor((q.total * st.slippage) / 10000), { precise: true })),
          st.side === "buy" ? h("p.muted.payout", `Pays ${sol(q.shares)} if ${st.outcome.toUpperCase()} wins.`) : null,
          short(q) ? h("p.error", { "data-testid": "quote-short" }, `Your wallet has ${sol(wallet.balance)}: not enough.${wallet.faucet && wallet.faucet.available ? " Get more with +10 SOL at the top." : ""}`) : null);
        submit.disabled = false;
      } catch (e) {
        if (e.name === "AbortError") return;
        clear(quoteEl, h("p.error", { "data-testid": "quote-error" }, e.message));
      }
    }
    const requote = debounce(fetchQuote, 200);
    input.addEventListener("input", requote);

    /** A buy the wallet cannot pay for (the cost with slippage, plus a little for fees and
     * the position account's rent). */
    function short(q) {
      if (st.side !== "buy" || wallet.balance === null) return false;
      const most = q.total + Math.floor((q.total * st.slippage) / 10000);
      return most + 3_000_000 > wallet.balance;
    }

    submit.addEventListener("click", () => {
      const lq = lastQuote;
      if (!lq) return;
      if (short(lq.q)) {
        toast(`Not enough SOL for this trade: your wallet has ${sol(wallet.balance)}.`, "error");
        return;
      }
      const body = { outcome: lq.st.outcome, slippage_bps: lq.st.slippage };
      body[lq.st.mode === "amount" ? "amount" : "shares"] = lq.u;
      return send(submit, "Signing…", lq.st.side, body, (built) => {
        const q = built.quote;
        toast(`${lq.st.side === "buy" ? "Bought" : "Sold"} ${shares(q.shares)} ${lq.st.outcome.toUpperCase()} for ${sol(q.total)}`, "ok");
        input.value = "";
        fetchQuote();
      });
    });

    // The fee rate, before any amount is typed: every trade pays it.
    const feeEl = h("p.muted.fee-rate", { "data-testid": "fee-rate" });
    api(`/api/markets/${id}/price`).then((d) => {
      const f = d.fees_bps;
      feeEl.textContent = `Fees: ${bps(f.total)} of each trade (protocol ${bps(f.protocol)}, resolver ${bps(f.resolver)}, liquidity providers ${bps(f.lp)}).`;
      feeTotalEl.textContent = `${bps(f.total)} per trade`;
    }).catch(() => {});

    const panel = section("Trade", { class: "panel trade", "data-testid": "trade-box" },
      sideSeg, outcomeSeg, feeEl,
      h("div.amount-row", h("label.amount-wrap", input, unitEl), modeSeg, maxBtn),
      holdEl,
      quoteEl,
      h("details.slippage",
        h("summary", "Slippage tolerance ", slipSummary),
        h("div.slip-row", slipPresets, h("label.slip-custom", slipInput, "%")), slipError),
      submit);
    panel.refresh = () => { sync(); fetchQuote(); };
    panel.refresh();
    if (tradeBoxEl) seen.unobserve(tradeBoxEl);
    tradeBoxEl = panel;
    tradeBoxSeen = false;
    seen.observe(panel);
    return panel;
  }

  function votePanel(kind) {
    const body = h("div", { "data-testid": `votes-${kind}` }, h("p.muted", "Loading votes…"));
    const yesLabel = kind === "proposal" ? "Like" : "Outcome is wrong";
    const noLabel = kind === "proposal" ? "Dislike" : "Outcome is right";
    const intro = kind === "proposal"
      ? "Should this market open for trading? It is approved when enough wallets like it."
      : `The resolver proposed ${outcomeText(market.resolution.proposed_outcome)}. Vote whether that is wrong: enough "wrong" votes flip it.`;
    async function load() {
      let v;
      try {
        v = await api(`/api/markets/${id}/votes`, { params: { wallet: wallet.address } });
      } catch (e) {
        clear(body, h("p.error", e.message));
        return;
      }
      const t = v[kind];
      const yes = kind === "proposal" ? t.likes : t.agree;
      const no = kind === "proposal" ? t.dislikes : t.disagree;
      const total = yes + no;
      const share = total ? yes / total : 0;
      const needs = t.threshold_bps / 10000;
      const passes = total >= t.min_votes && share >= needs;
      // Colour follows meaning: green agrees (a like; the outcome is right), red objects (a
      // dislike; the outcome is wrong), whichever way the program counts the vote.
      const [trueCls, falseCls] = kind === "proposal" ? ["yes", "no"] : ["no", "yes"];
      const buttons = [
        h(`button.btn.btn-${trueCls}`, { type: "button", "data-testid": `vote-yes`, on: { click: (e) => vote(e.currentTarget, true) } }, yesLabel),
        h(`button.btn.btn-${falseCls}`, { type: "button", "data-testid": `vote-no`, on: { click: (e) => vote(e.currentTarget, false) } }, noLabel),
      ];
      if (t.your_vote) buttons.forEach((b) => { b.disabled = true; });
      clear(body,
        h(`div.tally.tally-${kind}`, { "data-testid": "tally", "data-yes": yes, "data-no": no },
          h("div.tally-bar",
            h("span.tally-yes", { style: { width: `${(share * 100).toFixed(1)}%` } }),
            h("span.tally-threshold", { style: { left: `${needs * 100}%` }, title: `Threshold ${bps(t.threshold_bps)}` })),
          h("div.tally-nums",
            h(`span.${trueCls}`, `${yes} ${kind === "proposal" ? "like" : "wrong"}${kind === "proposal" && yes !== 1 ? "s" : ""}`),
            h(`span.${falseCls}`, `${no} ${kind === "proposal" ? "dislike" : "right"}${kind === "proposal" && no !== 1 ? "s" : ""}`))),
        h("p.tally-rule", { "data-testid": "threshold" },
          `${total ? (share * 100).toFixed(1) : "0"}% of ${total} vote${total === 1 ? "" : "s"}. Needs ${bps(t.threshold_bps)} of at least ${t.min_votes} votes — `,
          h(`strong.${passes ? "up" : "flat"}`, passes ? "would pass now." : "not there yet.")),
        t.your_vote
          ? h("p", { "data-testid": "your-vote" }, "You voted: ", h("strong", t.your_vote.vote ? yesLabel : noLabel), ".")
          : null,
        h("div.btn-row", buttons),
        t.published_tally ? h("p.muted", "Published tally: ", ipfsLink(t.published_tally.cid)) : null,
        kind === "dispute" && market.resolution.dispute_voting_deadline
          ? h("p.muted", `Voting ends ${dateTime(market.resolution.dispute_voting_deadline)} (${relative(market.resolution.dispute_voting_deadline)}).`)
          : null);
    }
    function vote(button, v) {
      return send(button, "Signing…", "vote", { kind, vote: v }, async () => {
        toast("Vote recorded on chain", "ok");
        await untilIndexed(async () => {
          const data = await api(`/api/markets/${id}/votes`, { params: { wallet: wallet.address } });
          return data[kind].your_vote;
        }, { tries: 20, alive: () => alive });
        await load();
      });
    }
    load();
    const panel = section(kind === "proposal" ? "Proposal vote" : "Dispute vote", { "data-testid": "vote-panel" },
      h("p.muted", intro), body);
    panel.refresh = load;
    return panel;
  }

  function disputePanel() {
    const r = market.resolution;
    // The program refuses a dispute of an INVALID resolution (every position is paid at the last price, so
    // there is no side to flip to): offer only what it allows.
    const disputable = r.proposed_outcome === "yes" || r.proposed_outcome === "no";
    let btn = null;
    if (disputable) {
      btn = h("button.btn.btn-no", { type: "button", "data-testid": "initiate-dispute" }, "Dispute this resolution");
      btn.addEventListener("click", () => send(btn, "Signing…", "initiate-dispute", {}, () => toast("Dispute opened: voting begins", "ok")));
    }
    return section("Resolution proposed", { "data-testid": "dispute-panel" },
      h("p", "The resolver says ", h("strong", outcomeText(r.proposed_outcome)), ". Evidence: ", ipfsLink(r.evidence_cid), "."),
      r.dispute_deadline
        ? h("p.muted", disputable
          ? `Unless disputed, it becomes final ${relative(r.dispute_deadline)} (${dateTime(r.dispute_deadline)}).`
          : `An invalid resolution cannot be disputed: every position is paid at the last price once it is final, ${relative(r.dispute_deadline)} (${dateTime(r.dispute_deadline)}).`)
        : null,
      btn);
  }

  function activatePanel(isCreator) {
    if (!isCreator) {
      return section("Approved", null, h("p.muted", "Voters approved this market. It opens for trading when its creator deposits the liquidity."));
    }
    const btn = h("button.btn.btn-primary", { type: "button", "data-testid": "activate" }, `Activate (deposit ${sol(market.initial_liquidity)})`);
    btn.addEventListener("click", () => send(btn, "Signing…", "activate", {}, () => toast("Market activated: trading is open", "ok")));
    return section("Approved: activate your market", null, h("p.muted", "Deposit the initial liquidity to open trading."), btn);
  }

  /** The resolver's resolution: the outcome and its evidence (text, a link, or a file), which
   * is stored on IPFS first (POST /api/evidence); its CID goes into the resolve transaction and
   * the page links it through the gateway. */
  function resolvePanel() {
    const sel = h("select.input", { "aria-label": "Outcome", "data-testid": "resolve-outcome" },
      h("option", { value: "yes" }, "YES"), h("option", { value: "no" }, "NO"), h("option", { value: "invalid" }, "Invalid (pay at the last price)"));
    const text = h("textarea.input", {
      rows: 3, placeholder: "What shows the outcome: a statement, or a link to the source",
      "aria-label": "Evidence (text or a link)", "data-testid": "resolve-evidence",
    });
    const file = h("input.input", { type: "file", "aria-label": "Or a file as evidence", "data-testid": "resolve-file" });
    const err = h("p.error", { "data-testid": "resolve-error", role: "alert", hidden: true });
    const btn = h("button.btn.btn-primary", { type: "button", "data-testid": "resolve" }, "Resolve");
    const say = (msg) => { err.textContent = msg || ""; err.hidden = !msg; };
    btn.addEventListener("click", () => {
      const doc = file.files && file.files[0]
        ? file.files[0]
        : text.value.trim() ? new Blob([text.value.trim() + "\n"], { type: "text/plain; charset=utf-8" }) : null;
      if (!doc) { say("Give the evidence: write it, link it, or attach a file."); return; }
      say(null);
      return send(btn, "Storing evidence…", "resolve", async () => {
        let stored;
        try {
          stored = await api("/api/evidence", { method: "POST", body: doc });
        } catch (e) {
          say(e.status === 413 ? `The evidence is too large: at most ${sizeText(e.details && e.details.max_bytes)}.` : `The evidence could not be stored: ${e.message}`);
          throw e;
        }
        return { outcome: sel.value, evidence_cid: stored.cid };
      }, () => toast("Resolution proposed: the dispute window is open", "ok"));
    });
    return section("You are the resolver", { "data-testid": "resolve-panel" },
      h("p.muted", "Once the market may be resolved, propose its outcome with the evidence for it: it is stored on IPFS and its CID goes on chain."),
      h("label.field", h("span.field-label", "Outcome"), sel),
      h("label.field", h("span.field-label", "Evidence"), text),
      h("label.field", h("span.field-label", "or a file"), file),
      err, btn);
  }

  function claimPanel() {
    const p = position;
    const out = market.resolution.final_outcome;
    const intro = market.state === "CANCELLED"
      ? "This market was cancelled: each position is paid at the last price."
      : `Final outcome: ${outcomeText(out)}.`;
    if (!wallet.address || !p) return section("Settled", { "data-testid": "claim-panel" }, h("p.muted", intro), h("p.muted", "You had no position here."));
    if (p.has_claimed) {
      return section("Settled", { "data-testid": "claim-panel" }, h("p.muted", intro),
        h("p", { "data-testid": "claimed" }, `You claimed ${sol(p.claimed)}.`));
    }
    if (!(p.value > 0)) { // the program refuses a claim of nothing (NothingToClaim)
      return section("Settled", { "data-testid": "claim-panel" }, h("p.muted", intro),
        h("p.muted", { "data-testid": "nothing-to-claim" }, "Your position pays nothing: there is nothing to claim."));
    }
    const btn = h("button.btn.btn-primary.btn-block", { type: "button", "data-testid": "claim" }, `Claim ${sol(p.value)}`);
    btn.addEventListener("click", () => send(btn, "Signing…", "claim", {},
      () => toast(market.state === "CANCELLED" ? `Claimed ${sol(p.value)}` : "Winnings claimed", "ok")));
    return section("Settled: claim", { "data-testid": "claim-panel" }, h("p.muted", intro), btn);
  }

  function withdrawPanel() {
    const btn = h("button.btn", { type: "button", "data-testid": "withdraw" }, "Withdraw liquidity");
    btn.addEventListener("click", () => send(btn, "Signing…", "withdraw", {}, () => toast("Liquidity withdrawn", "ok")));
    return section("Creator", null, h("p.muted", "Take back what remains of the liquidity you deposited."), btn);
  }

  // ---- the tape, holders, activity --------------------------------------------------------

  const onTape = new Set(); // the trades shown (a live one may also come with the first page)
  function tradeItem(t) {
    return h("li", { "data-testid": "tape-trade" },
      h(`span.side.${t.side}`, t.side.toUpperCase()), " ",
      h(`span.${t.outcome}`, t.outcome.toUpperCase()), " ",
      `${shares(t.shares)} sh · ${sol(t.total)} · `,
      h("span.muted", `YES → ${pct(t.price_yes_after)}`),
      h("div.tape-meta", walletLink(t.wallet, { me: wallet.address }), " ",
        h("time.muted", { datetime: t.at, title: dateTime(t.at) }, relative(t.at))));
  }
  function addTrade(t, first) {
    const key = `${t.signature}:${t.side}:${t.outcome}:${t.shares}`;
    if (onTape.has(key)) return;
    onTape.add(key);
    if (first) liveEl.prepend(tradeItem(t));
    else liveEl.append(tradeItem(t));
    while (liveEl.children.length > TAPE) liveEl.lastChild.remove();
  }
  async function loadTape() {
    const data = await api(`/api/markets/${id}/trades`, { params: { limit: TAPE } });
    if (alive) for (const t of data.trades) addTrade(t, false); // newest first, below live ones
  }

  async function loadHolders() {
    const d = await api(`/api/markets/${id}/holders`, { params: { limit: HOLDERS } });
    if (!alive) return;
    const side = (label, cls, list) => h(`div.holders-side`, { "data-testid": `holders-${cls}` },
      h(`h3.${cls}`, label),
      list.length
        ? h("ol.holders", list.map((x) => h("li", { "data-testid": "holder" },
          walletLink(x.wallet, { me: wallet.address }), h("span.num", `${shares(x.shares)} sh`))))
        : h("p.muted", "Nobody holds any."));
    clear(holdersEl, h("div.holders-grid", side("YES", "yes", d.yes), side("NO", "no", d.no)));
  }

  function activitySays(text, error = false) {
    activityNote.hidden = false;
    activityNote.className = error ? "error" : "muted";
    activityNote.textContent = text;
  }
  let activityLoads = 0; // only the latest answer is drawn (the interval may change meanwhile)
  async function loadActivity() {
    const load = ++activityLoads;
    const interval = activityInterval;
    const [, , seconds] = INTERVALS.find(([v]) => v === interval);
    const now = chainNow();
    const since = new Date(now - BUCKETS * seconds * 1000);
    const d = await api(`/api/markets/${id}/activity`, { params: { interval, since: since.toISOString(), limit: BUCKETS + 1 } });
    if (!alive || load !== activityLoads) return;
    const empty = !d.buckets.length;
    activityChartEl.hidden = empty;
    activityFigures.hidden = empty;
    if (empty) { activitySays("No trades yet."); clear(activityTable); return; }
    activityNote.hidden = true;
    const word = interval === "1w" ? "Week of" : interval === "1h" ? "Hour" : "Day";
    const noun = interval === "1w" ? "week" : interval === "1h" ? "hour" : "day";
    const when = (t) => (interval === "1h" ? dateTime(t) : new Date(t).toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" }));
    activityChart.setData(d.buckets, {
      step: seconds,
      from: Math.floor(since.getTime() / 1000),
      to: Math.floor(now / 1000),
      label: word,
      when: (s) => when(s * 1000),
    });
    const total = d.buckets.reduce((sum, b) => sum + BigInt(b.volume), 0n);
    activityChartEl.setAttribute("aria-label",
      `Volume (bars) and traders (points) per ${noun}, the last ${BUCKETS}: ${d.buckets.length} with trades, ` +
      `${sol(total.toString())} traded. The figures follow.`);
    clear(activityTable, h("table.table.table-compact",
      h("caption.visually-hidden", "Volume, trades and traders per interval, newest first"),
      h("thead", h("tr", h("th", { scope: "col" }, word),
        ["Volume", "Trades", "Traders"].map((c) => h("th.num", { scope: "col" }, c)))),
      h("tbody", d.buckets.slice().reverse().map((b) => h("tr", { "data-testid": "activity-row" },
        h("td", when(b.t)), h("td.num", { title: `${b.volume} lamports` }, sol(b.volume)),
        h("td.num", String(b.trades)), h("td.num", String(b.traders)))))));
  }
  const reloadActivity = debounce(() => {
    loadHolders().catch((e) => console.warn(e));
    loadActivity().catch((e) => console.warn(e));
  }, 300);

  // ---- follow, share -------------------------------------------------------------------

  let following = null; // null: not known (no wallet, or not read yet)
  const followBtn = h("button.btn.btn-small", { type: "button", "data-testid": "follow", "aria-pressed": "false" }, "Follow");
  const shareBtn = h("button.btn.btn-small.btn-ghost", { type: "button", "data-testid": "share" }, "Share");
  function renderTools() {
    followBtn.hidden = !wallet.address || following === null;
    followBtn.textContent = following ? "Following" : "Follow";
    followBtn.title = following ? "Stop following: no more notifications about it unless you hold it" : "Get notified when it is resolved, disputed, finalized or commented";
    followBtn.setAttribute("aria-pressed", following ? "true" : "false");
    followBtn.classList.toggle("on", !!following);
    shareBtn.dataset.url = market ? location.origin + marketPath(market) : "";
    clear(toolsEl, followBtn, shareBtn);
  }
  /** Whether the wallet follows this market: one page of its follows, starting right before
   * this id (they are listed by market id). */
  async function loadFollowing() {
    const me = wallet.address;
    following = null;
    renderTools();
    if (!me) return;
    const before = (BigInt(`0x${id}`) - 1n).toString(16).padStart(64, "0");
    const params = { limit: 1 };
    if (BigInt(`0x${id}`) > 0n) params.cursor = before;
    try {
      const d = await api(`/api/users/${me}/follows`, { params });
      if (alive && wallet.address === me) following = d.follows.length > 0 && d.follows[0].market_id === id;
    } catch (e) { console.warn(e); }
    if (alive) renderTools();
  }
  followBtn.addEventListener("click", (e) => act(e.currentTarget, following ? "Unfollowing…" : "Following…", async () => {
    const action = following ? "unfollow_market" : "follow_market";
    const { message, signature } = await wallet.signAction(action, id);
    await api("/api/follows", {
      method: following ? "DELETE" : "POST",
      body: { market_id: id, wallet: wallet.address, message, signature },
    });
    following = !following;
    toast(following ? "Following: you will be notified of what happens to this market" : "No longer following", "ok");
  }).then(renderTools));
  shareBtn.addEventListener("click", async () => {
    const url = shareBtn.dataset.url;
    try {
      await navigator.clipboard.writeText(url);
      toast("Link copied", "ok");
    } catch {
      toast(`Copy this link: ${url}`, "info", 15000); // no clipboard here (plain http on a LAN)
    }
    ctx.announce("Link copied");
  });

  // ---- live ----------------------------------------------------------------------------

  function onMarket(m) {
    if (!alive || m.id !== id) return;
    const old = market;
    market = m;
    renderHead();
    renderActions();
    if (old.updated_at !== m.updated_at || old.trades_count !== m.trades_count) reloadChart();
  }

  function onTrade(t) {
    if (t.market_id !== id) return;
    addTrade(t, true);
    reloadActivity();
    if (wallet.address && t.wallet === wallet.address) loadPosition();
  }

  // The chain's clock moved (or was first read): what counts from it is drawn again (not the
  // trade box, which keeps what is being typed).
  const onClock = () => {
    if (!market) return;
    renderResolution();
    if (market.state !== "ACTIVE") { actionsState = null; renderActions(); }
    reloadChart();
  };
  window.addEventListener("chainclock", onClock);
  onCleanup(() => window.removeEventListener("chainclock", onClock));

  let discussion = null;
  let lastWallet = wallet.address;
  const { live } = ctx;
  live.want(id);
  liveDot.classList.toggle("on", live.connected);
  onCleanup(live.on("open", ({ reconnect }) => {
    liveDot.classList.add("on");
    // The browser reconnects by itself after a drop; catch up on what was missed meanwhile.
    if (reconnect && market) {
      api(`/api/markets/${id}`).then(onMarket).catch(() => {});
      onTape.clear();
      liveEl.replaceChildren();
      loadTape().catch((e) => console.warn(e));
      reloadActivity();
      if (discussion) discussion.refresh();
    }
  }));
  onCleanup(live.on("error", () => liveDot.classList.remove("on")));
  onCleanup(live.on("market", (m) => onMarket(m)));
  onCleanup(live.on("trade", (t) => onTrade(t)));
  onCleanup(live.on("comment", (c) => {
    if (discussion && c.market_id === id) discussion.onComment(c);
  }));

  onCleanup(wallet.onChange(() => {
    const key = wallet.address;
    if (key !== lastWallet) {
      lastWallet = key;
      loadPosition();
      loadFollowing();
      if (market) renderActions();
      if (discussion) discussion.refresh();
    } else if (wallet.balance !== lastBalance && market && market.state === "ACTIVE") {
      renderActions(); // the quote says whether the wallet can pay
    }
    lastBalance = wallet.balance;
  }));
  let lastBalance = wallet.balance;

  (async () => {
    try {
      market = await api(`/api/markets/${id}`);
    } catch (e) {
      clear(view, h("div.panel",
        h("h1", e instanceof ApiError && e.status === 404 ? "No such market" : "Could not load the market"),
        h("p.muted", e.message), h("a", { href: "#/" }, "← All markets")));
      return;
    }
    if (!alive) return;
    // The readable URL: the id and the question's slug (an old link, without it, lands here
    // too); a shared path URL (/market/<id>/<slug>) stays one.
    const canonical = ctx.path ? marketPath(market) : marketHref(market);
    const shown = ctx.path ? location.pathname : location.hash;
    if (decodeURI(shown) !== decodeURI(canonical)) {
      history.replaceState(null, "", canonical);
      ctx.routed();
    }
    renderHead();
    if (ctx.query.get("trade") === "sell") {
      renderActions();
      goSell(ctx.query.get("outcome"));
    }
    renderTools();
    loadFollowing();
    loadTape().catch((e) => console.warn(e));
    loadHolders().catch((e) => clear(holdersEl, h("p.error", e.message)));
    loadActivity().catch((e) => activitySays(e.message, true));
    renderActions();
    loadChart().catch((e) => { chartNote.textContent = `Could not load the history: ${e.message}`; });
    loadPosition();
    discussion = renderDiscussion(discussionEl, id, ctx);
  })();
}
