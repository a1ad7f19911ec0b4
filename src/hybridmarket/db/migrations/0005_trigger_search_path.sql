-- The metadata triggers name their tables unqualified; tools that run with an empty search_path
-- (pg_restore of a backup) could not find them. Pin each function's search_path to the schema
-- the migrations run in.
ALTER FUNCTION markets_fill_metadata() SET search_path FROM CURRENT;
ALTER FUNCTION metadata_fill_markets() SET search_path FROM CURRENT;
