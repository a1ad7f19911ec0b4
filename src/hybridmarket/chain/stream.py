"""Live program logs over WebSocket `logsSubscribe` (solana-py's `SolanaWsClient`).

Yields one `LogEntry` per transaction that mentions the program, with our program's events
parsed (none for a failed transaction). A dropped connection ends the iteration with
`RpcUnavailable`: reconnecting and filling the gap with `getSignaturesForAddress` is the
indexer's job, because only it knows its cursor.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from solana.rpc.commitment import Commitment, Confirmed
from solana.rpc.websocket_api import SolanaWsClient
from solders.pubkey import Pubkey
from solders.rpc.config import RpcTransactionLogsFilterMentions
from solders.rpc.responses import LogsNotification

from hybridmarket.chain.errors import RpcUnavailable
from hybridmarket.chain.events import ParsedEvent, parse_program_events
from hybridmarket.program.ids import PROGRAM_ID


@dataclass(frozen=True, slots=True)
class LogEntry:
    signature: str
    slot: int
    err: Any
    logs: tuple[str, ...]
    events: tuple[ParsedEvent, ...]
    truncated: bool


async def program_logs(
    ws_url: str, program_id: Pubkey = PROGRAM_ID, commitment: Commitment = Confirmed
) -> AsyncIterator[LogEntry]:
    """Subscribe to the program's logs and yield them until the connection ends."""
    try:
        async with SolanaWsClient(ws_url) as ws:
            await ws.logs_subscribe(
                filter_=RpcTransactionLogsFilterMentions(program_id), commitment=commitment
            )
            async for note in ws:
                if not isinstance(note, LogsNotification):
                    continue
                value = note.result.value
                logs = list(value.logs)
                err = json.loads(note.to_json())["result"]["value"]["err"]
                parsed = parse_program_events(logs, program_id)
                yield LogEntry(
                    signature=str(value.signature),
                    slot=note.result.context.slot,
                    err=err,
                    logs=tuple(logs),
                    events=parsed.events if err is None else (),
                    truncated=parsed.truncated,
                )
    except (OSError, TimeoutError) as e:
        raise RpcUnavailable(f"logsSubscribe {ws_url}: {e}") from e
    except Exception as e:  # websockets' ConnectionClosed and solana-py's subscription errors
        if type(e).__module__.startswith(("websockets", "solana")):
            raise RpcUnavailable(f"logsSubscribe {ws_url}: {type(e).__name__}: {e}") from e
        raise
    raise RpcUnavailable(f"logsSubscribe {ws_url}: connection closed")
