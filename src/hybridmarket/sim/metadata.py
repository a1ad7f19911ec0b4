"""Believable market metadata for a simulated world: a question, a category, resolution
criteria and a close date, drawn from the run's random generator (a demo can post it to the
API; its canonical JSON hashes to the market id)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from solders.pubkey import Pubkey

_CITIES = (
    "Lisbon",
    "Nairobi",
    "Osaka",
    "Toronto",
    "Buenos Aires",
    "Oslo",
    "Mumbai",
    "Sydney",
    "Cairo",
    "Vancouver",
    "Seoul",
    "Dublin",
)
_COINS = (("BTC", 40_000, 160_000, 5_000), ("ETH", 1_500, 8_000, 250), ("SOL", 50, 500, 10))
_TEAMS = (
    ("Benfica", "Primeira Liga"),
    ("Arsenal", "Premier League"),
    ("Real Madrid", "La Liga"),
    ("Boston Celtics", "NBA Finals"),
    ("Kansas City Chiefs", "Super Bowl"),
    ("India", "Cricket World Cup"),
    ("New Zealand", "Rugby Championship"),
    ("Boca Juniors", "Copa Libertadores"),
)
_BANKS = (
    "the Federal Reserve",
    "the European Central Bank",
    "the Bank of England",
    "the Bank of Japan",
    "the Reserve Bank of Australia",
)
_LAUNCHES = (
    "Artemis III",
    "the next Starship orbital test",
    "ESA's PLATO space telescope",
    "the Lunar Gateway's first module",
    "a crewed Gaganyaan flight",
)
_FILMS = ("The Last Lighthouse", "Neon Harbor", "Paper Satellites", "A Quiet Orbit", "Saltwater")


def market_metadata(rng: random.Random, start_ts: int, creator: Pubkey) -> dict[str, Any]:
    closes = datetime.fromtimestamp(start_ts, UTC).replace(hour=0, minute=0, second=0)
    closes += timedelta(days=rng.randint(3, 120))
    day = f"{closes:%B} {closes.day}, {closes.year}"
    kind = rng.randrange(7)
    if kind == 0:
        coin, lo, hi, step = rng.choice(_COINS)
        price = rng.randrange(lo, hi, step)
        category = "crypto"
        question = f"Will {coin} close above ${price:,} on {day}?"
        description = f"{coin} against the US dollar, daily close in UTC."
        criteria = (
            f"Resolves YES if the {coin}/USD daily close for {day} (UTC) published by "
            f"CoinGecko is above ${price:,}, NO otherwise."
        )
    elif kind == 1:
        city = rng.choice(_CITIES)
        category = "weather"
        question = f"Will it rain in {city} on {day}?"
        description = f"Precipitation at {city}'s main weather station."
        criteria = (
            f"Resolves YES if the national weather service records at least 1 mm of rain "
            f"in {city} on {day}, NO otherwise."
        )
    elif kind == 2:
        team, competition = rng.choice(_TEAMS)
        category = "sports"
        question = f"Will {team} win the {closes.year} {competition}?"
        description = f"The {closes.year} edition of the {competition}."
        criteria = f"Resolves YES if {team} are the official winners, NO otherwise."
    elif kind == 3:
        bank = rng.choice(_BANKS)
        category = "economics"
        question = f"Will {bank} cut its policy rate at its {closes:%B} {closes.year} meeting?"
        description = f"The next scheduled monetary policy decision of {bank}."
        criteria = (
            f"Resolves YES if {bank} announces a lower policy rate at its {closes:%B} "
            "meeting, NO if it holds or raises; INVALID if no meeting takes place."
        )
    elif kind == 4:
        mission = rng.choice(_LAUNCHES)
        category = "science"
        question = f"Will {mission} launch before {day}?"
        description = f"Launch date of {mission}."
        criteria = f"Resolves YES if {mission} lifts off before {day} (UTC), NO otherwise."
    elif kind == 5:
        film = rng.choice(_FILMS)
        gross = rng.randrange(20, 200, 5)
        category = "entertainment"
        question = f"Will '{film}' gross more than ${gross}M in its opening weekend?"
        description = f"Domestic opening-weekend box office of '{film}'."
        criteria = f"Resolves YES if Box Office Mojo reports more than ${gross}M, NO otherwise."
    else:
        city = rng.choice(_CITIES)
        temp = rng.randint(18, 42)
        category = "weather"
        question = f"Will {city} reach {temp}°C on {day}?"
        description = f"Daily maximum temperature in {city}."
        criteria = f"Resolves YES if the official daily maximum in {city} is at least {temp}°C."
    return {
        "question": question,
        "description": description,
        "category": category,
        "resolution_criteria": criteria,
        "closes_at": closes.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "creator": str(creator),
    }
