"""The backend authority services (DESIGN.md §5): vote aggregation, market monitor, scheduler."""
