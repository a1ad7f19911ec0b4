"""The web UI's vendored libraries are exactly the files static/vendor/README.md describes."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit
VENDOR = Path(__file__).resolve().parents[2] / "src" / "hybridmarket" / "web" / "static" / "vendor"


def test_the_vendored_files_are_the_ones_their_readme_lists() -> None:
    """The README lists each vendored file's SHA-256: the files are those bytes, and every
    script, style sheet and image there is listed."""
    listed = {
        name: digest
        for digest, name in re.findall(
            r"^([0-9a-f]{64})  (\S+)$", (VENDOR / "README.md").read_text(), re.M
        )
    }
    code = {p.name for p in VENDOR.iterdir() if p.suffix in (".js", ".css", ".png")}
    assert set(listed) == code
    for name, digest in listed.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
