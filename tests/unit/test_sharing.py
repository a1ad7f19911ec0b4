"""The server's slug is the web UI's (util.js `slug`, run in Node on the same strings), and the
head of a shared market's page escapes what users wrote."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from hybridmarket.api import sharing

pytestmark = pytest.mark.unit
UTIL_JS = Path(sharing.__file__).resolve().parents[1] / "web" / "static" / "util.js"

TRICKY = [
    "Will it rain in Lisbon?",
    "Will it rain in Lisbon on Friday?",
    "  --Leading and trailing--  ",
    "Ça été İstanbul ΣΑΣ ὈΔΥΣΣΕΎΣ",
    "Straße ﬁnal ① ² ½ Ⅻ",
    "東京で雨が降りますか？ 2027年",
    "Будет ли дождь в Москве?",
    "هل ستمطر في القاهرة؟ ٢٠٢٧",
    "emoji 😀 only 🎉🎉 and 👩🏽‍💻 zwj",
    "x" * 59 + "𝔸𝔹",  # mathematical letters: NFKD makes them ASCII
    "a" * 59 + "😀😀",
    "a" * 59 + "𠀀 past the cut",  # an astral letter cut in half by slice(0, 60)
    "<script>alert('x')</script> & \"quotes\"",
    "tab\tnew\nline\u00a0nbsp\u200bzw",
    "",
    "?!?",
    "a" * 200,
    "-" * 10 + "b",
]


def _random_strings(n: int) -> list[str]:
    rng = random.Random(16)
    ranges = [(0x20, 0x7E), (0xA0, 0x24F), (0x370, 0x3FF), (0x400, 0x4FF), (0x300, 0x36F),
              (0x3040, 0x30FF), (0x4E00, 0x4E80), (0x1F300, 0x1F64F), (0x1D400, 0x1D4FF),
              (0x2000, 0x206F), (0xFF00, 0xFFEF), (0x0600, 0x06FF), (0x0900, 0x097F)]  # fmt: skip
    out = []
    for _ in range(n):
        chars = []
        for _ in range(rng.randint(1, 90)):
            lo, hi = rng.choice(ranges)
            chars.append(chr(rng.randint(lo, hi)))
        out.append("".join(chars))
    return out


def test_the_slug_is_the_web_uis(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is needed to run the web UI's slug")
    module = tmp_path / "util.mjs"  # the UI's own file, as an ES module for Node
    module.write_text(UTIL_JS.read_text(encoding="utf-8"), encoding="utf-8")
    texts = TRICKY + _random_strings(400)
    data = tmp_path / "texts.json"
    data.write_text(json.dumps(texts), encoding="utf-8")
    script = (
        f"const m = await import({json.dumps(module.as_uri())});"
        f"const fs = await import('node:fs');"
        f"const texts = JSON.parse(fs.readFileSync({json.dumps(str(data))}, 'utf8'));"
        "console.log(JSON.stringify(texts.map(m.slug)));"
    )
    proc = subprocess.run(
        [node, "--input-type=module", "-e", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    js = json.loads(proc.stdout)
    assert len(js) == len(texts)
    differ = [
        (t, j, sharing.slug(t)) for t, j in zip(texts, js, strict=True) if j != sharing.slug(t)
    ]
    assert not differ, differ[:5]
    assert sharing.slug("Will it rain in Lisbon?") == "will-it-rain-in-lisbon"


def test_the_path_is_a_url_even_for_half_a_character() -> None:
    mid = "ab" * 32
    assert sharing.market_path(mid, "Will it rain?") == f"/market/{mid}/will-it-rain"
    assert sharing.market_path(mid, "?!?") == f"/market/{mid}"
    assert sharing.market_path(mid, "Ça va?") == f"/market/{mid}/ca-va"
    cut = sharing.market_path(mid, "a" * 59 + "𠀀")
    assert cut == f"/market/{mid}/{'a' * 59}%EF%BF%BD"  # U+FFFD, as a browser writes it
    assert sharing.market_path(mid, "東京") == f"/market/{mid}/%E6%9D%B1%E4%BA%AC"


class _Meta(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}
        self.links: dict[str, str] = {}
        self.title = ""
        self._in_title = False
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.append(tag)
        if tag == "meta" and ("property" in a or "name" in a):
            self.meta[a.get("property") or a["name"]] = a["content"]
        elif tag == "link":
            self.links[a["rel"]] = a["href"]
        self._in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


def parse_head(text: str) -> _Meta:
    p = _Meta()
    p.feed(text)
    return p


def market(question: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": "cd" * 32,
        "question": question,
        "state": "ACTIVE",
        "price_yes": "0.623456789",
        "volume": 12_500_000_000,
        "closes_at": "2030-01-01T00:00:00Z",
        "updated_at": "2026-12-04T01:00:00Z",
        "resolution": {"final_outcome": None},
        **extra,
    }


def test_the_head_escapes_the_question() -> None:
    question = "Will <script>alert(\"x\")</script> & 'friends' win?"
    head = sharing.head(
        market(question), base_url="https://hm.example", image_url="https://hm.example/c.png?v=1"
    )
    assert "<script>" not in head and "</script>" not in head
    assert "&lt;script&gt;" in head and "&amp;" in head and "&quot;" in head
    p = parse_head(head)
    assert set(p.tags) == {"title", "meta", "link"}  # nothing but the head's own tags
    assert p.title == f"{question} · hybridmarket"
    assert p.meta["og:title"] == question == p.meta["twitter:title"]
    url = f"https://hm.example/market/{'cd' * 32}/will-script-alert-x-script-friends-win"
    assert p.meta["og:url"] == url == p.links["canonical"]
    assert p.meta["og:description"] == (
        "YES 62.3% · volume 12.50 SOL · closes 2030-01-01 00:00 UTC · Trading"
    )
    assert p.meta["twitter:card"] == "summary_large_image"
    assert p.meta["og:image"] == p.meta["twitter:image"] == "https://hm.example/c.png?v=1"
    assert (p.meta["og:type"], p.meta["og:site_name"]) == ("website", "hybridmarket")
    final = sharing.description(
        market("q", state="FINALIZED", closes_at=None, resolution={"final_outcome": "no"})
    )
    assert final.endswith("no closing time · Final (NO)")


def test_the_page_replaces_only_the_title() -> None:
    index = "<html><head>\n<title>hybridmarket</title>\n<script src='/static/app.js'></script></head></html>"
    out = sharing.page(index, "<title>Q</title><meta name='x' content='y'>")
    assert out.count("<title>") == 1 and "<title>Q</title>" in out and "/static/app.js" in out
    assert sharing.page("<head></head>", "<title>Q</title>") == "<head>  <title>Q</title>\n</head>"
    assert "&lt;b&gt;" in sharing.not_found_page("<b>")
