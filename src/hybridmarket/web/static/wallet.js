// Wallets. A browser wallet (Phantom, Solflare, …) through the Wallet Standard when one is
// installed; otherwise a demo wallet: an ed25519 keypair made with tweetnacl and kept in this
// browser's localStorage, funded by the local validator's faucet (POST /api/faucet).
//
// Both sign two things: the exact SIWS text the API hands out (GET /api/auth/nonce), as UTF-8
// bytes; and the unsigned v0 transactions the API builds. The server never sees a key.

import bs58 from "/static/vendor/bs58.js";
import { api, b64decode, b64encode, ApiError, setCluster } from "/static/util.js";

const nacl = globalThis.nacl;
const DEMO_KEY = "hybridmarket.demoWallet";
const CHOICE_KEY = "hybridmarket.wallet";
const CHAIN = "solana:localnet";

// ---- transactions ------------------------------------------------------------------------

function compactU16(bytes, at) {
  let value = 0;
  for (let i = 0; i < 3; i++) {
    const b = bytes[at + i];
    if (b === undefined) throw new Error("truncated transaction");
    value |= (b & 0x7f) << (7 * i);
    if (!(b & 0x80)) return [value, at + i + 1];
  }
  throw new Error("bad compact-u16");
}

/** The layout of a wire transaction: signature slots, the message bytes, the signer keys. */
export function parseTransaction(bytes) {
  const [sigCount, sigsAt] = compactU16(bytes, 0);
  const messageAt = sigsAt + 64 * sigCount;
  let at = messageAt;
  const versioned = (bytes[at] & 0x80) !== 0; // v0: a prefix byte 0x80 | version
  if (versioned) {
    if ((bytes[at] & 0x7f) !== 0) throw new Error(`unsupported transaction version ${bytes[at] & 0x7f}`);
    at += 1;
  }
  const required = bytes[at];
  at += 3; // header: required signatures, read-only signed, read-only unsigned
  const [keyCount, keysAt] = compactU16(bytes, at);
  if (required !== sigCount || required > keyCount) throw new Error("malformed transaction header");
  const signers = [];
  for (let i = 0; i < required; i++) signers.push(bs58.encode(bytes.subarray(keysAt + 32 * i, keysAt + 32 * (i + 1))));
  return { sigCount, sigsAt, messageAt, message: bytes.subarray(messageAt), signers, versioned };
}

/** Sign a transaction with a 64-byte tweetnacl secret key: the signature goes in the slot of the
 * key's place among the signers (the fee payer is the first). Returns new bytes. */
export function signTransactionWith(bytes, secretKey) {
  const tx = parseTransaction(bytes);
  const me = bs58.encode(secretKey.subarray(32));
  const slot = tx.signers.indexOf(me);
  if (slot < 0) throw new Error("this wallet is not a signer of the transaction");
  const out = new Uint8Array(bytes);
  out.set(nacl.sign.detached(tx.message, secretKey), tx.sigsAt + 64 * slot);
  return out;
}

// ---- the demo wallet ---------------------------------------------------------------------

export class DemoWallet {
  constructor(secretKey) {
    this.kind = "demo";
    this.name = "Demo wallet";
    this.secretKey = secretKey;
    this.address = bs58.encode(secretKey.subarray(32));
  }

  /** The keypair in localStorage, made on first use. `created` is true when it is new. */
  static load() {
    const saved = localStorage.getItem(DEMO_KEY);
    if (saved) {
      try {
        const sk = bs58.decode(saved);
        if (sk.length === 64) return { wallet: new DemoWallet(sk), created: false };
      } catch { /* unreadable: make a new one */ }
    }
    const kp = nacl.sign.keyPair();
    localStorage.setItem(DEMO_KEY, bs58.encode(kp.secretKey));
    return { wallet: new DemoWallet(kp.secretKey), created: true };
  }

  static reset() {
    localStorage.removeItem(DEMO_KEY);
    return DemoWallet.load();
  }

  exportSecret() {
    return bs58.encode(this.secretKey);
  }

  async signMessage(bytes) {
    return nacl.sign.detached(bytes, this.secretKey);
  }

  async signTransaction(bytes) {
    return signTransactionWith(bytes, this.secretKey);
  }
}

// ---- browser wallets (Wallet Standard) ---------------------------------------------------

const standardWallets = new Set();
const walletListeners = new Set();

/** The Wallet Standard's discovery: wallets answer the app's "app-ready" event and announce
 * themselves with "register-wallet"; both carry a `register` callback. */
function discover() {
  const register = (...ws) => {
    for (const w of ws) {
      if (!w || !w.features) continue;
      const f = w.features;
      if (f["standard:connect"] && f["solana:signTransaction"] && f["solana:signMessage"]) {
        standardWallets.add(w);
      }
    }
    walletListeners.forEach((fn) => fn());
    return () => {};
  };
  const apiObj = Object.freeze({ register });
  window.addEventListener("wallet-standard:register-wallet", (e) => {
    try { e.detail(apiObj); } catch (err) { console.warn("wallet registration failed", err); }
  });
  try {
    window.dispatchEvent(new CustomEvent("wallet-standard:app-ready", { detail: apiObj }));
  } catch (err) { console.warn(err); }
}
discover();

export function browserWallets() {
  return [...standardWallets];
}

export function onWalletsChanged(fn) {
  walletListeners.add(fn);
}

export class StandardWallet {
  constructor(wallet, account) {
    this.kind = "browser";
    this.wallet = wallet;
    this.name = wallet.name;
    this.icon = wallet.icon;
    this.account = account;
    this.address = account.address;
  }

  /** `silent`: reconnect without a prompt if the person approved this site before. */
  static async connect(wallet, silent = false) {
    const { accounts } = await wallet.features["standard:connect"].connect(silent ? { silent: true } : undefined);
    const account = (accounts || wallet.accounts || [])[0];
    if (!account) throw new Error(`${wallet.name} gave no account`);
    return new StandardWallet(wallet, account);
  }

  async disconnect() {
    const f = this.wallet.features["standard:disconnect"];
    if (f) await f.disconnect();
  }

  async signMessage(bytes) {
    const [out] = await this.wallet.features["solana:signMessage"].signMessage({
      account: this.account, message: bytes,
    });
    return out.signature;
  }

  async signTransaction(bytes) {
    const feature = this.wallet.features["solana:signTransaction"];
    const input = { account: this.account, transaction: bytes };
    if ((this.account.chains || []).includes(CHAIN)) input.chain = CHAIN;
    const [out] = await feature.signTransaction(input);
    return out.signedTransaction;
  }
}

// ---- the current wallet ------------------------------------------------------------------

/** The wallet in use and its balance; tells listeners when either changes. */
export class WalletManager {
  constructor() {
    this.current = null;
    this.balance = null;
    this.faucet = null; // {available, airdrop, chainId} from GET /api/faucet
    this.listeners = new Set();
    this.justCreated = false;
  }

  onChange(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit() {
    this.listeners.forEach((fn) => { try { fn(this); } catch (e) { console.error(e); } });
  }

  get address() {
    return this.current ? this.current.address : null;
  }

  async init() {
    const choice = localStorage.getItem(CHOICE_KEY);
    if (choice && choice !== "demo") {
      const w = browserWallets().find((x) => x.name === choice);
      if (w) {
        try {
          this.current = await StandardWallet.connect(w, true);
        } catch (e) {
          console.warn("reconnecting the browser wallet failed", e);
        }
      }
    }
    if (!this.current) this.useDemo();
    await this.refreshBalance();
    if (this.current.kind === "demo" && this.justCreated && this.faucet && this.faucet.available) {
      // A new demo wallet starts with some SOL, so the demo works at once.
      try { await this.airdrop(); } catch (e) { console.warn("first airdrop failed", e); }
    }
    this.emit();
  }

  useDemo() {
    const { wallet, created } = DemoWallet.load();
    this.current = wallet;
    this.justCreated = created;
    localStorage.setItem(CHOICE_KEY, "demo");
  }

  async connectBrowser(w) {
    const next = await StandardWallet.connect(w);
    this.current = next;
    localStorage.setItem(CHOICE_KEY, w.name);
    this.balance = null;
    this.emit();
    await this.refreshBalance();
  }

  async switchToDemo() {
    if (this.current && this.current.kind === "browser") {
      try { await this.current.disconnect(); } catch { /* ignore */ }
    }
    this.useDemo();
    this.balance = null;
    this.emit();
    await this.refreshBalance();
  }

  async newDemoWallet() {
    const { wallet } = DemoWallet.reset();
    this.current = wallet;
    localStorage.setItem(CHOICE_KEY, "demo");
    this.balance = null;
    this.emit();
    await this.refreshBalance();
  }

  async refreshBalance() {
    if (!this.current) return;
    try {
      const info = await api("/api/faucet", { params: { wallet: this.current.address } });
      this.balance = info.balance;
      this.faucet = { available: info.available, airdrop: info.airdrop, chainId: info.chain_id };
      setCluster(info.chain_id);
    } catch (e) {
      // No faucet route (or the chain is down): the balance stays unknown.
      if (this.faucet === null) this.faucet = { available: false };
    }
    this.emit();
  }

  async airdrop() {
    const out = await api("/api/faucet", { method: "POST", body: { wallet: this.current.address } });
    this.balance = out.balance;
    this.emit();
    return out;
  }

  /** Sign a SIWS text from the API: returns the base58 signature. */
  async signText(text) {
    const sig = await this.current.signMessage(new TextEncoder().encode(text));
    return bs58.encode(sig);
  }

  /** Sign the API's unsigned base64 transaction and relay it; resolves when confirmed. */
  async signAndSend(built) {
    if (!this.current) throw new Error("no wallet");
    const unsigned = b64decode(built.transaction);
    const signed = await this.current.signTransaction(unsigned);
    const out = await api("/api/transactions", {
      method: "POST", body: { transaction: b64encode(signed) },
    });
    if (out.status !== "confirmed") {
      // As the relay's refusals (transaction_rejected): the program's error by name, for humanError.
      const why = out.error ? `: ${out.error}` : "";
      throw new ApiError(200, `transaction_${out.status}`, `transaction ${out.status}${why}`,
        { error: out.error || null, code: out.code ?? null, signature: out.signature });
    }
    this.refreshBalance();
    return out;
  }

  /** A market's transaction, as every page sends one: built by POST /api/markets/<id>/<path>
   * (`buy`, `claim`, `withdraw`, …) with this wallet and `fields`, signed here, relayed;
   * resolves with {built, out} once confirmed. */
  async marketTransaction(marketId, path, fields = {}) {
    if (!this.address) throw new Error("connect a wallet first");
    const built = await api(`/api/markets/${marketId}/${path}`, {
      method: "POST", body: { wallet: this.address, ...fields },
    });
    const out = await this.signAndSend(built);
    return { built, out };
  }

  /** Ask the API for the SIWS text of an action, sign it: {message, signature}. */
  async signAction(action, subject, contentSha256) {
    const { message } = await api("/api/auth/nonce", {
      params: { wallet: this.address, action, subject, content_sha256: contentSha256 },
    });
    return { message, signature: await this.signText(message) };
  }
}
