-- A backend transaction is recorded `sent` before it is broadcast. A crash between the two (or
-- before the confirmation) left a row whose fate the next run could only guess from the clock.
-- Keeping the signed bytes and the blockhash's last valid height lets it rebroadcast the very
-- same transaction (same signature: it can land at most once) and wait for a definite answer:
-- confirmed, failed on chain, or its blockhash expired so it can never land.
ALTER TABLE audit_log ADD COLUMN tx_wire BYTEA, ADD COLUMN last_valid_block_height BIGINT;
