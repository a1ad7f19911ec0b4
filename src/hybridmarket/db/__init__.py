"""PostgreSQL: the embedded server, connections, migrations and the queries of each area."""
