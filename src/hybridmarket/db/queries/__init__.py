"""SQL, one module per area. Bulk writes are set-based: COPY for appends, one multi-row
statement (executemany in pipeline mode) for upserts; never one round trip per row."""
