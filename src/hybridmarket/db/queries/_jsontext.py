"""JSON text built by PostgreSQL: an SQL expression whose value is the compact JSON that
orjson writes for the same values (`api.common`'s formats), so that the API sends a body as
the database returns it. Used by the market reads (`markets.market_json_sql`) and the
portfolio (`portfolio.PORTFOLIO_JSON`); their tests compare the bytes with the Python
reference."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Pieces:
    """JSON text in order: constant text, and SQL expressions whose value is JSON text."""

    parts: tuple[tuple[bool, str], ...]  # (is an SQL expression, text)


def value(expr: str) -> str:
    """The JSON of a text, number or boolean column; null for NULL."""
    return f"coalesce(to_json({expr})::text, 'null')"


def number(expr: str) -> str:
    """A NOT NULL integer column (u64, u32): its text is its JSON (cheaper than to_json)."""
    return f"({expr})::text"


def plain(expr: str) -> Pieces:
    """A NOT NULL text whose domain admits no character JSON escapes (hex market ids, base58
    wallets, state names; decimal text): quoted as it is."""
    return Pieces(((False, '"'), (True, expr), (False, '"')))


def time(expr: str, *, null: bool = True) -> str | Pieces:
    """A timestamptz as `api.common.iso` writes it from psycopg's datetime (in the session's
    time zone): seconds, then microseconds unless zero, then Z for UTC or the offset."""
    text = f"to_char({expr}, 'YYYY-MM-DD\"T\"HH24:MI:SS.USTZH:TZM')"
    iso = f"replace(replace({text}, '.000000', ''), '+00:00', 'Z')"
    return f"coalesce('\"' || {iso} || '\"', 'null')" if null else plain(iso)


def decimal(expr: str, *, null: bool = True) -> str | Pieces:
    """A numeric as the decimal string `api.common.dec` writes (its text form)."""
    return value(f"({expr})::text") if null else plain(f"({expr})::text")


def obj(fields: Iterable[tuple[str, str | Pieces]]) -> Pieces:
    """A JSON object of (name, JSON text expression or object) pairs, in that order."""
    parts: list[tuple[bool, str]] = []
    for i, (name, value) in enumerate(fields):
        parts.append((False, f"{'{' if i == 0 else ','}{json.dumps(name)}:"))
        parts += value.parts if isinstance(value, Pieces) else [(True, value)]
    parts.append((False, "}"))
    return Pieces(tuple(parts))


def text(pieces: Pieces) -> str:
    """The SQL of the text: the parts joined by ||, adjacent constants merged into one. (Not
    `concat`, which looks up each argument's output function on every call: twice the time.)"""
    args: list[str] = []
    for is_sql, text in pieces.parts:
        if is_sql:
            args.append(text)
        elif args and args[-1].startswith("'") and args[-1].endswith("'::text"):
            args[-1] = args[-1].removesuffix("'::text") + text.replace("'", "''") + "'::text"
        else:
            args.append("'" + text.replace("'", "''") + "'::text")
    return "(" + " || ".join(args) + ")"
