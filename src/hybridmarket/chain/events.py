"""Parse the program's events out of a transaction's log lines.

Like anchorpy's EventParser, a stack of invocations is kept so that a `Program data:` line is
attributed to our program only while our program's frame is on top: another program's
`Program data:` (or a forged `Program log:` printed by one) is never taken for ours. Events are
numbered by top-level instruction and by position within it, which is the idempotency key the
indexer stores: (signature, instruction index, event index).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from solders.pubkey import Pubkey

from hybridmarket.program.events import Event, decode_event_log

_INVOKE = re.compile(r"^Program (\w+) invoke \[(\d+)\]$")
_END = re.compile(r"^Program (\w+) (success|failed: .*)$")


@dataclass(frozen=True, slots=True)
class ParsedEvent:
    instruction_index: int
    event_index: int
    event: Event


@dataclass(frozen=True, slots=True)
class ParsedLogs:
    events: tuple[ParsedEvent, ...]
    truncated: bool


def parse_program_events(logs: list[str], program_id: Pubkey) -> ParsedLogs:
    pid = str(program_id)
    stack: list[str] = []
    ix_index = -1
    event_index = 0
    out: list[ParsedEvent] = []
    truncated = False
    for line in logs:
        if m := _INVOKE.match(line):
            if m.group(2) == "1":
                ix_index += 1
                event_index = 0
                stack.clear()
            stack.append(m.group(1))
        elif (m := _END.match(line)) and stack and stack[-1] == m.group(1):
            stack.pop()
        elif line == "Log truncated":
            truncated = True
        elif stack and stack[-1] == pid and line.startswith("Program data: "):
            event = decode_event_log(line)
            if event is not None:
                out.append(ParsedEvent(ix_index, event_index, event))
                event_index += 1
    return ParsedLogs(tuple(out), truncated)
