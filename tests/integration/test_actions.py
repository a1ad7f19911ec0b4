"""Solana Actions end to end: the real app on a socket, the real validator, PostgreSQL, real keys.
A blink's GET of a tradable market, its POST signed by the wallet's own key and sent to the
validator (the trade lands, and is the trade `POST /buy` builds), refusals in the spec's
`{"message"}` shape with the Actions headers; and the answers checked by the official
@solana/actions package in Node (its types through tsc, its CORS headers and helpers)."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from psycopg_pool import AsyncConnectionPool
from solders.keypair import Keypair
from solders.transaction import VersionedTransaction

from hybridmarket.api.routes.actions import CORS_HEADERS
from hybridmarket.chain import ChainClient
from hybridmarket.chain.keys import load_keypair
from hybridmarket.indexer.service import Indexer
from hybridmarket.localnet.validator import LocalValidator
from hybridmarket.program import builders as b

from .api_fixtures import api_settings, running_api, sign_transaction
from .node_tool import npm_tool
from .test_api import create_market, funded

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
SOL = 1_000_000_000
TOOL = Path(__file__).resolve().parent / "actions_check"


@pytest.fixture
async def http(
    validator: LocalValidator, db_url: str, tmp_path: Path
) -> AsyncIterator[httpx2.AsyncClient]:
    async with running_api(
        api_settings(db_url, validator.rpc_url, validator.ws_url, tmp_path)
    ) as h:
        yield h


async def active_market(
    validator: LocalValidator,
    client: ChainClient,
    http: httpx2.AsyncClient,
    pool: AsyncConnectionPool,
    question: str,
) -> str:
    """A market proposed through the API (so it has its question), liked by ten wallets,
    approved by the backend and activated by its creator on chain, then indexed."""
    creator = await funded(client, 500 * SOL)
    mid = await create_market(http, creator, question)
    voters = [await funded(client, SOL) for _ in range(10)]
    for x in voters:
        await client.send([b.submit_proposal_vote(x.pubkey(), bytes.fromhex(mid), True)], x)
    backend = load_keypair(validator.key_paths["backend_authority"])
    await client.send([b.approve_market(backend.pubkey(), bytes.fromhex(mid), 10, 0)], backend)
    await client.send([b.activate_market(creator.pubkey(), bytes.fromhex(mid))], creator)
    await Indexer(pool, client).sync()
    return mid


def assert_action_headers(r: httpx2.Response) -> None:
    for name, value in CORS_HEADERS.items():
        assert r.headers.get(name) == value, (name, r.headers)
    assert r.headers["X-Action-Version"] == "2.4"
    assert r.headers["X-Blockchain-Ids"].startswith("solana:")


def assert_refused(r: httpx2.Response, status: int, words: str) -> None:
    """A refusal as the spec has it: a 4xx, `{"message"}` and nothing else, the headers."""
    assert r.status_code == status, r.text
    body = r.json()
    assert list(body) == ["message"] and words in body["message"], body
    assert_action_headers(r)


def instructions(b64: str) -> list[Any]:
    tx = VersionedTransaction.from_bytes(base64.b64decode(b64))
    keys = tx.message.account_keys
    return [
        (keys[ix.program_id_index], [keys[i] for i in ix.accounts], bytes(ix.data))
        for ix in tx.message.instructions
    ]


async def test_a_blink_buys_with_the_wallets_own_signature(
    validator: LocalValidator,
    client: ChainClient,
    http: httpx2.AsyncClient,
    pool: AsyncConnectionPool,
) -> None:
    mid = await active_market(validator, client, http, pool, "Will the blink's trade land?")
    chain_id = f"solana:{str((await client.rpc.get_genesis_hash()).value)[:32]}"

    rules = await http.get("/actions.json")
    assert rules.status_code == 200
    assert {"pathPattern": "/market/*", "apiPath": "/api/actions/markets/*"} in rules.json()[
        "rules"
    ]
    assert {"pathPattern": "/market/*/*", "apiPath": "/api/actions/markets/*"} in rules.json()[
        "rules"
    ]
    assert_action_headers(rules)
    # A blink client's preflight from any origin.
    pre = await http.options(
        f"/api/actions/markets/{mid}",
        headers={"Origin": "https://dial.to", "Access-Control-Request-Method": "POST"},
    )
    assert pre.status_code == 204
    assert_action_headers(pre)

    r = await http.get(f"/api/actions/markets/{mid}")
    assert r.status_code == 200, r.text
    assert_action_headers(r)
    assert r.headers["X-Blockchain-Ids"] == chain_id
    action = r.json()
    assert action["type"] == "action" and action["title"] == "Will the blink's trade land?"
    assert "YES 50.0%" in action["description"] and "ACTIVE" in action["description"]
    buttons = action["links"]["actions"]
    assert [x["label"] for x in buttons] == ["Buy YES", "Buy NO"]
    assert all([p["name"] for p in x["parameters"]] == ["amount"] for x in buttons)
    icon = await http.get(action["icon"])  # absolute, served by the app
    assert action["icon"].startswith(str(http.base_url))
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml"
    assert "blink&#x27;s trade land?" in icon.text and "YES 50.0%" in icon.text

    trader = await funded(client, 10 * SOL)
    href = buttons[0]["href"].replace("{amount}", "1.5")
    posted = await http.post(href, json={"account": str(trader.pubkey())})
    assert posted.status_code == 200, posted.text
    assert_action_headers(posted)
    answer = posted.json()
    assert answer["type"] == "transaction" and "YES shares" in answer["message"]
    # The very transaction the buy route builds for the same wallet, side and amount.
    built = await http.post(
        f"/api/markets/{mid}/buy",
        json={"wallet": str(trader.pubkey()), "outcome": "yes", "amount": 1_500_000_000},
    )
    assert built.status_code == 200, built.text
    assert instructions(answer["transaction"]) == instructions(built.json()["transaction"])
    quote = built.json()["quote"]

    before = await client.get_balance(trader.pubkey())
    signed = base64.b64decode(sign_transaction(answer["transaction"], trader))
    await client.confirm(await client.send_raw(signed))
    position = await client.get_position(bytes.fromhex(mid), trader.pubkey())
    assert position is not None
    assert position.shares_yes == quote["shares"] and position.shares_no == 0
    spent = before - await client.get_balance(trader.pubkey())
    assert quote["total"] <= spent <= quote["max_cost"] + 10_000  # + the network fee
    await Indexer(pool, client).sync()
    after = (await http.get(f"/api/actions/markets/{mid}")).json()
    assert "YES 50.0%" not in after["description"]  # the price moved

    # Refusals, in the spec's shape.
    url = f"/api/actions/markets/{mid}"
    account = {"account": str(trader.pubkey())}
    assert_refused(await http.post(url, params={"outcome": "yes"}, json=account), 422, "amount")
    for amount in ("0", "abc", "1.0000000001"):
        r = await http.post(url, params={"outcome": "yes", "amount": amount}, json=account)
        assert_refused(r, 422, "amount")
    r = await http.post(url, params={"outcome": "maybe", "amount": "1"}, json=account)
    assert_refused(r, 422, "outcome")
    for bad in ({"account": "not-a-wallet"}, {}, {"account": str(trader.pubkey()), "x": 1}):
        r = await http.post(url, params={"outcome": "no", "amount": "1"}, json=bad)
        assert_refused(r, 422, "account" if bad.get("x") is None else "x")
    r = await http.post(url, params={"outcome": "no", "amount": "1"}, content=b"{not json")
    assert r.status_code in (400, 422) and list(r.json()) == ["message"], r.text
    unknown = hashlib.sha256(b"no such market").hexdigest()
    assert_refused(await http.get(f"/api/actions/markets/{unknown}"), 404, "no market")
    assert_refused(await http.get("/api/actions/markets/xyz"), 422, "market_id")
    # A market that is not trading (still PROPOSED): no action, and no transaction.
    proposed = await create_market(http, await funded(client, 500 * SOL), "Not trading yet?")
    await Indexer(pool, client).sync()
    assert_refused(await http.get(f"/api/actions/markets/{proposed}"), 409, "PROPOSED")
    r = await http.post(
        f"/api/actions/markets/{proposed}", params={"outcome": "yes", "amount": "1"}, json=account
    )
    assert_refused(r, 409, "PROPOSED")


async def test_blinks_from_any_origin_when_the_api_lists_its_own(
    validator: LocalValidator, client: ChainClient, db_url: str, tmp_path: Path
) -> None:
    """With CORS_ORIGINS set, the app's CORSMiddleware refuses other origins' preflights and
    sets its own exposed headers; the Actions routes still answer every origin as the spec says
    (and the rest of the API still follows CORS_ORIGINS)."""
    settings = api_settings(
        db_url, validator.rpc_url, validator.ws_url, tmp_path, CORS_ORIGINS="http://ui.test"
    )
    preflight = {"Origin": "https://dial.to", "Access-Control-Request-Method": "POST"}
    async with running_api(settings) as http:
        unknown = hashlib.sha256(b"no such market").hexdigest()
        pre = await http.options(f"/api/actions/markets/{unknown}", headers=preflight)
        assert pre.status_code == 204, pre.text
        assert_action_headers(pre)
        r = await http.get(f"/api/actions/markets/{unknown}", headers={"Origin": "https://x.test"})
        assert_refused(r, 404, "no market")
        r = await http.get("/actions.json", headers={"Origin": "http://ui.test"})
        assert r.status_code == 200
        assert_action_headers(r)
        other = await http.options("/api/markets", headers=preflight)
        assert other.status_code == 400  # not an Actions route: CORS_ORIGINS applies


@pytest.fixture(scope="session")
def actions_tool() -> str:
    """`node`, with tests/integration/actions_check installed."""
    return npm_tool(TOOL, "@solana/actions")


def check_with_solana_actions(node: str, tmp_path: Path, answers: dict[str, Any]) -> list[str]:
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(answers))
    proc = subprocess.run(
        [node, str(TOOL / "check.mjs"), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert (proc.returncode == 0) == out["ok"], (proc.stdout, proc.stderr)
    problems: list[str] = out["problems"]
    return problems


async def test_the_answers_are_what_solana_actions_says(
    validator: LocalValidator,
    client: ChainClient,
    http: httpx2.AsyncClient,
    pool: AsyncConnectionPool,
    actions_tool: str,
    tmp_path: Path,
) -> None:
    mid = await active_market(validator, client, http, pool, "Do the types agree?")
    account = str(Keypair().pubkey())
    get = await http.get(f"/api/actions/markets/{mid}")
    post = await http.post(
        f"/api/actions/markets/{mid}", params={"outcome": "no", "amount": "0.25"},
        json={"account": account},
    )  # fmt: skip
    error = await http.get(f"/api/actions/markets/{hashlib.sha256(b'none').hexdigest()}")
    assert (get.status_code, post.status_code, error.status_code) == (200, 200, 404)
    # The website's market URLs (which serve the page: tests/integration/test_share.py) and
    # the Action each maps to.
    site = str(http.base_url).rstrip("/")
    action = f"{site}/api/actions/markets/{mid}"
    mappings = {
        f"{site}/market/{mid}": action,
        f"{site}/market/{mid}/do-the-types-agree": action,
        f"{site}/market/{mid}/an-old-slug?ref=chat": f"{action}?ref=chat",
        action: action,
    }
    for url in mappings:
        assert (await http.get(url)).status_code == 200, url
    answers = {
        "actions_json": (await http.get("/actions.json")).json(),
        "get": get.json(),
        "post": post.json(),
        "error": error.json(),
        "headers": dict(get.headers),
        "account": account,
        "mappings": mappings,
    }
    assert check_with_solana_actions(actions_tool, tmp_path, answers) == []
    # The checks can fail: a field the spec does not have, a wrong type, a missing header.
    broken = json.loads(json.dumps(answers))
    broken["get"]["price"] = "0.5"
    broken["post"]["transaction"] = 42
    del broken["headers"]["access-control-allow-origin"]
    broken["actions_json"]["rules"] = broken["actions_json"]["rules"][:1]  # no slug rule
    problems = check_with_solana_actions(actions_tool, tmp_path, broken)
    text = "\n".join(problems)
    assert f"maps {site}/market/{mid}/do-the-types-agree to null" in text, problems
    assert "TS2353" in text and "'\"price\"' does not exist in type" in text, problems
    assert "transaction" in text and "Access-Control-Allow-Origin" in text, problems
