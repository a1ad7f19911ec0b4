"""The worker's decisions at their exact boundaries, and the backend key sources."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import replace
from pathlib import Path

import base58
import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from hybridmarket.authority import (
    EnvKeySource,
    FileKeySource,
    KeySourceError,
    backend_key_source,
)
from hybridmarket.program.accounts import GlobalConfig, MarketAccount
from hybridmarket.settings import Settings
from hybridmarket.worker.jobs import (
    approves,
    dispute_period_over,
    dispute_voting_over,
    proposal_decision,
)

from .bank import default_params

pytestmark = pytest.mark.unit
RESERVED = 64  # GlobalConfig and MarketAccount reserve 64 bytes


def _cfg() -> GlobalConfig:
    """The default protocol configuration, as the program stores it."""
    p = default_params(Pubkey.default(), Pubkey.default())
    params = {name: getattr(p, name) for name in p.__dataclass_fields__}
    return GlobalConfig(
        admin=Pubkey.default(), **params, is_paused=False, bump=255, reserved=bytes(RESERVED)
    )


def _market(**kw: int) -> MarketAccount:
    from hybridmarket.program.accounts import MarketState

    base = {f.name: 0 for f in dataclasses.fields(MarketAccount)}
    base.update(
        market_id=bytes(32),
        creator=Pubkey.default(),
        resolver=Pubkey.default(),
        dispute_initiator=Pubkey.default(),
        state=MarketState.Proposed,
        ipfs_evidence_hash=bytes(46),
        reserved=bytes(RESERVED),
        proposed_outcome=None,
        final_outcome=None,
    )
    base.update(kw)
    return MarketAccount(**base)


def test_approval_is_inclusive_at_70_percent_and_quorum() -> None:
    cfg = _cfg()
    assert cfg.min_proposal_votes == 10 and cfg.proposal_approval_threshold_bps == 7000
    assert approves(cfg, 7, 3)
    assert not approves(cfg, 6, 4)  # one like short
    assert not approves(cfg, 9, 0)  # one vote short of quorum
    assert approves(cfg, 70, 30) and not approves(cfg, 69, 31)
    assert not approves(replace(cfg, min_proposal_votes=0), 0, 0)


def test_window_and_periods_end_exactly_on_the_second() -> None:
    cfg = _cfg()
    m = _market(created_at=1000, resolution_proposed_at=5000, dispute_initiated_at=9000)
    window = 3600
    assert proposal_decision(cfg, m, 6, 4, 1000 + window - 1, window) is None
    assert proposal_decision(cfg, m, 6, 4, 1000 + window, window) == "cancel"
    assert proposal_decision(cfg, m, 7, 3, 1000, window) == "approve"
    assert not dispute_period_over(cfg, m, 5000 + cfg.dispute_period - 1)
    assert dispute_period_over(cfg, m, 5000 + cfg.dispute_period)
    assert not dispute_voting_over(cfg, m, 9000 + cfg.dispute_voting_period - 1)
    assert dispute_voting_over(cfg, m, 9000 + cfg.dispute_voting_period)


def test_key_file_is_created_0600_and_never_shown(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "backend-authority.json"
    signer = FileKeySource(path).load()
    assert path.stat().st_mode & 0o777 == 0o600
    assert FileKeySource(path).load().pubkey() == signer.pubkey()  # same key next run
    secret_b58 = base58.b58encode(bytes(signer.keypair())).decode()
    for text in (repr(signer), str(signer), f"{signer}"):
        assert str(signer.pubkey()) in text and secret_b58 not in text and "[" not in text
    path.chmod(0o644)
    with pytest.raises(KeySourceError, match="chmod 600"):
        FileKeySource(path).load()
    with pytest.raises(KeySourceError, match="not found"):
        FileKeySource(tmp_path / "missing.json", create=False).load()


def test_env_key_source_accepts_both_forms_and_hides_bad_input(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kp = Keypair()

    def source(value: str) -> EnvKeySource:
        monkeypatch.setenv("BACKEND_KEYPAIR", value)
        chosen = backend_key_source(Settings(_env_file=None))
        assert isinstance(chosen, EnvKeySource)
        return chosen

    assert source(json.dumps(list(bytes(kp)))).load().pubkey() == kp.pubkey()
    assert source(base58.b58encode(bytes(kp)).decode()).load().pubkey() == kp.pubkey()
    with pytest.raises(KeySourceError) as e:
        source("not-a-key-but-secret-looking").load()
    assert "secret-looking" not in str(e.value)
    monkeypatch.delenv("BACKEND_KEYPAIR")
    assert isinstance(backend_key_source(Settings(_env_file=None)), FileKeySource)
