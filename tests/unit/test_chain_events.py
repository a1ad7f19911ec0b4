"""Event attribution from log lines, and keypair files."""

from __future__ import annotations

import json
import stat

import pytest
from solders.keypair import Keypair

from hybridmarket.chain.events import parse_program_events
from hybridmarket.chain.keys import KeypairFileError, load_keypair, write_keypair
from hybridmarket.program.accounts import MarketState
from hybridmarket.program.events import MarketDisputed
from hybridmarket.program.ids import PROGRAM_ID

pytestmark = pytest.mark.unit
SYS = "11111111111111111111111111111111"
OTHER = str(Keypair().pubkey())


def _event(n: int) -> MarketDisputed:
    return MarketDisputed(
        market_id=bytes([n]) * 32,
        market=Keypair().pubkey(),
        initiator=Keypair().pubkey(),
        state=MarketState.Disputed,
        timestamp=n,
    )


def test_events_are_attributed_to_our_frame_only() -> None:
    ours = [_event(1), _event(2), _event(3)]
    foreign = _event(9)
    pid = str(PROGRAM_ID)
    logs = [
        f"Program {OTHER} invoke [1]",
        foreign.to_log_line(),  # another program emitting our event's bytes: not ours
        f"Program {OTHER} success",
        f"Program {pid} invoke [1]",
        "Program log: Instruction: InitiateDispute",
        f"Program {SYS} invoke [2]",
        foreign.to_log_line(),  # inside a CPI frame: not ours either
        f"Program {SYS} success",
        ours[0].to_log_line(),
        ours[1].to_log_line(),
        f"Program {pid} consumed 5000 of 200000 compute units",
        f"Program {pid} success",
        f"Program {pid} invoke [1]",
        ours[2].to_log_line(),
        f"Program {pid} success",
    ]
    parsed = parse_program_events(logs, PROGRAM_ID)
    assert not parsed.truncated
    assert [(e.instruction_index, e.event_index, e.event) for e in parsed.events] == [
        (1, 0, ours[0]),
        (1, 1, ours[1]),
        (2, 0, ours[2]),
    ]


def test_truncated_logs_are_flagged() -> None:
    pid = str(PROGRAM_ID)
    parsed = parse_program_events([f"Program {pid} invoke [1]", "Log truncated"], PROGRAM_ID)
    assert parsed.truncated and parsed.events == ()


def test_keypair_files_round_trip_with_private_permissions(tmp_path) -> None:  # type: ignore[no-untyped-def]
    kp = Keypair()
    path = write_keypair(tmp_path / "k" / "id.json", kp)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == json.loads(kp.to_json())
    assert load_keypair(path).pubkey() == kp.pubkey()
    (tmp_path / "bad.json").write_text("[1, 2, 3]")
    with pytest.raises(KeypairFileError, match="64 bytes"):
        load_keypair(tmp_path / "bad.json")
    with pytest.raises(KeypairFileError, match="not found"):
        load_keypair(tmp_path / "missing.json")
