"""The SBPF linker: real clang objects in, ELFs that Agave's loader (LiteSVM) loads and runs.

Every relocation kind the linker resolves and every refusal is exercised on C compiled with the
pinned compiler; the few inputs clang will not produce (an unknown relocation type, a writable
relro section) are real objects patched in place.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import pytest
from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM
from solders.system_program import CreateAccountParams, create_account
from solders.sysvar import CLOCK, RENT
from solders.transaction import Transaction
from solders.transaction_metadata import TransactionMetadata

from hybridmarket.sbf.build import build_program
from hybridmarket.sbf.linker import LinkError, link
from hybridmarket.sbf.murmur3 import murmur3_32
from hybridmarket.sbf.syscalls import SYSCALLS
from hybridmarket.sbf.toolchain import COMPILER_ENV, Compiler, ToolchainError, find_compiler

pytestmark = pytest.mark.unit

MM_REGION = 1 << 32

PRELUDE = """
typedef unsigned char uint8_t;
typedef unsigned int uint32_t;
typedef unsigned long long uint64_t;
typedef signed char int8_t;
typedef long long int64_t;
void sol_log_(const char *message, uint64_t len);
void sol_set_return_data(const uint8_t *data, uint64_t len);
"""

HELLO = """
uint64_t entrypoint(const uint8_t *input) {
    (void)input;
    sol_log_("hello", 5);
    return 0;
}
"""

# Several functions (static ones called pc-relative without a relocation, global ones through
# R_BPF_64_32, one recursive), string literals, a const table of pointers, a table of structs
# holding pointers, a table of integers. The instruction data's first byte picks the inputs.
TABLES = """
struct op { const char *name; uint64_t len; uint64_t weight; };
static const struct op OPS[] = {{"add", 3, 10}, {"mul", 3, 20}, {"sub", 3, 30}};
static const uint64_t PRIMES[] = {2, 3, 5, 7, 11, 13};
static const char *const GREETINGS[] = {"hello", "hola", "bonjour"};
static const uint64_t GREETING_LENS[] = {5, 4, 7};

__attribute__((noinline)) static uint64_t weight(uint64_t i) { return OPS[i % 3].weight; }
__attribute__((noinline)) uint64_t prime_sum(uint64_t n) {
    uint64_t s = 0;
    for (uint64_t i = 0; i < n && i < 6; i++) s += PRIMES[i];
    return s;
}
__attribute__((noinline)) uint64_t fib(uint64_t n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

uint64_t entrypoint(const uint8_t *input) {
    uint64_t data_len = *(const uint64_t *)(input + 8);
    uint64_t k = data_len ? input[16] : 0;
    sol_log_(GREETINGS[k % 3], GREETING_LENS[k % 3]);
    sol_log_(OPS[(k + 1) % 3].name, OPS[(k + 1) % 3].len);
    uint64_t out[3] = {weight(k + 2), prime_sum(k + 6), fib(k + 10)};
    sol_set_return_data((const uint8_t *)out, sizeof out);
    return 0;
}
"""

# Two objects calling each other and reading each other's read-only data.
OBJECT_A = """
extern const char *const B_WORDS[];
uint64_t b_sum_of_squares(uint64_t n);
static const char *const A_WORDS[] = {"from-a", "from-A"};
__attribute__((noinline)) uint64_t a_square(uint64_t x) { return x * x; }
uint64_t entrypoint(const uint8_t *input) {
    (void)input;
    sol_log_(B_WORDS[1], 6);
    sol_log_(A_WORDS[0], 6);
    uint64_t r = b_sum_of_squares(5);
    sol_set_return_data((const uint8_t *)&r, 8);
    return 0;
}
"""
OBJECT_B = """
uint64_t a_square(uint64_t x);
const char *const B_WORDS[] = {"zzzzzz", "from-b"};
__attribute__((noinline)) uint64_t b_sum_of_squares(uint64_t n) {
    uint64_t s = 0;
    for (uint64_t i = 0; i < n; i++) s += a_square(i);
    return s;
}
"""


# --- helpers -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compiler() -> Compiler:
    try:
        return find_compiler()
    except ToolchainError as exc:
        pytest.fail(f"{exc} (`make test` installs the program extra)")


class CompileC(Protocol):
    def __call__(self, source: str, name: str = ..., flags: Sequence[str] = ...) -> bytes: ...


@pytest.fixture
def cc(compiler: Compiler, tmp_path: Path) -> CompileC:
    """Compile a C snippet (after PRELUDE) with the pinned compiler and flags, in tmp_path."""

    def compile_c(source: str, name: str = "prog.c", flags: Sequence[str] = ()) -> bytes:
        path = tmp_path / name
        path.write_text(PRELUDE + source)
        return compiler.compile(path, root=tmp_path, flags=flags)

    return compile_c


def run(
    elf: bytes, data: bytes = b"", *, deploy: bool = False, mainnet: bool = False
) -> TransactionMetadata:
    """Execute one instruction of the program in Agave's SVM; fail the test unless it succeeds."""
    svm = LiteSVM().with_mainnet_features() if mainnet else LiteSVM()
    payer = Keypair()
    svm.airdrop(payer.pubkey(), 10**10)
    if deploy:
        program_id = deploy_upgradeable(svm, payer, elf)
    else:
        program_id = Pubkey.new_unique()
        svm.add_program(program_id, elf)
    result = send(svm, payer, [Instruction(program_id, data, [])])
    assert isinstance(result, TransactionMetadata), result
    return result


def send(svm: LiteSVM, payer: Keypair, ixs: list[Instruction], *signers: Keypair) -> object:
    tx = Transaction([payer, *signers], Message(ixs, payer.pubkey()), svm.latest_blockhash())
    return svm.send_transaction(tx)


LOADER = Pubkey.from_string("BPFLoaderUpgradeab1e11111111111111111111111")


def deploy_upgradeable(svm: LiteSVM, payer: Keypair, elf: bytes) -> Pubkey:
    """Deploy as `solana program deploy` does, which runs the deployment-time ELF checks."""
    buffer, program = Keypair(), Keypair()
    size = 37 + len(elf)  # the buffer's header, then the ELF
    create_buffer = create_account(
        CreateAccountParams(
            from_pubkey=payer.pubkey(),
            to_pubkey=buffer.pubkey(),
            lamports=svm.minimum_balance_for_rent_exemption(size),
            space=size,
            owner=LOADER,
        )
    )
    init = Instruction(
        LOADER,
        struct.pack("<I", 0),
        [AccountMeta(buffer.pubkey(), False, True), AccountMeta(payer.pubkey(), False, False)],
    )
    assert isinstance(send(svm, payer, [create_buffer, init], buffer), TransactionMetadata)
    for offset in range(0, len(elf), 900):
        chunk = elf[offset : offset + 900]
        write = Instruction(
            LOADER,
            struct.pack("<IIQ", 1, offset, len(chunk)) + chunk,
            [AccountMeta(buffer.pubkey(), False, True), AccountMeta(payer.pubkey(), True, False)],
        )
        assert isinstance(send(svm, payer, [write]), TransactionMetadata)
    programdata, _ = Pubkey.find_program_address([bytes(program.pubkey())], LOADER)
    create_program = create_account(
        CreateAccountParams(
            from_pubkey=payer.pubkey(),
            to_pubkey=program.pubkey(),
            lamports=svm.minimum_balance_for_rent_exemption(36),
            space=36,
            owner=LOADER,
        )
    )
    deploy = Instruction(
        LOADER,
        struct.pack("<IQ", 2, 2 * len(elf)),
        [
            AccountMeta(payer.pubkey(), True, True),
            AccountMeta(programdata, False, True),
            AccountMeta(program.pubkey(), False, True),
            AccountMeta(buffer.pubkey(), False, True),
            AccountMeta(RENT, False, False),
            AccountMeta(CLOCK, False, False),
            AccountMeta(SYSTEM_PROGRAM, False, False),
            AccountMeta(payer.pubkey(), True, False),
        ],
    )
    result = send(svm, payer, [create_program, deploy], program)
    assert isinstance(result, TransactionMetadata), result
    svm.warp_to_slot(svm.get_clock().slot + 1)
    svm.expire_blockhash()
    return program.pubkey()


def program_logs(result: TransactionMetadata) -> list[str]:
    return [line.removeprefix("Program log: ") for line in result.logs() if "Program log: " in line]


def elf_of(data: bytes) -> ELFFile:
    return ELFFile(io.BytesIO(data))


def section_of(elf: ELFFile, name: str) -> Any:
    found = elf.get_section_by_name(name)
    assert found is not None, f"no section {name}"
    return found


def instructions(text: bytes) -> list[tuple[int, int, int, int, int]]:
    """(offset, opcode, src, off, imm) of each instruction slot."""
    out = []
    for at in range(0, len(text), 8):
        op, regs, off, imm = struct.unpack_from("<BBhi", text, at)
        out.append((at, op, regs >> 4, off, imm))
    return out


def lddw_values(text: bytes) -> list[int]:
    values = []
    slots = instructions(text)
    i = 0
    while i < len(slots):
        if slots[i][1] == 0x18:
            values.append((slots[i][4] & 0xFFFF_FFFF) | (slots[i + 1][4] & 0xFFFF_FFFF) << 32)
            i += 2
        else:
            i += 1
    return values


def patch_relocation_type(obj: bytes, rel_section: str, index: int, r_type: int) -> bytes:
    elf = elf_of(obj)
    section = elf.get_section_by_name(rel_section)
    assert isinstance(section, RelocationSection)
    out = bytearray(obj)
    struct.pack_into("<I", out, section["sh_offset"] + index * 16 + 8, r_type)
    return bytes(out)


def patch_section_flags(obj: bytes, name: str, flags: int) -> bytes:
    elf = elf_of(obj)
    for index, section in enumerate(elf.iter_sections()):
        if section.name == name:
            out = bytearray(obj)
            struct.pack_into("<Q", out, elf["e_shoff"] + index * elf["e_shentsize"] + 8, flags)
            return bytes(out)
    raise AssertionError(f"no section {name}")


# --- murmur3 -------------------------------------------------------------------------------


def test_murmur3_matches_the_loader_and_reference_vectors() -> None:
    assert murmur3_32(b"sol_log_") == 0x207559BD  # SBF.md
    assert murmur3_32(b"entrypoint") == 0x71E3CF81
    assert murmur3_32(b"") == 0
    assert murmur3_32(b"", 1) == 0x514E28B7
    assert murmur3_32(b"", 0xFFFFFFFF) == 0x81F16F39
    assert murmur3_32(b"\0\0\0\0") == 0x2362F9DE
    assert murmur3_32(b"test") == 0xBA6BD213
    assert murmur3_32(b"Hello, world!") == 0xC0363E43
    assert murmur3_32(b"The quick brown fox jumps over the lazy dog") == 0x2E4FF723


# --- toolchain -----------------------------------------------------------------------------


def test_a_missing_compiler_says_how_to_install_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(COMPILER_ENV, "clang-that-does-not-exist")
    with pytest.raises(ToolchainError, match=r"make program"):
        find_compiler()


def test_objects_and_links_are_reproducible(cc: CompileC) -> None:
    first, second = cc(TABLES), cc(TABLES)
    assert first == second
    assert link([first]) == link([second])
    assert link([first], version=3) == link([second], version=3)


# --- SBPFv0 --------------------------------------------------------------------------------


def test_v0_hello_loads_and_runs(cc: CompileC) -> None:
    result = run(link({"hello.o": cc(HELLO)}))
    assert program_logs(result) == ["hello"]


def test_v0_layout_is_what_the_loader_checks(cc: CompileC) -> None:
    out = link([cc(TABLES)])
    elf = elf_of(out)
    assert elf["e_type"] == "ET_DYN"
    assert elf["e_machine"] == "EM_BPF"
    assert elf["e_flags"] == 0
    names = [s.name for s in elf.iter_sections()]
    assert names == [
        "",
        ".text",
        ".rodata",
        ".dynamic",
        ".dynsym",
        ".dynstr",
        ".rel.dyn",
        ".shstrtab",
    ]
    offsets = []
    for section in elf.iter_sections():
        if section["sh_flags"] & 0x2:
            assert section["sh_addr"] == section["sh_offset"], section.name
            offsets.append(section["sh_offset"])
    assert offsets == sorted(offsets)
    text = section_of(elf, ".text")
    dynsym = section_of(elf, ".dynsym")
    (entry,) = [s for s in dynsym.iter_symbols() if s.name == "entrypoint"]
    assert elf["e_entry"] == entry["st_value"]
    assert text["sh_addr"] <= elf["e_entry"] < text["sh_addr"] + text["sh_size"]
    assert [p["p_type"] for p in elf.iter_segments()] == [
        "PT_LOAD",
        "PT_LOAD",
        "PT_LOAD",
        "PT_DYNAMIC",
    ]


def test_v0_syscalls_are_call_minus_one_with_a_named_dynamic_relocation(cc: CompileC) -> None:
    out = link([cc(TABLES)])
    elf = elf_of(out)
    rel_dyn = section_of(elf, ".rel.dyn")
    dynsym = section_of(elf, ".dynsym")
    assert isinstance(rel_dyn, RelocationSection)
    sites = {}
    for rel in rel_dyn.iter_relocations():
        assert rel["r_info_type"] == 10  # R_BPF_64_32
        sites[rel["r_offset"]] = dynsym.get_symbol(rel["r_info_sym"]).name
    assert sorted(sites.values()) == ["sol_log_", "sol_log_", "sol_set_return_data"]
    assert set(sites.values()) <= SYSCALLS
    for at, op, src, _off, imm in instructions(out):
        if op == 0x85 and at in sites:
            assert (imm, src) == (-1, 0)
        elif op == 0x85:  # calls inside the program: pc-relative, left to the loader
            assert imm != -1


def test_v0_resolves_lddw_and_rodata_pointers_to_vm_addresses(cc: CompileC) -> None:
    out = link([cc(TABLES)])
    elf = elf_of(out)
    rodata = section_of(elf, ".rodata")
    start, end = rodata["sh_offset"], rodata["sh_offset"] + rodata["sh_size"]
    text = section_of(elf, ".text").data()
    # R_BPF_64_64: every lddw holds 0x1_0000_0000 + a virtual address inside .rodata.
    for value in lddw_values(text):
        assert start <= value - MM_REGION < end
    # R_BPF_64_ABS64: the pointer tables hold the addresses of their strings.
    pointed = set()
    for at in range(start, end - 7, 8):
        value = struct.unpack_from("<Q", out, at)[0]
        if start <= value - MM_REGION < end:
            string = out[value - MM_REGION :].split(b"\0", 1)[0]
            pointed.add(string)
    assert {b"hello", b"hola", b"bonjour", b"add", b"mul", b"sub"} <= pointed


@pytest.mark.parametrize("flags", [(), ("-ffunction-sections", "-fdata-sections")])
@pytest.mark.parametrize("version", [0, 3])
def test_functions_and_tables_run(cc: CompileC, version: int, flags: tuple[str, ...]) -> None:
    out = link([cc(TABLES, flags=flags)], version=version)
    result = run(out, bytes([1]))
    assert program_logs(result) == ["hola", "sub"]
    assert result.return_data().data == struct.pack("<3Q", 10, 2 + 3 + 5 + 7 + 11 + 13, 89)
    result = run(out)
    assert program_logs(result) == ["hello", "mul"]
    assert result.return_data().data == struct.pack("<3Q", 30, 41, 55)


@pytest.mark.parametrize("mainnet", [False, True], ids=["all-features", "mainnet-features"])
@pytest.mark.parametrize("version", [0, 3])
def test_deploys_through_the_upgradeable_loader(cc: CompileC, version: int, mainnet: bool) -> None:
    result = run(link([cc(TABLES)], version=version), deploy=True, mainnet=mainnet)
    assert program_logs(result) == ["hello", "mul"]


@pytest.mark.parametrize("version", [0, 3])
def test_two_objects_call_each_other_and_share_rodata(cc: CompileC, version: int) -> None:
    a, b = cc(OBJECT_A, "a.c"), cc(OBJECT_B, "b.c")
    for objects in ({"a.o": a, "b.o": b}, {"b.o": b, "a.o": a}):
        result = run(link(objects, version=version))
        assert program_logs(result) == ["from-b", "from-a"]
        assert result.return_data().data == struct.pack("<Q", 0 + 1 + 4 + 9 + 16)


def test_build_program_compiles_and_links_sources(compiler: Compiler, tmp_path: Path) -> None:
    (tmp_path / "inc").mkdir()
    (tmp_path / "inc" / "prelude.h").write_text(PRELUDE)
    for name, body in (("a.c", OBJECT_A), ("b.c", OBJECT_B)):
        (tmp_path / name).write_text('#include "prelude.h"\n' + body)
    lines: list[str] = []
    elf = build_program(
        [tmp_path / "a.c", tmp_path / "b.c"],
        [tmp_path / "inc"],
        compiler=compiler,
        root=tmp_path,
        log=lines.append,
    )
    assert sorted(lines) == ["cc a.c", "cc b.c"]
    assert program_logs(run(elf)) == ["from-b", "from-a"]


def test_data_rel_ro_is_read_only_data(cc: CompileC) -> None:
    source = """
    __attribute__((section(".data.rel.ro"))) static const char *const NAMES[] = {"alpha", "beta"};
    uint64_t entrypoint(const uint8_t *input) {
        sol_log_(NAMES[input[0] & 1], 4);
        return 0;
    }
    """
    obj = cc(source)
    assert elf_of(obj).get_section_by_name(".data.rel.ro") is not None
    writable = patch_section_flags(obj, ".data.rel.ro", 0x3)  # SHF_ALLOC | SHF_WRITE
    for version in (0, 3):
        assert program_logs(run(link([obj], version=version))) == ["alph"]
        assert program_logs(run(link([writable], version=version))) == ["alph"]


# --- SBPFv3 --------------------------------------------------------------------------------


def test_v3_is_static_with_hashed_syscalls(cc: CompileC) -> None:
    out = link([cc(TABLES)], version=3)
    elf = elf_of(out)
    assert elf["e_flags"] == 3
    segments = list(elf.iter_segments())
    assert [(s["p_type"], s["p_flags"], s["p_vaddr"]) for s in segments] == [
        ("PT_LOAD", 4, 0),
        ("PT_LOAD", 1, MM_REGION),
    ]
    assert segments[0]["p_offset"] == 64 + 2 * 56
    assert segments[1]["p_offset"] == segments[0]["p_offset"] + segments[0]["p_filesz"]
    assert (
        segments[1]["p_vaddr"] <= elf["e_entry"] < segments[1]["p_vaddr"] + segments[1]["p_memsz"]
    )
    assert not any(s.name in (".dynamic", ".rel.dyn", ".dynsym") for s in elf.iter_sections())
    text = segments[1].data()
    calls = [
        (src, imm & 0xFFFF_FFFF) for _at, op, src, _off, imm in instructions(text) if op == 0x85
    ]
    syscalls = [imm for src, imm in calls if src == 0]
    assert sorted(syscalls) == sorted([0x207559BD, 0x207559BD, murmur3_32(b"sol_set_return_data")])
    assert all(src == 1 for src, imm in calls if imm not in syscalls)
    # Read-only data starts at address 0, but nothing lives there: 0 stays NULL.
    rodata_size = segments[0]["p_filesz"]
    for value in lddw_values(text):
        assert 8 <= value < rodata_size


# --- refusals ------------------------------------------------------------------------------

REFUSED = {
    "jmp32": (
        """uint64_t entrypoint(const uint8_t *in) {
            if (*(const uint32_t *)in < *(const uint32_t *)(in + 4)) sol_log_("x", 1);
            return 0;
        }""",
        ["-mcpu=v3"],
        r"prog\.o: \.text\+0x[0-9a-f]+: 32-bit jump .*JMP32",
    ),
    "alu32": (
        "uint64_t entrypoint(const uint8_t *in) { return *(const uint32_t *)in * 3u + 7u; }",
        ["-Xclang", "-target-feature", "-Xclang", "+alu32"],
        r"\.text\+0x[0-9a-f]+: 32-bit ALU instruction .*ALU32",
    ),
    "sdiv": (
        """uint64_t entrypoint(const uint8_t *in) {
            return (uint64_t)(*(const int64_t *)in / *(const int64_t *)(in + 8));
        }""",
        ["-mcpu=v4"],
        r"signed division/modulo \(sdiv/smod, cpu v4\)",
    ),
    "movsx": (
        """uint64_t entrypoint(const uint8_t *in) {
            return (uint64_t)(int64_t)(int8_t)*(const uint64_t *)in;
        }""",
        ["-mcpu=v4"],
        r"sign-extending move \(movsx",
    ),
    "ldsx": (
        "uint64_t entrypoint(const uint8_t *in) { return (uint64_t)(int64_t)*(const int8_t *)in; }",
        ["-mcpu=v4"],
        r"sign-extending load \(ldsx",
    ),
    "bswap": (
        "uint64_t entrypoint(const uint8_t *in) { return __builtin_bswap64(*(const uint64_t *)in); }",
        ["-mcpu=v4"],
        r"byte swap \(bswap, cpu v4\)",
    ),
    "atomic": (
        "uint64_t entrypoint(uint8_t *in) { __sync_fetch_and_add((uint64_t *)in, 1); return 0; }",
        [],
        r"\.text\+0x[0-9a-f]+: atomic operation",
    ),
    "callx": (
        """typedef uint64_t (*fn)(uint64_t);
        __attribute__((noinline)) uint64_t one(uint64_t x) { return x + 1; }
        __attribute__((noinline)) uint64_t two(uint64_t x) { return x + 2; }
        uint64_t entrypoint(const uint8_t *in) { fn f = in[0] ? one : two; return f(in[1]); }""",
        [],
        r"\.text\+0x[0-9a-f]+: indirect call \(callx\)",
    ),
    "data": (
        "uint64_t counter = 5;\n"
        "uint64_t entrypoint(const uint8_t *in) { counter += in[0]; return counter; }",
        [],
        r"prog\.o: \.data\+0x0: writable section holding `counter`",
    ),
    "bss": (
        "uint64_t counter;\n"
        "uint64_t entrypoint(const uint8_t *in) { counter += in[0]; return counter; }",
        [],
        r"prog\.o: \.bss\+0x0: writable section holding `counter`",
    ),
    "undefined": (
        "uint64_t helper(uint64_t);\n"
        "uint64_t entrypoint(const uint8_t *in) { return helper(in[0]); }",
        [],
        r"prog\.o: \.text\+0x[0-9a-f]+: undefined symbol `helper`: .*not a Solana syscall",
    ),
    "syscall address": (
        "uint64_t entrypoint(const uint8_t *in) { (void)in; return (uint64_t)&sol_log_; }",
        [],
        r"the address of undefined symbol `sol_log_`",
    ),
    "no entrypoint": (
        "uint64_t start(const uint8_t *in) { return in[0]; }",
        [],
        r"no `entrypoint` function",
    ),
    "unwind tables": (
        HELLO,
        ["-funwind-tables", "-fasynchronous-unwind-tables"],
        r"\.eh_frame\+0x0: unwind tables.*-fno-unwind-tables",
    ),
    "relative lookup table": (  # -fPIC turns the pointer table into 32-bit offsets
        """static const char *const NAMES[] = {"a", "b"};
        uint64_t entrypoint(const uint8_t *in) { sol_log_(NAMES[in[0] & 1], 1); return 0; }""",
        ["-fPIC"],
        r"\.rodata\+0x[0-9a-f]+: a 32-bit pointer .*R_BPF_64_ABS32",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
@pytest.mark.parametrize("version", [0, 3])
def test_refusals(cc: CompileC, case: str, version: int) -> None:
    source, flags, message = REFUSED[case]
    obj = cc(source, flags=flags)
    with pytest.raises(LinkError, match=message):
        link({"prog.o": obj}, version=version)


def test_unknown_relocation_types_are_refused(cc: CompileC) -> None:
    obj = patch_relocation_type(cc(HELLO), ".rel.text", 0, 7)
    with pytest.raises(LinkError, match=r"prog\.o: \.text\+0x[0-9a-f]+: relocation type 7"):
        link({"prog.o": obj})
    obj = patch_relocation_type(cc(HELLO), ".rel.text", 0, 4)
    with pytest.raises(LinkError, match=r"R_BPF_64_NODYLD32"):
        link({"prog.o": obj})


def test_a_call_whose_relocation_is_gone_is_refused(cc: CompileC) -> None:
    obj = cc(HELLO)
    rel = section_of(elf_of(obj), ".rel.text")
    (call_index,) = [i for i, r in enumerate(rel.iter_relocations()) if r["r_info_type"] == 10]
    with pytest.raises(LinkError, match=r"call -1 with no relocation"):
        link({"prog.o": patch_relocation_type(obj, ".rel.text", call_index, 0)})


def test_a_symbol_defined_twice_is_refused(cc: CompileC) -> None:
    helper = "uint64_t helper(uint64_t x) { return x; }\n"
    a = cc(helper + "uint64_t entrypoint(const uint8_t *in) { return helper(in[0]); }", "a.c")
    b = cc(helper, "b.c")
    with pytest.raises(LinkError, match=r"`helper` is defined in both a\.o and b\.o"):
        link({"a.o": a, "b.o": b})


def test_what_is_not_a_bpf_object_is_refused() -> None:
    with pytest.raises(LinkError, match=r"junk\.o: not an ELF object"):
        link({"junk.o": b"not an elf at all, just some bytes to parse"})
    with pytest.raises(LinkError, match=r"nothing to link"):
        link([])
    with pytest.raises(LinkError, match=r"SBPF version 2"):
        link([b""], version=2)
