"""`python -m hybridmarket`: the same as the `hybridmarket` command."""

from hybridmarket.cli import main

main()
