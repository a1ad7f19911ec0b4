"""The `hybridmarket` command: one entry point for every part of the system."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="hybridmarket",
    help="A binary prediction market: Solana for the critical state, PostgreSQL for the rest.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """A binary prediction market: Solana for the critical state, PostgreSQL for the rest."""


@app.command()
def idl(
    program_id: str = typer.Option(
        None, "--program-id", help="Program address to put in the IDL (default: the model's id)."
    ),
) -> None:
    """Print the program's Anchor IDL (0.30+ spec JSON), generated from the program model."""
    from solders.pubkey import Pubkey

    from hybridmarket.program.idl import idl_json
    from hybridmarket.program.ids import PROGRAM_ID

    pid = PROGRAM_ID
    if program_id:
        try:
            pid = Pubkey.from_string(program_id)
        except ValueError:
            raise typer.BadParameter(f"not a base58 public key: {program_id!r}") from None
    typer.echo(idl_json(pid), nl=False)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
