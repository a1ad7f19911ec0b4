// Loads the program's IDL with the official Anchor TypeScript client (@coral-xyz/anchor, pinned in
// package.json) and runs a batch of encode/decode cases through it, for
// tests/integration/test_idl_anchor_client.py.
//
// stdin: one JSON request, stdout: one JSON response. Every case runs through two coders:
//   raw   — `new BorshCoder(idl)` on the IDL as published (snake_case names, as in the file);
//   camel — `program.coder` of `new Program(idl, provider)`, which Anchor builds from the
//           camelCased IDL (`convertIdlToCamelCase`): what TS dapps actually use.
// A failing operation is reported as {"error": "..."} in place of its result, so one bad case
// never hides the others.
//
// Request values are tagged so that this script needs no knowledge of the schema:
//   {"$bn": "123"} -> BN, {"$pk": "base58"} -> PublicKey, {"$buf": "hex"} -> Buffer;
//   arrays, objects, numbers, booleans and null pass through.
// Response values are made JSON-friendly without the IDL, so the test sees Anchor's own shapes:
//   BN -> decimal string, PublicKey -> base58, Buffer/Uint8Array -> {"$hex": "..."},
//   arrays -> lists, plain numbers/booleans/null as they are, objects recursively.
//
// No network: the Connection's fetch throws, so any RPC attempt would surface as an error.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import anchor from "@coral-xyz/anchor";

const { AnchorProvider, BN, BorshCoder, EventParser, Program, web3 } = anchor;
const require = createRequire(import.meta.url);
const anchorVersion = require("@coral-xyz/anchor/package.json").version;

function fromTagged(v) {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map(fromTagged);
  if ("$bn" in v) return new BN(v.$bn, 10);
  if ("$pk" in v) return new web3.PublicKey(v.$pk);
  if ("$buf" in v) return Buffer.from(v.$buf, "hex");
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fromTagged(x)]));
}

function toJson(v) {
  if (v === null || v === undefined) return null;
  if (BN.isBN(v)) return v.toString(10);
  if (v instanceof web3.PublicKey) return v.toBase58();
  if (v instanceof Uint8Array) return { $hex: Buffer.from(v).toString("hex") };
  if (Array.isArray(v)) return v.map(toJson);
  if (typeof v === "bigint") return v.toString(10);
  if (typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJson(x)]));
  }
  return v;
}

function attempt(fn) {
  try {
    return { ok: toJson(fn()) };
  } catch (e) {
    return { error: String(e && e.stack ? e.stack.split("\n")[0] : e) };
  }
}

async function attemptAsync(fn) {
  try {
    return { ok: toJson(await fn()) };
  } catch (e) {
    return { error: String(e && e.stack ? e.stack.split("\n")[0] : e) };
  }
}

const hex = (b) => Buffer.from(b).toString("hex");

async function main() {
  const request = JSON.parse(readFileSync(0, "utf8"));
  const idl = JSON.parse(readFileSync(request.idl_path, "utf8"));
  const response = { anchor_version: anchorVersion };

  const raw = new BorshCoder(idl);

  const offline = async () => {
    throw new Error("network access attempted (the check runs offline)");
  };
  const connection = new web3.Connection("http://127.0.0.1:9", {
    commitment: "confirmed",
    fetch: offline,
  });
  const payer = web3.Keypair.generate();
  const wallet = {
    publicKey: payer.publicKey,
    payer,
    signTransaction: async (tx) => tx,
    signAllTransactions: async (txs) => txs,
  };
  const provider = new AnchorProvider(connection, wallet, { commitment: "confirmed" });
  let program = null;
  try {
    program = new Program(idl, provider);
    response.program = {
      ok: {
        program_id: program.programId.toBase58(),
        instructions: program.idl.instructions.map((i) => i.name),
        methods: Object.keys(program.methods),
        accounts: Object.keys(program.account),
        account_sizes: Object.fromEntries(
          Object.entries(program.account).map(([n, c]) => [n, c.size]),
        ),
        events: (program.idl.events ?? []).map((e) => e.name),
        types: (program.idl.types ?? []).map((t) => t.name),
        errors: (program.idl.errors ?? []).map((e) => [e.code, e.name, e.msg]),
      },
    };
  } catch (e) {
    response.program = { error: String(e && e.stack ? e.stack.split("\n")[0] : e) };
  }
  const camel = program ? program.coder : null;
  const noProgram = () => {
    throw new Error("Program construction failed");
  };

  response.accounts = (request.accounts ?? []).map((c) => {
    const data = Buffer.from(c.data, "hex");
    return {
      id: c.id,
      raw: attempt(() => raw.accounts.decode(c.name, data)),
      raw_any: attempt(() => raw.accounts.decodeAny(data)),
      raw_size: attempt(() => raw.accounts.size(c.name)),
      camel: attempt(() => (camel ? camel.accounts.decode(c.camel_name, data) : noProgram())),
    };
  });

  response.instructions = [];
  for (const c of request.instructions ?? []) {
    const data = Buffer.from(c.data, "hex");
    const out = {
      id: c.id,
      raw_decode: attempt(() => raw.instruction.decode(data)),
      raw_encode: attempt(() => hex(raw.instruction.encode(c.name, fromTagged(c.args)))),
      camel_decode: attempt(() => (camel ? camel.instruction.decode(data) : noProgram())),
      camel_encode: attempt(() =>
        camel ? hex(camel.instruction.encode(c.camel_name, fromTagged(c.camel_args))) : noProgram(),
      ),
    };
    // The full client: `program.methods.<ix>(...args).accountsPartial({...}).instruction()`,
    // with Anchor resolving the PDAs and fixed addresses the caller leaves out.
    out.methods = await attemptAsync(async () => {
      if (!program) noProgram();
      const idlIx = program.idl.instructions.find((i) => i.name === c.camel_name);
      const args = idlIx.args.map((a) => fromTagged(c.camel_args[a.name]));
      const accounts = fromTagged(c.camel_accounts);
      const ix = await program.methods[c.camel_name](...args)
        .accountsPartial(accounts)
        .instruction();
      return {
        program_id: ix.programId,
        data: { $hex: hex(ix.data) },
        keys: ix.keys.map((k) => [k.pubkey.toBase58(), k.isSigner, k.isWritable]),
      };
    });
    response.instructions.push(out);
  }

  response.events = (request.events ?? []).map((c) => ({
    id: c.id,
    raw: attempt(() => raw.events.decode(c.b64)),
    camel: attempt(() => (camel ? camel.events.decode(c.b64) : noProgram())),
  }));

  // Whole transaction logs, as `program.addEventListener` and indexers parse them.
  response.parsed_logs = attempt(() => {
    if (!program) noProgram();
    const parser = new EventParser(program.programId, program.coder);
    return Array.from(parser.parseLogs(request.logs ?? []));
  });

  process.stdout.write(JSON.stringify(response));
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack ? e.stack : e) + "\n");
  process.exit(1);
});
