-- Average-cost bookkeeping of every trade (issue 16): the portfolio's cost basis and P&L, the
-- profit and volume leaderboards, all read from rows kept as trades are indexed instead of a
-- replay of each wallet's history per request.
--
-- The average-cost method, per (wallet, market, outcome), in chain order (slot, seq): a buy adds
-- its shares and what it paid (`total`, fees included) to the holding and its cost basis; a sale
-- takes out floor(basis * shares sold / shares held) of the basis (all of it when it sells
-- everything held) and realizes what it received (`total`, after fees) minus that. Integers
-- throughout, so basis + realized = paid - received holds to the lamport.
--
-- A BEFORE INSERT trigger on trades (the indexer appends trades with COPY, in chain order, in the
-- batch's transaction) computes each row's `realized_pnl` and updates the holdings and the
-- per-wallet totals. A row that arrives with `realized_pnl` already set (a data-only pg_restore
-- of a backup, which also restores the totals) is taken as is and counted nothing again.

ALTER TABLE trades ADD COLUMN realized_pnl NUMERIC(30, 0);   -- buys: 0; sales: signed lamports

-- The holding of one outcome of one market by one wallet, by the average-cost method.
CREATE TABLE position_costs (
  user_wallet wallet NOT NULL,
  market_id TEXT NOT NULL REFERENCES markets (id) ON DELETE CASCADE,
  outcome BOOLEAN NOT NULL,                                -- true = YES
  shares NUMERIC(30, 0) NOT NULL DEFAULT 0,                -- held, by the trades
  cost_basis NUMERIC(30, 0) NOT NULL DEFAULT 0,            -- lamports paid for what is held
  realized_pnl NUMERIC(30, 0) NOT NULL DEFAULT 0,          -- signed lamports, from sales
  PRIMARY KEY (user_wallet, market_id, outcome)
);

-- Per wallet, all time and per UTC week (Monday): what the leaderboards sort.
CREATE TABLE trader_stats (
  wallet wallet PRIMARY KEY,
  realized_pnl NUMERIC(30, 0) NOT NULL DEFAULT 0,
  volume NUMERIC(30, 0) NOT NULL DEFAULT 0,                -- LMSR amounts traded (before fees)
  trades BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX trader_stats_profit_idx ON trader_stats (realized_pnl DESC, wallet DESC);
CREATE INDEX trader_stats_volume_idx ON trader_stats (volume DESC, wallet DESC);

CREATE TABLE trader_weeks (
  week DATE NOT NULL,                                      -- the Monday starting the UTC week
  wallet wallet NOT NULL,
  realized_pnl NUMERIC(30, 0) NOT NULL DEFAULT 0,
  volume NUMERIC(30, 0) NOT NULL DEFAULT 0,
  trades BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (week, wallet)
);
CREATE INDEX trader_weeks_profit_idx ON trader_weeks (week, realized_pnl DESC, wallet DESC);
CREATE INDEX trader_weeks_volume_idx ON trader_weeks (week, volume DESC, wallet DESC);

CREATE FUNCTION record_trade_cost(
  p_wallet TEXT, p_market TEXT, p_outcome BOOLEAN, p_sell BOOLEAN, p_shares NUMERIC,
  p_total NUMERIC, p_cost NUMERIC, p_at TIMESTAMPTZ
) RETURNS NUMERIC LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
  held NUMERIC;
  basis NUMERIC;
  removed NUMERIC := 0;
  realized NUMERIC := 0;
BEGIN
  INSERT INTO position_costs (user_wallet, market_id, outcome)
  VALUES (p_wallet, p_market, p_outcome) ON CONFLICT DO NOTHING;
  SELECT c.shares, c.cost_basis INTO held, basis FROM position_costs c
   WHERE c.user_wallet = p_wallet AND c.market_id = p_market AND c.outcome = p_outcome
     FOR UPDATE;
  IF p_sell THEN
    removed := CASE WHEN p_shares >= held THEN basis ELSE div(basis * p_shares, held) END;
    realized := p_total - removed;
    UPDATE position_costs c SET shares = greatest(held - p_shares, 0),
           cost_basis = basis - removed, realized_pnl = c.realized_pnl + realized
     WHERE c.user_wallet = p_wallet AND c.market_id = p_market AND c.outcome = p_outcome;
  ELSE
    UPDATE position_costs c SET shares = held + p_shares, cost_basis = basis + p_total
     WHERE c.user_wallet = p_wallet AND c.market_id = p_market AND c.outcome = p_outcome;
  END IF;
  INSERT INTO trader_stats AS s (wallet, realized_pnl, volume, trades)
  VALUES (p_wallet, realized, p_cost, 1)
  ON CONFLICT (wallet) DO UPDATE SET realized_pnl = s.realized_pnl + EXCLUDED.realized_pnl,
         volume = s.volume + EXCLUDED.volume, trades = s.trades + 1;
  INSERT INTO trader_weeks AS s (week, wallet, realized_pnl, volume, trades)
  VALUES (date_trunc('week', p_at AT TIME ZONE 'UTC')::date, p_wallet, realized, p_cost, 1)
  ON CONFLICT (week, wallet) DO UPDATE SET realized_pnl = s.realized_pnl + EXCLUDED.realized_pnl,
         volume = s.volume + EXCLUDED.volume, trades = s.trades + 1;
  RETURN realized;
END $$;

CREATE FUNCTION trades_record_cost() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
  IF NEW.realized_pnl IS NULL THEN
    NEW.realized_pnl := record_trade_cost(
      NEW.user_wallet, NEW.market_id, NEW.outcome, NEW.trade_type = 'sell', NEW.shares,
      NEW.total, NEW.cost, NEW.created_at);
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER trades_record_cost BEFORE INSERT ON trades
  FOR EACH ROW EXECUTE FUNCTION trades_record_cost();

-- The trades indexed before this migration, in chain order.
DO $$
DECLARE t RECORD;
BEGIN
  FOR t IN SELECT id, user_wallet, market_id, outcome, trade_type, shares, total, cost, created_at
             FROM trades ORDER BY slot, seq LOOP
    UPDATE trades SET realized_pnl = record_trade_cost(
      t.user_wallet, t.market_id, t.outcome, t.trade_type = 'sell', t.shares, t.total, t.cost,
      t.created_at)
     WHERE id = t.id;
  END LOOP;
END $$;

ALTER TABLE position_costs ENABLE ROW LEVEL SECURITY;
ALTER TABLE trader_stats ENABLE ROW LEVEL SECURITY;
ALTER TABLE trader_weeks ENABLE ROW LEVEL SECURITY;
DO $$
DECLARE t TEXT;
BEGIN
  IF (SELECT count(*) = 3 FROM pg_roles
      WHERE rolname IN ('anon', 'authenticated', 'service_role')) THEN
    FOREACH t IN ARRAY ARRAY['position_costs', 'trader_stats', 'trader_weeks'] LOOP
      EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO service_role', t);
      EXECUTE format('CREATE POLICY service_role_all ON %I TO service_role '
                     'USING (true) WITH CHECK (true)', t);
      EXECUTE format('GRANT SELECT ON %I TO anon, authenticated', t);
      EXECUTE format('CREATE POLICY public_read ON %I FOR SELECT TO anon, authenticated '
                     'USING (true)', t);
    END LOOP;
  END IF;
END $$;

-- A market's largest holders of each side; a wallet's comments (its profile).
CREATE INDEX positions_market_yes_idx ON positions (market_id, shares_yes DESC, user_wallet)
  WHERE shares_yes > 0;
CREATE INDEX positions_market_no_idx ON positions (market_id, shares_no DESC, user_wallet)
  WHERE shares_no > 0;
CREATE INDEX discussions_user_idx ON discussions (user_wallet) WHERE deleted_at IS NULL;
