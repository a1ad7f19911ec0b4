"""`PUBLIC_URL`: empty by default (absolute URLs then start at each request's base), a trailing
slash dropped, and anything but an http(s) base URL refused at start with the variable named."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hybridmarket.settings import Settings, settings_errors

pytestmark = pytest.mark.unit


def test_the_public_url_is_empty_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PUBLIC_URL", raising=False)
    assert Settings(_env_file=None).public_url == ""


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("https://markets.example", "https://markets.example"),
        ("https://markets.example/", "https://markets.example"),
        (" http://127.0.0.1:8000/hm/ ", "http://127.0.0.1:8000/hm"),
        ("", ""),
    ],
)
def test_a_public_url_is_kept_without_its_trailing_slash(given: str, kept: str) -> None:
    assert Settings(_env_file=None, PUBLIC_URL=given).public_url == kept


@pytest.mark.parametrize(
    "given", ["markets.example", "ftp://markets.example", "https://", "https://m.example/?a=1"]
)
def test_anything_else_is_refused_naming_the_variable(given: str) -> None:
    with pytest.raises(ValidationError) as e:
        Settings(_env_file=None, PUBLIC_URL=given)
    [line] = settings_errors(e.value)
    assert line.startswith("PUBLIC_URL: not a public base URL")
