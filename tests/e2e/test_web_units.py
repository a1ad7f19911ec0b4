"""The web UI's own cryptography and encodings, run in Chromium against Python's: the SHA-256
fallback (for pages without crypto.subtle), canonical JSON (the market id a proposal signs),
transaction signing into the right signature slot, and SIWS message signatures.

No server: the page and its modules are served from the package's files through Playwright's
request routing, so these run in a second and need only the browser."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

import base58
import pytest
from nacl.signing import VerifyKey
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from hybridmarket.api.app import WEB_DIR
from hybridmarket.canonical import canonical_json

from .test_web import CHROMIUM, CHROMIUM_ARGS, require_browser

pytestmark = pytest.mark.e2e

ORIGIN = "https://hybridmarket.test"  # https: a secure context, with crypto.subtle
PAGE = """<!doctype html><html><head>
<script type="importmap">{"imports": {"base-x": "/static/vendor/base-x.js"}}</script>
<script src="/static/vendor/nacl-fast.min.js"></script>
</head><body>units</body></html>"""
TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html"}

try:
    from playwright.async_api import Page, Route, async_playwright
except ImportError:  # pragma: no cover
    async_playwright = None  # type: ignore[assignment]


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    require_browser()

    async def serve(route: Route) -> None:
        path = route.request.url.removeprefix(ORIGIN).split("?")[0]
        if path == "/units":
            await route.fulfill(body=PAGE, content_type="text/html")
            return
        file = (WEB_DIR / path.lstrip("/")).resolve()
        if not file.is_relative_to(WEB_DIR) or not file.is_file():
            await route.fulfill(status=404, body="not found")
            return
        await route.fulfill(
            body=file.read_bytes(), content_type=TYPES.get(file.suffix, "application/octet-stream")
        )

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            pg = await browser.new_page()
            await pg.route(f"{ORIGIN}/**", serve)
            await pg.goto(f"{ORIGIN}/units")
            yield pg
        finally:
            await browser.close()


async def js(page: Page, module: str, body: str, arg: Any = None) -> Any:
    """Run `body` (an async function body with `m` the module and `arg`) in the page."""
    return await page.evaluate(
        f"async (arg) => {{ const m = await import('/static/{module}'); {body} }}", arg
    )


TEXTS = [
    "",
    "abc",
    "a" * 55,
    "a" * 56,
    "a" * 64,
    "a" * 119,
    "Ünïcödé — 市场 🚀",
    "x" * 10_000,
]


async def test_sha256_fallback_matches_hashlib(page: Page) -> None:
    got = await js(
        page,
        "util.js",
        "return arg.map((t) => m._sha256Js(new TextEncoder().encode(t)));",
        TEXTS,
    )
    assert got == [hashlib.sha256(t.encode()).hexdigest() for t in TEXTS]
    # And the one the page uses (crypto.subtle, in this secure context) agrees.
    assert await page.evaluate("isSecureContext && !!crypto.subtle")
    got2 = await js(page, "util.js", "return Promise.all(arg.map((t) => m.sha256Hex(t)));", TEXTS)
    assert got2 == got


async def test_tiny_amounts_never_read_as_zero(page: Page) -> None:
    # A 0.000001 SOL buy gets ~1,900 share units: the toast once said "Bought 0 YES for 0 SOL".
    got = await js(
        page,
        "util.js",
        "return arg.map(([s, l]) => [m.shares(s), m.sol(l), m.sol(l, { precise: true })]);",
        [[1_900, 1_000], [1, 1], [0, 0], [2_500_000_000, 1_234_567_890]],
    )
    assert got == [
        ["0.0000019", "0.000001 SOL", "0.000001 SOL"],
        ["0.000000001", "0.000000001 SOL", "0.000000001 SOL"],
        ["0", "0 SOL", "0 SOL"],
        ["2.5", "1.23 SOL", "1.2346 SOL"],
    ]


async def test_canonical_json_and_market_id_match_the_server(page: Page) -> None:
    meta = {
        "question": 'Will "quotes", back\\slashes, tabs\tand\nnewlines survive?',
        "description": "Control \x01\x1f, é, 市场, emoji 🚀, line sep \u2028, slash /",
        "category": "weather",
        "resolution_criteria": "<b>not html</b> & more",
        "closes_at": "2030-01-01T00:00:00Z",
        "creator": str(Keypair().pubkey()),
    }
    got = await js(
        page,
        "views-create.js",
        "const c = m.canonicalJson(arg); const u = await import('/static/util.js');"
        " return [c, await u.sha256Hex(c)];",
        meta,
    )
    assert got[0] == canonical_json(meta).decode()
    assert got[1] == hashlib.sha256(canonical_json(meta)).hexdigest()
    assert json.loads(got[0]) == meta


async def test_transaction_signed_into_the_wallets_slot(page: Page) -> None:
    payer, other = Keypair(), Keypair()
    program = Pubkey.from_string("11111111111111111111111111111111")
    ix = Instruction(
        program,
        b"\x02\x00\x00\x00",
        [AccountMeta(payer.pubkey(), True, True), AccountMeta(other.pubkey(), True, True)],
    )
    msg = MessageV0.try_compile(payer.pubkey(), [ix], [], Hash.new_unique())
    unsigned = VersionedTransaction.populate(msg, [Signature.default(), Signature.default()])
    raw = bytes(unsigned)
    for kp, slot in ((payer, 0), (other, 1)):
        signed = bytes(
            await js(
                page,
                "wallet.js",
                "const out = m.signTransactionWith(Uint8Array.from(arg.tx), Uint8Array.from(arg.sk));"
                " return Array.from(out);",
                {"tx": list(raw), "sk": list(bytes(kp))},
            )
        )
        tx = VersionedTransaction.from_bytes(signed)
        assert tx.signatures[slot] == kp.sign_message(to_bytes_versioned(msg))
        assert tx.signatures[1 - slot] == Signature.default()
        assert bytes(tx.message) == bytes(msg)
    # A key that is not a signer is refused, not silently misplaced.
    err = await js(
        page,
        "wallet.js",
        "try { m.signTransactionWith(Uint8Array.from(arg.tx), Uint8Array.from(arg.sk)); return null; }"
        " catch (e) { return e.message; }",
        {"tx": list(raw), "sk": list(bytes(Keypair()))},
    )
    assert err == "this wallet is not a signer of the transaction"


async def test_demo_wallet_signs_siws_text_that_the_server_verifies(page: Page) -> None:
    from hybridmarket.api import siws

    kp = Keypair()
    secret = base58.b58encode(bytes(kp)).decode()
    text = "127.0.0.1:8000 wants you to sign in with your Solana account:\n" + str(kp.pubkey())
    got = await js(
        page,
        "wallet.js",
        "localStorage.setItem('hybridmarket.demoWallet', arg.secret);"
        " const { wallet } = m.DemoWallet.load();"
        " const sig = await wallet.signMessage(new TextEncoder().encode(arg.text));"
        " const bs58 = (await import('/static/vendor/bs58.js')).default;"
        " return [wallet.address, bs58.encode(sig)];",
        {"secret": secret, "text": text},
    )
    assert got[0] == str(kp.pubkey())
    siws.verify_signature(got[0], text, got[1])
    VerifyKey(bytes(kp.pubkey())).verify(text.encode(), base58.b58decode(got[1]))
