-- Vote counts kept as votes are indexed (issue 17). The aggregators used to count every PROPOSED
-- (or DISPUTED) market's votes with a GROUP BY over the vote tables at every tick; now the indexer
-- adds each batch's counts here in the transaction that inserts the vote rows, the aggregators
-- read them, and a periodic recount (the worker's `tallies` job) checks them against the rows
-- and repairs any difference. Markets without votes have no row: read with a LEFT JOIN.
CREATE TABLE vote_tallies (
  market_id TEXT NOT NULL REFERENCES markets (id) ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK (kind IN ('proposal', 'dispute')),
  yes_votes BIGINT NOT NULL DEFAULT 0,
  no_votes BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (market_id, kind)
);

INSERT INTO vote_tallies (market_id, kind, yes_votes, no_votes)
SELECT market_id, 'proposal', count(*) FILTER (WHERE vote), count(*) FILTER (WHERE NOT vote)
  FROM proposal_votes GROUP BY market_id
UNION ALL
SELECT market_id, 'dispute', count(*) FILTER (WHERE vote), count(*) FILTER (WHERE NOT vote)
  FROM dispute_votes GROUP BY market_id;

ALTER TABLE vote_tallies ENABLE ROW LEVEL SECURITY;
DO $$
BEGIN
  IF (SELECT count(*) = 3 FROM pg_roles
      WHERE rolname IN ('anon', 'authenticated', 'service_role')) THEN
    GRANT SELECT, INSERT, UPDATE, DELETE ON vote_tallies TO service_role;
    CREATE POLICY service_role_all ON vote_tallies TO service_role USING (true) WITH CHECK (true);
    GRANT SELECT ON vote_tallies TO anon, authenticated;
    CREATE POLICY public_read ON vote_tallies FOR SELECT TO anon, authenticated USING (true);
  END IF;
END $$;
