-- The worker (DESIGN.md §5): published vote tallies and the scheduler's job runs.

-- Every tally the backend posts on chain, published as a canonical JSON document (its sha256 and
-- IPFS CID) so that anyone can recount it: `hybridmarket verify-tally`.
CREATE TABLE published_tallies (
  id BIGSERIAL PRIMARY KEY,
  market_id TEXT NOT NULL REFERENCES markets (id) ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK (kind IN ('proposal', 'dispute')),
  yes_votes u32 NOT NULL,
  no_votes u32 NOT NULL,
  document TEXT NOT NULL,
  sha256 TEXT NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  cid TEXT NOT NULL,
  audit_id BIGINT REFERENCES audit_log (id),
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX published_tallies_market_idx ON published_tallies (market_id, kind, created_at DESC);

-- One row per job and scheduled tick: whoever inserts it runs the job, so with several worker
-- replicas each job runs once per tick.
CREATE TABLE job_runs (
  job TEXT NOT NULL,
  tick TIMESTAMPTZ NOT NULL,
  worker TEXT NOT NULL,
  started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  finished_at TIMESTAMPTZ,
  outcome TEXT CHECK (outcome IN ('ok', 'error')),
  summary JSONB,
  error TEXT,
  PRIMARY KEY (job, tick)
);
CREATE INDEX job_runs_recent_idx ON job_runs (job, started_at DESC);

ALTER TABLE published_tallies ENABLE ROW LEVEL SECURITY;
ALTER TABLE job_runs ENABLE ROW LEVEL SECURITY;
DO $$
BEGIN
  IF (SELECT count(*) = 3 FROM pg_roles
      WHERE rolname IN ('anon', 'authenticated', 'service_role')) THEN
    GRANT SELECT, INSERT, UPDATE, DELETE ON published_tallies, job_runs TO service_role;
    CREATE POLICY service_role_all ON published_tallies TO service_role USING (true) WITH CHECK (true);
    CREATE POLICY service_role_all ON job_runs TO service_role USING (true) WITH CHECK (true);
    GRANT SELECT ON published_tallies TO anon, authenticated;
    CREATE POLICY public_read ON published_tallies FOR SELECT TO anon, authenticated USING (true);
    GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO service_role;
  END IF;
END $$;
