"""The API's quotes (`program.quote`): the host build of the program's C against the Python model.

The shipped `lmsr_host.so` must be a fresh build of `onchain/` with the pinned zig (as the
program's .so is in test_program_build.py), export only its entry points and need no libc. On
this machine (x86_64 Linux) it must load; Hypothesis then holds the native quotes to the model
over the whole valid domain (test_lmsr's strategies: b from MIN_B to MAX_B, q up to MAX_SHARES,
lopsided markets, tiny and huge trades, fee schedules) and over any input at all: the C refuses
exactly where the model raises, and the public functions raise the model's exception with its
message. Where the library cannot load, the module falls back to the model with one log line.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import platform
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import hybridmarket.sbf.__main__ as sbf_cli
from hybridmarket.program import lmsr, quote
from hybridmarket.program.lmsr import MAX_SHARES, U64_MAX, FeeSchedule, LmsrError, Quote
from hybridmarket.sbf.build import host_library_path, shipped_path
from hybridmarket.sbf.toolchain import ToolchainError, host_compiler

from .test_lmsr import DEFAULT_FEES, NO_FEES, buys, fee_schedules, markets
from .test_lmsr_binary import EDGE_MARKETS, any_trades, any_u64, raw_fees, sells

pytestmark = pytest.mark.unit

SETTINGS = settings(max_examples=300, deadline=None)
Trade = tuple[int, int, int, bool, int]
Raw = tuple[int, int, int]
HOST = sys.platform == "linux" and platform.machine() in {"x86_64", "AMD64"}


# --- the artefact ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A fresh host build through the command line (`build --host-out`)."""
    try:
        host_compiler()
    except ToolchainError as exc:
        pytest.fail(f"{exc}; `make test` installs the program extra (ziglang) before the tests")
    out = tmp_path_factory.mktemp("host") / "lmsr_host.so"
    result = CliRunner().invoke(sbf_cli.app, ["build", "--host-out", str(out)])
    assert result.exit_code == 0, result.output
    return out.read_bytes()


def test_the_shipped_host_library_is_a_fresh_build_of_onchain(rebuilt: bytes) -> None:
    shipped = host_library_path()
    assert shipped == quote.LIBRARY
    committed = shipped.read_bytes() if shipped.exists() else b""
    assert committed == rebuilt, (
        f"{shipped} is not the host build of onchain/: run `make program` and commit the .so "
        "with the C"
    )


def test_host_library_exports_its_entry_points_and_needs_nothing(rebuilt: bytes) -> None:
    with quote.LIBRARY.open("rb") as f:
        elf = ELFFile(f)
        assert (elf["e_machine"], elf["e_type"], elf.elfclass) == ("EM_X86_64", "ET_DYN", 64)
        dynsym = elf.get_section_by_name(".dynsym")
        symbols = {s.name: s for s in dynsym.iter_symbols() if s.name}
        dynamic = elf.get_section_by_name(".dynamic")
        needed = [t.needed for t in dynamic.iter_tags() if t.entry.d_tag == "DT_NEEDED"]
        assert elf.get_section_by_name(".symtab") is None  # stripped
    exported = {n for n, s in symbols.items() if s["st_shndx"] != "SHN_UNDEF"}
    assert exported == {
        "hm_host_abi",
        "hm_quote_buy",
        "hm_quote_sell",
        "hm_max_shares_for_amount",
        "hm_price",
    }
    assert exported == set(symbols), "undefined symbols: the library must need no libc"
    assert needed == []


def test_docs_give_the_host_librarys_size_and_sha256() -> None:
    data = quote.LIBRARY.read_bytes()
    doc = (Path(__file__).parents[2] / "docs" / "program.md").read_text()
    assert f"`{hashlib.sha256(data).hexdigest()}`" in doc, "update the sha256 in docs/program.md"
    assert f"{len(data):,} bytes" in doc, "update the host library's size in docs/program.md"


def test_verify_compares_the_host_library_too(
    rebuilt: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`verify` fails on a host library one bit off, naming both sha256 (the program's own
    rebuild is test_program_build's: here it is taken as the shipped bytes)."""
    program = shipped_path().read_bytes()
    monkeypatch.setattr(sbf_cli, "_build", lambda version, compiler: program)
    runner = CliRunner()
    result = runner.invoke(sbf_cli.app, ["verify"])
    assert result.exit_code == 0, result.output
    stale = tmp_path / "lmsr_host.so"
    stale.write_bytes(rebuilt[:-1] + bytes([rebuilt[-1] ^ 1]))
    monkeypatch.setattr(sbf_cli, "host_library_path", lambda: stale)
    result = runner.invoke(sbf_cli.app, ["verify"])
    assert result.exit_code == 1
    assert "lmsr_host.so differs from a fresh build" in result.output


def test_native_quotes_are_used_on_this_machine() -> None:
    """x86_64 Linux is what the library is built for: here it must load, not fall back."""
    if not HOST:
        pytest.skip(f"the host library is built for x86_64 Linux, not {platform.machine()}")
    assert quote.BACKEND == "native"
    assert quote.quote_buy is not lmsr.quote_buy


# --- the fallback ------------------------------------------------------------------------------


def test_a_library_that_cannot_load_falls_back_to_the_model(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A missing file, a foreign ELF (the SBF program itself: another machine), and a library
    of another ABI version each give the model's functions and one warning saying why."""
    other_abi = tmp_path / "other_abi.c"
    other_abi.write_text(
        '__attribute__((visibility("default"))) unsigned long long hm_host_abi(void) '
        "{ return 2; }\n"
    )
    other_so = tmp_path / "other_abi.so"
    other_so.write_bytes(host_compiler().shared_library([other_abi], root=tmp_path))
    cases = [
        (tmp_path / "missing.so", "missing.so"),
        (shipped_path(), "hybridmarket.so"),  # glibc: "cannot open", as for a missing file
    ]
    if HOST:  # elsewhere the x86_64 library fails to load before its version is asked
        cases.append((other_so, "version 2"))
    for path, why in cases:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="hybridmarket.program.quote"):
            quoter = quote.load(path)
        assert quoter is quote.MODEL
        assert quoter.quote_buy is lmsr.quote_buy
        assert quoter.max_shares_for_amount is lmsr.max_shares_for_amount
        assert len(caplog.records) == 1
        assert "LMSR quotes use the Python model" in caplog.records[0].getMessage()
        assert why in caplog.records[0].getMessage()


def test_the_module_falls_back_when_no_library_loads() -> None:
    """Importing `program.quote` where ctypes cannot load the library (as on another platform):
    the model answers, and stderr has exactly one line, the warning."""
    code = (
        "import ctypes\n"
        "def refuse(*args, **kwargs):\n"
        "    raise OSError('wrong ELF class (a stand-in for another platform)')\n"
        "ctypes.PyDLL = refuse\n"
        "from hybridmarket.program import lmsr, quote\n"
        "assert quote.BACKEND == 'model'\n"
        "assert quote.quote_buy is lmsr.quote_buy and quote.price is lmsr.price\n"
        "fees = lmsr.FeeSchedule(300, 200, 500)\n"
        "print(quote.quote_buy(0, 0, 10**12, True, 10**12, fees).total)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "682125957656"
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "LMSR quotes use the Python model" in lines[0]
    assert "wrong ELF class" in lines[0]


# --- the C's own answers: refusals exactly where the model raises ------------------------------


class Raw64:
    """The library's entry points called directly, without program.quote's checks: values, or
    None where the C refuses (for inputs the model cannot even be given as a FeeSchedule)."""

    def __init__(self, path: Path) -> None:
        lib = ctypes.CDLL(str(path))
        u64 = ctypes.c_uint64
        self._fns = {}
        for name, count in [
            ("hm_quote_buy", 8),
            ("hm_quote_sell", 8),
            ("hm_max_shares_for_amount", 8),
            ("hm_price", 4),
        ]:
            fn = getattr(lib, name)
            fn.argtypes = [u64] * count + [ctypes.POINTER(u64)]
            fn.restype = ctypes.c_int
            self._fns[name] = fn

    def _call(self, name: str, size: int, *args: int) -> list[int] | None:
        out = (ctypes.c_uint64 * size)()
        return None if self._fns[name](*args, out) else list(out)

    def quote(self, is_buy: bool, trade: Trade, raw: Raw) -> Quote | None:
        name = "hm_quote_buy" if is_buy else "hm_quote_sell"
        out = self._call(name, 11, *trade[:3], int(trade[3]), trade[4], *raw)
        return None if out is None else Quote(is_buy, trade[3], *out)

    def max_shares(
        self, q_yes: int, q_no: int, b: int, outcome: bool, amount: int, raw: Raw
    ) -> int | None:
        out = self._call("hm_max_shares_for_amount", 1, q_yes, q_no, b, int(outcome), amount, *raw)
        return None if out is None else out[0]

    def price(self, q_yes: int, q_no: int, b: int, outcome: bool) -> int | None:
        out = self._call("hm_price", 1, q_yes, q_no, b, int(outcome))
        return None if out is None else out[0]


@pytest.fixture(scope="module")
def raw() -> Iterator[Raw64]:
    if not HOST:
        pytest.skip(f"the host library is built for x86_64 Linux, not {platform.machine()}")
    yield Raw64(quote.LIBRARY)


def model(fn: Callable[..., object], *args: object) -> object:
    """The model's result, or None where it refuses the input."""
    try:
        return fn(*args)
    except LmsrError:
        return None


def model_fees(raw_fees_: Raw) -> FeeSchedule | None:
    fees = model(FeeSchedule, *raw_fees_)
    assert fees is None or isinstance(fees, FeeSchedule)
    return fees


def check_raw(raw: Raw64, trade: Trade, raw_fees_: Raw) -> None:
    q_yes, q_no, b, outcome, shares = trade
    fees = model_fees(raw_fees_)
    for is_buy, fn in ((True, lmsr.quote_buy), (False, lmsr.quote_sell)):
        expected = None if fees is None else model(fn, *trade, fees)
        assert raw.quote(is_buy, trade, raw_fees_) == expected
    expected = None if fees is None else model(lmsr.max_shares_for_amount, *trade, fees)
    assert raw.max_shares(q_yes, q_no, b, outcome, shares, raw_fees_) == expected
    assert raw.price(q_yes, q_no, b, outcome) == model(lmsr.price, q_yes, q_no, b, outcome)


@SETTINGS
@given(any_trades(), raw_fees)
def test_the_c_refuses_exactly_where_the_model_raises(
    raw: Raw64, trade: Trade, raw_fees_: Raw
) -> None:
    """Any u64s, any fee triple: the C's value is the model's, its refusal the model's error."""
    check_raw(raw, trade, raw_fees_)


@pytest.mark.parametrize("market", EDGE_MARKETS)
def test_edge_markets_match_the_model(raw: Raw64, market: tuple[int, int, int]) -> None:
    q_yes, q_no, b = market
    for outcome in (True, False):
        side = q_yes if outcome else q_no
        sizes = {1, 2, b, 10 * b, side // 2, side, side + 1, MAX_SHARES - side}
        sizes |= {MAX_SHARES - side + 1, U64_MAX}
        for shares in sizes:
            for fees in ((300, 200, 500), (0, 0, 0), (9_999, 0, 0), (3_333, 3_333, 3_333)):
                check_raw(raw, (q_yes, q_no, b, outcome, shares), fees)
        for amount in (0, 1, 3, 4, 10**9, 10**15, U64_MAX):
            check_raw(raw, (q_yes, q_no, b, outcome, amount), (300, 200, 500))


# --- the public functions: the model's values and the model's errors ---------------------------


def outcome_of(fn: Callable[..., object], *args: object) -> tuple[object, ...]:
    """What a call did: its value, or the exception's type and message."""
    try:
        return ("returned", fn(*args))
    except Exception as exc:
        return ("raised", type(exc), str(exc))


def same(name: str, *args: object) -> None:
    assert outcome_of(getattr(quote, name), *args) == outcome_of(getattr(lmsr, name), *args)


@SETTINGS
@given(buys(), fee_schedules)
def test_buys_match_the_model(trade: Trade, fees: FeeSchedule) -> None:
    assert quote.quote_buy(*trade, fees) == lmsr.quote_buy(*trade, fees)


@SETTINGS
@given(sells(), fee_schedules)
def test_sells_match_the_model(trade: Trade, fees: FeeSchedule) -> None:
    same("quote_sell", *trade, fees)  # a sale worth a few lamports is refused after its fees


@SETTINGS
@given(
    markets(),
    st.booleans(),
    st.one_of(st.integers(0, 20), st.integers(0, 10**12), st.integers(0, U64_MAX)),
    fee_schedules,
)
def test_budgets_and_prices_match_the_model(
    market: tuple[int, int, int], outcome: bool, amount: int, fees: FeeSchedule
) -> None:
    same("max_shares_for_amount", *market, outcome, amount, fees)
    assert quote.price(*market, outcome) == lmsr.price(*market, outcome)


# Anything a caller could pass: ints on both sides of every u64 bound, bools (ints to Python,
# refused by the model), floats, None, strings.
anything = st.one_of(
    any_u64,
    st.sampled_from([-1, -(2**64), 2**64, 2**64 + 5, 2**70, True, False, 1.0, None, "1"]),
)
any_outcome = st.sampled_from([True, False, 0, 1, None, "yes"])
any_fees = st.one_of(fee_schedules, st.sampled_from([None, (300, 200, 500), "fees"]))


@SETTINGS
@given(
    st.one_of(any_trades(), st.tuples(anything, anything, anything, any_outcome, anything)),
    any_fees,
)
def test_every_input_gives_the_models_value_or_error(
    trade: tuple[object, ...], fees: object
) -> None:
    for name in ("quote_buy", "quote_sell", "max_shares_for_amount"):
        same(name, *trade, fees)
    same("price", *trade[:4])


def test_valid_trades_never_reach_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """The native path answers by itself (the model is only asked to explain a refusal)."""
    if not HOST:
        pytest.skip("no native quotes on this platform")
    expected = {
        "buy": lmsr.quote_buy(2 * 10**12, 10**12, 10**12, False, 10**10, DEFAULT_FEES),
        "sell": lmsr.quote_sell(2 * 10**12, 10**12, 10**12, True, 10**10, NO_FEES),
        "budget": lmsr.max_shares_for_amount(0, 0, 10**12, True, 5 * 10**9, DEFAULT_FEES),
        "price": lmsr.price(2 * 10**12, 10**12, 10**12, False),
    }

    def refuse(*args: object) -> None:
        raise AssertionError("the model was called")

    for name in ("quote_buy", "quote_sell", "max_shares_for_amount", "price"):
        monkeypatch.setattr(lmsr, name, refuse)
    assert (
        quote.quote_buy(2 * 10**12, 10**12, 10**12, False, 10**10, DEFAULT_FEES)
        == (expected["buy"])
    )
    assert quote.quote_sell(2 * 10**12, 10**12, 10**12, True, 10**10, NO_FEES) == expected["sell"]
    assert (
        quote.max_shares_for_amount(0, 0, 10**12, True, 5 * 10**9, DEFAULT_FEES)
        == (expected["budget"])
    )
    assert quote.price(2 * 10**12, 10**12, 10**12, False) == expected["price"]
    with pytest.raises(AssertionError, match="the model was called"):
        quote.quote_sell(9, 0, 10**9, True, 3, DEFAULT_FEES)  # refused: the model explains


def test_known_values() -> None:
    """test_lmsr's fixed vectors, through the module the API uses."""
    q = quote.quote_buy(0, 0, 10**12, True, 10**12, DEFAULT_FEES)
    assert (q.amount, q.total, q.price_after, q.price_impact_bps) == (
        620_114_506_959,
        682_125_957_656,
        731_058_578,
        4621,
    )
    assert quote.max_shares_for_amount(0, 0, 10**12, True, 4, DEFAULT_FEES) == 1
    assert quote.max_shares_for_amount(0, 0, 10**12, False, U64_MAX, DEFAULT_FEES) == MAX_SHARES
    assert quote.price(0, 0, 10**12, True) == 500_000_000


def test_quotes_from_many_threads_are_each_their_own() -> None:
    """Each call has its own result array: concurrent quotes never see another's fields."""
    trades = [(10**12 + i * 10**9, 10**12, 10**12, i % 2 == 0, 10**8 + i) for i in range(64)]
    expected = [lmsr.quote_buy(*t, DEFAULT_FEES) for t in trades]

    def run(_: int) -> list[Quote]:
        return [quote.quote_buy(*t, DEFAULT_FEES) for _ in range(20) for t in trades]

    with ThreadPoolExecutor(max_workers=4) as pool:
        for result in pool.map(run, range(8)):
            assert result == expected * 20
