-- Lists at scale (issue 17): every list the API serves (each sort, each filter, word search,
-- deep keyset pages) reads an index instead of sorting or scanning the whole table.
--
-- `closes_at` is copied into markets (from the metadata, by the triggers that copy the question)
-- so that "closing soon" has an index. Open markets come before settled ones (FINALIZED,
-- CANCELLED): each sort's index leads with that, so the default list (open only), the settled
-- filter and the whole list in that order are each one range of one index; the sort keys end
-- with the id, which breaks ties for keyset pagination. A state or category filter has its own
-- indexes. Search is word search (PostgreSQL full-text, English stemming) on a GIN index. The
-- 24-hour change reads one price point per listed market from price_history's newest-first
-- index.

ALTER TABLE markets ADD COLUMN closes_at TIMESTAMPTZ;
UPDATE markets m SET closes_at = md.closes_at
  FROM market_metadata md WHERE md.market_id = m.id AND md.closes_at IS NOT NULL;

CREATE OR REPLACE FUNCTION markets_fill_metadata() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
  SELECT m.question, m.description, m.category, m.closes_at
    INTO NEW.question, NEW.description, NEW.category, NEW.closes_at
    FROM market_metadata m WHERE m.market_id = NEW.id;
  RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION metadata_fill_markets() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
  UPDATE markets SET question = NEW.question, description = NEW.description,
                     category = NEW.category, closes_at = NEW.closes_at
   WHERE id = NEW.market_id;
  RETURN NEW;
END $$;

DROP INDEX markets_volume_idx;
DROP INDEX markets_created_idx;
DROP INDEX markets_state_idx;
DROP INDEX markets_category_idx;
DROP INDEX markets_question_fts_idx;

-- The whole list, open markets first: a rank (1 open, 0 settled; the reverse for the ascending
-- closing order) leads each key, all of it in one direction, so a keyset is one row comparison.
CREATE INDEX markets_list_volume_idx ON markets
  ((CASE WHEN state IN ('FINALIZED', 'CANCELLED') THEN 0 ELSE 1 END) DESC, total_volume DESC, id DESC);
CREATE INDEX markets_list_newest_idx ON markets
  ((CASE WHEN state IN ('FINALIZED', 'CANCELLED') THEN 0 ELSE 1 END) DESC, created_at DESC, id DESC);
CREATE INDEX markets_list_closing_idx ON markets
  ((CASE WHEN state IN ('FINALIZED', 'CANCELLED') THEN 1 ELSE 0 END), (coalesce(closes_at, 'infinity')), id);
-- One state.
CREATE INDEX markets_state_volume_idx ON markets (state, total_volume DESC, id DESC);
CREATE INDEX markets_state_newest_idx ON markets (state, created_at DESC, id DESC);
CREATE INDEX markets_state_closing_idx ON markets
  (state, (coalesce(closes_at, 'infinity')), id);
-- One category, open markets first.
CREATE INDEX markets_category_volume_idx ON markets
  (category, (CASE WHEN state IN ('FINALIZED', 'CANCELLED') THEN 0 ELSE 1 END) DESC, total_volume DESC, id DESC);
CREATE INDEX markets_category_newest_idx ON markets
  (category, (CASE WHEN state IN ('FINALIZED', 'CANCELLED') THEN 0 ELSE 1 END) DESC, created_at DESC, id DESC);
CREATE INDEX markets_category_closing_idx ON markets
  (category, (CASE WHEN state IN ('FINALIZED', 'CANCELLED') THEN 1 ELSE 0 END), (coalesce(closes_at, 'infinity')), id);
-- Word search.
CREATE INDEX markets_question_search_idx ON markets
  USING gin (to_tsvector('english', coalesce(question, '')));
-- The price a day ago (the newest point at or before then), and the first price.
CREATE INDEX price_history_market_newest_idx ON price_history
  (market_id, at DESC, slot DESC, seq DESC) INCLUDE (price);
