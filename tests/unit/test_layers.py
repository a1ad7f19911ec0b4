"""The layers point inward: the program model and the codecs import only each other (pure), the
database layer imports no service, and no package imports another one's row types back (every
import, at module level or inside a function, read from the source)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import hybridmarket

pytestmark = pytest.mark.unit
ROOT = Path(hybridmarket.__file__).parent

# package -> the hybridmarket packages (and modules) it may import
ALLOWED: dict[str, set[str]] = {
    "program": {"hybridmarket", "hybridmarket.program", "hybridmarket.codec"},
    "codec": {"hybridmarket.codec"},
    "db": {"hybridmarket.db", "hybridmarket.settings"},
}


def _imports(path: Path) -> set[str]:
    """The hybridmarket modules `path` imports."""
    return {m for m in _all_imports(path) if m == "hybridmarket" or m.startswith("hybridmarket.")}


def _allowed(module: str, allowed: set[str]) -> bool:
    """`module` is one of `allowed` or inside one of them (the bare package only by name)."""
    inside = allowed - {"hybridmarket"}
    return module in allowed or any(module.startswith(a + ".") for a in inside)


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_inward(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    wrong = {
        f"{path.relative_to(ROOT)}: {module}"
        for path in files
        for module in _imports(path)
        if not _allowed(module, ALLOWED[package])
    }
    assert not wrong, "imports pointing outward:\n" + "\n".join(sorted(wrong))


def test_the_check_sees_an_outward_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from hybridmarket.indexer.model import MarketRow\n")
    assert _imports(bad) == {"hybridmarket.indexer.model"}
    assert not _allowed("hybridmarket.indexer.model", ALLOWED["db"])
    assert _allowed("hybridmarket.db.rows", ALLOWED["db"])


def test_no_sql_in_the_routes() -> None:
    """Every statement lives in db/queries (docs/architecture.md), none in a router."""
    statement = re.compile(r"\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM)\b")
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in sorted((ROOT / "api" / "routes").glob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if statement.search(line)
    ]
    assert found == []


def test_one_http_client_stack() -> None:
    """httpx2 (solana-py's) everywhere: the package, the tests and the benchmarks."""
    top = ROOT.parents[1]
    found = [
        f"{path.relative_to(top)}: {module}"
        for folder in ("src", "tests", "bench")
        for path in sorted((top / folder).rglob("*.py"))
        if "node_modules" not in path.parts
        for module in _all_imports(path)
        if module == "httpx" or module.startswith("httpx.")
    ]
    assert found == []


def _all_imports(path: Path) -> set[str]:
    """Every module `path` imports, at module level or inside a function."""
    tree = ast.parse(path.read_text(), str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out
