-- Discussions that anyone can verify (issue 6): each comment keeps the Sign-In-With-Solana text
-- its author signed and the ed25519 signature, so the daily IPFS snapshot can carry them and a
-- reader can check authorship without trusting this server. A deletion keeps the signed request
-- that asked for it (the author's or a moderator's).
--
-- The message names the action and the market ("Post a comment on market <id>") and carries
-- "sha256:<hex of the content's UTF-8 bytes>" as a resource; the signature (base58, 64 bytes)
-- is over the message's UTF-8 bytes. The API (api/routes/discussions.py) is the only writer.
--
-- No comment was written before this migration (nothing wrote the table), so the NOT NULL
-- columns need no backfill: a database holding unsigned comments makes this migration fail
-- rather than inventing signatures for them.

ALTER TABLE discussions
  ADD COLUMN signed_message TEXT NOT NULL,
  ADD COLUMN signature TEXT NOT NULL,
  ADD COLUMN delete_message TEXT,
  ADD COLUMN delete_signature TEXT,
  ADD CONSTRAINT discussions_delete_signed
    CHECK ((delete_message IS NULL) = (delete_signature IS NULL));

-- Keyset pagination of a market's comments, newest or oldest first, uses the existing
-- discussions_market_idx (market_id, created_at DESC, id) WHERE deleted_at IS NULL, scanned
-- either way. The snapshot service selects one UTC day of comments across every market:
CREATE INDEX discussions_created_idx ON discussions (created_at) WHERE deleted_at IS NULL;

-- GET /api/discussions/ipfs/{cid} finds a snapshot by its CID.
CREATE INDEX ipfs_anchors_hash_idx ON ipfs_anchors (ipfs_hash);

-- Row-level security: 0002 granted SELECT on the whole `discussions` table to anon and
-- authenticated (policy public_read: deleted_at IS NULL) and everything to service_role; table
-- grants cover the new columns, so signed messages and signatures of visible comments are as
-- public as their content, and those of deleted comments as hidden.
