"""The REST API gateway (FastAPI): markets, trading (unsigned transactions for the user's wallet
and a relay), discussions, users, admin, health and metrics (DESIGN.md §6)."""
