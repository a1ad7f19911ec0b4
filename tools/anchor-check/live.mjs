// Drives a running validator with the clients a TypeScript dapp uses: @solana/web3.js 1.x (the
// one @coral-xyz/anchor pins) over HTTP and WebSocket, and Anchor's `Program` built from the
// published IDL, for tests/integration/test_localnet_web3js.py.
//
// stdin: {"url", "wsUrl", "idl", "traderSecret", "market", "position", "config", "feeWallet",
//         "shares", "maxCost"}: an active market and an unfunded trader the test prepared; stdout: one JSON object with what each
// client call returned, after web3.js's and Anchor's own validation of the answers (PublicKey ->
// base58, BN -> decimal string). The first failing step ends the run with {"error", "step"}, so
// the test says which behaviour broke.

import { readFileSync } from "node:fs";
import anchor from "@coral-xyz/anchor";

const { AnchorProvider, BN, EventParser, Program, Wallet, web3 } = anchor;

function plain(v) {
  if (v === null || v === undefined) return null;
  if (BN.isBN(v)) return v.toString(10);
  if (v instanceof web3.PublicKey) return v.toBase58();
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return { $hex: Buffer.from(v).toString("hex") };
  if (typeof v === "bigint") return v.toString(10);
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const req = JSON.parse(readFileSync(0, "utf8"));
const idl = JSON.parse(readFileSync(req.idl, "utf8"));
const programId = new web3.PublicKey(idl.address);
const conn = new web3.Connection(req.url, { commitment: "confirmed", wsEndpoint: req.wsUrl });
const out = {};
let step = "start";

try {
  // 1. requestAirdrop, confirmed through the blockhash strategy (getLatestBlockhash + the
  //    signature subscription web3.js opens on the WebSocket).
  step = "requestAirdrop";
  const trader = web3.Keypair.fromSecretKey(Uint8Array.from(req.traderSecret));
  const airdrop = await conn.requestAirdrop(trader.publicKey, 5 * web3.LAMPORTS_PER_SOL);
  const latest = await conn.getLatestBlockhash("confirmed");
  await withTimeout(conn.confirmTransaction({ signature: airdrop, ...latest }, "confirmed"), 30000, step);
  out.airdrop = { signature: airdrop, trader: trader.publicKey.toBase58(), balance: await conn.getBalance(trader.publicKey) };

  // 2. sendAndConfirmTransaction of a system transfer.
  step = "sendAndConfirmTransaction";
  const dest = web3.Keypair.generate().publicKey;
  const transfer = new web3.Transaction().add(
    web3.SystemProgram.transfer({ fromPubkey: trader.publicKey, toPubkey: dest, lamports: 1_234_567 }),
  );
  const transferSig = await withTimeout(
    web3.sendAndConfirmTransaction(conn, transfer, [trader], { commitment: "confirmed" }), 30000, step);
  out.transfer = { signature: transferSig, dest: dest.toBase58(), balance: await conn.getBalance(dest) };

  // 3. onLogs on the program, subscribed before the buy it must report.
  step = "onLogs";
  let logsSeen;
  const logsPromise = new Promise((resolve) => { logsSeen = resolve; });
  const subscription = conn.onLogs(programId, (logs, ctx) => {
    if (!logs.err) logsSeen({ ...logs, slot: ctx.slot });
  }, "confirmed");
  // web3.js subscribes once the socket is open; give it the time to say so.
  await new Promise((resolve) => setTimeout(resolve, 500));

  // 4. A buy through program.methods, signed by Anchor's provider wallet.
  step = "program.methods.buyShares";
  const provider = new AnchorProvider(conn, new Wallet(trader), { commitment: "confirmed" });
  const program = new Program(idl, provider);
  const buySig = await withTimeout(
    program.methods
      .buyShares(true, new BN(req.shares), new BN(req.maxCost))
      .accountsPartial({
        config: new web3.PublicKey(req.config),
        market: new web3.PublicKey(req.market),
        position: new web3.PublicKey(req.position),
        trader: trader.publicKey,
        protocolFeeWallet: new web3.PublicKey(req.feeWallet),
        systemProgram: web3.SystemProgram.programId,
      })
      .rpc({ commitment: "confirmed" }),
    30000, step);
  out.buy = { signature: buySig };

  step = "onLogs";
  const logs = await withTimeout(logsPromise, 30000, step);
  await conn.removeOnLogsListener(subscription);
  const events = [];
  for (const e of new EventParser(programId, program.coder).parseLogs(logs.logs)) events.push(e);
  out.onLogs = { signature: logs.signature, slot: logs.slot, logs: logs.logs, events: plain(events) };

  // 5. getProgramAccounts and program.account.*.all().
  step = "getProgramAccounts";
  const owned = await conn.getProgramAccounts(programId);
  out.programAccounts = owned.map((a) => ({ pubkey: a.pubkey.toBase58(), size: a.account.data.length }));
  step = "program.account.marketAccount.all";
  out.markets = plain(await program.account.marketAccount.all());
  step = "program.account.userPosition.all";
  out.positions = plain(await program.account.userPosition.all([
    // UserPosition: the discriminator, then `market`, then `user`.
    { memcmp: { offset: 40, bytes: trader.publicKey.toBase58() } },
  ]));

  // 6. The buy read back in jsonParsed.
  step = "getParsedTransaction";
  const parsed = await conn.getParsedTransaction(buySig, { commitment: "confirmed", maxSupportedTransactionVersion: 0 });
  out.parsed = {
    slot: parsed.slot,
    computeUnitsConsumed: parsed.meta.computeUnitsConsumed,
    err: parsed.meta.err,
    programIds: parsed.transaction.message.instructions.map((ix) => ix.programId.toBase58()),
    innerPrograms: (parsed.meta.innerInstructions || []).flatMap((ii) => ii.instructions.map((ix) => ix.programId.toBase58())),
  };
  process.stdout.write(JSON.stringify(out));
  process.exit(0);
} catch (e) {
  process.stdout.write(JSON.stringify({ error: String(e && e.stack ? e.stack : e), step, out: plain(out) }));
  process.exit(0);
}
