"""The vendored libraries are exactly the files their README describes: the web UI's
(static/vendor) and the browser tests' (tests/e2e/vendor: axe-core)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
VENDORS = [
    ROOT / "src" / "hybridmarket" / "web" / "static" / "vendor",
    ROOT / "tests" / "e2e" / "vendor",
]


@pytest.mark.parametrize("vendor", VENDORS, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_vendored_files_are_the_ones_their_readme_lists(vendor: Path) -> None:
    """The README lists each vendored file's SHA-256: the files are those bytes, and every
    script, style sheet and image there is listed."""
    listed = {
        name: digest
        for digest, name in re.findall(
            r"^([0-9a-f]{64})  (\S+)$", (vendor / "README.md").read_text(), re.M
        )
    }
    code = {p.name for p in vendor.iterdir() if p.suffix in (".js", ".css", ".png")}
    assert listed and set(listed) == code
    for name, digest in listed.items():
        assert hashlib.sha256((vendor / name).read_bytes()).hexdigest() == digest, name
