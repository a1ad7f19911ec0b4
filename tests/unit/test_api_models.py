"""The API's response models: every 2xx of `/openapi.json` names one (an object with named
fields, so the fuzz test's schema check can fail on a 2xx), and the bodies the markets list and detail keep
encoded in the cache (built by `market_json`, not through the model) are what `Market` says."""

from __future__ import annotations

import hashlib
import inspect
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError
from solders.keypair import Keypair

from hybridmarket.api import models
from hybridmarket.api.app import create_app
from hybridmarket.api.common import market_json
from hybridmarket.api.models import Market, MarketList, MarketListItem
from hybridmarket.program.accounts import ConfigParams, GlobalConfig
from hybridmarket.settings import Settings

pytestmark = pytest.mark.unit
# Answers that are not JSON documents: the IPFS gateway serves stored files and blocks as they are;
# a market's chart is a picture.
NOT_JSON = {
    ("get", "/ipfs/{cid}"),
    ("get", "/api/stream"),
    ("get", "/api/markets/{market_id}/chart.png"),
}
T0 = datetime(2026, 12, 1, 12, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return create_app(Settings(DATABASE_URL="postgresql://127.0.0.1:1/none")).openapi()


def _model(spec: dict[str, Any], schema: dict[str, Any]) -> bool:
    """The schema is a model's: a $ref (or a choice of them) to an object with named fields."""
    if "$ref" in schema:
        target = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        return target.get("type") == "object" and bool(target.get("properties"))
    choices = schema.get("oneOf") or schema.get("anyOf")
    return bool(choices) and all(_model(spec, c) for c in choices)


def test_every_success_documents_a_response_model(spec: dict[str, Any]) -> None:
    bare = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            for status, response in op["responses"].items():
                if not status.startswith("2") or (method, path) in NOT_JSON:
                    continue
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                if schema is None or not _model(spec, schema):
                    bare.append(f"{method.upper()} {path} {status}: {json.dumps(schema)}")
    assert bare == []


def test_every_field_of_every_response_model_is_described() -> None:
    undescribed = []
    for name, model in vars(models).items():
        if inspect.isclass(model) and issubclass(model, models.Body):
            fields = model.model_json_schema(mode="serialization").get("properties", {})
            undescribed += [
                f"{name}.{f}" for f, schema in fields.items() if not schema.get("description")
            ]
    assert undescribed == []


def test_the_cached_list_and_detail_are_documented_as_their_models(spec: dict[str, Any]) -> None:
    def schema(path: str) -> Any:
        return spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]

    assert schema("/api/markets")["schema"] == {"$ref": "#/components/schemas/MarketList"}
    assert schema("/api/markets/{market_id}")["schema"] == {"$ref": "#/components/schemas/Market"}


def _row(**changes: Any) -> dict[str, Any]:
    """A `markets` row joined with its metadata, as the database returns it."""
    wallet = str(Keypair().pubkey())
    row: dict[str, Any] = {
        "id": hashlib.sha256(b"m").hexdigest(),
        "on_chain_address": str(Keypair().pubkey()),
        "question": "Will the cached bytes match the model?",
        "description": "é 😀",
        "category": "tests",
        "resolution_criteria": None,
        "closes_at": T0 + timedelta(days=30),
        "creator_wallet": wallet,
        "resolver_wallet": wallet,
        "state": "ACTIVE",
        "b_parameter": Decimal(100 * 10**9),
        "shares_yes": Decimal(5 * 10**9),
        "shares_no": Decimal(0),
        "current_price": Decimal("0.512497396"),
        "current_liquidity": Decimal(70 * 10**9),
        "initial_liquidity": Decimal(70 * 10**9),
        "total_volume": Decimal(2**64 - 1),  # u64 beyond BIGINT stays an exact integer
        "trades_count": 1,
        "proposal_total_votes": 10,
        "proposal_likes": 10,
        "proposal_dislikes": 0,
        "dispute_total_votes": 0,
        "dispute_agree": 0,
        "dispute_disagree": 0,
        "proposed_outcome": None,
        "final_outcome": None,
        "evidence_cid": None,
        "resolution_proposed_at": None,
        "dispute_initiator": None,
        "dispute_initiated_at": None,
        "finalized_at": None,
        "cancelled_at": None,
        "created_at": T0,
        "approved_at": T0,
        "activated_at": T0,
        "updated_at": T0,
    }
    return row | changes


def _config() -> GlobalConfig:
    key = Keypair().pubkey()
    return GlobalConfig.from_params(key, ConfigParams.default(key, key), 255)


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"question": None, "description": None, "category": None, "closes_at": None},
        {
            "state": "DISPUTED",
            "proposed_outcome": None,  # INVALID
            "evidence_cid": "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",
            "resolution_proposed_at": T0,
            "dispute_initiator": str(Keypair().pubkey()),
            "dispute_initiated_at": T0,
        },
        {"state": "FINALIZED", "proposed_outcome": True, "final_outcome": False,
         "resolution_proposed_at": T0, "finalized_at": T0, "current_price": Decimal(1)},
        {"state": "CANCELLED", "cancelled_at": T0, "current_price": Decimal(0)},
    ],
)  # fmt: skip
def test_the_cached_bodies_validate_against_their_models(changes: dict[str, Any]) -> None:
    body = market_json(_row(**changes), _config())
    encoded = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    market = Market.model_validate_json(encoded)
    # The model's own encoding is the cached body byte for byte: same fields, same order.
    assert market.model_dump_json().encode() == encoded
    # A listed market is the same body with its 24-hour change (a decimal string or null).
    for change in ("-0.125", None):
        listed = json.dumps(
            body | {"change_24h": change}, ensure_ascii=False, separators=(",", ":")
        )
        item = MarketListItem.model_validate_json(listed)
        assert item.model_dump_json().encode() == listed.encode()
        page = json.dumps({"markets": [json.loads(listed)], "next_cursor": None})
        assert MarketList.model_validate_json(page).markets == [item]


def test_a_body_unlike_its_model_is_refused() -> None:
    body = market_json(_row(), None)
    for broken in (
        body | {"unexpected": 1},  # a field the model does not name
        {k: v for k, v in body.items() if k != "question"},  # a field missing
        body | {"price_yes": 0.5},  # a price as a float, not a decimal string
        body | {"state": "OPEN"},
    ):
        with pytest.raises(ValidationError):
            Market.model_validate_json(json.dumps(broken))
