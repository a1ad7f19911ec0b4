"""`ChainClient.signature_statuses` against the local validator over real sockets: many
signatures across more than one getSignatureStatuses call (256 each), answered in order, the
same as `signature_status` one by one, None for what the node never saw, errors kept."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from solders.keypair import Keypair
from solders.signature import Signature

from hybridmarket.chain import ChainClient, TransactionFailed
from hybridmarket.localnet.validator import LocalValidator
from tests.integration.localnet_fixtures import faucet_of, running_validator, transfer_ix

pytestmark = pytest.mark.integration
SOL = 1_000_000_000


@pytest.fixture
async def validator(tmp_path: Path) -> AsyncIterator[LocalValidator]:
    async with running_validator(tmp_path / "ledger", slot_ms=50, finalize_depth=3) as v:
        yield v


async def test_statuses_in_bulk_equal_one_by_one(validator: LocalValidator) -> None:
    faucet = faucet_of(validator)
    async with ChainClient(validator.rpc_url) as client:
        payer = Keypair()
        await client.send([transfer_ix(faucet.pubkey(), payer.pubkey(), SOL)], faucet)
        ok = [
            (await client.send([transfer_ix(payer.pubkey(), Keypair().pubkey(), SOL // 10)], payer))
            for _ in range(2)
        ]
        # More than the payer holds: it lands with its error (skip_preflight) and pays its fee.
        blockhash, last_valid = await client.latest_blockhash()
        tx = client.build_signed(
            [transfer_ix(payer.pubkey(), Keypair().pubkey(), 100 * SOL)], payer, [], blockhash
        )
        failed = await client.send_raw(bytes(tx), skip_preflight=True)
        with pytest.raises(TransactionFailed):
            await client.confirm(failed, last_valid_block_height=last_valid)

        unseen = [str(Signature.new_unique()) for _ in range(300)]
        known = [s.signature for s in ok] + [failed]
        asked = unseen[:255] + known[:1] + unseen[255:] + known[1:]  # across the 256 boundary
        got = await client.signature_statuses(asked)

        assert len(got) == len(asked)
        for sig, st in zip(asked, got, strict=True):
            if sig in unseen:
                assert st is None
                continue
            one = await client.signature_status(sig)
            assert st is not None and one is not None
            assert st[:2] == one[:2]  # slot and error (the commitment may have moved on since)
            assert st[2] in ("confirmed", "finalized")
        by_sig = dict(zip(asked, got, strict=True))
        assert [by_sig[s.signature][0] for s in ok] == [s.slot for s in ok]  # type: ignore[index]
        assert all(by_sig[s.signature][1] is None for s in ok)  # type: ignore[index]
        assert by_sig[failed][1] is not None  # type: ignore[index]
        assert await client.signature_statuses([]) == []
