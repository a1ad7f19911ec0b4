"""What a shared market link shows before anyone opens it: the market's readable path
(`/market/<id>/<slug>`, the slug made by the same rule as the web UI's `slug` in
web/static/util.js) and the `<head>` of its page, with Open Graph and Twitter-card meta.

Pure: strings in, strings out. Everything that comes from users (the question above all) is
HTML-escaped here, once, where it is put into markup."""

from __future__ import annotations

import html
import re
import unicodedata
from decimal import Decimal
from typing import Any
from urllib.parse import quote

SITE_NAME = "hybridmarket"
SLUG_UNITS = 60  # UTF-16 code units, as JavaScript's String.prototype.slice counts
STATE_LABELS = {  # the UI's words for the states (util.js STATE_LABELS)
    "PROPOSED": "Proposed",
    "APPROVED": "Approved",
    "ACTIVE": "Trading",
    "RESOLVING": "Resolving",
    "DISPUTED": "Disputed",
    "FINALIZED": "Final",
    "CANCELLED": "Cancelled",
}
CHART_SIZE = (1200, 630)  # what summary_large_image and og:image cards show uncropped
_COMBINING = re.compile("[\u0300-\u036f]")
_TITLE = re.compile(r"<title>.*?</title>", re.S)


def slug(text: str | None) -> str:
    """A readable URL part from a question: "Will it rain in Lisbon?" is
    "will-it-rain-in-lisbon". The web UI's rule, step by step: NFKD, accents dropped, lower
    case, each run of anything but letters and digits one hyphen, none at the ends, at most 60
    UTF-16 units (tests/unit/test_sharing.py runs both on the same strings)."""
    s = _COMBINING.sub("", unicodedata.normalize("NFKD", text or "")).lower()
    parts: list[str] = []
    for ch in s:
        if unicodedata.category(ch)[0] in "LN":
            parts.append(ch)
        elif not parts or parts[-1] != "-":
            parts.append("-")
    s = "".join(parts).strip("-")
    units = s.encode("utf-16-le", "surrogatepass")[: 2 * SLUG_UNITS]
    return units.decode("utf-16-le", "surrogatepass").rstrip("-")


def market_path(market_id: str, question: str | None) -> str:
    """`/market/<id>/<slug>` (or `/market/<id>` when the question makes no slug), encoded for a
    URL. A cut through a surrogate pair leaves half a character, which a URL cannot hold: it
    becomes U+FFFD, as a browser would write it."""
    s = slug(question)
    if not s:
        return f"/market/{market_id}"
    whole = s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return f"/market/{market_id}/{quote(whole, safe='')}"


def _percent(price: str | None) -> str:
    return f"{(Decimal(price or '0.5') * 100).quantize(Decimal('0.1'))}%"


def _sol(lamports: int) -> str:
    return f"{Decimal(lamports) / 10**9:,.2f} SOL"


def _closing(iso: str | None) -> str:
    if not iso:
        return "no closing time"
    return f"closes {iso[:10]} {iso[11:16]} UTC"


def description(market: dict[str, Any]) -> str:
    """One line: the YES price, the volume, the closing time and the state."""
    state = STATE_LABELS.get(market["state"], market["state"])
    outcome = market.get("resolution", {}).get("final_outcome")
    settled = f" ({outcome.upper()})" if market["state"] == "FINALIZED" and outcome else ""
    return (
        f"YES {_percent(market['price_yes'])} · volume {_sol(int(market['volume']))} · "
        f"{_closing(market.get('closes_at'))} · {state}{settled}"
    )


def head(market: dict[str, Any], *, base_url: str, image_url: str) -> str:
    """The `<title>`, canonical link and Open Graph / Twitter meta of a market's page."""
    question = market["question"] or f"Market {market['id'][:8]}"
    url = base_url + market_path(market["id"], market["question"])
    desc = description(market)
    width, height = CHART_SIZE
    meta = {
        "og:type": "website",
        "og:site_name": SITE_NAME,
        "og:title": question,
        "og:description": desc,
        "og:url": url,
        "og:image": image_url,
        "og:image:type": "image/png",
        "og:image:width": str(width),
        "og:image:height": str(height),
        "og:image:alt": f"YES price over time: {question}",
    }
    twitter = {
        "twitter:card": "summary_large_image",
        "twitter:title": question,
        "twitter:description": desc,
        "twitter:image": image_url,
    }

    def esc(text: str) -> str:
        return html.escape(text, quote=True)

    lines = [
        f"<title>{esc(question)} · {SITE_NAME}</title>",
        f'<meta name="description" content="{esc(desc)}">',
        f'<link rel="canonical" href="{esc(url)}">',
        *(f'<meta property="{k}" content="{esc(v)}">' for k, v in meta.items()),
        *(f'<meta name="{k}" content="{esc(v)}">' for k, v in twitter.items()),
    ]
    return "\n  ".join(lines)


def page(index_html: str, head_html: str) -> str:
    """The web UI's index.html with its `<title>` replaced by `head_html` (before `</head>`
    when it has none)."""
    if _TITLE.search(index_html):
        return _TITLE.sub(lambda _: head_html, index_html, count=1)
    return index_html.replace("</head>", f"  {head_html}\n</head>", 1)


def not_found_page(what: str) -> str:
    """A small page of its own (no script): crawlers and people both read it."""
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n  <meta charset="utf-8">\n'
        '  <meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'  <meta name="robots" content="noindex">\n  <title>Not found · {SITE_NAME}</title>\n'
        '  <link rel="stylesheet" href="/static/app.css">\n</head>\n<body>\n'
        '  <main class="view">\n    <h1>No such market</h1>\n'
        f"    <p>{html.escape(what)}</p>\n"
        '    <p><a href="/">All markets</a></p>\n  </main>\n</body>\n</html>\n'
    )
