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
--   - when it is claimed (positions.has_claimed becomes true, AFTER INSERT OR UPDATE ON positions):
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

CREATE FUNCTION record_settlement(
  p_wallet TEXT, p_market TEXT, p_payout NUMERIC, p_at TIMESTAMPTZ
) RETURNS VOID LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
  basis NUMERIC;
  realized NUMERIC;
  wk DATE := date_trunc('week', coalesce(p_at, now()) AT TIME ZONE 'UTC')::date;
BEGIN
  SELECT coalesce(sum(c.cost_basis), 0) INTO basis FROM position_costs c
   WHERE c.user_wallet = p_wallet AND c.market_id = p_market;
  realized := p_payout - basis;
  INSERT INTO settlements (user_wallet, market_id, payout, realized_pnl, week)
  VALUES (p_wallet, p_market, p_payout, realized, wk) ON CONFLICT DO NOTHING;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  INSERT INTO trader_stats AS s (wallet, realized_pnl)
  VALUES (p_wallet, realized)
  ON CONFLICT (wallet) DO UPDATE SET realized_pnl = s.realized_pnl + EXCLUDED.realized_pnl;
  INSERT INTO trader_weeks AS s (week, wallet, realized_pnl)
  VALUES (wk, p_wallet, realized)
  ON CONFLICT (week, wallet) DO UPDATE SET realized_pnl = s.realized_pnl + EXCLUDED.realized_pnl;
END $$;

CREATE FUNCTION markets_settle() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
DECLARE r RECORD;
BEGIN
  IF current_setting('application_name', true) = 'pg_restore' THEN
    RETURN NULL;
  END IF;
  FOR r IN SELECT p.user_wallet, p.shares_yes, p.shares_no FROM positions p
            WHERE p.market_id = NEW.id ORDER BY p.user_wallet LOOP
    PERFORM record_settlement(
      r.user_wallet, NEW.id,
      CASE WHEN NEW.final_outcome THEN r.shares_yes ELSE r.shares_no END, NEW.finalized_at);
  END LOOP;
  RETURN NULL;
END $$;
CREATE TRIGGER markets_settle AFTER INSERT OR UPDATE OF state ON markets
  FOR EACH ROW WHEN (NEW.state = 'FINALIZED' AND NEW.final_outcome IS NOT NULL)
  EXECUTE FUNCTION markets_settle();

CREATE FUNCTION positions_settle() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
DECLARE m RECORD;
BEGIN
  IF current_setting('application_name', true) = 'pg_restore' THEN
    RETURN NULL;
  END IF;
  SELECT mk.state, mk.final_outcome, coalesce(mk.finalized_at, mk.cancelled_at) AS at
    INTO m FROM markets mk WHERE mk.id = NEW.market_id;
  IF NEW.has_claimed AND (TG_OP = 'INSERT' OR NOT OLD.has_claimed) THEN
    PERFORM record_settlement(NEW.user_wallet, NEW.market_id, NEW.claimed_amount, m.at);
  ELSIF TG_OP = 'INSERT' AND m.state = 'FINALIZED' AND m.final_outcome IS NOT NULL THEN
    -- A position written after its market ended (a reconciler's repair).
    PERFORM record_settlement(
      NEW.user_wallet, NEW.market_id,
      CASE WHEN m.final_outcome THEN NEW.shares_yes ELSE NEW.shares_no END, m.at);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER positions_settle AFTER INSERT OR UPDATE OF has_claimed ON positions
  FOR EACH ROW EXECUTE FUNCTION positions_settle();

-- What was indexed before this migration: markets already finalized with an outcome, then the
-- claims of the others.
DO $$
DECLARE r RECORD;
BEGIN
  FOR r IN SELECT p.user_wallet, p.market_id, m.finalized_at,
                  CASE WHEN m.final_outcome THEN p.shares_yes ELSE p.shares_no END AS payout
             FROM positions p JOIN markets m ON m.id = p.market_id
            WHERE m.state = 'FINALIZED' AND m.final_outcome IS NOT NULL
            ORDER BY p.market_id, p.user_wallet LOOP
    PERFORM record_settlement(r.user_wallet, r.market_id, r.payout, r.finalized_at);
  END LOOP;
  FOR r IN SELECT p.user_wallet, p.market_id, p.claimed_amount,
                  coalesce(m.finalized_at, m.cancelled_at) AS at
             FROM positions p JOIN markets m ON m.id = p.market_id
            WHERE p.has_claimed ORDER BY p.market_id, p.user_wallet LOOP
    PERFORM record_settlement(r.user_wallet, r.market_id, r.claimed_amount, r.at);
  END LOOP;
END $$;

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
