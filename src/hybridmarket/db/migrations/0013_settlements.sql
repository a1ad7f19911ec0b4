-- A position held to the market's end realizes its profit or loss (issue 16): the leaderboards
-- counted only sales, so a trader who held to a YES win and claimed showed no profit, and one
-- who held the losing side never showed the loss.
--
-- `settlements`: one row per position settled, what it realized: the payout minus the cost basis
-- left in both outcomes (migration 0011's `position_costs`), exact lamports. A position settles
--   - when its market is FINALIZED with an outcome (AFTER INSERT OR UPDATE OF state ON markets,
--     and for a position written after that, AFTER INSERT ON positions): the payout
--     is the winning shares, 1 lamport each, known without the claim; a losing position settles at
--     a payout of 0 and never claims;
--   - when it is claimed (positions.has_claimed becomes true, AFTER INSERT or UPDATE ON positions):
--     the payout is `claimed_amount`, what the program paid. This settles the positions of INVALID
--     and CANCELLED markets (paid at the last price); a claim in a market already settled by its
--     outcome changes nothing (the row exists: ON CONFLICT DO NOTHING).
-- Whichever comes first makes the row; the amount is the same either way. The realization counts
-- in trader_stats and in the trader_weeks of the week the market ended (finalized_at, else
-- cancelled_at: the indexer writes the market before its positions in a batch). A data-only
-- pg_restore restores settlements and the totals themselves, so the triggers do nothing then.

CREATE TABLE settlements (
  user_wallet wallet NOT NULL,
  market_id TEXT NOT NULL REFERENCES markets (id) ON DELETE CASCADE,
  payout NUMERIC(30, 0) NOT NULL,
  realized_pnl NUMERIC(30, 0) NOT NULL,                   -- payout - cost basis, signed
  week DATE NOT NULL,                                      -- the UTC week's Monday it counts in
  PRIMARY KEY (market_id, user_wallet)
);

-- Settle the positions of a market (all of them, or one wallet's) that can be settled now and
-- are not yet: a claimed one at what it was paid, else, in a market FINALIZED with an outcome,
-- at its winning shares. Set-based: one statement for every holder of a market.
CREATE FUNCTION settle_positions(p_market TEXT, p_wallet TEXT DEFAULT NULL) RETURNS VOID
LANGUAGE sql SET search_path FROM CURRENT AS $$
  WITH due AS (
    SELECT p.user_wallet,
           CASE WHEN p.has_claimed THEN p.claimed_amount::numeric
                WHEN m.state = 'FINALIZED' AND m.final_outcome IS NOT NULL
                THEN (CASE WHEN m.final_outcome THEN p.shares_yes ELSE p.shares_no END)::numeric
           END AS payout,
           date_trunc('week', coalesce(m.finalized_at, m.cancelled_at, now()) AT TIME ZONE 'UTC')
             ::date AS week
      FROM positions p JOIN markets m ON m.id = p.market_id
     WHERE p.market_id = p_market AND (p_wallet IS NULL OR p.user_wallet = p_wallet)
  ), made AS (
    INSERT INTO settlements (user_wallet, market_id, payout, realized_pnl, week)
    SELECT d.user_wallet, p_market, d.payout, d.payout - coalesce(sum(c.cost_basis), 0), d.week
      FROM due d LEFT JOIN position_costs c
        ON c.user_wallet = d.user_wallet AND c.market_id = p_market
     WHERE d.payout IS NOT NULL
     GROUP BY d.user_wallet, d.payout, d.week
    ON CONFLICT DO NOTHING
    RETURNING user_wallet, realized_pnl, week
  ), totals AS (
    INSERT INTO trader_stats AS s (wallet, realized_pnl)
    SELECT user_wallet, realized_pnl FROM made
    ON CONFLICT (wallet) DO UPDATE SET realized_pnl = s.realized_pnl + EXCLUDED.realized_pnl
  )
  INSERT INTO trader_weeks AS s (week, wallet, realized_pnl)
  SELECT week, user_wallet, realized_pnl FROM made
  ON CONFLICT (week, wallet) DO UPDATE SET realized_pnl = s.realized_pnl + EXCLUDED.realized_pnl
$$;

CREATE FUNCTION markets_settle() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
  IF current_setting('application_name', true) IS DISTINCT FROM 'pg_restore' THEN
    PERFORM settle_positions(NEW.id);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER markets_settle AFTER INSERT OR UPDATE OF state ON markets
  FOR EACH ROW WHEN (NEW.state = 'FINALIZED' AND NEW.final_outcome IS NOT NULL)
  EXECUTE FUNCTION markets_settle();

-- A claim (a trigger that fires only then: every trade updates its position), or a position
-- written after its market ended (a reconciler's repair; a new position in a market still
-- trading, the common insert, costs one probe of the market).
CREATE FUNCTION positions_settle() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
  IF current_setting('application_name', true) IS DISTINCT FROM 'pg_restore'
     AND (NEW.has_claimed OR EXISTS (
       SELECT 1 FROM markets m WHERE m.id = NEW.market_id AND m.state = 'FINALIZED'
          AND m.final_outcome IS NOT NULL)) THEN
    PERFORM settle_positions(NEW.market_id, NEW.user_wallet);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER positions_settle_claim AFTER UPDATE OF has_claimed ON positions
  FOR EACH ROW WHEN (NEW.has_claimed AND NOT OLD.has_claimed)
  EXECUTE FUNCTION positions_settle();
CREATE TRIGGER positions_settle_insert AFTER INSERT ON positions
  FOR EACH ROW EXECUTE FUNCTION positions_settle();

-- What was indexed before this migration.
SELECT settle_positions(id) FROM markets WHERE state IN ('FINALIZED', 'CANCELLED') ORDER BY id;

ALTER TABLE settlements ENABLE ROW LEVEL SECURITY;
DO $$
BEGIN
  IF (SELECT count(*) = 3 FROM pg_roles
      WHERE rolname IN ('anon', 'authenticated', 'service_role')) THEN
    GRANT SELECT, INSERT, UPDATE, DELETE ON settlements TO service_role;
    CREATE POLICY service_role_all ON settlements TO service_role USING (true) WITH CHECK (true);
    GRANT SELECT ON settlements TO anon, authenticated;
    CREATE POLICY public_read ON settlements FOR SELECT TO anon, authenticated USING (true);
  END IF;
END $$;

-- `claimable` is said only to holders the claim pays: in a market FINALIZED with an outcome, the
-- holders of winning shares (a holder of the losing side only would be refused, NothingToClaim).
CREATE OR REPLACE FUNCTION markets_notify_state() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
DECLARE
  k TEXT;
  due TIMESTAMPTZ;
  result TEXT;
BEGIN
  IF current_setting('application_name', true) = 'pg_restore' THEN
    RETURN NULL;
  END IF;
  IF NEW.state = 'RESOLVING' THEN
    k := 'resolution_proposed';
    due := NEW.resolution_proposed_at + make_interval(secs => (
      SELECT (c.params->>'dispute_period')::bigint FROM program_config c LIMIT 1));
  ELSIF NEW.state = 'DISPUTED' THEN
    k := 'dispute_opened';
    due := NEW.dispute_initiated_at + make_interval(secs => (
      SELECT (c.params->>'dispute_voting_period')::bigint FROM program_config c LIMIT 1));
  ELSIF NEW.state = 'FINALIZED' THEN
    k := 'finalized';
    result := CASE NEW.final_outcome WHEN true THEN 'yes' WHEN false THEN 'no' ELSE 'invalid' END;
  END IF;
  IF k IS NOT NULL THEN
    INSERT INTO notifications (wallet, market_id, kind, deadline, outcome)
    SELECT a.wallet, NEW.id, k, due, result FROM market_audience(NEW.id) a;
  END IF;
  IF NEW.state IN ('FINALIZED', 'CANCELLED') THEN
    INSERT INTO notifications (wallet, market_id, kind, outcome)
    SELECT p.user_wallet, NEW.id, 'claimable', result FROM positions p
     WHERE p.market_id = NEW.id AND NOT p.has_claimed
       AND CASE WHEN NEW.state = 'FINALIZED' AND NEW.final_outcome IS NOT NULL
                THEN (CASE WHEN NEW.final_outcome THEN p.shares_yes ELSE p.shares_no END) > 0
                ELSE p.shares_yes > 0 OR p.shares_no > 0 END;
  END IF;
  RETURN NULL;
END $$;
