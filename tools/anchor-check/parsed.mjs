// Drives @solana/web3.js 1.x (the one @coral-xyz/anchor pins) against a running validator over
// HTTP and reads it back in `jsonParsed`: getParsedTransaction(s), getParsedAccountInfo and
// getMultipleParsedAccounts, for tests/integration/test_localnet_jsonparsed.py.
//
// stdin: {"url", "signatures": [...], "accounts": [...]}; stdout: one JSON response with what
// web3.js returned after its own superstruct validation, made JSON-friendly (PublicKey -> base58,
// Buffer -> {"$b64": ...}). A call that throws is reported as {"error": "..."}.

import { readFileSync } from "node:fs";
import anchor from "@coral-xyz/anchor";

const { web3 } = anchor;

function plain(v) {
  if (v === null || v === undefined) return v ?? null;
  if (v instanceof web3.PublicKey) return v.toBase58();
  if (Buffer.isBuffer(v)) return { $b64: v.toString("base64") };
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}

async function attempt(fn) {
  try {
    return { ok: plain(await fn()) };
  } catch (e) {
    return { error: String(e && e.stack ? e.stack : e) };
  }
}

const req = JSON.parse(readFileSync(0, "utf8"));
const conn = new web3.Connection(req.url, "confirmed");
const opts = { commitment: "confirmed", maxSupportedTransactionVersion: 0 };
const keys = req.accounts.map((a) => new web3.PublicKey(a));
const out = {
  transactions: [],
  batch: await attempt(() => conn.getParsedTransactions(req.signatures, opts)),
  accounts: [],
  multiple: await attempt(() => conn.getMultipleParsedAccounts(keys)),
};
for (const sig of req.signatures) {
  out.transactions.push(await attempt(() => conn.getParsedTransaction(sig, opts)));
}
for (const key of keys) {
  out.accounts.push(await attempt(() => conn.getParsedAccountInfo(key)));
}
process.stdout.write(JSON.stringify(out));
