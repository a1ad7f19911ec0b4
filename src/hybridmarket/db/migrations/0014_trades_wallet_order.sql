-- A wallet's trade history pages in chain order (slot, seq), as a market's tape does: its cursor
-- was the trade's time, so the trades a wallet made in one second (one block time) beyond a
-- page's end were skipped by the next page. The index replaces the (user_wallet, created_at)
-- one, whose only ordered read this was; the totals read its user_wallet prefix.
DROP INDEX trades_user_idx;
CREATE INDEX trades_user_order_idx ON trades (user_wallet, slot, seq);
