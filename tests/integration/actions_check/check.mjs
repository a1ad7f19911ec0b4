// Checks answers of the API's Solana Actions with the official @solana/actions package, for
// tests/integration/test_actions.py. Input: a JSON file (argv[2]) with
//   {"actions_json", "get", "post", "error": <bodies>, "headers": {<name>: <value>} of the GET,
//    "account": <base58 of the POST's signer>}
// 1. The bodies against the package's TypeScript types (ActionsJson, ActionGetResponse,
//    ActionPostResponse, ActionError) with tsc --strict: a field the spec does not name, a
//    missing one or a wrong type fails (object literals get excess-property checks).
// 2. The headers against ACTIONS_CORS_HEADERS and createActionHeaders({chainId, actionVersion}).
// 3. The POST's transaction read back with @solana/web3.js as a blink client does: a v0
//    transaction whose fee payer is `account`, its signatures empty.
// 4. The rules of actions.json applied to the website URLs in `mappings` ({<site URL>:
//    <the API URL it must map to>}) as a blink client applies them: the first rule whose
//    pathPattern matches the path (`*` one segment, `**` any), its wildcards' values put in
//    order into the apiPath's, the query string kept.
// Prints {"ok": bool, "problems": [...]} and exits 1 when there is a problem.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { ACTIONS_CORS_HEADERS, createActionHeaders } from "@solana/actions";
import { VersionedTransaction } from "@solana/web3.js";

const here = dirname(fileURLToPath(import.meta.url));
const input = JSON.parse(readFileSync(process.argv[2], "utf8"));
const problems = [];

// 1. Types.
const dir = join(here, ".checks", String(process.pid));
mkdirSync(dir, { recursive: true });
const file = join(dir, "answers.ts");
writeFileSync(
  file,
  [
    'import type { ActionsJson, ActionGetResponse, ActionPostResponse, ActionError } from "@solana/actions";',
    `export const actionsJson: ActionsJson = ${JSON.stringify(input.actions_json)};`,
    `export const get: ActionGetResponse = ${JSON.stringify(input.get)};`,
    `export const post: ActionPostResponse = ${JSON.stringify(input.post)};`,
    `export const error: ActionError = ${JSON.stringify(input.error)};`,
    "",
  ].join("\n"),
);
try {
  execFileSync(
    process.execPath,
    [
      join(here, "node_modules", "typescript", "bin", "tsc"),
      "--noEmit",
      "--strict",
      "--skipLibCheck",
      "--target", "es2022",
      "--module", "nodenext",
      "--moduleResolution", "nodenext",
      file,
    ],
    { cwd: here, encoding: "utf8", stdio: "pipe" },
  );
} catch (e) {
  const out = `${e.stdout || ""}${e.stderr || ""}`.trim();
  for (const line of out.split("\n")) if (line.trim()) problems.push(`tsc: ${line.trim()}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// 2. Headers (HTTP header names are case-insensitive).
const got = Object.fromEntries(
  Object.entries(input.headers).map(([k, v]) => [k.toLowerCase(), v]),
);
const chainId = got["x-blockchain-ids"];
const version = got["x-action-version"];
if (!chainId || !/^solana:[1-9A-HJ-NP-Za-km-z]{32}$/.test(chainId)) {
  problems.push(`X-Blockchain-Ids is not a CAIP-2 Solana id: ${chainId}`);
}
if (!version) problems.push("no X-Action-Version");
const want = createActionHeaders({ chainId, actionVersion: version });
for (const [name, value] of Object.entries({ ...ACTIONS_CORS_HEADERS, ...want })) {
  const seen = got[name.toLowerCase()];
  // The media type may carry a charset parameter.
  const same = name.toLowerCase() === "content-type" ? seen?.split(";")[0] === value : seen === value;
  if (!same) problems.push(`header ${name}: ${JSON.stringify(seen)}, @solana/actions says ${JSON.stringify(value)}`);
}

// 3. The transaction, as a wallet reads it.
try {
  const tx = VersionedTransaction.deserialize(Buffer.from(input.post.transaction, "base64"));
  if (tx.version !== 0) problems.push(`transaction version ${tx.version}, not 0`);
  const payer = tx.message.staticAccountKeys[0].toBase58();
  if (payer !== input.account) problems.push(`fee payer ${payer}, not the account ${input.account}`);
  if (tx.signatures.some((s) => s.some((b) => b !== 0))) problems.push("the transaction is already signed");
  if (tx.message.compiledInstructions.length < 1) problems.push("no instruction");
} catch (e) {
  problems.push(`transaction: ${e.message}`);
}

// 4. actions.json's rules.
function mapUrl(rules, url) {
  const u = new URL(url);
  for (const { pathPattern, apiPath } of rules) {
    if (pathPattern === u.pathname) return `${u.origin}${apiPath}${u.search}`;
    const source = pathPattern.split("/").map((part) =>
      part === "**" ? "(.*)" : part === "*" ? "([^/]+)" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    const m = u.pathname.match(new RegExp(`^${source.join("/")}$`));
    if (!m) continue;
    let path = apiPath;
    for (const value of m.slice(1)) path = path.replace(/\*+/, value);
    return `${u.origin}${path}${u.search}`;
  }
  return null;
}
for (const [site, want] of Object.entries(input.mappings || {})) {
  const got = mapUrl(input.actions_json.rules, site);
  if (got !== want) problems.push(`actions.json maps ${site} to ${got}, not ${want}`);
}

console.log(JSON.stringify({ ok: problems.length === 0, problems }));
process.exit(problems.length === 0 ? 0 : 1);
