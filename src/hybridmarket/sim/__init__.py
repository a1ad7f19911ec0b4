"""Simulation: a reusable random workload driver for the market program, over real Solana
JSON-RPC.

What it is for:

- the indexer's exactness test: thousands of random transactions across many markets and
  wallets, every instruction and every market state, successes and deliberate on-chain failures,
  after which a PostgreSQL copy must equal the chain;
- the benchmarks: fill a validator with 100,000+ events (`run_workload`), then hold a steady
  trade rate with the send time of every signature recorded (`trickle`), to measure lag;
- a demo that seeds a believable world: each market's metadata (question, category, resolution
  criteria, close date) is kept in the report, and its market id is the sha256 of that metadata's
  canonical JSON, so a demo can post it to the API.

How it works. `run_workload` plans everything first from `random.Random(seed)` (each market's
fate, its votes and trades, which transactions are to fail on purpose), funds the wallets the
plan needs, then runs the phases in order: admin, propose, vote, approve, activate, trade,
cancel, resolve, dispute, finalize, claim, withdraw, late. Within a phase every market runs
concurrently and independent transactions of a market (votes, claims) too; transactions that
depend on each other (the trades of one market) go one after another, each sent once the
node has answered the previous one (on the embedded validator that answer means it executed).
A local LMSR model of each market gives exact quotes, so slippage bounds are tight and a
deliberate "one lamport too low" really fails. Confirmations are awaited in bulk, 256
signatures per `getSignatureStatuses`, by one poller, never one by one; each phase ends when
everything it sent is confirmed, which is also when the next phase can read the chain.

Deliberate failures are sent with `skip_preflight=True`, so the validator executes them,
charges their fee and records them with their error, as a leader would. Transactions expected
to succeed go with preflight: if one does not, it is refused before it lands and the report
lists it as rejected (`WorkloadReport.unexpected()`).

Time: resolution and finalization need the clock moved forward, which only a validator with
test controls can do. `advance_clock` is an async callable (`clock_advancer(rpc_url)` makes one
for the embedded validator); with None, only the phases that need no time run, and every market
ends Proposed, Approved, Active or Cancelled.

Modules: `records` (the configuration, fates, deliberate failures and the report), `plan`
(the plan, drawn before anything is sent), `metadata` (believable questions), `sender`
(sending through `ChainClient`, confirming in bulk), `engine` (the phases; `run_workload`),
`trickle` (a steady trade rate), `verify` (the report against the chain), `clock` (moving
the embedded validator's clock).

Determinism: the plan and every choice made while running depend only on the seed (keypairs
are random, so market ids, which include the creator, differ between runs). Other writers on
the same program during a run make `verify_report`'s signature comparison meaningless.
"""

from hybridmarket.canonical import canonical_json, market_id_of
from hybridmarket.sim.clock import AdvanceClock, clock_advancer
from hybridmarket.sim.engine import run_workload
from hybridmarket.sim.records import (
    Failure,
    Fate,
    MarketRecord,
    SentTx,
    TrickleReport,
    TxStatus,
    WorkloadConfig,
    WorkloadReport,
)
from hybridmarket.sim.sender import fund_wallets
from hybridmarket.sim.trickle import trickle
from hybridmarket.sim.verify import program_signatures, verify_report

__all__ = [
    "AdvanceClock",
    "Failure",
    "Fate",
    "MarketRecord",
    "SentTx",
    "TrickleReport",
    "TxStatus",
    "WorkloadConfig",
    "WorkloadReport",
    "canonical_json",
    "clock_advancer",
    "fund_wallets",
    "market_id_of",
    "program_signatures",
    "run_workload",
    "trickle",
    "verify_report",
]
