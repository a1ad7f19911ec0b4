"""Fixtures shared by the integration tests: a local validator in this event loop (with test
controls, 50 ms slots) and a chain client for it. A test module can override either."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hybridmarket.chain import ChainClient
from hybridmarket.localnet.validator import LocalValidator

from .localnet_fixtures import running_validator
from .node_tool import anchor_check_tool

__all__ = ["anchor_check_tool"]  # a session fixture for the tests that drive the JS clients


@pytest.fixture
async def validator(tmp_path: Path) -> AsyncIterator[LocalValidator]:
    async with running_validator(tmp_path / "ledger") as v:
        yield v


@pytest.fixture
async def client(validator: LocalValidator) -> AsyncIterator[ChainClient]:
    async with ChainClient(validator.rpc_url) as c:
        yield c
