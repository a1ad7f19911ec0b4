// A voter's receipt on a market's page: where their vote is on chain (the VoteRecord, the slot
// and transaction) and whether the tally posted on chain counts it, as
// GET /api/markets/{id}/votes/{wallet}/receipt checks it against the chain and IPFS.

import { h, clear, api, shortAddr, dateTime } from "/static/util.js";

const KIND_TITLE = { proposal: "Proposal vote", dispute: "Dispute vote" };
const VOTE_TEXT = {
  proposal: (v) => (v ? "Like" : "Dislike"),
  dispute: (v) => (v ? "Outcome is wrong" : "Outcome is right"),
};

function ipfs(cid) {
  return h("a.mono", { href: `/ipfs/${cid}`, target: "_blank", rel: "noopener", title: cid, "data-testid": "receipt-cid" },
    `${cid.slice(0, 10)}…${cid.slice(-6)}`);
}

function mono(text, testid) {
  return h("span.mono", { title: text, "data-testid": testid }, shortAddr(text));
}

function headline(r) {
  if (r.counted_on_chain) return h("p", { "data-testid": "receipt-status", "data-status": r.status }, h("strong.up", "Your vote is counted in the tally posted on chain."));
  if (r.status === "pending") {
    return h("p", { "data-testid": "receipt-status", "data-status": r.status },
      h("strong", "Your vote is recorded on chain."), " It is counted when the tally is posted.");
  }
  return h("p", { "data-testid": "receipt-status", "data-status": r.status },
    h("strong.down", "Your vote is not in the tally posted on chain."), ` ${r.checks[r.checks.length - 1] || ""}`);
}

function one(r) {
  const rows = [
    h("div.kv", h("span.k", "Your vote"), h("span.v", VOTE_TEXT[r.kind](r.vote), ` · ${dateTime(r.voted_at)}`)),
    h("div.kv", h("span.k", "VoteRecord"), h("span.v", mono(r.vote_record, "receipt-record"))),
    h("div.kv", h("span.k", "Slot"), h("span.v", { "data-testid": "receipt-slot" }, r.slot === null ? "not indexed yet" : String(r.slot))),
    r.signature ? h("div.kv", h("span.k", "Transaction"), h("span.v", mono(r.signature, "receipt-signature"))) : null,
    r.tally ? h("div.kv", h("span.k", "Tally"), h("span.v", ipfs(r.tally.cid), ` · ${r.tally.counts.yes} / ${r.tally.counts.no}`)) : null,
  ];
  return h("div.receipt", { "data-testid": `receipt-${r.kind}`, "data-status": r.status },
    h("h3", KIND_TITLE[r.kind]), headline(r), ...rows);
}

const VOTING = new Set(["PROPOSED", "DISPUTED"]);
const SETTLED = new Set(["counted", "not_counted"]);

/** The receipt panel of `wallet` on market `marketId` (in `state`): hidden while the wallet
 * has not voted (the API answers 404). `panel.refresh()` reads it again only while an answer
 * can still change: a pending receipt, or no vote yet while voting is open. */
export function receiptPanel(marketId, wallet, state) {
  const body = h("div");
  const panel = h("section.panel", { "data-testid": "receipt-panel", hidden: true },
    h("h2.panel-title", "Your vote receipt"), body);
  let seq = 0;
  let final = false; // every receipt shown is counted or not: nothing left to change
  let voted = false;
  async function load() {
    const mine = ++seq;
    let data;
    try {
      data = await api(`/api/markets/${marketId}/votes/${wallet}/receipt`);
    } catch (e) {
      if (mine !== seq) return;
      panel.hidden = e.status === 404;
      clear(body, e.status === 404 ? null : h("p.error", e.message));
      return;
    }
    if (mine !== seq) return;
    const receipts = [data.proposal, data.dispute].filter(Boolean);
    voted = true;
    final = receipts.every((r) => SETTLED.has(r.status)) && !VOTING.has(state);
    panel.hidden = false;
    clear(body, receipts.map(one));
  }
  load();
  panel.refresh = () => {
    if (final || (!voted && !VOTING.has(state))) return;
    load();
  };
  return panel;
}
