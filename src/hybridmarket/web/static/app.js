// hybridmarket's web UI: hash routes (#/, #/market/<id>, #/new, #/portfolio, #/user/<wallet>,
// #/leaderboards, #/notifications), the shared path URL of a market (/market/<id>/<slug>, which
// opens the market as its hash route does), the wallet widget, the notifications badge and toasts.
// The views live in views-*.js; they render with util.h (text nodes only).

import { h, clear, shortAddr, sol, api, ApiError } from "/static/util.js";
import { WalletManager, browserWallets, onWalletsChanged } from "/static/wallet.js";
import { renderList } from "/static/views-list.js";
import { renderMarket } from "/static/views-market.js";
import { renderPortfolio } from "/static/views-portfolio.js";
import { renderCreate } from "/static/views-create.js";
import { renderUser } from "/static/views-user.js";
import { renderLeaderboards } from "/static/views-leaderboards.js";
import { NotificationCenter, renderNotifications } from "/static/views-notifications.js";
import { Live } from "/static/live.js";

export const wallet = new WalletManager();
const live = new Live(wallet); // the tab's one stream
const notifications = new NotificationCenter(wallet, live);
const view = document.getElementById("view");
const walletEl = document.getElementById("wallet");
let cleanups = [];

// ---- toasts ------------------------------------------------------------------------------

export function toast(message, kind = "info", ms = 5000) {
  const box = document.getElementById("toasts");
  const el = h(`div.toast.toast-${kind}`, { role: kind === "error" ? "alert" : "status", "data-testid": `toast-${kind}` },
    h("span", message),
    h("button.toast-close", { type: "button", "aria-label": "Dismiss", on: { click: () => el.remove() } }, "×"));
  box.append(el);
  if (ms) setTimeout(() => el.remove(), kind === "error" ? ms * 2 : ms);
  return el;
}

/** Run an async action from a button: disables it, shows a toast with the outcome. */
export async function act(button, label, fn) {
  const old = button ? button.textContent : null;
  if (button) {
    button.disabled = true;
    button.textContent = label;
    button.classList.add("busy");
  }
  try {
    return await fn();
  } catch (e) {
    // A refusal the person is told about (the API's or the program's) is not the page's fault.
    if (e instanceof ApiError) console.warn(e);
    else console.error(e);
    toast(humanError(e), "error");
    return undefined;
  } finally {
    if (button) {
      button.disabled = false;
      button.textContent = old;
      button.classList.remove("busy");
    }
  }
}

/** The program's errors a trader can meet, in words (program/errors.py names them). */
const PROGRAM_ERRORS = {
  Unauthorized: "This wallet may not do that here.",
  ProtocolPaused: "Trading is paused for now; try again later.",
  InvalidMarketState: "The market has moved on (its state changed) since this page showed it: reload to see what it allows now.",
  InsufficientInitialLiquidity: "The initial liquidity is below what this market needs (at least b·ln 2 and the program's minimum).",
  AlreadyVoted: "This wallet has already voted on this.",
  InvalidShareAmount: "Enter a number of shares above zero.",
  SlippageExceeded: "The price moved beyond your slippage tolerance before the trade went through: nothing was traded. Try again, or allow more slippage.",
  InsufficientShares: "Your wallet does not hold that many shares of this outcome.",
  TradeOutOfRange: "That trade is too large for this market's liquidity: try a smaller amount.",
  ResolutionTooEarly: "It is too early to resolve this market: the program allows it once its minimum delay after trading opened has passed.",
  InvalidEvidenceCid: "The evidence's CID is not one the program can store.",
  DisputeWindowClosed: "The dispute window has closed: the resolution is final once the backend records it.",
  InvalidOutcomeNotDisputable: "An invalid resolution cannot be disputed: every position is paid at the last price.",
  DisputeVotingClosed: "Dispute voting has ended.",
  FinalizeTooEarly: "The market cannot be finalized yet.",
  AlreadyClaimed: "This position has already been paid out.",
  NothingToClaim: "This position pays nothing: there is nothing to claim.",
  NothingToWithdraw: "There is no liquidity left to withdraw.",
  MathOverflow: "That amount is too large for this market.",
};

export function humanError(e) {
  if (!e) return "Something went wrong";
  if (/^transaction_(rejected|failed)$/.test(e.code || "") && e.details) {
    const logs = (e.details.logs || []).join("\n");
    if (/insufficient lamports|custom program error: 0x1\b|custom program error 1\b/i.test(logs + e.message)) {
      return "Not enough SOL in your wallet for this transaction.";
    }
    if (PROGRAM_ERRORS[e.details.error]) return PROGRAM_ERRORS[e.details.error];
    if (e.details.error) return `The program refused it: ${e.details.error}`;
  }
  if (e.code === "transaction_expired") return "The transaction expired before it was confirmed: nothing happened. Try again.";
  if (e.code === "rate_limited") return "Too many requests; wait a moment and try again.";
  if (e.name === "WalletError" || /reject|denied|cancel/i.test(e.message || "")) return `Wallet: ${e.message}`;
  return e.message || String(e);
}

// ---- the wallet widget -------------------------------------------------------------------

function renderWallet() {
  const w = wallet.current;
  if (!w) {
    clear(walletEl, h("span.muted", "Wallet…"));
    return;
  }
  const faucetOk = wallet.faucet && wallet.faucet.available;
  const fund = faucetOk
    ? h("button.btn.btn-small", {
      type: "button", "data-testid": "faucet", title: "Airdrop 10 SOL from the local validator",
      on: {
        click: (e) => act(e.currentTarget, "Funding…", async () => {
          await wallet.airdrop();
          toast("10 SOL airdropped to your wallet", "ok");
        }),
      },
    }, "+10 SOL")
    : null;
  const menuItems = [];
  for (const bw of browserWallets()) {
    if (w.kind === "browser" && w.wallet === bw) continue;
    menuItems.push(h("button.menu-item", {
      type: "button",
      on: {
        click: (e) => act(e.currentTarget, "Connecting…", async () => {
          await wallet.connectBrowser(bw);
          toast(`Connected ${bw.name}`, "ok");
        }),
      },
    }, bw.icon ? h("img", { src: bw.icon, alt: "", width: 16, height: 16 }) : null, `Connect ${bw.name}`));
  }
  if (w.kind === "browser") {
    menuItems.push(h("button.menu-item", { type: "button", on: { click: () => wallet.switchToDemo() } }, "Use the demo wallet"));
  } else {
    if (!browserWallets().length) {
      menuItems.push(h("p.menu-note", "No browser wallet found (Phantom, Solflare…). This demo wallet keeps its key in this browser."));
    }
    menuItems.push(h("button.menu-item", {
      type: "button",
      on: {
        click: async () => {
          if (!confirm("Forget this demo wallet's key and make a new one? Its SOL and positions stay with the old key.")) return;
          await wallet.newDemoWallet();
          toast("New demo wallet", "ok");
        },
      },
    }, "New demo wallet"));
  }
  menuItems.push(h("button.menu-item", {
    type: "button",
    on: { click: () => navigator.clipboard && navigator.clipboard.writeText(w.address).then(() => toast("Address copied", "ok")) },
  }, "Copy address"));
  menuItems.push(h("a.menu-item", { href: "#/portfolio" }, "Portfolio"));

  clear(walletEl,
    h("span.wallet-balance", { "data-testid": "balance", title: "Balance" },
      wallet.balance === null ? "…" : sol(wallet.balance)),
    fund,
    h("details.wallet-menu",
      h("summary", { "data-testid": "wallet-address", "data-address": w.address, title: w.address },
        h(`span.wallet-kind.kind-${w.kind}`, w.kind === "demo" ? "demo" : w.name), shortAddr(w.address)),
      h("div.menu", h("div.menu-addr", w.address), menuItems)));
}

// ---- the notifications badge ---------------------------------------------------------------

function renderBadge() {
  // The count is in the link's text ("Notifications 3 unread" to a screen reader).
  const badgeEl = document.getElementById("unread-count");
  const n = notifications.unread;
  badgeEl.textContent = n > 99 ? "99+" : String(n);
  badgeEl.dataset.count = String(n);
  document.getElementById("unread-wrap").hidden = !n;
}

// ---- routing -----------------------------------------------------------------------------

let routedHref = null; // the URL the page shows (a step back fires popstate and hashchange)
let routeGen = 0;

/** Move focus to the new page's heading once it is drawn (a screen reader reads it; the next
 * Tab starts from there), not on the first page load. */
function focusHeading(gen) {
  const tryFocus = () => {
    if (gen !== routeGen) return true;
    // The page put the focus somewhere itself (the trade box a "Sell" link opens): leave it.
    if (document.activeElement && document.activeElement !== document.body && view.contains(document.activeElement)) return true;
    const h1 = view.querySelector("h1");
    if (!h1) return false;
    h1.tabIndex = -1;
    h1.focus({ preventScroll: true });
    return true;
  };
  if (tryFocus()) return;
  const mo = new MutationObserver(() => { if (tryFocus()) mo.disconnect(); });
  mo.observe(view, { childList: true, subtree: true });
  setTimeout(() => mo.disconnect(), 15000);
}

/** Say something the user caused (results of a search, a page's state) to screen readers; the
 * page itself is not a live region, since cards and prices re-render on every trade. */
export function announce(text) {
  const el = document.getElementById("announce");
  el.textContent = "";
  setTimeout(() => { el.textContent = text; }, 50); // a change, even when the text is the same
}

function route() {
  if (location.href === routedHref) return;
  const first = routedHref === null;
  routedHref = location.href;
  const gen = ++routeGen;
  // An error belongs to the page it happened on.
  for (const el of document.querySelectorAll("#toasts .toast-error")) el.remove();
  for (const fn of cleanups) {
    try { fn(); } catch (e) { console.error(e); }
  }
  cleanups = [];
  const onCleanup = (fn) => cleanups.push(fn);
  // A shared market link is a path (/market/<id>/<slug>, served with its Open Graph meta) and
  // opens the market as #/market/<id>/<slug> does; a hash route after it (a link clicked on that
  // page) is followed instead.
  let hash = location.hash.replace(/^#/, "");
  const viaPath = !hash && /^\/market\/[0-9a-f]{64}(\/[^/]*)?\/?$/.test(location.pathname);
  if (viaPath) hash = location.pathname + location.search;
  const [path, query] = (hash || "/").split("?");
  const parts = path.split("/").filter(Boolean);
  window.scrollTo(0, 0);
  const ctx = {
    wallet, toast, act, onCleanup, announce, live,
    query: new URLSearchParams(query || ""),
    path: viaPath, // the page is at a market's path URL, not a hash route
    // A page that changed its own URL (history.pushState / replaceState) says so.
    routed: () => { routedHref = location.href; },
  };
  // #/market/<id>/<slug>: the id opens the page; the slug is for people (any, or none, works).
  let nav = null;
  live.want(null); // the page says what it shows while it is drawn
  if (parts[0] === "market" && /^[0-9a-f]{64}$/.test(parts[1] || "")) {
    renderMarket(view, parts[1], ctx);
  } else if (parts[0] === "new") {
    nav = "new";
    renderCreate(view, ctx);
  } else if (parts[0] === "portfolio") {
    nav = "portfolio";
    renderPortfolio(view, ctx);
  } else if (parts[0] === "user" && parts[1]) {
    renderUser(view, parts[1], ctx);
  } else if (parts[0] === "leaderboards") {
    nav = "leaderboards";
    renderLeaderboards(view, ctx);
  } else if (parts[0] === "notifications") {
    nav = "notifications";
    renderNotifications(view, ctx, notifications);
  } else {
    nav = "markets";
    renderList(view, ctx);
  }
  live.apply();
  for (const a of document.querySelectorAll("[data-nav]")) {
    a.classList.toggle("active", a.dataset.nav === nav);
    if (a.dataset.nav === nav) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (!first) focusHeading(gen);
}

async function main() {
  // The wallet menu closes on a click elsewhere or on one of its items.
  document.addEventListener("click", (e) => {
    const menu = walletEl.querySelector("details.wallet-menu[open]");
    if (menu && (!menu.contains(e.target) || e.target.closest(".menu-item"))) menu.open = false;
  });
  wallet.onChange(renderWallet);
  onWalletsChanged(renderWallet);
  renderWallet();
  notifications.on(renderBadge);
  notifications.start();
  window.addEventListener("hashchange", route);
  window.addEventListener("popstate", route);
  route();
  await wallet.init();
  // Balance drifts with trades and airdrops elsewhere: refresh now and then while visible.
  setInterval(() => { if (!document.hidden) wallet.refreshBalance(); }, 20000);
}

// For tests and the curious: the app's wallet and API helper from the console.
window.hybridmarket = { wallet, api, notifications, live };
main().catch((e) => {
  console.error(e);
  toast(humanError(e), "error", 0);
});
