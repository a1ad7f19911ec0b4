// A market's discussion: comments signed by their authors' wallets (SIWS), posting, deleting
// your own, links to the daily snapshots archived on IPFS, and the archive's head: the latest
// snapshot's CID, from which anyone can walk the chain of days back (`hybridmarket
// verify-archive`). Comment text is shown as text (textContent), never parsed as HTML.

import { h, clear, api, relative, dateTime, sha256Hex, walletLink } from "/static/util.js";

const MAX_CHARS = 1000;

export function renderDiscussion(el, marketId, ctx) {
  const { wallet, toast, act } = ctx;
  const listEl = h("ol.comments", { "data-testid": "comments" });
  const snapsEl = h("div.snapshots", { "data-testid": "snapshots" });
  const archiveEl = h("div.snapshots.archive-head", { "data-testid": "archive" });
  const moreBtn = h("button.btn.btn-ghost.btn-small", { type: "button", hidden: true }, "Older comments");
  const countEl = h("span.muted.char-count", `0 / ${MAX_CHARS}`);
  // No maxlength: the browser would count UTF-16 units (an emoji is two), the server counts
  // Unicode code points; the counter and the Post button use the server's rule.
  const text = h("textarea.input.comment-input", {
    rows: 3, placeholder: "Share evidence or an argument… (signed by your wallet)",
    "aria-label": "Your comment", "data-testid": "comment-input",
  });
  const postBtn = h("button.btn.btn-primary", { type: "button", "data-testid": "comment-post" }, "Post");
  let cursor = null;
  let available = true;

  /** Characters as the server counts them: code points. */
  function syncCount() {
    const n = [...text.value].length;
    countEl.textContent = `${n} / ${MAX_CHARS}`;
    countEl.classList.toggle("over", n > MAX_CHARS);
    countEl.title = n > MAX_CHARS ? `${n - MAX_CHARS} characters too many` : "";
    postBtn.disabled = n > MAX_CHARS;
  }
  text.addEventListener("input", syncCount);

  function commentEl(c) {
    const mine = wallet.address && c.user_wallet === wallet.address;
    const del = mine
      ? h("button.link-btn.danger", {
        type: "button", "data-testid": "comment-delete",
        on: { click: (e) => remove(e.currentTarget, c) },
      }, "Delete")
      : null;
    return h("li.comment", { "data-testid": "comment", "data-id": c.id },
      h("div.comment-head",
        h("span.author", walletLink(c.user_wallet)),
        mine ? h("span.chip.chip-small", "you") : null,
        h("time.muted", { datetime: c.created_at, title: dateTime(c.created_at) }, relative(c.created_at, Date.now())), // the server's clock wrote it
        h("span.signed", { title: `Signed by the author's wallet:\n\n${c.signed_message}` }, "✓ signed"),
        del),
      h("p.comment-body", c.content));
  }

  async function load(more = false) {
    if (!more) cursor = null;
    let data;
    try {
      data = await api(`/api/discussions/${marketId}`, { params: { order: "newest", limit: 50, cursor } });
    } catch (e) {
      if (e.status === 404 && e.code === "not_found") {
        available = false;
        clear(el, h("section.panel", h("h2.panel-title", "Discussion"), h("p.muted", "Discussions are not available on this server.")));
        return;
      }
      clear(listEl, h("li.muted", `Could not load comments: ${e.message}`));
      return;
    }
    if (!more) listEl.replaceChildren();
    for (const c of data.discussions) listEl.append(commentEl(c));
    if (!listEl.children.length) listEl.append(h("li.muted.empty", "No comments yet. Be the first."));
    cursor = data.next_cursor;
    moreBtn.hidden = !cursor;
    const snaps = data.ipfs_snapshots || [];
    clear(snapsEl, snaps.length
      ? [h("span.muted", "Archived on IPFS: "),
        snaps.slice(0, 10).map((s) => h("a.snap", {
          href: (s.links && s.links.gateway) || `/ipfs/${s.cid}`, target: "_blank", rel: "noopener",
          title: `${s.cid} · ${s.discussions_count} comments`, "data-testid": "snapshot",
        }, `${s.snapshot_date} (${s.discussions_count})`))]
      : h("span.muted", "No IPFS snapshot yet: comments are archived daily."));
    if (!more) loadArchive();
  }

  /** The archive's head (GET /api/markets/<id>/archive): each day's snapshot names the one
   * before it, so this one CID proves every day back to the first. */
  async function loadArchive() {
    let head;
    try {
      head = await api(`/api/markets/${marketId}/archive`);
    } catch {
      return; // the snapshot links above still say what is archived
    }
    if (!head.latest_cid) { archiveEl.replaceChildren(); return; }
    const days = `${head.days} day${head.days === 1 ? "" : "s"} since ${head.first_date}`;
    clear(archiveEl,
      h("span.muted", "Archive head: "),
      h("a.cid", {
        href: head.links.gateway, target: "_blank", rel: "noopener", "data-testid": "archive-head",
        title: "Each daily snapshot names the previous one: from this CID anyone can walk back "
          + "every day and check each comment's signature (hybridmarket verify-archive).",
      }, head.latest_cid),
      h("span.muted", `· ${days} · `),
      h("code", { "data-testid": "archive-verify" }, `hybridmarket verify-archive ${marketId}`));
  }

  async function post(button) {
    const content = text.value;
    if (!content.trim()) { toast("Write something first", "error"); return; }
    await act(button, "Signing…", async () => {
      if (!wallet.address) throw new Error("connect a wallet first");
      const hash = await sha256Hex(content);
      const { message, signature } = await wallet.signAction("post_comment", marketId, hash);
      await api("/api/discussions", {
        method: "POST",
        body: { marketId, content, wallet: wallet.address, message, signature },
      });
      text.value = "";
      syncCount();
      toast("Comment posted", "ok");
      await load();
    });
  }

  async function remove(button, c) {
    if (!confirm("Delete this comment? It stays in earlier IPFS snapshots.")) return;
    await act(button, "…", async () => {
      const { message, signature } = await wallet.signAction("delete_comment", c.id);
      await api(`/api/discussions/${c.id}`, {
        method: "DELETE", body: { wallet: wallet.address, message, signature },
      });
      toast("Comment deleted", "ok");
      await load();
    });
  }

  postBtn.addEventListener("click", (e) => post(e.currentTarget));
  moreBtn.addEventListener("click", () => load(true));

  clear(el, h("section.panel.discussion", { "data-testid": "discussion" },
    h("h2.panel-title", "Discussion"),
    h("div.comment-form", text, h("div.comment-actions", countEl, postBtn)),
    listEl, moreBtn, snapsEl, archiveEl));
  load();

  return {
    refresh: () => available && load(),
    onComment: () => available && load(),
  };
}
