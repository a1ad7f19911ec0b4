// Propose a market: the metadata is signed (SIWS) and stored by the API, which answers with the
// propose_market transaction for the wallet to sign. The market id is the SHA-256 of the
// metadata's canonical JSON (sorted keys, no whitespace, UTF-8), computed here too, since the
// signed message names it.

import {
  h, clear, api, sol, sha256Hex, parseAmount, unitsText, chainNow, debounce, ApiError, marketHref,
  untilIndexed,
} from "/static/util.js";

const LN2 = Math.LN2;
export const QUESTION_MIN = 10;
export const QUESTION_MAX = 200;

/** The API's rule for a question: trimmed, 10 to 200 characters, counted as code points (as
 * the API counts: an emoji is one). { length, code, error }: code is the API's error code. */
export function questionRule(text) {
  const length = [...String(text ?? "").trim()].length;
  if (length < QUESTION_MIN) {
    return { length, code: "question_too_short", error: `A question needs at least ${QUESTION_MIN} characters (this has ${length}).` };
  }
  if (length > QUESTION_MAX) {
    return { length, code: "question_too_long", error: `A question has at most ${QUESTION_MAX} characters (this has ${length}).` };
  }
  return { length, code: null, error: null };
}

/** A question as the API compares them for duplicates: ignoring case and runs of whitespace. */
export function questionKey(text) {
  return String(text ?? "").trim().replace(/\s+/g, " ").toLowerCase();
}

/** Canonical JSON of a flat object of strings: keys sorted, no whitespace (as the server's). */
export function canonicalJson(obj) {
  const keys = Object.keys(obj).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(obj[k])}`).join(",")}}`;
}

export function renderCreate(view, ctx) {
  const { wallet, toast, act } = ctx;
  // Each field may carry an error line of its own, next to it (`data-testid`: the input's + "-error").
  const errors = new Map();
  const field = (label, input, hint) => {
    const err = h("span.field-error", { "data-testid": `${input.dataset.testid}-error`, hidden: true });
    errors.set(input, err);
    return h("label.field", h("span.field-label", label), input, hint ? h("span.field-hint.muted", hint) : null, err);
  };
  function setError(input, message) {
    const err = errors.get(input);
    if (message instanceof Node) err.replaceChildren(message);
    else err.textContent = message || "";
    err.hidden = !message;
    input.setAttribute("aria-invalid", message ? "true" : "false");
  }
  // No maxlength: the browser counts UTF-16 units, the API code points (questionRule).
  const question = h("input.input", { required: true, placeholder: "Will … happen by …?", "data-testid": "new-question" });
  const questionCount = h("span.field-hint.muted.char-count", { "data-testid": "new-question-count" });
  const category = h("input.input", { maxlength: 50, placeholder: "e.g. weather, sports, economics", list: "categories", "data-testid": "new-category" });
  const description = h("textarea.input", { rows: 3, maxlength: 5000, placeholder: "Context for traders", "data-testid": "new-description" });
  const criteria = h("textarea.input", { rows: 3, maxlength: 2000, placeholder: "Exactly when it resolves YES, NO or invalid, and from which source", "data-testid": "new-criteria" });
  const closes = h("input.input", { type: "datetime-local", "data-testid": "new-closes" });
  const resolver = h("input.input.mono", { placeholder: "Resolver's wallet (default: you)", maxlength: 44, "data-testid": "new-resolver" });
  // Text, not type=number: a number input drops or reinterprets a decimal comma (parseAmount).
  const b = h("input.input", { type: "text", inputmode: "decimal", autocomplete: "off", value: "5", "data-testid": "new-b" });
  const liquidity = h("input.input", { type: "text", inputmode: "decimal", autocomplete: "off", "data-testid": "new-liquidity" });
  const minNote = h("span.field-hint.muted");
  const submit = h("button.btn.btn-primary", { type: "submit", "data-testid": "new-submit" }, "Propose market");

  function minLiquidity() {
    const { units: bl } = parseAmount(b.value);
    return bl && bl > 0 ? Math.ceil(bl * LN2) : null;
  }
  function syncMin() {
    const m = minLiquidity();
    const { error } = parseAmount(b.value);
    minNote.textContent = error
      ? `b: ${error}`
      : m ? `At least b·ln 2 = ${sol(m, { precise: true })}: the most the market can lose. You deposit it when the market is approved.` : "";
    const { units: liq } = parseAmount(liquidity.value);
    if (m && (!liquidity.value || (liq !== null && liq < m))) liquidity.value = unitsText(Math.ceil(m / 1e7) * 1e7);
  }
  b.addEventListener("input", syncMin);
  syncMin();

  const datalist = h("datalist#categories");
  api("/api/markets", { params: { limit: 100, sort: "newest" } }).then((d) => {
    for (const c of new Set(d.markets.map((m) => m.category).filter(Boolean))) datalist.append(h("option", { value: c }));
  }).catch(() => {});

  const form = h("form.panel.create-form", { "data-testid": "new-market", novalidate: true },
    field("Question", question, questionCount),
    h("div.field-row", field("Category", category), field("Closes", closes, "Your local time")),
    field("Description", description),
    field("Resolution criteria", criteria),
    field("Resolver", resolver, "The wallet that will propose the outcome with evidence."),
    h("div.field-row",
      field("Liquidity parameter b (SOL)", b, "Larger b: deeper market, prices move less per trade."),
      field("Initial liquidity (SOL)", liquidity, minNote)),
    h("p.muted", "Wallets vote on your proposal; once the backend approves it on their tally, you activate it by depositing the liquidity, and trading opens."),
    submit, datalist);

  // A question that is already asked: the API refuses it (question_duplicate); found before
  // signing by searching the list for it, compared as the API compares.
  let duplicate = { text: null, of: null }; // the question looked up, and the market asking it
  async function findDuplicate(q) {
    const key = questionKey(q);
    if (duplicate.text === key) return duplicate.of;
    let found = null;
    try {
      const d = await api("/api/markets", { params: { q: `"${q.replace(/\s+/g, " ").replace(/"/g, " ").slice(0, 190)}"`, status: "all", limit: 100 } });
      found = d.markets.find((m) => questionKey(m.question) === key) || null;
    } catch { found = null; } // the API says so when the market is created
    duplicate = { text: key, of: found };
    return found;
  }
  function duplicateError(m) {
    return h("span", "This question is already asked: ",
      h("a", { href: marketHref(m), "data-testid": "new-question-duplicate" }, m.question || "that market"), ".");
  }
  function checkQuestion() {
    const rule = questionRule(question.value);
    questionCount.textContent = `${rule.length} / ${QUESTION_MAX} characters`;
    questionCount.classList.toggle("over", rule.length > QUESTION_MAX);
    if (rule.error) { setError(question, rule.error); return false; }
    const key = questionKey(question.value);
    if (duplicate.text === key && duplicate.of) { setError(question, duplicateError(duplicate.of)); return false; }
    setError(question, null);
    return true;
  }
  const lookUp = debounce(async () => {
    if (questionRule(question.value).error) return;
    await findDuplicate(question.value.trim());
    checkQuestion();
  }, 300);
  question.addEventListener("input", () => {
    // Said as soon as it is true; "too short" waits for the submit (said while typing, or on
    // leaving the field, it would move the button away from under the pointer).
    const rule = questionRule(question.value);
    if (!rule.error || rule.code === "question_too_long" || errors.get(question).textContent) checkQuestion();
    else questionCount.textContent = `${rule.length} / ${QUESTION_MAX} characters`;
    lookUp();
  });

  /** The checks the API and the program make too, said next to their field before signing:
   * the question's length and whether it is already asked (the API's question_too_short,
   * question_too_long, question_duplicate), a closing time that has passed (closes_at_past),
   * and a liquidity the wallet cannot deposit when the market is approved (the program refuses
   * the activation). */
  function focusFirstError() {
    // After the click that submitted has finished with the focus (it stays on the button else).
    setTimeout(() => {
      for (const [input, err] of errors) if (!err.hidden) { input.focus(); return; }
    }, 0);
  }

  function check() {
    let ok = checkQuestion();
    const when = closes.value ? new Date(closes.value) : null;
    if (when && !(when.getTime() > chainNow())) { // trading ends by the chain's clock
      setError(closes, "This time has passed: a market must close in the future.");
      ok = false;
    } else setError(closes, null);
    const { units: liq, error } = parseAmount(liquidity.value);
    if (error) {
      setError(liquidity, error);
      ok = false;
    } else if (liq !== null && wallet.balance !== null && liq > wallet.balance) {
      setError(liquidity, `Your wallet holds ${sol(wallet.balance)}: you deposit this liquidity when the market is approved.`);
      ok = false;
    } else setError(liquidity, null);
    return ok;
  }
  closes.addEventListener("change", check);
  liquidity.addEventListener("input", check);

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!check()) { focusFirstError(); return; }
    if (await findDuplicate(question.value.trim())) { checkQuestion(); focusFirstError(); return; }
    act(submit, "Signing…", async () => {
      if (!wallet.address) throw new Error("connect a wallet first");
      const q = question.value.trim();
      const meta = { question: q, creator: wallet.address };
      if (category.value.trim()) meta.category = category.value.trim().toLowerCase();
      if (description.value.trim()) meta.description = description.value.trim();
      if (criteria.value.trim()) meta.resolution_criteria = criteria.value.trim();
      if (closes.value) meta.closes_at = new Date(closes.value).toISOString().replace(/\.\d{3}Z$/, "Z");
      const pb = parseAmount(b.value);
      const pl = parseAmount(liquidity.value);
      if (pb.error) throw new Error(`b: ${pb.error}`);
      if (pl.error) throw new Error(`initial liquidity: ${pl.error}`);
      const bl = pb.units;
      const liq = pl.units;
      if (!(bl > 0) || !(liq > 0)) throw new Error("give b and the initial liquidity in SOL");
      const marketId = await sha256Hex(canonicalJson(meta));
      const { message, signature } = await wallet.signAction("create_market", marketId, marketId);
      const body = { metadata: meta, b_parameter: bl, initial_liquidity: liq, message, signature };
      if (resolver.value.trim()) body.resolver = resolver.value.trim();
      let built;
      try {
        built = await api("/api/markets", { method: "POST", body });
      } catch (err) {
        // The API's rules for the question (the same as above): said next to it, not in a toast.
        if (err instanceof ApiError && /^question_/.test(err.code || "")) {
          const other = err.details && err.details.market_id;
          setError(question, err.code === "question_duplicate" && other
            ? duplicateError({ id: other, question: "" })
            : err.message.replace(/^metadata\.question/, "The question"));
          question.focus();
          return;
        }
        throw err;
      }
      if (built.market_id !== marketId) throw new Error("the server computed another market id");
      await wallet.signAndSend(built);
      toast("Market proposed: voting is open", "ok");
      await untilIndexed(() => api(`/api/markets/${marketId}`));
      location.hash = marketHref({ id: marketId, question: q });
    });
  });

  clear(view, h("section.create-page", h("a.back", { href: "#/" }, "← All markets"), h("h1", "Propose a market"), form));
}
