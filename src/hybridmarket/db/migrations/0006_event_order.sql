-- Several trades can land in one slot; their order there is not recoverable from signatures.
-- The indexer appends rows in chain order, so a sequence number records it: ORDER BY slot, seq
-- is execution order (the last price point of a slot is the market's price after that slot).
ALTER TABLE price_history ADD COLUMN seq BIGSERIAL;
ALTER TABLE trades ADD COLUMN seq BIGSERIAL;
CREATE INDEX price_history_market_order_idx ON price_history (market_id, slot, seq);
CREATE INDEX trades_market_order_idx ON trades (market_id, slot, seq);
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
    GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO service_role;
  END IF;
END $$;
