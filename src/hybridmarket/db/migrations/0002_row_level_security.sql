-- Row-level security as a Supabase deployment has it: `anon` (and `authenticated`) read the
-- public tables, only `service_role` writes. On Supabase these roles already exist; elsewhere
-- they are created here (NOLOGIN: log-in users are granted membership). The database owner the
-- services connect as keeps full access (RLS does not apply to a table's owner).

DO $$
DECLARE r TEXT;
BEGIN
  FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'service_role'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I NOLOGIN', r);
      EXCEPTION
        WHEN duplicate_object THEN NULL;  -- created concurrently by another database's migration
        WHEN insufficient_privilege THEN
          RAISE WARNING 'cannot create role % (no CREATEROLE): row-level security roles missing', r;
      END;
    END IF;
  END LOOP;
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
    BEGIN
      ALTER ROLE service_role BYPASSRLS;
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE WARNING 'cannot give service_role BYPASSRLS; it writes through its policies instead';
    END;
  END IF;
END $$;

DO $$
DECLARE
  t TEXT;
  public_tables TEXT[] := ARRAY[
    'market_metadata', 'markets', 'users', 'proposal_votes', 'dispute_votes', 'trades',
    'positions', 'price_history', 'discussions', 'ipfs_anchors', 'program_config', 'audit_log'
  ];
  private_tables TEXT[] := ARRAY[
    'indexer_cursors', 'indexed_transactions', 'dead_letters', 'reconcile_runs',
    'reconcile_discrepancies', 'auth_nonces'
  ];
  have_roles BOOLEAN := (SELECT count(*) = 3 FROM pg_roles
                         WHERE rolname IN ('anon', 'authenticated', 'service_role'));
BEGIN
  FOREACH t IN ARRAY public_tables || private_tables LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
  END LOOP;
  IF NOT have_roles THEN
    RETURN;
  END IF;
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO anon, authenticated, service_role', current_schema());
  FOREACH t IN ARRAY public_tables || private_tables LOOP
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO service_role', t);
    EXECUTE format(
      'CREATE POLICY service_role_all ON %I TO service_role USING (true) WITH CHECK (true)', t);
  END LOOP;
  FOREACH t IN ARRAY public_tables LOOP
    EXECUTE format('GRANT SELECT ON %I TO anon, authenticated', t);
    IF t = 'discussions' THEN
      -- Soft-deleted comments are not public.
      EXECUTE 'CREATE POLICY public_read ON discussions FOR SELECT TO anon, authenticated '
              'USING (deleted_at IS NULL)';
    ELSE
      EXECUTE format(
        'CREATE POLICY public_read ON %I FOR SELECT TO anon, authenticated USING (true)', t);
    END IF;
  END LOOP;
  EXECUTE format('GRANT USAGE ON ALL SEQUENCES IN SCHEMA %I TO service_role', current_schema());
END $$;
