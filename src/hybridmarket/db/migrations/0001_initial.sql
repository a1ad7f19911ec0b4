-- hybridmarket schema, version 1 (DESIGN.md §4).
--
-- The seed's seven tables (markets, proposal_votes, dispute_votes, discussions, ipfs_anchors,
-- users, trades) with their constraints, plus market metadata, positions, price history, the
-- indexer's cursor and applied transactions, dead letters, the audit log, auth nonces,
-- reconciliation findings and the program's config.
--
-- Amounts are exact: on-chain u64 values are NUMERIC(20,0) in the `u64` domain (BIGINT stops at
-- 2^63 - 1), u32 counters are BIGINT in `u32`. Chain timestamps are TIMESTAMPTZ; an unset (zero)
-- on-chain timestamp is NULL. Every row written from an event carries its idempotency key:
-- (tx_signature, instruction_index, event_index).

CREATE DOMAIN u64 AS NUMERIC(20, 0) CHECK (VALUE >= 0 AND VALUE <= 18446744073709551615);
CREATE DOMAIN u32 AS BIGINT CHECK (VALUE >= 0 AND VALUE <= 4294967295);
CREATE DOMAIN market_state AS TEXT CHECK (
  VALUE IN ('PROPOSED', 'APPROVED', 'ACTIVE', 'RESOLVING', 'DISPUTED', 'FINALIZED', 'CANCELLED')
);
CREATE DOMAIN wallet AS TEXT CHECK (VALUE ~ '^[1-9A-HJ-NP-Za-km-z]{32,44}$');
CREATE DOMAIN signature AS TEXT CHECK (VALUE ~ '^[1-9A-HJ-NP-Za-km-z]{64,88}$');

-- Off-chain metadata, keyed by market_id = sha256(canonical JSON of `document`): anyone can
-- check the question was not edited after the market was proposed on-chain.
CREATE TABLE market_metadata (
  market_id TEXT PRIMARY KEY CHECK (market_id ~ '^[0-9a-f]{64}$'),
  document JSONB NOT NULL,
  canonical_json TEXT NOT NULL,
  question TEXT NOT NULL CHECK (char_length(question) BETWEEN 1 AND 500),
  description TEXT,
  category TEXT,
  resolution_criteria TEXT,
  closes_at TIMESTAMPTZ,
  creator_wallet wallet NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The seed's markets table: the cached chain state of each market account, field for field,
-- written only by the indexer (from events) and the reconciler (from account reads).
CREATE TABLE markets (
  id TEXT PRIMARY KEY CHECK (id ~ '^[0-9a-f]{64}$'),   -- hex of the on-chain market_id
  on_chain_address wallet UNIQUE NOT NULL,             -- the market PDA
  question TEXT,                                       -- from market_metadata (trigger)
  description TEXT,
  category TEXT,
  creator_wallet wallet NOT NULL,
  resolver_wallet wallet NOT NULL,
  state market_state NOT NULL,
  b_parameter u64 NOT NULL,
  shares_yes u64 NOT NULL DEFAULT 0,
  shares_no u64 NOT NULL DEFAULT 0,
  current_price NUMERIC(18, 9) NOT NULL CHECK (current_price BETWEEN 0 AND 1),
  current_liquidity u64 NOT NULL DEFAULT 0,
  initial_liquidity u64 NOT NULL,
  total_volume u64 NOT NULL DEFAULT 0,
  accumulated_resolver_fees u64 NOT NULL DEFAULT 0,
  accumulated_lp_fees u64 NOT NULL DEFAULT 0,
  proposal_likes u32 NOT NULL DEFAULT 0,
  proposal_dislikes u32 NOT NULL DEFAULT 0,
  proposal_total_votes u32 NOT NULL DEFAULT 0,
  dispute_agree u32 NOT NULL DEFAULT 0,
  dispute_disagree u32 NOT NULL DEFAULT 0,
  dispute_total_votes u32 NOT NULL DEFAULT 0,
  dispute_initiator wallet,
  proposed_outcome BOOLEAN,                            -- NULL: not resolved, or INVALID
  final_outcome BOOLEAN,
  evidence_cid TEXT,
  claimed_shares_yes u64 NOT NULL DEFAULT 0,
  claimed_shares_no u64 NOT NULL DEFAULT 0,
  total_claimed u64 NOT NULL DEFAULT 0,
  total_withdrawn u64 NOT NULL DEFAULT 0,
  resolver_fee_paid u64 NOT NULL DEFAULT 0,
  trades_count u32 NOT NULL DEFAULT 0,
  created_at TIMESTAMPTZ NOT NULL,                     -- chain time of the proposal
  approved_at TIMESTAMPTZ,
  activated_at TIMESTAMPTZ,
  resolution_proposed_at TIMESTAMPTZ,
  dispute_initiated_at TIMESTAMPTZ,
  finalized_at TIMESTAMPTZ,
  cancelled_at TIMESTAMPTZ,
  last_slot BIGINT NOT NULL,                           -- slot of the last change applied
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX markets_state_idx ON markets (state);
CREATE INDEX markets_category_idx ON markets (category);
CREATE INDEX markets_volume_idx ON markets (total_volume DESC, id);
CREATE INDEX markets_created_idx ON markets (created_at DESC, id);
CREATE INDEX markets_creator_idx ON markets (creator_wallet);
CREATE INDEX markets_question_fts_idx ON markets
  USING gin (to_tsvector('simple', coalesce(question, '')));

CREATE FUNCTION markets_fill_metadata() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  SELECT m.question, m.description, m.category
    INTO NEW.question, NEW.description, NEW.category
    FROM market_metadata m WHERE m.market_id = NEW.id;
  RETURN NEW;
END $$;
CREATE TRIGGER markets_fill_metadata BEFORE INSERT ON markets
  FOR EACH ROW EXECUTE FUNCTION markets_fill_metadata();

CREATE FUNCTION metadata_fill_markets() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE markets SET question = NEW.question, description = NEW.description,
                     category = NEW.category
   WHERE id = NEW.market_id;
  RETURN NEW;
END $$;
CREATE TRIGGER metadata_fill_markets AFTER INSERT OR UPDATE ON market_metadata
  FOR EACH ROW EXECUTE FUNCTION metadata_fill_markets();

CREATE TABLE users (
  wallet wallet PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),       -- first seen (chain time)
  last_seen_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  -- Reserved for v2 (seed)
  twitter_handle TEXT,
  reputation_score INTEGER,
  avatar_url TEXT
);

-- One vote per wallet per market and kind (the chain's VoteRecord PDA enforces it too).
CREATE TABLE proposal_votes (
  market_id TEXT NOT NULL REFERENCES markets (id) ON DELETE CASCADE,
  user_wallet wallet NOT NULL,
  vote BOOLEAN NOT NULL,                               -- true = like
  voted_at TIMESTAMPTZ NOT NULL,
  vote_record wallet NOT NULL,
  slot BIGINT NOT NULL,
  tx_signature signature NOT NULL,
  instruction_index INTEGER NOT NULL,
  event_index INTEGER NOT NULL,
  PRIMARY KEY (market_id, user_wallet),
  UNIQUE (tx_signature, instruction_index, event_index)
);

CREATE TABLE dispute_votes (
  market_id TEXT NOT NULL REFERENCES markets (id) ON DELETE CASCADE,
  user_wallet wallet NOT NULL,
  vote BOOLEAN NOT NULL,                               -- true = agree the outcome is wrong
  voted_at TIMESTAMPTZ NOT NULL,
  vote_record wallet NOT NULL,
  slot BIGINT NOT NULL,
  tx_signature signature NOT NULL,
  instruction_index INTEGER NOT NULL,
  event_index INTEGER NOT NULL,
  PRIMARY KEY (market_id, user_wallet),
  UNIQUE (tx_signature, instruction_index, event_index)
);

CREATE TABLE trades (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  market_id TEXT NOT NULL REFERENCES markets (id) ON DELETE CASCADE,
  user_wallet wallet NOT NULL,
  trade_type TEXT NOT NULL CHECK (trade_type IN ('buy', 'sell')),
  outcome BOOLEAN NOT NULL,                            -- true = YES
  shares u64 NOT NULL,
  cost u64 NOT NULL,                                   -- LMSR amount (before fees)
  protocol_fee u64 NOT NULL,
  resolver_fee u64 NOT NULL,
  lp_fee u64 NOT NULL,
  total u64 NOT NULL,                                  -- paid (buy) or received (sell)
  price_after NUMERIC(18, 9) NOT NULL,                 -- YES price after the trade
  shares_yes_after u64 NOT NULL,
  shares_no_after u64 NOT NULL,
  slot BIGINT NOT NULL,
  tx_signature signature NOT NULL,
  instruction_index INTEGER NOT NULL,
  event_index INTEGER NOT NULL,
  created_at TIMESTAMPTZ NOT NULL,                     -- chain time
  UNIQUE (tx_signature, instruction_index, event_index)
);
CREATE INDEX trades_market_idx ON trades (market_id, created_at DESC);
CREATE INDEX trades_user_idx ON trades (user_wallet, created_at DESC);

CREATE TABLE positions (
  market_id TEXT NOT NULL REFERENCES markets (id) ON DELETE CASCADE,
  user_wallet wallet NOT NULL,
  shares_yes u64 NOT NULL DEFAULT 0,
  shares_no u64 NOT NULL DEFAULT 0,
  total_invested u64 NOT NULL DEFAULT 0,
  total_withdrawn u64 NOT NULL DEFAULT 0,
  trades_count u32 NOT NULL DEFAULT 0,
  last_trade_at TIMESTAMPTZ,
  has_claimed BOOLEAN NOT NULL DEFAULT false,
  claimed_amount u64 NOT NULL DEFAULT 0,
  last_slot BIGINT NOT NULL,
  PRIMARY KEY (market_id, user_wallet)
);
CREATE INDEX positions_user_idx ON positions (user_wallet);

-- One point per price change (activation, trade, cancellation), for charts.
CREATE TABLE price_history (
  market_id TEXT NOT NULL REFERENCES markets (id) ON DELETE CASCADE,
  at TIMESTAMPTZ NOT NULL,
  price NUMERIC(18, 9) NOT NULL CHECK (price BETWEEN 0 AND 1),
  slot BIGINT NOT NULL,
  tx_signature signature NOT NULL,
  instruction_index INTEGER NOT NULL,
  event_index INTEGER NOT NULL,
  PRIMARY KEY (tx_signature, instruction_index, event_index)
);
CREATE INDEX price_history_market_idx ON price_history (market_id, at);

CREATE TABLE discussions (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  market_id TEXT NOT NULL REFERENCES markets (id) ON DELETE CASCADE,
  user_wallet wallet NOT NULL,
  content TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  deleted_at TIMESTAMPTZ,                              -- soft delete
  deleted_by wallet,
  delete_reason TEXT,
  CONSTRAINT content_length CHECK (char_length(content) BETWEEN 1 AND 1000)
);
CREATE INDEX discussions_market_idx ON discussions (market_id, created_at DESC, id)
  WHERE deleted_at IS NULL;

CREATE TABLE ipfs_anchors (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  market_id TEXT NOT NULL REFERENCES markets (id) ON DELETE CASCADE,
  snapshot_date DATE NOT NULL,
  ipfs_hash TEXT NOT NULL,                             -- CIDv1 (bafy...)
  discussions_count INTEGER NOT NULL CHECK (discussions_count >= 0),
  size_bytes BIGINT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE (market_id, snapshot_date)
);

-- The program's GlobalConfig as last seen in events (one row per program).
CREATE TABLE program_config (
  program_id wallet PRIMARY KEY,
  admin wallet NOT NULL,
  params JSONB NOT NULL,
  is_paused BOOLEAN NOT NULL DEFAULT false,
  slot BIGINT NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL
);

-- ---- the indexer's own state -----------------------------------------------------------------

-- Last transaction applied per program and commitment; `synced_slot`: every transaction at or
-- below this slot has been applied (a catch-up that started at that confirmed slot finished).
CREATE TABLE indexer_cursors (
  program_id wallet NOT NULL,
  commitment TEXT NOT NULL CHECK (commitment IN ('processed', 'confirmed', 'finalized')),
  last_signature signature,
  last_slot BIGINT NOT NULL DEFAULT 0,
  synced_slot BIGINT NOT NULL DEFAULT 0,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (program_id, commitment)
);

-- Every program transaction applied (successful or failed): the transaction-level idempotency
-- record that makes re-applying a no-op.
CREATE TABLE indexed_transactions (
  signature signature PRIMARY KEY,
  slot BIGINT NOT NULL,
  block_time TIMESTAMPTZ,
  err JSONB,
  events INTEGER NOT NULL,
  indexed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX indexed_transactions_slot_idx ON indexed_transactions (slot);

CREATE TABLE dead_letters (
  id BIGSERIAL PRIMARY KEY,
  tx_signature signature NOT NULL,
  slot BIGINT NOT NULL,
  instruction_index INTEGER NOT NULL,
  event_index INTEGER NOT NULL,
  event_name TEXT NOT NULL,
  payload BYTEA NOT NULL,                              -- discriminator + borsh, as logged
  error TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 1,
  next_attempt_at TIMESTAMPTZ NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  resolved_at TIMESTAMPTZ,
  UNIQUE (tx_signature, instruction_index, event_index)
);
CREATE INDEX dead_letters_pending_idx ON dead_letters (next_attempt_at) WHERE resolved_at IS NULL;

CREATE TABLE reconcile_runs (
  id BIGSERIAL PRIMARY KEY,
  started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  finished_at TIMESTAMPTZ,
  chain_slot BIGINT,
  markets_checked INTEGER NOT NULL DEFAULT 0,
  discrepancies INTEGER NOT NULL DEFAULT 0,
  repaired INTEGER NOT NULL DEFAULT 0,
  error TEXT
);

CREATE TABLE reconcile_discrepancies (
  id BIGSERIAL PRIMARY KEY,
  run_id BIGINT NOT NULL REFERENCES reconcile_runs (id) ON DELETE CASCADE,
  market_id TEXT NOT NULL,
  field TEXT NOT NULL,
  cached_value TEXT,
  chain_value TEXT,
  found_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX reconcile_discrepancies_market_idx ON reconcile_discrepancies (market_id, found_at);

-- ---- services and API -----------------------------------------------------------------------

-- Every transaction the backend sends and every admin action: who, what, why, outcome.
CREATE TABLE audit_log (
  id BIGSERIAL PRIMARY KEY,
  at TIMESTAMPTZ NOT NULL DEFAULT now(),
  actor wallet NOT NULL,                               -- the signing key or admin wallet
  action TEXT NOT NULL,                                -- instruction or admin action
  market_id TEXT,
  arguments JSONB NOT NULL DEFAULT '{}',
  reason JSONB NOT NULL DEFAULT '{}',                  -- the tally or rule that triggered it
  tx_signature signature,
  outcome TEXT NOT NULL CHECK (outcome IN ('pending', 'sent', 'confirmed', 'failed', 'skipped')),
  error TEXT
);
CREATE INDEX audit_log_market_idx ON audit_log (market_id, at);

-- Single-use nonces of signed messages (Sign-In-With-Solana).
CREATE TABLE auth_nonces (
  nonce TEXT PRIMARY KEY CHECK (char_length(nonce) BETWEEN 8 AND 128),
  wallet wallet,
  purpose TEXT NOT NULL,
  issued_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  expires_at TIMESTAMPTZ NOT NULL,
  used_at TIMESTAMPTZ
);
CREATE INDEX auth_nonces_expiry_idx ON auth_nonces (expires_at);
