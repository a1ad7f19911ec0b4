"""The program's constants as a C header for the SBF binary, generated from the model.

Discriminators, account sizes, error codes with their names and messages, and the instruction
table come from the same tables the processor and the IDL use, so the C program cannot drift
from the model on any of them. `onchain/include/generated.h` is this output, committed; a test
keeps the two equal (`python -m hybridmarket.program.cheader > onchain/include/generated.h`).
"""

from __future__ import annotations

from hybridmarket.codec.anchor import to_upper_camel
from hybridmarket.program.accounts import ACCOUNT_TYPES, EVIDENCE_CID_LEN
from hybridmarket.program.errors import ANCHOR_MESSAGES, MARKET_MESSAGES, AnchorCode
from hybridmarket.program.events import EVENT_TYPES
from hybridmarket.program.instructions import INSTRUCTIONS, AccountSpec, InstructionDef
from hybridmarket.program.runtime import SYSTEM_PROGRAM_ID


def _u64(disc: bytes) -> str:
    """An 8-byte discriminator as the little-endian u64 the C code compares with."""
    return f"0x{int.from_bytes(disc, 'little'):016x}ULL"


def _upper(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and not name[i - 1].isupper():
            out.append("_")
        out.append(ch.upper())
    return "".join(out)


def _c_utf8(text: str) -> str:
    """A C string literal holding `text`'s UTF-8 bytes (octal escapes for non-ASCII)."""
    parts = []
    for byte in text.encode("utf-8"):
        ch = chr(byte)
        if ch in '\\"':
            parts.append("\\" + ch)
        elif 0x20 <= byte < 0x7F:
            parts.append(ch)
        else:
            parts.append(f"\\{byte:03o}")
    return '"' + "".join(parts) + '"'


def _seeds(ix: InstructionDef, spec: AccountSpec) -> tuple[str, int, int]:
    """(seed kind, first referenced account index, second) of an account's PDA seeds.

    The C program knows five seed shapes; any other shape in the model stops the generator, so
    a change to the seeds cannot reach the binary unnoticed.
    """
    if spec.seeds is None:
        return "SEEDS_NONE", -1, -1
    index = {a.name: i for i, a in enumerate(ix.accounts)}
    shape = tuple((s.kind, s.value, s.path) for s in spec.seeds)
    if shape == (("const", b"global_config", ""),):
        return "SEEDS_CONFIG", -1, -1
    if shape == (("const", b"market", ""), ("account", b"", "market.market_id")):
        return "SEEDS_MARKET_STATE", -1, -1
    if shape == (("const", b"market", ""), ("arg", b"", "market_id")):
        return "SEEDS_MARKET_ARG", -1, -1
    if shape[0] == ("const", b"position", "") and len(shape) == 3:
        return "SEEDS_POSITION", index[shape[1][2]], index[shape[2][2]]
    if shape[0] == ("const", b"vote", "") and len(shape) == 4 and shape[3][0] == "const":
        kind = "SEEDS_VOTE_PROPOSAL" if shape[3][1] == b"\0" else "SEEDS_VOTE_DISPUTE"
        return kind, index[shape[1][2]], index[shape[2][2]]
    raise ValueError(f"{ix.name}.{spec.name}: seeds {shape} have no C counterpart")


def _accounts(ix: InstructionDef) -> list[str]:
    rows = [
        f"/* {ix.name}: X(name, signer, writable, system program, type, init, seeds, ref a, ref b) */",
        f"#define HM_ACCOUNTS_{ix.name.upper()}(X) \\",
    ]
    for spec in ix.accounts:
        if spec.address not in (None, SYSTEM_PROGRAM_ID):
            raise ValueError(f"{ix.name}.{spec.name}: only the system program has an address")
        kind = _upper(spec.account_type.__name__) if spec.account_type else "NONE"
        init = {"": "INIT_NONE", "init": "INIT", "init_if_needed": "INIT_IF_NEEDED"}[spec.init]
        seeds, ref_a, ref_b = _seeds(ix, spec)
        rows.append(
            f"    X({spec.name}, {int(spec.signer)}, {int(spec.writable)}, "
            f"{int(spec.address is not None)}, ACC_{kind}, {init}, {seeds}, {ref_a}, {ref_b}) \\"
        )
    return [*rows, ""]


def render() -> str:
    lines = [
        "/* Generated from the Python model by `python -m hybridmarket.program.cheader`:",
        " * do not edit (tests/unit/test_program_binary_constants.py keeps it equal). */",
        "#ifndef HM_GENERATED_H",
        "#define HM_GENERATED_H",
        "",
        '/* Account discriminators (sha256("account:<Name>")[:8], little-endian) and sizes. */',
    ]
    for cls in ACCOUNT_TYPES:
        up = _upper(cls.__name__)
        lines.append(f"#define DISC_{up} {_u64(cls.DISCRIMINATOR)}")
        lines.append(f"#define SPACE_{up} {cls.SPACE}")
    lines.append(f"#define EVIDENCE_CID_LEN {EVIDENCE_CID_LEN}")
    lines += ["", '/* Event discriminators (sha256("event:<Name>")[:8]). */']
    for ev in EVENT_TYPES:
        lines.append(f"#define DISC_EVENT_{_upper(ev.__name__)} {_u64(ev.DISCRIMINATOR)}")
    lines += [
        "",
        "/* The instructions: X(index, snake_name, CamelName, discriminator). */",
        "#define HM_INSTRUCTIONS(X) \\",
    ]
    for i, ix in enumerate(INSTRUCTIONS):
        lines.append(
            f"    X({i}, {ix.name}, {to_upper_camel(ix.name)}, {_u64(ix.discriminator)}) \\"
        )
    lines.append("")
    for i, ix in enumerate(INSTRUCTIONS):
        lines.append(f"#define IX_{ix.name.upper()} {i}")
    lines.append("")
    for ix in INSTRUCTIONS:
        lines += _accounts(ix)
    lines += [
        "",
        "/* Anchor framework errors: X(code, Name, message). */",
        "#define HM_ANCHOR_ERRORS(X) \\",
    ]
    for code in AnchorCode:
        lines.append(f"    X({int(code)}, {code.name}, {_c_utf8(ANCHOR_MESSAGES[code])}) \\")
    lines += [
        "",
        "/* The program's errors (6000 + index): X(code, Name, message). */",
        "#define HM_PROGRAM_ERRORS(X) \\",
    ]
    for err, msg in MARKET_MESSAGES.items():
        lines.append(f"    X({int(err)}, {err.name}, {_c_utf8(msg)}) \\")
    lines.append("")
    for code in AnchorCode:
        lines.append(f"#define ERR_{_upper(code.name)} {int(code)}")
    for err in MARKET_MESSAGES:
        lines.append(f"#define ERR_{_upper(err.name)} {int(err)}")
    lines += ["", "#endif", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(), end="")
