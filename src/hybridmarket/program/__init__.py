"""Pure reference model of the on-chain program: accounts, instructions, events, errors, LMSR.

Nothing in this package does I/O; the local validator executes it through `processor`.
"""
