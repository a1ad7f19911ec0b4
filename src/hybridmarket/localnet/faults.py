"""Fault injection for reliability tests (test controls only; off unless enabled).

`hybridmarket_setFaults` sets rates in [0, 1] for: HTTP 429 with `Retry-After`, HTTP 5xx,
timeouts (the request is held without an answer for `timeout_seconds`, then the connection is
closed), WebSocket notifications dropped, delayed by `ws_delay_ms`, or the WebSocket closed
instead of delivering a notification. A `seed` makes the sequence of faults reproducible.
Test-control methods themselves are never faulted, so a test can always switch faults off.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Any

RATE_FIELDS = ("http429_rate", "http5xx_rate", "timeout_rate", "ws_drop_rate", "ws_close_rate")


@dataclass(slots=True)
class Faults:
    http429_rate: float = 0.0
    retry_after: int = 1
    http5xx_rate: float = 0.0
    http5xx_status: int = 503
    timeout_rate: float = 0.0
    timeout_seconds: float = 30.0
    ws_drop_rate: float = 0.0
    ws_delay_ms: int = 0
    ws_close_rate: float = 0.0
    seed: int | None = None
    rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    @property
    def http_active(self) -> bool:
        return bool(self.http429_rate or self.http5xx_rate or self.timeout_rate)

    @property
    def ws_active(self) -> bool:
        return bool(self.ws_drop_rate or self.ws_delay_ms or self.ws_close_rate)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("rng", None)
        return out

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Faults:
        known = {f for f in cls.__dataclass_fields__ if f != "rng"}
        unknown = set(params) - known
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        faults = cls(**{k: v for k, v in params.items() if v is not None})
        for name in RATE_FIELDS:
            value = float(getattr(faults, name))
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within [0, 1]")
            setattr(faults, name, value)
        if faults.http5xx_status < 500 or faults.http5xx_status > 599:
            raise ValueError("http5xx_status must be a 5xx status")
        faults.rng = random.Random(faults.seed)
        return faults

    def pick_http(self) -> str | None:
        """'429', '5xx', 'timeout' or None for one HTTP request."""
        if not self.http_active:
            return None
        r = self.rng.random()
        if r < self.http429_rate:
            return "429"
        r -= self.http429_rate
        if r < self.http5xx_rate:
            return "5xx"
        r -= self.http5xx_rate
        if r < self.timeout_rate:
            return "timeout"
        return None

    def pick_ws(self) -> str | None:
        """'drop', 'close' or None for one notification (delay is applied separately)."""
        if not (self.ws_drop_rate or self.ws_close_rate):
            return None
        r = self.rng.random()
        if r < self.ws_drop_rate:
            return "drop"
        r -= self.ws_drop_rate
        if r < self.ws_close_rate:
            return "close"
        return None
