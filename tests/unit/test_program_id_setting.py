"""`PROGRAM_ID`: the setting's default is the IDL's address, a bad value is refused with a clear
error, and every service builds, derives and subscribes with the id its client carries (so one
setting moves a whole process to a deployment at another address)."""

from __future__ import annotations

import ast
import importlib
import inspect
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from pydantic import ValidationError
from solders.keypair import Keypair

from hybridmarket.cli_support import cli_settings
from hybridmarket.program import builders as b
from hybridmarket.program.ids import PROGRAM_ID, market_pda
from hybridmarket.settings import Settings

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "hybridmarket"
# The program's pure model, the embedded validator, the SBF toolchain and the chain adapters take
# the id as an argument (with the IDL's address as a default); the services must always pass it.
NOT_SERVICES = ("program", "localnet", "sbf", "chain")
# Module → names in it whose calls must carry the program id.
TARGETS: dict[str, tuple[str, ...] | None] = {
    "hybridmarket.program.builders": None,  # every public builder
    "hybridmarket.program.ids": ("config_pda", "market_pda", "position_pda", "vote_pda"),
    "hybridmarket.program.idl": ("build_idl", "idl_json"),
    "hybridmarket.chain.stream": ("program_logs",),
    "hybridmarket.chain.client": ("ChainClient",),
    "hybridmarket.chain": ("ChainClient",),
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("PROGRAM_ID", raising=False)
    return monkeypatch


def test_the_default_is_the_idl_address(env: pytest.MonkeyPatch) -> None:
    idl = json.loads((ROOT / "idl" / "hybridmarket.json").read_text())
    s = Settings(_env_file=None)
    assert s.program_id == PROGRAM_ID
    assert str(s.program_id) == idl["address"]


def test_default_settings_change_nothing(env: pytest.MonkeyPatch) -> None:
    """The instructions and addresses built with the default setting are those built before the
    setting existed (the builders' own default)."""
    pid = Settings(_env_file=None).program_id
    user, fee, mid = Keypair().pubkey(), Keypair().pubkey(), bytes(range(32))
    assert b.buy_shares(user, mid, True, 5, 9, fee, program_id=pid) == b.buy_shares(
        user, mid, True, 5, 9, fee
    )
    assert b.approve_market(user, mid, 7, 3, program_id=pid) == b.approve_market(user, mid, 7, 3)
    assert market_pda(mid, pid) == market_pda(mid)


def test_the_environment_sets_it(env: pytest.MonkeyPatch) -> None:
    other = Keypair().pubkey()
    env.setenv("PROGRAM_ID", f" {other} ")
    s = Settings(_env_file=None)
    assert s.program_id == other
    assert s.model_copy(update={"rpc_port": 1}).program_id == other
    assert s.model_dump(mode="json")["program_id"] == str(other)


@pytest.mark.parametrize(
    "value", ["", "not a key", "0" * 44, "HuYJ8B2NjTFFpgaX9opWNbdoQ4oWyJnKwTr3"]
)
def test_a_bad_value_is_refused_with_a_clear_error(env: pytest.MonkeyPatch, value: str) -> None:
    env.setenv("PROGRAM_ID", value)
    with pytest.raises(ValidationError) as e:
        Settings(_env_file=None)
    text = str(e.value)
    assert "PROGRAM_ID" in text and "not a base58 public key" in text, text


def test_a_command_says_which_variable_is_wrong(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every service command reads its settings through `_settings`: one line, exit code 2."""
    env.setenv("PROGRAM_ID", "nope")
    with pytest.raises(typer.Exit) as e:
        cli_settings(None)
    assert e.value.exit_code == 2
    assert capsys.readouterr().err == (
        "error: PROGRAM_ID: not a base58 public key (32 bytes, as `solana address` prints): "
        "'nope'\n"
    )


async def test_up_refuses_another_id_for_the_embedded_validator(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The embedded validator deploys at the IDL's address: another id needs SOLANA_RPC_URL
    (checked before anything starts)."""
    from hybridmarket.up import run_up

    other = Keypair().pubkey()
    env.delenv("SOLANA_RPC_URL", raising=False)
    settings = Settings(_env_file=None, PROGRAM_ID=str(other), HYBRIDMARKET_DATA_DIR=tmp_path)
    with pytest.raises(typer.Exit) as e:
        await run_up(settings)
    assert e.value.exit_code == 1
    err = capsys.readouterr().err
    assert f"PROGRAM_ID={other} needs SOLANA_RPC_URL" in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def _service_modules() -> Iterator[Path]:
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC)
        if rel.parts[0] not in NOT_SERVICES:
            yield path


def _targets() -> tuple[dict[str, Callable[..., Any]], set[str]]:
    """(qualified name → callable, modules whose every program-id-taking function counts)."""
    out: dict[str, Callable[..., Any]] = {}
    whole: set[str] = set()
    for mod, listed in TARGETS.items():
        m = importlib.import_module(mod)
        names = listed or tuple(
            n
            for n, f in vars(m).items()
            if inspect.isfunction(f) and f.__module__ == mod and not n.startswith("_")
        )
        if listed is None:
            whole.add(mod)
        for n in names:
            out[f"{mod}.{n}"] = getattr(m, n)
    return out, whole


def _passes_program_id(call: ast.Call, fn: Callable[..., Any]) -> bool:
    if any(k.arg == "program_id" or k.arg is None for k in call.keywords):
        return True
    params = list(inspect.signature(fn).parameters.values())
    positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if "program_id" not in positional:
        return False
    return len(call.args) > positional.index("program_id")


def test_services_take_the_program_id_from_their_client() -> None:
    """Every builder, PDA, IDL, log subscription and ChainClient a service calls gets the program
    id explicitly (from its client, or settings for a client): no second default sneaks in."""
    targets, whole = _targets()
    missing: list[str] = []
    for path in _service_modules():
        tree = ast.parse(path.read_text(), str(path))
        aliases: dict[str, str] = {}  # local name → qualified name (module or function)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                for a in node.names:
                    aliases[a.asname or a.name] = f"{node.module}.{a.name}"
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname:
                        aliases[a.asname] = a.name
        called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
        for node in ast.walk(tree):  # `fn = b.buy if ... else b.sell` would hide the calls
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and aliases.get(node.value.id) in whole
                and id(node) not in called
            ):
                missing.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.attr} not called")
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            if isinstance(f, ast.Name):
                name = aliases.get(f.id)
            elif isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
                base = aliases.get(f.value.id)
                name = f"{base}.{f.attr}" if base else None
            else:
                continue
            if name in targets and not _passes_program_id(node, targets[name]):
                missing.append(
                    f"{path.relative_to(ROOT)}:{node.lineno}: {name.rsplit('.', 1)[1]} "
                    "without program_id"
                )
    assert not missing, "\n".join(missing)


def test_the_guard_sees_a_call_without_the_id() -> None:
    """The check above would catch the mistake it exists for."""
    tree = ast.parse("b.cancel_market(k, m)\nb.cancel_market(k, m, pid)\nmarket_pda(m)\n")
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    assert [_passes_program_id(c, b.cancel_market) for c in calls[:2]] == [False, True]
    assert not _passes_program_id(calls[2], market_pda)
