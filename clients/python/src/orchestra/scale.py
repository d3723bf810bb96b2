"""SCALE, the chain's binary encoding, and the few facts of a runtime's metadata that signing a
transfer needs: the call's indices and argument types, and the transaction extensions.

Terms:
- **compact**: SCALE's variable-length unsigned integer (one, two, four or 5-17 bytes).
- **metadata**: what a runtime says of itself (``Metadata_metadata_at_version``), prefixed
  with the magic ``meta`` and a version byte; versions 14, 15 and 16 are read. It starts with
  the *type registry* (every type the runtime uses, by id), then the pallets, then the
  extrinsic format.
- **transaction extension** (a *signed extension* before version 16): a named check the runtime
  runs on every transaction. Each has an *explicit* value carried in the extrinsic (the era,
  the nonce, the tip) and an *implicit* value only signed (the genesis hash, the versions).

Only what the metadata states is used: a call is found by its pallet's and its own name, its
arguments' types are checked, and an extension this module does not know is accepted only when
both its values are empty types. The chain is the operator's choice, not the payee's, but its
answer is still bounded and checked as it is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

METADATA_VERSIONS = (16, 15, 14)
"""The metadata versions read, most preferred first."""


class ScaleError(ValueError):
    """Bytes that are not what they should encode."""


def compact(value: int) -> bytes:
    """``value`` as a SCALE compact integer."""
    if value < 0:
        raise ValueError("compact integers are unsigned")
    if value < 1 << 6:
        return bytes([value << 2])
    if value < 1 << 14:
        return ((value << 2) | 1).to_bytes(2, "little")
    if value < 1 << 30:
        return ((value << 2) | 2).to_bytes(4, "little")
    length = (value.bit_length() + 7) // 8
    return bytes([((length - 4) << 2) | 3]) + value.to_bytes(length, "little")


class Reader:
    """Reads SCALE values from ``data`` in order."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, count: int) -> bytes:
        if count < 0 or self.at + count > len(self.data):
            raise ScaleError(f"{count} bytes wanted at offset {self.at}, {len(self.data) - self.at} left")
        piece = self.data[self.at : self.at + count]
        self.at += count
        return piece

    def u8(self) -> int:
        return self.take(1)[0]

    def u32(self) -> int:
        return int.from_bytes(self.take(4), "little")

    def compact(self) -> int:
        first = self.u8()
        mode = first & 3
        if mode == 0:
            return first >> 2
        if mode == 1:
            return (first | self.u8() << 8) >> 2
        if mode == 2:
            return int.from_bytes(bytes([first]) + self.take(3), "little") >> 2
        return int.from_bytes(self.take((first >> 2) + 4), "little")

    def length(self) -> int:
        """A collection's length, which cannot exceed the bytes left (every item is one byte or
        more where lengths matter here): a hostile length is refused, not allocated."""
        count = self.compact()
        if count > len(self.data) - self.at:
            raise ScaleError(f"a length of {count} with {len(self.data) - self.at} bytes left")
        return count

    def bytes(self) -> bytes:
        return self.take(self.length())

    def text(self) -> str:
        try:
            return self.bytes().decode("utf-8")
        except UnicodeDecodeError as error:
            raise ScaleError(f"a string is not UTF-8: {error}") from None

    def option(self) -> bool:
        flag = self.u8()
        if flag > 1:
            raise ScaleError(f"an Option's flag is {flag}")
        return flag == 1

    def texts(self) -> List[str]:
        return [self.text() for _ in range(self.length())]

    def done(self) -> bool:
        return self.at == len(self.data)


@dataclass(frozen=True)
class Field:
    name: Optional[str]
    type_id: int


@dataclass(frozen=True)
class Variant:
    name: str
    index: int
    fields: Tuple[Field, ...]


@dataclass(frozen=True)
class TypeDef:
    """One type of the registry: its ``kind`` (``composite``, ``variant``, ``sequence``,
    ``array``, ``tuple``, ``primitive``, ``compact``, ``bitsequence``), its ``path`` and what
    the kind needs: ``fields``, ``variants``, ``inner`` (element or compacted type), ``length``
    (of an array), ``members`` (of a tuple) or ``primitive`` (its index: 0 bool, 1 char, 2 str,
    3 u8, 4 u16, 5 u32, 6 u64, 7 u128, 8 u256, 9-14 the signed ones)."""

    kind: str
    path: Tuple[str, ...] = ()
    fields: Tuple[Field, ...] = ()
    variants: Tuple[Variant, ...] = ()
    inner: Optional[int] = None
    length: int = 0
    members: Tuple[int, ...] = ()
    primitive: Optional[int] = None


@dataclass(frozen=True)
class Extension:
    identifier: str
    explicit: int
    implicit: int


@dataclass(frozen=True)
class Runtime:
    """What signing needs of a runtime: its types, each pallet's index and call type, and the
    transaction extensions of a v4 extrinsic in order."""

    types: Dict[int, TypeDef]
    pallets: Dict[str, Tuple[int, Optional[int]]]
    extensions: Tuple[Extension, ...]

    def call(self, pallet: str, call: str) -> Tuple[int, Variant]:
        """The pallet's index and the call's variant, or a ScaleError naming what is missing."""
        if pallet not in self.pallets:
            raise ScaleError(f"the runtime has no pallet {pallet}")
        index, calls = self.pallets[pallet]
        if calls is None:
            raise ScaleError(f"the pallet {pallet} has no calls")
        for variant in self.type(calls).variants:
            if variant.name == call:
                return index, variant
        raise ScaleError(f"the pallet {pallet} has no call {call}")

    def type(self, type_id: int) -> TypeDef:
        if type_id not in self.types:
            raise ScaleError(f"the registry has no type {type_id}")
        return self.types[type_id]

    def is_empty(self, type_id: int, depth: int = 0) -> bool:
        """Whether values of the type take no bytes at all (``()``, a struct of such)."""
        if depth > 32:
            return False
        ty = self.type(type_id)
        if ty.kind == "composite":
            return all(self.is_empty(field.type_id, depth + 1) for field in ty.fields)
        if ty.kind == "tuple":
            return all(self.is_empty(member, depth + 1) for member in ty.members)
        if ty.kind == "array":
            return ty.length == 0 or (ty.inner is not None and self.is_empty(ty.inner, depth + 1))
        return False

    def unwrap(self, type_id: int) -> TypeDef:
        """The type itself, or the type a one-field struct wraps (as FRAME wraps many)."""
        ty = self.type(type_id)
        for _ in range(8):
            if ty.kind != "composite" or len(ty.fields) != 1:
                return ty
            ty = self.type(ty.fields[0].type_id)
        return ty


def read_metadata(data: bytes) -> Runtime:
    """The facts :class:`Runtime` holds, from ``meta``-prefixed metadata of version 14-16."""
    reader = Reader(data)
    if reader.take(4) != b"meta":
        raise ScaleError("metadata starts with the magic `meta`")
    version = reader.u8()
    if version not in METADATA_VERSIONS:
        raise ScaleError(f"metadata version {version} is not read (only {', '.join(map(str, METADATA_VERSIONS))})")
    types = _registry(reader)
    pallets = {}
    for _ in range(reader.length()):
        name, index, calls = _pallet(reader, version)
        pallets[name] = (index, calls)
    return Runtime(types, pallets, _extensions(reader, version))


def _registry(reader: Reader) -> Dict[int, TypeDef]:
    types: Dict[int, TypeDef] = {}
    for _ in range(reader.length()):
        type_id = reader.compact()
        path = tuple(reader.texts())
        for _ in range(reader.length()):  # type parameters: a name and an optional type
            reader.text()
            if reader.option():
                reader.compact()
        types[type_id] = _type_def(reader, path)
        reader.texts()  # docs
    return types


def _fields(reader: Reader) -> Tuple[Field, ...]:
    fields = []
    for _ in range(reader.length()):
        name = reader.text() if reader.option() else None
        type_id = reader.compact()
        if reader.option():  # the field's type name as written in Rust
            reader.text()
        reader.texts()
        fields.append(Field(name, type_id))
    return tuple(fields)


def _type_def(reader: Reader, path: Tuple[str, ...]) -> TypeDef:
    kind = reader.u8()
    if kind == 0:
        return TypeDef("composite", path, fields=_fields(reader))
    if kind == 1:
        variants = []
        for _ in range(reader.length()):
            name = reader.text()
            fields = _fields(reader)
            index = reader.u8()
            reader.texts()
            variants.append(Variant(name, index, fields))
        return TypeDef("variant", path, variants=tuple(variants))
    if kind == 2:
        return TypeDef("sequence", path, inner=reader.compact())
    if kind == 3:
        length = reader.u32()
        return TypeDef("array", path, length=length, inner=reader.compact())
    if kind == 4:
        return TypeDef("tuple", path, members=tuple(reader.compact() for _ in range(reader.length())))
    if kind == 5:
        return TypeDef("primitive", path, primitive=reader.u8())
    if kind == 6:
        return TypeDef("compact", path, inner=reader.compact())
    if kind == 7:
        reader.compact()
        reader.compact()
        return TypeDef("bitsequence", path)
    raise ScaleError(f"unknown type definition kind {kind}")


def _item_deprecation(reader: Reader) -> None:
    kind = reader.u8()
    if kind == 2:
        reader.text()
        if reader.option():
            reader.text()
    elif kind > 2:
        raise ScaleError(f"unknown deprecation kind {kind}")


def _enum_deprecation(reader: Reader) -> None:
    for _ in range(reader.length()):
        reader.u8()
        kind = reader.u8()
        if kind == 2:
            reader.text()
            if reader.option():
                reader.text()
        elif kind != 1:
            raise ScaleError(f"unknown variant deprecation kind {kind}")


def _pallet(reader: Reader, version: int) -> Tuple[str, int, Optional[int]]:
    name = reader.text()
    if reader.option():  # storage
        reader.text()
        for _ in range(reader.length()):
            reader.text()
            reader.u8()  # modifier
            entry_kind = reader.u8()
            if entry_kind == 0:
                reader.compact()
            elif entry_kind == 1:
                reader.take(reader.length())  # hashers, one byte each
                reader.compact()
                reader.compact()
            else:
                raise ScaleError(f"unknown storage entry kind {entry_kind}")
            reader.bytes()  # default
            reader.texts()
            if version >= 16:
                _item_deprecation(reader)
    calls = None
    if reader.option():
        calls = reader.compact()
        if version >= 16:
            _enum_deprecation(reader)
    if reader.option():  # events
        reader.compact()
        if version >= 16:
            _enum_deprecation(reader)
    for _ in range(reader.length()):  # constants
        reader.text()
        reader.compact()
        reader.bytes()
        reader.texts()
        if version >= 16:
            _item_deprecation(reader)
    if reader.option():  # errors
        reader.compact()
        if version >= 16:
            _enum_deprecation(reader)
    if version >= 16:
        for _ in range(reader.length()):  # associated types
            reader.text()
            reader.compact()
            reader.texts()
        for _ in range(reader.length()):  # view functions
            reader.take(32)
            reader.text()
            for _ in range(reader.length()):
                reader.text()
                reader.compact()
            reader.compact()
            reader.texts()
            _item_deprecation(reader)
    index = reader.u8()
    if version >= 15:
        reader.texts()
    if version >= 16:
        _item_deprecation(reader)
    return name, index, calls


def _extensions(reader: Reader, version: int) -> Tuple[Extension, ...]:
    if version == 14:
        reader.compact()  # the extrinsic type
        reader.u8()  # the extrinsic version
    elif version == 15:
        reader.u8()
        for _ in range(4):  # address, call, signature and extra types
            reader.compact()
    else:
        reader.bytes()  # the extrinsic versions supported
        for _ in range(3):  # address, call and signature types
            reader.compact()
        by_version = {}
        for _ in range(reader.length()):
            extension_version = reader.u8()
            by_version[extension_version] = [reader.compact() for _ in range(reader.length())]
    extensions = []
    for _ in range(reader.length()):
        identifier = reader.text()
        extensions.append(Extension(identifier, reader.compact(), reader.compact()))
    if version < 16:
        return tuple(extensions)
    # A v4 extrinsic carries the extensions of extension version 0.
    if 0 not in by_version:
        raise ScaleError("the runtime states no transaction extensions for version 0")
    try:
        return tuple(extensions[position] for position in by_version[0])
    except IndexError:
        raise ScaleError("an extension version names an extension that does not exist") from None


def ensure_unsigned_compact(runtime: Runtime, type_id: int, what: str) -> None:
    """Refuses a type that is not a compact unsigned integer (perhaps in a one-field struct)."""
    ty = runtime.unwrap(type_id)
    if ty.kind != "compact" or ty.inner is None or runtime.unwrap(ty.inner).primitive not in (3, 4, 5, 6, 7):
        raise ScaleError(f"{what} is not a compact unsigned integer in this runtime")


def account_address_variant(runtime: Runtime, type_id: int, what: str) -> int:
    """The index of the variant of a ``MultiAddress``-like type that holds a 32-byte account id."""
    ty = runtime.type(type_id)
    for variant in ty.variants:
        if variant.name == "Id" and len(variant.fields) == 1:
            inner = runtime.unwrap(variant.fields[0].type_id)
            if inner.kind == "array" and inner.length == 32:
                return variant.index
    raise ScaleError(f"{what} is not an address with an `Id` of 32 bytes in this runtime")


def names(fields: Sequence[Field]) -> List[Optional[str]]:
    return [field.name for field in fields]
