"""Borsh encoding with the strictness of Rust's `borsh` crate, plus its Anchor IDL type names.

Written by hand because the Python borsh libraries (borsh-construct) pin construct-typing<0.6,
which cannot be installed beside solana 0.41 (SOLANA.md §0), and because they accept a bool byte
of 2, which Rust borsh rejects. Each type knows its encoding, its decoding, its largest encoded
size (for fixed account allocations) and its IDL (Anchor 0.30+ spec) name, so the IDL is
generated from the very schema the codec uses and cannot drift from it.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Callable, Sequence
from enum import IntEnum
from typing import Any, ClassVar, Generic, Self, TypeVar

from solders.pubkey import Pubkey

T = TypeVar("T")
JsonType = str | dict[str, Any]


class BorshError(ValueError):
    """Bytes that are not a valid encoding, or a value that cannot be encoded."""


class BorshType(Generic[T]):
    """One borsh type: encode, decode, size bound and IDL name."""

    max_size: int

    def encode(self, value: T, out: bytearray) -> None:
        raise NotImplementedError

    def decode(self, buf: bytes, offset: int) -> tuple[T, int]:
        raise NotImplementedError

    def idl(self) -> JsonType:
        raise NotImplementedError

    def check(self, value: object) -> None:
        """Raise BorshError if value cannot be encoded by this type."""
        self.encode(value, bytearray())  # type: ignore[arg-type]


def _need(buf: bytes, offset: int, n: int, what: str) -> None:
    if offset < 0 or offset + n > len(buf):
        raise BorshError(f"unexpected end of data reading {what} at offset {offset}")


class _Int(BorshType[int]):
    def __init__(self, name: str, fmt: str, lo: int, hi: int) -> None:
        self.name = name
        self._s = struct.Struct("<" + fmt)
        self.max_size = self._s.size
        self.lo, self.hi = lo, hi

    def encode(self, value: int, out: bytearray) -> None:
        if type(value) is not int and not isinstance(value, IntEnum):
            raise BorshError(f"{self.name} expects an int, got {type(value).__name__}")
        if not self.lo <= value <= self.hi:
            raise BorshError(f"{value} is out of range for {self.name}")
        out += self._s.pack(value)

    def decode(self, buf: bytes, offset: int) -> tuple[int, int]:
        _need(buf, offset, self.max_size, self.name)
        return self._s.unpack_from(buf, offset)[0], offset + self.max_size

    def idl(self) -> JsonType:
        return self.name


class _U128(BorshType[int]):
    max_size = 16

    def encode(self, value: int, out: bytearray) -> None:
        if type(value) is not int or not 0 <= value < 1 << 128:
            raise BorshError(f"{value!r} is out of range for u128")
        out += value.to_bytes(16, "little")

    def decode(self, buf: bytes, offset: int) -> tuple[int, int]:
        _need(buf, offset, 16, "u128")
        return int.from_bytes(buf[offset : offset + 16], "little"), offset + 16

    def idl(self) -> JsonType:
        return "u128"


class _Bool(BorshType[bool]):
    max_size = 1

    def encode(self, value: bool, out: bytearray) -> None:
        if type(value) is not bool:
            raise BorshError(f"bool expects True or False, got {value!r}")
        out.append(1 if value else 0)

    def decode(self, buf: bytes, offset: int) -> tuple[bool, int]:
        _need(buf, offset, 1, "bool")
        b = buf[offset]
        if b > 1:
            raise BorshError(f"Invalid bool representation: {b} at offset {offset}")
        return b == 1, offset + 1

    def idl(self) -> JsonType:
        return "bool"


class _Pubkey(BorshType[Pubkey]):
    max_size = 32

    def encode(self, value: Pubkey, out: bytearray) -> None:
        if not isinstance(value, Pubkey):
            raise BorshError(f"pubkey expects a Pubkey, got {type(value).__name__}")
        out += bytes(value)

    def decode(self, buf: bytes, offset: int) -> tuple[Pubkey, int]:
        _need(buf, offset, 32, "pubkey")
        return Pubkey.from_bytes(buf[offset : offset + 32]), offset + 32

    def idl(self) -> JsonType:
        return "pubkey"


class FixedBytes(BorshType[bytes]):
    """`[u8; N]`: exactly N raw bytes."""

    def __init__(self, n: int) -> None:
        self.n = self.max_size = n

    def encode(self, value: bytes, out: bytearray) -> None:
        if not isinstance(value, bytes | bytearray) or len(value) != self.n:
            raise BorshError(f"[u8; {self.n}] expects exactly {self.n} bytes")
        out += value

    def decode(self, buf: bytes, offset: int) -> tuple[bytes, int]:
        _need(buf, offset, self.n, f"[u8; {self.n}]")
        return bytes(buf[offset : offset + self.n]), offset + self.n

    def idl(self) -> JsonType:
        return {"array": ["u8", self.n]}


class Bytes(BorshType[bytes]):
    """`Vec<u8>` (IDL `bytes`) with a length bound, as a Rust program would enforce."""

    def __init__(self, max_len: int) -> None:
        self.max_len = max_len
        self.max_size = 4 + max_len

    def encode(self, value: bytes, out: bytearray) -> None:
        if not isinstance(value, bytes | bytearray):
            raise BorshError(f"bytes expects bytes, got {type(value).__name__}")
        if len(value) > self.max_len:
            raise BorshError(f"{len(value)} bytes is longer than the limit of {self.max_len}")
        out += struct.pack("<I", len(value)) + value

    def decode(self, buf: bytes, offset: int) -> tuple[bytes, int]:
        _need(buf, offset, 4, "bytes length")
        (n,) = struct.unpack_from("<I", buf, offset)
        if n > self.max_len:
            raise BorshError(f"{n} bytes is longer than the limit of {self.max_len}")
        _need(buf, offset + 4, n, "bytes")
        return bytes(buf[offset + 4 : offset + 4 + n]), offset + 4 + n

    def idl(self) -> JsonType:
        return "bytes"


class Option(BorshType[T | None]):
    def __init__(self, inner: BorshType[T]) -> None:
        self.inner = inner
        self.max_size = 1 + inner.max_size

    def encode(self, value: T | None, out: bytearray) -> None:
        if value is None:
            out.append(0)
        else:
            out.append(1)
            self.inner.encode(value, out)

    def decode(self, buf: bytes, offset: int) -> tuple[T | None, int]:
        _need(buf, offset, 1, "option tag")
        tag = buf[offset]
        if tag == 0:
            return None, offset + 1
        if tag != 1:
            raise BorshError(f"Invalid Option representation: {tag} at offset {offset}")
        return self.inner.decode(buf, offset + 1)

    def idl(self) -> JsonType:
        return {"option": self.inner.idl()}


E = TypeVar("E", bound=IntEnum)


class UnitEnum(BorshType[E]):
    """A Rust enum whose variants carry no fields: one u8 variant index."""

    max_size = 1

    def __init__(self, enum: type[E]) -> None:
        self.enum = enum
        values = [int(v) for v in enum]
        if values != list(range(len(values))):
            raise ValueError(f"{enum.__name__} must number its variants 0..n-1")

    def encode(self, value: E, out: bytearray) -> None:
        if not isinstance(value, self.enum):
            raise BorshError(f"{self.enum.__name__} expected, got {value!r}")
        out.append(int(value))

    def decode(self, buf: bytes, offset: int) -> tuple[E, int]:
        _need(buf, offset, 1, self.enum.__name__)
        try:
            return self.enum(buf[offset]), offset + 1
        except ValueError:
            raise BorshError(
                f"unknown {self.enum.__name__} variant {buf[offset]} at offset {offset}"
            ) from None

    def idl(self) -> JsonType:
        return {"defined": {"name": self.enum.__name__}}

    def idl_type_def(self) -> dict[str, Any]:
        return {
            "name": self.enum.__name__,
            "type": {"kind": "enum", "variants": [{"name": v.name} for v in self.enum]},
        }


U8 = _Int("u8", "B", 0, (1 << 8) - 1)
U16 = _Int("u16", "H", 0, (1 << 16) - 1)
U32 = _Int("u32", "I", 0, (1 << 32) - 1)
U64 = _Int("u64", "Q", 0, (1 << 64) - 1)
I64 = _Int("i64", "q", -(1 << 63), (1 << 63) - 1)
U128 = _U128()
BOOL = _Bool()
PUBKEY = _Pubkey()

U64_MAX = (1 << 64) - 1
U32_MAX = (1 << 32) - 1


Field = tuple[str, BorshType[Any]]


class BorshStruct:
    """A frozen dataclass whose `SCHEMA` lists its fields in borsh order.

    Subclasses are declared with `@dataclass(frozen=True, slots=True)`; the schema must name
    exactly the dataclass fields, in order (checked once, at class creation).
    """

    SCHEMA: ClassVar[tuple[Field, ...]] = ()
    _encoders: ClassVar[tuple[tuple[str, Callable[[Any, bytearray], None]], ...]]
    _decoders: ClassVar[tuple[tuple[str, Callable[[bytes, int], tuple[Any, int]]], ...]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._encoders = tuple((n, t.encode) for n, t in cls.SCHEMA)
        cls._decoders = tuple((n, t.decode) for n, t in cls.SCHEMA)

    @classmethod
    def validate_schema(cls) -> None:
        names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
        if names != [n for n, _ in cls.SCHEMA]:
            raise TypeError(f"{cls.__name__}: SCHEMA does not match the dataclass fields")

    @classmethod
    def max_size(cls) -> int:
        return sum(t.max_size for _, t in cls.SCHEMA)

    def encode_into(self, out: bytearray) -> None:
        for name, enc in self._encoders:
            try:
                enc(getattr(self, name), out)
            except BorshError as e:
                raise BorshError(f"{type(self).__name__}.{name}: {e}") from None

    def encode(self) -> bytes:
        out = bytearray()
        self.encode_into(out)
        return bytes(out)

    @classmethod
    def decode_from(cls, buf: bytes, offset: int = 0) -> tuple[Self, int]:
        values: dict[str, Any] = {}
        for name, dec in cls._decoders:
            try:
                values[name], offset = dec(buf, offset)
            except BorshError as e:
                raise BorshError(f"{cls.__name__}.{name}: {e}") from None
        return cls(**values), offset

    @classmethod
    def decode(cls, buf: bytes) -> Self:
        """Decode exactly `buf`: trailing bytes are an error (use decode_from to allow them)."""
        value, end = cls.decode_from(buf, 0)
        if end != len(buf):
            raise BorshError(f"{cls.__name__}: {len(buf) - end} unexpected trailing bytes")
        return value

    @classmethod
    def idl_fields(cls) -> list[dict[str, Any]]:
        return [{"name": n, "type": t.idl()} for n, t in cls.SCHEMA]


S = TypeVar("S", bound=BorshStruct)


class Struct(BorshType[S]):
    """A nested struct field (IDL `defined`)."""

    def __init__(self, cls: type[S]) -> None:
        self.cls = cls
        self.max_size = cls.max_size()

    def encode(self, value: S, out: bytearray) -> None:
        if not isinstance(value, self.cls):
            raise BorshError(f"{self.cls.__name__} expected, got {type(value).__name__}")
        value.encode_into(out)

    def decode(self, buf: bytes, offset: int) -> tuple[S, int]:
        return self.cls.decode_from(buf, offset)

    def idl(self) -> JsonType:
        return {"defined": {"name": self.cls.__name__}}


def struct_types(structs: Sequence[type[BorshStruct]]) -> list[dict[str, Any]]:
    """IDL `types` entries for the given structs."""
    return [
        {"name": s.__name__, "type": {"kind": "struct", "fields": s.idl_fields()}} for s in structs
    ]
