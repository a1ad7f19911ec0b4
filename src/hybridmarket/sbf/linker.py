"""A static linker for Solana SBF programs: clang's BPF relocatable objects in, an SBPF ELF out.

Upstream lld has no BPF target, so this does the little an SBPF program needs: merge the
objects' code and read-only data, resolve every reference it can at link time, leave calls to
the runtime's syscalls for the loader (SBPFv0: `call -1` plus a dynamic relocation naming the
syscall; SBPFv3: the murmur3 hash of the name in the call), and refuse, with the object, the
section and the offset, whatever SBPF lacks or would run differently from what clang meant.

The layout follows what Agave's loader (solana-sbpf 0.21, `elf.rs` and `elf_parser`) checks:
v0 is a shared object whose allocated sections sit at `sh_addr == sh_offset`, code first; v3
is two program headers, read-only data at virtual address 0 and code at 0x1_0000_0000.

Pure: bytes in, bytes out. pyelftools reads the inputs; no library writes ELF (pyelftools
cannot), so the output is packed here by hand with `struct`.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection
from elftools.elf.sections import SymbolTableSection

from hybridmarket.sbf.murmur3 import murmur3_32
from hybridmarket.sbf.syscalls import SYSCALLS

__all__ = ["ENTRYPOINT", "LinkError", "link"]

ENTRYPOINT = "entrypoint"

# Virtual memory of an SBPF program: each region is 4 GiB.
_MM_REGION_SIZE = 1 << 32
_MM_RODATA_START = 0  # v3
_MM_BYTECODE_START = _MM_REGION_SIZE

_EM_BPF = 247
_ET_DYN = 3
_SHF_WRITE = 0x1
_SHF_ALLOC = 0x2
_SHF_EXECINSTR = 0x4
_SHT_PROGBITS = 1
_SHT_STRTAB = 3
_SHT_DYNAMIC = 6
_SHT_NOBITS = 8
_SHT_REL = 9
_SHT_DYNSYM = 11
_PT_LOAD = 1
_PT_DYNAMIC = 2
_PF_X = 1
_PF_W = 2
_PF_R = 4
_DT_NULL = 0
_DT_STRTAB = 5
_DT_SYMTAB = 6
_DT_STRSZ = 10
_DT_SYMENT = 11
_DT_REL = 17
_DT_RELSZ = 18
_DT_RELENT = 19
_DT_TEXTREL = 22
_STB_GLOBAL = 1
_STT_NOTYPE = 0
_STT_FUNC = 2

# LLVM's BPF relocation types (binutils calls them R_BPF_INSN_64, R_BPF_INSN_DISP32, ...).
_R_BPF_NONE = 0
_R_BPF_64_64 = 1  # lddw: the address in the two 32-bit immediates, implicit addend in the first
_R_BPF_64_ABS64 = 2  # a 64-bit pointer in data
_R_BPF_64_ABS32 = 3  # a 32-bit pointer in data: refused (see _apply)
_R_BPF_64_NODYLD32 = 4  # debug and BTF sections only
_R_BPF_64_32 = 10  # call: pc-relative in instruction slots, implicit addend in the immediate
_RELOC_NAMES = {
    _R_BPF_NONE: "R_BPF_NONE",
    _R_BPF_64_64: "R_BPF_64_64",
    _R_BPF_64_ABS64: "R_BPF_64_ABS64",
    _R_BPF_64_ABS32: "R_BPF_64_ABS32",
    _R_BPF_64_NODYLD32: "R_BPF_64_NODYLD32",
    _R_BPF_64_32: "R_BPF_64_32",
}

_INSN = 8
_OP_LDDW = 0x18
_OP_CALL = 0x85
_OP_CALLX = 0x8D
_OP_EXIT = 0x95
_OP_JA = 0x05

_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_PHDR = struct.Struct("<IIQQQQQQ")
_SHDR = struct.Struct("<IIQQQQIIQQ")
_SYM = struct.Struct("<IBBHQQ")
_REL = struct.Struct("<QQ")
_DYN = struct.Struct("<qQ")

Kind = Literal["text", "rodata"]


class LinkError(Exception):
    """The objects cannot become an SBPF program; the message says where and what to do."""

    def __init__(
        self, message: str, *, obj: str = "", section: str = "", offset: int | None = None
    ) -> None:
        where = obj
        if section:
            where += f": {section}" if where else section
            if offset is not None:
                where += f"+0x{offset:x}"
        super().__init__(f"{where}: {message}" if where else message)
        self.obj = obj
        self.section = section
        self.offset = offset


@dataclass
class _Piece:
    """One input section that goes into the output's .text or .rodata."""

    obj: str
    name: str
    index: int
    kind: Kind
    data: bytearray
    align: int
    offset: int = 0  # within the output section


@dataclass(frozen=True)
class _Def:
    kind: Kind | Literal["abs"]
    offset: int  # within the output section, or the value of an absolute symbol
    obj: str


@dataclass(frozen=True)
class _Undef:
    name: str


@dataclass(frozen=True)
class _Dropped:
    section: str


_Target = _Def | _Undef | _Dropped


@dataclass
class _Reloc:
    offset: int
    type: int
    sym: int


@dataclass
class _Object:
    name: str
    pieces: dict[int, _Piece] = field(default_factory=dict)
    relocs: dict[int, list[_Reloc]] = field(default_factory=dict)  # by target section index
    symbols: list[Any] = field(default_factory=list)
    section_names: dict[int, str] = field(default_factory=dict)


def link(objects: Mapping[str, bytes] | Sequence[bytes], *, version: int = 0) -> bytes:
    """Link relocatable BPF objects (name -> bytes, or bytes in order) into an SBPF program.

    `version` 0 (the default) is the SBPFv0 shared object that Agave deploys today; 3 is the
    static SBPFv3 layout. Raises LinkError for anything the program cannot hold.
    """
    if version not in (0, 3):
        raise LinkError(f"SBPF version {version} is not supported: use 0 (default) or 3")
    if isinstance(objects, bytes | bytearray):
        objects = [bytes(objects)]
    named = (
        list(objects.items())
        if isinstance(objects, Mapping)
        else [(f"object #{i}", data) for i, data in enumerate(objects)]
    )
    if not named:
        raise LinkError("nothing to link: no objects given")
    parsed = [_read_object(name, data) for name, data in named]

    text = _concatenate([p for o in parsed for p in o.pieces.values() if p.kind == "text"])
    rodata = _concatenate([p for o in parsed for p in o.pieces.values() if p.kind == "rodata"])
    rodata_align = max(
        (p.align for o in parsed for p in o.pieces.values() if p.kind == "rodata"), default=8
    )
    for obj in parsed:
        for piece in obj.pieces.values():
            if piece.kind == "text":
                _check_instructions(piece)

    targets, globals_ = _resolve_symbols(parsed)
    entry = globals_.get(ENTRYPOINT)
    if not isinstance(entry, _Def) or entry.kind != "text":
        raise LinkError(
            f"no `{ENTRYPOINT}` function is defined in the link: the loader starts the program "
            f"there; define `uint64_t {ENTRYPOINT}(const uint8_t *input)` in one object"
        )

    layout = _Layout.compute(version, len(text), len(rodata), rodata_align)
    text_image = bytearray(text)
    rodata_image = bytearray(layout.rodata_lead) + rodata
    relocated_calls: set[int] = set()
    syscall_sites: list[tuple[int, str]] = []
    for obj in parsed:
        for index, relocs in obj.relocs.items():
            piece = obj.pieces[index]
            image = text_image if piece.kind == "text" else rodata_image
            base = piece.offset + (0 if piece.kind == "text" else len(layout.rodata_lead))
            for rel in relocs:
                _apply(
                    obj,
                    piece,
                    rel,
                    image,
                    base,
                    targets[obj.name][rel.sym],
                    layout,
                    version,
                    relocated_calls,
                    syscall_sites,
                )
    for obj in parsed:
        for piece in obj.pieces.values():
            if piece.kind == "text":
                _check_unrelocated_calls(piece, text_image, relocated_calls, version)

    if version == 3:
        return _write_v3(text_image, rodata_image, layout, entry.offset)
    return _write_v0(text_image, rodata_image, layout, entry.offset, syscall_sites)


# --- reading -------------------------------------------------------------------------------


def _read_object(name: str, data: bytes) -> _Object:
    try:
        elf = ELFFile(io.BytesIO(data))
        header = elf.header
    except ELFError as exc:
        raise LinkError(f"not an ELF object ({exc})", obj=name) from None
    if elf.elfclass != 64 or not elf.little_endian:
        raise LinkError("not a 64-bit little-endian ELF: compile with -target bpfel", obj=name)
    if header["e_machine"] != "EM_BPF" and header["e_machine"] != _EM_BPF:
        raise LinkError(
            f"machine is {header['e_machine']}, not BPF: compile with -target bpfel", obj=name
        )
    if header["e_type"] != "ET_REL":
        raise LinkError(f"is {header['e_type']}, not a relocatable object (-c)", obj=name)

    obj = _Object(name)
    symtab: SymbolTableSection | None = None
    rel_sections: list[RelocationSection] = []
    for index, section in enumerate(elf.iter_sections()):
        sec_name = section.name
        obj.section_names[index] = sec_name
        flags = section["sh_flags"]
        if isinstance(section, SymbolTableSection) and section["sh_type"] == "SHT_SYMTAB":
            symtab = section
            continue
        if isinstance(section, RelocationSection):
            rel_sections.append(section)
            continue
        if not flags & _SHF_ALLOC:
            continue  # .strtab, .llvm_addrsig, .comment, notes, debug info, BTF
        size = section["sh_size"]
        writable = bool(flags & _SHF_WRITE) or section["sh_type"] == "SHT_NOBITS"
        if sec_name.startswith(".eh_frame"):
            raise LinkError(
                "unwind tables: SBPF cannot hold them; compile with -fno-unwind-tables "
                "-fno-asynchronous-unwind-tables",
                obj=name,
                section=sec_name,
                offset=0,
            )
        if _is_relro(sec_name):
            kind: Kind = "rodata"
        elif writable:
            if size == 0:
                continue
            raise LinkError(
                f"writable section{_holding(elf, index)}: SBPF programs have no writable "
                f"globals (the loader refuses .data and .bss); make the data `const`, or keep "
                f"state in account data",
                obj=name,
                section=sec_name,
                offset=0,
            )
        elif flags & _SHF_EXECINSTR and (sec_name == ".text" or sec_name.startswith(".text.")):
            kind = "text"
        elif sec_name == ".rodata" or sec_name.startswith(".rodata."):
            kind = "rodata"
        else:
            raise LinkError(
                "an allocated section the linker does not know: only .text* (code) and "
                ".rodata* / .data.rel.ro* (read-only data) can go into an SBPF program",
                obj=name,
                section=sec_name,
                offset=0,
            )
        if kind == "text" and size % _INSN:
            raise LinkError(
                f"code size {size} is not a whole number of instructions",
                obj=name,
                section=sec_name,
            )
        obj.pieces[index] = _Piece(
            obj=name,
            name=sec_name,
            index=index,
            kind=kind,
            data=bytearray(section.data()),
            align=max(1, section["sh_addralign"]),
        )

    for rel_section in rel_sections:
        target = rel_section["sh_info"]
        if target not in obj.pieces:
            continue  # relocations of debug info or BTF, which are not linked
        if rel_section.is_RELA():
            raise LinkError(
                "RELA relocations: BPF objects carry implicit addends (SHT_REL); "
                "this object was not made by clang -target bpfel",
                obj=name,
                section=rel_section.name,
            )
        obj.relocs[target] = [
            _Reloc(r["r_offset"], r["r_info_type"], r["r_info_sym"])
            for r in rel_section.iter_relocations()
        ]
    if symtab is not None:
        obj.symbols = list(symtab.iter_symbols())
    elif obj.relocs:
        raise LinkError("relocations but no symbol table", obj=name)
    return obj


def _is_relro(name: str) -> bool:
    # Const pointer tables: writable only while a dynamic loader would relocate them, and
    # relocated here at link time, so they are read-only data.
    return name == ".data.rel.ro" or name.startswith(".data.rel.ro.")


def _holding(elf: ELFFile, index: int) -> str:
    symtab = elf.get_section_by_name(".symtab")
    if not isinstance(symtab, SymbolTableSection):
        return ""
    names = sorted(
        s.name
        for s in symtab.iter_symbols()
        if s["st_shndx"] == index and s.name and s["st_info"]["type"] in ("STT_OBJECT", "STT_FUNC")
    )
    return f" holding {', '.join(f'`{n}`' for n in names)}" if names else ""


def _concatenate(pieces: Iterable[_Piece]) -> bytearray:
    out = bytearray()
    for piece in pieces:
        align = max(piece.align, _INSN) if piece.kind == "text" else piece.align
        out += bytes(-len(out) % align)
        piece.offset = len(out)
        out += piece.data
    return out


# --- symbols -------------------------------------------------------------------------------


def _resolve_symbols(parsed: list[_Object]) -> tuple[dict[str, list[_Target]], dict[str, _Def]]:
    """Per object, the target of each symbol index; and the global definitions by name."""
    globals_: dict[str, _Def] = {}
    weak: dict[str, _Def] = {}
    per_object: dict[str, list[_Target]] = {}
    for obj in parsed:
        resolved: list[_Target] = []
        for sym in obj.symbols:
            target = _symbol_target(obj, sym)
            resolved.append(target)
            bind = sym["st_info"]["bind"]
            if not isinstance(target, _Def) or bind == "STB_LOCAL" or not sym.name:
                continue
            if bind == "STB_WEAK":
                weak.setdefault(sym.name, target)
                continue
            if sym.name in globals_:
                raise LinkError(
                    f"`{sym.name}` is defined in both {globals_[sym.name].obj} and {obj.name}: "
                    f"make one of them static or rename it",
                    obj=obj.name,
                )
            globals_[sym.name] = target
        per_object[obj.name] = resolved
    for name, target in weak.items():
        globals_.setdefault(name, target)
    # Undefined references resolve to another object's definition where there is one.
    for resolved in per_object.values():
        for i, target in enumerate(resolved):
            if isinstance(target, _Undef) and target.name in globals_:
                resolved[i] = globals_[target.name]
    return per_object, globals_


def _symbol_target(obj: _Object, sym: Any) -> _Target:
    shndx = sym["st_shndx"]
    if shndx == "SHN_UNDEF":
        return _Undef(sym.name)
    if shndx == "SHN_ABS":
        return _Def("abs", sym["st_value"], obj.name)
    if shndx == "SHN_COMMON":
        raise LinkError(
            f"`{sym.name}` is a common (uninitialised, writable) global: SBPF programs have "
            f"no writable globals; make it `const` or keep the state in account data",
            obj=obj.name,
        )
    if not isinstance(shndx, int):
        raise LinkError(f"`{sym.name}` has section index {shndx}", obj=obj.name)
    piece = obj.pieces.get(shndx)
    if piece is None:
        return _Dropped(obj.section_names.get(shndx, f"#{shndx}"))
    return _Def(piece.kind, piece.offset + sym["st_value"], obj.name)


# --- checks --------------------------------------------------------------------------------


def _insn(data: bytes | bytearray, at: int) -> tuple[int, int, int, int, int]:
    op, regs, off, imm = struct.unpack_from("<BBhi", data, at)
    return op, regs & 0xF, regs >> 4, off, imm


_ALU64_OPS = {
    0x00: "add",
    0x10: "sub",
    0x20: "mul",
    0x30: "div",
    0x40: "or",
    0x50: "and",
    0x60: "lsh",
    0x70: "rsh",
    0x80: "neg",
    0x90: "mod",
    0xA0: "xor",
    0xB0: "mov",
    0xC0: "arsh",
}
_JMP_CONDITIONS = {0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xA0, 0xB0, 0xC0, 0xD0}
_ALU32_HINT = (
    "SBPF sign-extends 32-bit results where eBPF zero-extends; compile with -mcpu=v2 "
    "(no +alu32) so clang uses 64-bit arithmetic"
)


def _check_instructions(piece: _Piece) -> None:
    """Refuse every instruction SBPF lacks or would run differently from eBPF."""
    data = piece.data
    n = len(data) // _INSN
    i = 0
    while i < n:
        at = i * _INSN
        op, _dst, src, off, imm = _insn(data, at)

        def refuse(what: str, *, at: int = at) -> LinkError:
            return LinkError(what, obj=piece.obj, section=piece.name, offset=at)

        cls = op & 0x07
        if op == _OP_LDDW:
            if i + 1 >= n or data[at + _INSN] != 0:
                raise refuse("lddw without its second instruction slot")
            if src != 0:
                raise refuse(f"lddw with pseudo source {src} (a BPF map reference): SBPF has none")
            i += 2
            continue
        if cls == 0x00:
            raise refuse(f"load instruction 0x{op:02x} (LD_ABS/LD_IND): SBPF has no packet loads")
        if cls == 0x01:
            if op & 0xE0 == 0x80:
                raise refuse(
                    "sign-extending load (ldsx, cpu v4): SBPF lacks it; compile with -mcpu=v2"
                )
            if op & 0xE0 != 0x60:
                raise refuse(f"load instruction 0x{op:02x}: SBPF lacks it")
        elif cls == 0x02:
            if op & 0xE0 != 0x60:
                raise refuse(f"store instruction 0x{op:02x}: SBPF lacks it")
        elif cls == 0x03:
            if op & 0xE0 == 0xC0:
                raise refuse(
                    "atomic operation: SBPF has no atomics (a program runs single-threaded); "
                    "use a plain load and store"
                )
            if op & 0xE0 != 0x60:
                raise refuse(f"store instruction 0x{op:02x}: SBPF lacks it")
        elif cls == 0x04:
            if op in (0xD4, 0xDC):  # le/be byte swaps: SBPF has them with eBPF's meaning
                if imm not in (16, 32, 64):
                    raise refuse(f"byte swap of width {imm}")
            else:
                raise refuse(f"32-bit ALU instruction 0x{op:02x} (ALU32 class): {_ALU32_HINT}")
        elif cls == 0x05:
            code = op & 0xF0
            if op == _OP_CALLX:
                raise refuse(
                    "indirect call (callx) through a function pointer: SBPFv0 resolves calls "
                    "when loading; call the function directly (a switch instead of a table)"
                )
            if op == _OP_CALL:
                if src not in (0, 1):
                    raise refuse(f"call with source {src} (a kernel function): SBPF has none")
            elif op not in (_OP_EXIT, _OP_JA) and not (code in _JMP_CONDITIONS and op & 0x07 == 5):
                raise refuse(f"jump instruction 0x{op:02x}: SBPF lacks it")
        elif cls == 0x06:
            raise refuse(
                f"32-bit jump 0x{op:02x} (JMP32 class, cpu v3+): SBPFv0 lacks it; "
                f"compile with -mcpu=v2"
            )
        else:  # ALU64
            code = op & 0xF0
            if code == 0xD0:
                raise refuse("unconditional byte swap (bswap, cpu v4): compile with -mcpu=v2")
            if code not in _ALU64_OPS or (code == 0x80 and op != 0x87):
                raise refuse(f"ALU instruction 0x{op:02x}: SBPF lacks it")
            if off != 0:
                if code in (0x30, 0x90):
                    raise refuse(
                        "signed division/modulo (sdiv/smod, cpu v4): SBPF runs this encoding "
                        "as unsigned; compile with -mcpu=v2 and divide unsigned values"
                    )
                if code == 0xB0:
                    raise refuse("sign-extending move (movsx, cpu v4): compile with -mcpu=v2")
                raise refuse(f"ALU instruction 0x{op:02x} with offset {off}: SBPF lacks it")
        i += 1


def _check_unrelocated_calls(
    piece: _Piece, image: bytearray, relocated: set[int], version: int
) -> None:
    """Calls the assembler resolved itself stay pc-relative inside their own section."""
    n = len(piece.data) // _INSN
    i = 0
    while i < n:
        at = piece.offset + i * _INSN
        op, _dst, _src, _off, imm = _insn(image, at)
        if op == _OP_LDDW:
            i += 2
            continue
        if op == _OP_CALL and at not in relocated:
            target = i + 1 + imm
            if imm == -1:
                raise LinkError(
                    "call -1 with no relocation: the callee is unknown",
                    obj=piece.obj,
                    section=piece.name,
                    offset=i * _INSN,
                )
            if not 0 <= target < n:
                raise LinkError(
                    f"call to instruction {target}, outside its section ({n} instructions)",
                    obj=piece.obj,
                    section=piece.name,
                    offset=i * _INSN,
                )
            if version == 3:
                image[at + 1] = (image[at + 1] & 0x0F) | 0x10  # src 1: an internal call
        i += 1


# --- relocation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    """Where the output's code and read-only data sit, in the file and in the VM."""

    version: int
    phnum: int
    text_offset: int
    rodata_offset: int
    rodata_lead: bytes  # zero bytes before the first object (v3: address 0 must stay NULL)
    rodata_size: int  # including the lead and the trailing padding
    rodata_align: int

    @classmethod
    def compute(cls, version: int, text_size: int, rodata_size: int, rodata_align: int) -> _Layout:
        if version == 3:
            phnum = 2
            lead = bytes(max(_INSN, rodata_align))
            rodata_offset = _EHDR.size + phnum * _PHDR.size
            size = _align(len(lead) + rodata_size, _INSN)
            return cls(version, phnum, rodata_offset + size, rodata_offset, lead, size, 8)
        phnum = 4 if rodata_size else 3
        text_offset = _align(_EHDR.size + phnum * _PHDR.size, _INSN)
        rodata_offset = _align(text_offset + text_size, max(rodata_align, _INSN))
        return cls(version, phnum, text_offset, rodata_offset, b"", rodata_size, rodata_align)

    def address(self, kind: Kind, offset: int) -> int:
        """The VM address of `offset` into the output's .text or .rodata (lead excluded)."""
        if self.version == 3:
            if kind == "text":
                return _MM_BYTECODE_START + offset
            return _MM_RODATA_START + len(self.rodata_lead) + offset
        base = self.text_offset if kind == "text" else self.rodata_offset
        return _MM_REGION_SIZE + base + offset


def _apply(
    obj: _Object,
    piece: _Piece,
    rel: _Reloc,
    image: bytearray,
    base: int,
    target: _Target,
    layout: _Layout,
    version: int,
    relocated_calls: set[int],
    syscall_sites: list[tuple[int, str]],
) -> None:
    at = base + rel.offset
    sym_name = obj.symbols[rel.sym].name or obj.section_names.get(
        obj.symbols[rel.sym]["st_shndx"], "?"
    )

    def refuse(what: str) -> LinkError:
        return LinkError(what, obj=obj.name, section=piece.name, offset=rel.offset)

    if rel.type == _R_BPF_NONE:
        return
    if not 0 <= rel.offset <= len(piece.data) - 8:
        raise refuse("relocation past the end of its section")
    if rel.type not in (_R_BPF_64_64, _R_BPF_64_ABS64, _R_BPF_64_ABS32, _R_BPF_64_32):
        kind_name = _RELOC_NAMES.get(rel.type, f"type {rel.type}")
        raise refuse(
            f"relocation {kind_name} against `{sym_name}`: the linker does not know what it "
            f"means in {piece.kind}"
        )
    if isinstance(target, _Dropped):
        raise refuse(
            f"`{sym_name}` lives in {target.section}, which is not linked into the program"
        )

    if rel.type == _R_BPF_64_32:
        if piece.kind != "text" or image[at] != _OP_CALL:
            raise refuse(f"R_BPF_64_32 against `{sym_name}` on something other than a call")
        _op, _dst, _src, _off, imm = _insn(image, at)
        if isinstance(target, _Undef):
            name = target.name
            if name not in SYSCALLS:
                raise refuse(
                    f"undefined symbol `{name}`: no object in the link defines it and it is not "
                    f"a Solana syscall; define it, or link the object that does"
                )
            image[at + 1] &= 0x0F  # src 0: a syscall
            if version == 3:
                struct.pack_into("<I", image, at + 4, murmur3_32(name.encode()))
            else:
                struct.pack_into("<i", image, at + 4, -1)
                syscall_sites.append((at, name))
            relocated_calls.add(at)
            return
        if target.kind != "text":
            raise refuse(f"call to `{sym_name}`, which is data, not code")
        destination = target.offset + (imm + 1) * _INSN
        if not 0 <= destination < len(image) or destination % _INSN:
            raise refuse(f"call to `{sym_name}` lands outside the code")
        struct.pack_into("<i", image, at + 4, (destination - at) // _INSN - 1)
        image[at + 1] = (image[at + 1] & 0x0F) | 0x10  # src 1: an internal call
        relocated_calls.add(at)
        return

    if isinstance(target, _Undef):
        raise refuse(
            f"the address of undefined symbol `{target.name}` is taken: only defined code and "
            f"read-only data have addresses (syscalls can only be called)"
        )
    if target.kind == "abs":
        value_base = target.offset
    else:
        value_base = layout.address(target.kind, target.offset)

    if rel.type == _R_BPF_64_64:
        if piece.kind != "text" or image[at] != _OP_LDDW:
            raise refuse(f"R_BPF_64_64 against `{sym_name}` on something other than lddw")
        lo = struct.unpack_from("<I", image, at + 4)[0]
        hi = struct.unpack_from("<I", image, at + _INSN + 4)[0]
        value = (value_base + (hi << 32 | lo)) & 0xFFFF_FFFF_FFFF_FFFF
        struct.pack_into("<I", image, at + 4, value & 0xFFFF_FFFF)
        struct.pack_into("<I", image, at + _INSN + 4, value >> 32)
    elif rel.type == _R_BPF_64_ABS64:
        value = (value_base + struct.unpack_from("<Q", image, at)[0]) & 0xFFFF_FFFF_FFFF_FFFF
        struct.pack_into("<Q", image, at, value)
    else:  # R_BPF_64_ABS32
        # clang emits these for -fPIC "relative lookup tables" (entries meant as `target -
        # table`, which BPF relocations cannot express), never for a plain C pointer: resolving
        # one as an absolute address would build a program that reads the wrong memory.
        raise refuse(
            f"a 32-bit pointer to `{sym_name}` (R_BPF_64_ABS32): SBPF addresses are 64-bit, "
            f"and BPF cannot express the relative tables -fPIC makes; build without -fPIC "
            f"and store 64-bit pointers"
        )


# --- writing -------------------------------------------------------------------------------


def _align(n: int, to: int) -> int:
    return n + (-n % to)


class _Strings:
    def __init__(self) -> None:
        self.data = bytearray(b"\0")

    def add(self, name: str) -> int:
        offset = len(self.data)
        self.data += name.encode() + b"\0"
        return offset


def _ident() -> bytes:
    # 64-bit, little-endian, ELF version 1, System V ABI (ELFOSABI_NONE) version 0.
    return b"\x7fELF" + bytes([2, 1, 1, 0, 0]) + bytes(7)


def _write_v0(
    text: bytearray,
    rodata: bytearray,
    layout: _Layout,
    entry_offset: int,
    syscall_sites: list[tuple[int, str]],
) -> bytes:
    text_off = layout.text_offset
    rodata_off = layout.rodata_offset
    rodata_end = rodata_off + len(rodata)

    dynstr = _Strings()
    # .dynsym: the null symbol, the entrypoint (exported, as lld would), then each syscall.
    symbols = [(0, 0, 0, 0, 0, 0)]
    symbols.append(
        (dynstr.add(ENTRYPOINT), _STB_GLOBAL << 4 | _STT_FUNC, 0, 1, text_off + entry_offset, 0)
    )
    sym_index: dict[str, int] = {}
    for _at, name in syscall_sites:
        if name not in sym_index:
            sym_index[name] = len(symbols)
            symbols.append((dynstr.add(name), _STB_GLOBAL << 4 | _STT_NOTYPE, 0, 0, 0, 0))
    rels = [
        (text_off + at, sym_index[name] << 32 | _R_BPF_64_32) for at, name in sorted(syscall_sites)
    ]

    dynamic_off = _align(rodata_end, 8)
    n_dyn = 5 + (4 if rels else 0)
    dynsym_off = dynamic_off + n_dyn * _DYN.size
    dynstr_off = dynsym_off + len(symbols) * _SYM.size
    reldyn_off = _align(dynstr_off + len(dynstr.data), 8)
    reldyn_size = len(rels) * _REL.size
    dyn_entries = [
        (_DT_SYMTAB, dynsym_off),
        (_DT_STRTAB, dynstr_off),
        (_DT_STRSZ, len(dynstr.data)),
        (_DT_SYMENT, _SYM.size),
    ]
    if rels:
        dyn_entries += [
            (_DT_REL, reldyn_off),
            (_DT_RELSZ, reldyn_size),
            (_DT_RELENT, _REL.size),
            (_DT_TEXTREL, 0),
        ]
    dyn_entries.append((_DT_NULL, 0))
    assert len(dyn_entries) == n_dyn

    shstr = _Strings()
    shstrtab_off = reldyn_off + reldyn_size
    names = {
        n: shstr.add(n)
        for n in (".text", ".rodata", ".dynamic", ".dynsym", ".dynstr", ".rel.dyn", ".shstrtab")
    }
    shoff = _align(shstrtab_off + len(shstr.data), 8)

    # Section indices: 1 .text, 2 .rodata, 3 .dynamic, 4 .dynsym, 5 .dynstr, 6 .rel.dyn.
    alloc = _SHF_ALLOC
    sections = [
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        (names[".text"], _SHT_PROGBITS, alloc | _SHF_EXECINSTR, text_off, text_off, len(text),
         0, 0, _INSN, 0),
        (names[".rodata"], _SHT_PROGBITS, alloc, rodata_off, rodata_off, len(rodata), 0, 0,
         layout.rodata_align, 0),
        (names[".dynamic"], _SHT_DYNAMIC, alloc | _SHF_WRITE, dynamic_off, dynamic_off,
         n_dyn * _DYN.size, 5, 0, 8, _DYN.size),
        (names[".dynsym"], _SHT_DYNSYM, alloc, dynsym_off, dynsym_off,
         len(symbols) * _SYM.size, 5, 1, 8, _SYM.size),
        (names[".dynstr"], _SHT_STRTAB, alloc, dynstr_off, dynstr_off, len(dynstr.data), 0, 0,
         1, 0),
        (names[".rel.dyn"], _SHT_REL, alloc, reldyn_off, reldyn_off, reldyn_size, 4, 0, 8,
         _REL.size),
        (names[".shstrtab"], _SHT_STRTAB, 0, 0, shstrtab_off, len(shstr.data), 0, 0, 1, 0),
    ]  # fmt: skip

    segments = [(_PT_LOAD, _PF_R | _PF_X, text_off, len(text))]
    if rodata:
        segments.append((_PT_LOAD, _PF_R, rodata_off, len(rodata)))
    segments.append((_PT_LOAD, _PF_R | _PF_W, dynamic_off, reldyn_off + reldyn_size - dynamic_off))
    segments.append((_PT_DYNAMIC, _PF_R | _PF_W, dynamic_off, n_dyn * _DYN.size))
    assert len(segments) == layout.phnum

    out = bytearray(shoff + len(sections) * _SHDR.size)
    _EHDR.pack_into(
        out, 0, _ident(), _ET_DYN, _EM_BPF, 1, text_off + entry_offset, _EHDR.size, shoff,
        0, _EHDR.size, _PHDR.size, len(segments), _SHDR.size, len(sections), len(sections) - 1,
    )  # fmt: skip
    for i, (p_type, flags, offset, size) in enumerate(segments):
        _PHDR.pack_into(
            out, _EHDR.size + i * _PHDR.size, p_type, flags, offset, offset, offset, size, size, 8
        )
    out[text_off : text_off + len(text)] = text
    out[rodata_off:rodata_end] = rodata
    for i, (tag, value) in enumerate(dyn_entries):
        _DYN.pack_into(out, dynamic_off + i * _DYN.size, tag, value)
    for i, sym in enumerate(symbols):
        _SYM.pack_into(out, dynsym_off + i * _SYM.size, *sym)
    out[dynstr_off : dynstr_off + len(dynstr.data)] = dynstr.data
    for i, (offset, info) in enumerate(rels):
        _REL.pack_into(out, reldyn_off + i * _REL.size, offset, info)
    out[shstrtab_off : shstrtab_off + len(shstr.data)] = shstr.data
    for i, sh in enumerate(sections):
        _SHDR.pack_into(out, shoff + i * _SHDR.size, *sh)
    return bytes(out)


def _write_v3(text: bytearray, rodata: bytearray, layout: _Layout, entry_offset: int) -> bytes:
    rodata_off = layout.rodata_offset
    rodata_image = rodata + bytes(layout.rodata_size - len(rodata))
    text_off = layout.text_offset
    shstr = _Strings()
    names = {n: shstr.add(n) for n in (".rodata", ".text", ".shstrtab")}
    shstrtab_off = text_off + len(text)
    shoff = _align(shstrtab_off + len(shstr.data), 8)
    sections = [
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        (names[".rodata"], _SHT_PROGBITS, _SHF_ALLOC, _MM_RODATA_START, rodata_off,
         len(rodata_image), 0, 0, 8, 0),
        (names[".text"], _SHT_PROGBITS, _SHF_ALLOC | _SHF_EXECINSTR, _MM_BYTECODE_START,
         text_off, len(text), 0, 0, _INSN, 0),
        (names[".shstrtab"], _SHT_STRTAB, 0, 0, shstrtab_off, len(shstr.data), 0, 0, 1, 0),
    ]  # fmt: skip
    out = bytearray(shoff + len(sections) * _SHDR.size)
    _EHDR.pack_into(
        out, 0, _ident(), _ET_DYN, _EM_BPF, 1, _MM_BYTECODE_START + entry_offset, _EHDR.size,
        shoff, 3, _EHDR.size, _PHDR.size, 2, _SHDR.size, len(sections), len(sections) - 1,
    )  # fmt: skip
    _PHDR.pack_into(
        out, _EHDR.size, _PT_LOAD, _PF_R, rodata_off, _MM_RODATA_START, _MM_RODATA_START,
        len(rodata_image), len(rodata_image), 8,
    )  # fmt: skip
    _PHDR.pack_into(
        out, _EHDR.size + _PHDR.size, _PT_LOAD, _PF_X, text_off, _MM_BYTECODE_START,
        _MM_BYTECODE_START, len(text), len(text), 8,
    )  # fmt: skip
    out[rodata_off : rodata_off + len(rodata_image)] = rodata_image
    out[text_off : text_off + len(text)] = text
    out[shstrtab_off : shstrtab_off + len(shstr.data)] = shstr.data
    for i, sh in enumerate(sections):
        _SHDR.pack_into(out, shoff + i * _SHDR.size, *sh)
    return bytes(out)
