"""`hybridmarket deploy`: put the committed program binary on any cluster, then (optionally)
initialize its GlobalConfig."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Annotated, Any

import typer
from solders.keypair import Keypair
from solders.pubkey import Pubkey

DEFAULT_PROGRAM_KEYPAIR = Path(".hybridmarket/deploy/hybridmarket-keypair.json")


def _keypair(path: Path, what: str) -> Keypair:
    from hybridmarket.chain.keys import KeypairFileError, load_keypair

    try:
        return load_keypair(path)
    except KeypairFileError as e:
        raise typer.BadParameter(f"{what}: {e}") from None


def _pubkey(value: str | None, what: str) -> Pubkey | None:
    if value is None:
        return None
    try:
        return Pubkey.from_string(value)
    except ValueError:
        raise typer.BadParameter(f"{what}: not a base58 public key: {value!r}") from None


def deploy(
    url: Annotated[str, typer.Option("--url", "-u", help="The cluster's JSON-RPC URL.")],
    keypair: Annotated[
        Path,
        typer.Option("--keypair", "-k", help="Pays the deploy's rent and fees (keypair file)."),
    ],
    program_keypair: Annotated[
        Path,
        typer.Option(
            "--program-keypair",
            help="The program id's keypair; created if the file does not exist. A program "
            "already deployed there is upgraded.",
        ),
    ] = DEFAULT_PROGRAM_KEYPAIR,
    upgrade_authority: Annotated[
        Path | None,
        typer.Option(
            "--upgrade-authority",
            help="Keypair that may upgrade the program (and signs an upgrade) (default: the payer).",
        ),
    ] = None,
    program: Annotated[
        Path | None,
        typer.Option("--program", help="ELF to deploy (default: the committed hybridmarket.so)."),
    ] = None,
    max_len: Annotated[
        int | None,
        typer.Option(
            "--max-len", min=1, help="Room for upgrades, in bytes (default: twice the ELF)."
        ),
    ] = None,
    init_config: Annotated[
        bool,
        typer.Option("--init-config", help="Then run initialize_config (skipped if it exists)."),
    ] = False,
    admin: Annotated[
        Path | None,
        typer.Option(
            "--admin", help="The program's admin keypair, for --init-config (default: the payer)."
        ),
    ] = None,
    backend_authority: Annotated[
        str | None,
        typer.Option(
            "--backend-authority",
            help="Public key the backend signs with (approve/finalize/cancel) (default: the admin).",
        ),
    ] = None,
    fee_wallet: Annotated[
        str | None,
        typer.Option(
            "--fee-wallet", help="Public key that receives the protocol fee (default: the admin)."
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="TOML or JSON table of ConfigParams overrides (fees, windows, limits).",
        ),
    ] = None,
) -> None:
    """Deploy or upgrade the program through BPFLoaderUpgradeable, like `solana program deploy`.

    Writes the ELF into a buffer account in chunks (resumable: run the same command again after
    an interruption and the buffer is reused), deploys or upgrades, reads the program-data
    account back and prints the program id and the sha256 of the deployed bytes.
    """
    from hybridmarket.sbf import program_binary

    payer = _keypair(keypair, "--keypair")
    authority = _keypair(upgrade_authority, "--upgrade-authority") if upgrade_authority else payer
    admin_kp = _keypair(admin, "--admin") if admin else payer
    backend = _pubkey(backend_authority, "--backend-authority") or admin_kp.pubkey()
    fees = _pubkey(fee_wallet, "--fee-wallet") or admin_kp.pubkey()
    try:
        elf = program.read_bytes() if program else program_binary()
    except OSError as e:
        raise typer.BadParameter(f"--program: {e}") from None
    overrides: dict[str, Any] = {}
    if config is not None:
        from hybridmarket.localnet.genesis import load_config_file

        try:
            overrides = load_config_file(config)
        except (OSError, ValueError) as e:
            raise typer.BadParameter(f"--config: {e}") from None
    code = asyncio.run(
        _run(
            url,
            elf,
            payer=payer,
            program_keypair=program_keypair,
            authority=authority,
            max_len=max_len,
            init=(admin_kp, backend, fees, overrides) if init_config else None,
        )
    )
    raise typer.Exit(code)


async def _run(
    url: str,
    elf: bytes,
    *,
    payer: Keypair,
    program_keypair: Path,
    authority: Keypair,
    max_len: int | None,
    init: tuple[Keypair, Pubkey, Pubkey, dict[str, Any]] | None,
) -> int:
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    from hybridmarket.chain.client import ChainClient
    from hybridmarket.chain.deploy import DeployError, deploy_program
    from hybridmarket.chain.errors import ChainError

    typer.echo(f"program: {len(elf)} bytes, sha256 {hashlib.sha256(elf).hexdigest()}", err=True)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        transient=True,
    ) as bar:
        task = bar.add_task("writing", total=len(elf))
        try:
            async with ChainClient(url) as client:
                result = await deploy_program(
                    client,
                    elf,
                    payer=payer,
                    program_keypair=program_keypair,
                    authority=authority,
                    max_data_len=max_len,
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                    say=lambda m: bar.console.print(m, style="dim"),
                )
        except DeployError as e:
            typer.echo(f"error: {e}", err=True)
            return 1
    what = "unchanged" if result.unchanged else "upgraded" if result.upgraded else "deployed"
    typer.echo(
        f"{what}: {result.chunks_sent} chunks written, {result.chunks_reused} already there; "
        f"upgrade authority {result.authority}",
        err=True,
    )
    typer.echo(f"Program Id: {result.program_id}")
    typer.echo(f"sha256: {result.sha256}")
    if init is None:
        return 0
    admin, backend, fees, overrides = init
    try:
        async with ChainClient(url, program_id=result.program_id) as client:
            existing = await client.get_config()
            if existing is not None:
                typer.echo(f"GlobalConfig already initialized (admin {existing.admin})", err=True)
                return 0
            sig = await client.send(
                [_config_ix(admin.pubkey(), backend, fees, overrides, result.program_id)], admin
            )
    except (ChainError, ValueError, TypeError) as e:
        typer.echo(f"error: initialize_config failed: {e}", err=True)
        return 1
    typer.echo(f"GlobalConfig initialized: {sig.signature}", err=True)
    return 0


def _config_ix(
    admin: Pubkey, backend: Pubkey, fees: Pubkey, overrides: dict[str, Any], program_id: Pubkey
) -> Any:
    from hybridmarket.localnet.genesis import apply_overrides
    from hybridmarket.program import builders
    from hybridmarket.program.accounts import ConfigParams

    params = ConfigParams.default(backend, fees)
    if overrides:
        params = apply_overrides(params, overrides)
    return builders.initialize_config(admin, params, program_id)
