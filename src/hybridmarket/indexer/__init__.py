"""The event indexer: keeps PostgreSQL's copy of the chain exact (DESIGN.md §5)."""
