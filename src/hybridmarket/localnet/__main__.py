"""`python -m hybridmarket.localnet [options]`: the same as `hybridmarket localnet`."""

from hybridmarket.localnet.cli import main

main()
