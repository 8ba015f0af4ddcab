"""Reading a SentencePiece `.model` file (spiece.model, tokenizer.model) without the sentencepiece package.

The file is a serialized `ModelProto` protobuf message. Only the fields a tokenizer needs are decoded:
the pieces (text, score, type), the trainer spec (model type, special ids and pieces, byte fallback) and
the normalizer spec (precompiled character map). Everything else is skipped by wire type.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from ..errors import CheckpointFormatError

# SentencePiece.Type
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
# TrainerSpec.ModelType
UNIGRAM, BPE, WORD, CHAR = 1, 2, 3, 4

_VARINT, _FIXED64, _LENGTH_DELIMITED, _FIXED32 = 0, 1, 2, 5


@dataclass
class Piece:
    piece: str
    score: float = 0.0
    type: int = NORMAL


@dataclass
class TrainerSpec:
    model_type: int = UNIGRAM
    byte_fallback: bool = False
    unk_id: int = 0
    bos_id: int = 1
    eos_id: int = 2
    pad_id: int = -1
    unk_piece: str = "<unk>"
    bos_piece: str = "<s>"
    eos_piece: str = "</s>"
    pad_piece: str = "<pad>"


@dataclass
class NormalizerSpec:
    name: str = ""
    precompiled_charsmap: bytes = b""
    add_dummy_prefix: bool = True
    remove_extra_whitespaces: bool = True
    escape_whitespaces: bool = True


@dataclass
class SentencePieceModel:
    pieces: list[Piece] = field(default_factory=list)
    trainer_spec: TrainerSpec = field(default_factory=TrainerSpec)
    normalizer_spec: NormalizerSpec = field(default_factory=NormalizerSpec)


def _fields(data: bytes, wire_types: dict[int, int] | None = None):
    """Yield (field number, wire type, value) of one message; values of length-delimited fields are bytes.
    A field listed in `wire_types` with another wire type is an error (its value would have the wrong type)."""
    pos, end = 0, len(data)
    while pos < end:
        key, pos = _varint(data, pos)
        number, wire_type = key >> 3, key & 7
        if wire_types and wire_types.get(number, wire_type) != wire_type:
            raise ValueError(f"field {number} has wire type {wire_type}, expected {wire_types[number]}")
        if wire_type == _VARINT:
            value, pos = _varint(data, pos)
        elif wire_type == _LENGTH_DELIMITED:
            length, pos = _varint(data, pos)
            if pos + length > end:
                raise ValueError("a field runs past the end of its message")
            value, pos = data[pos : pos + length], pos + length
        elif wire_type in (_FIXED32, _FIXED64):
            size = 4 if wire_type == _FIXED32 else 8
            if pos + size > end:
                raise ValueError("a field runs past the end of its message")
            value, pos = data[pos : pos + size], pos + size
        else:
            raise ValueError(f"unsupported protobuf wire type {wire_type}")
        yield number, wire_type, value


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """A base-128 varint: at most 10 bytes (64 bits), as protobuf defines it. Without that bound a crafted run
    of continuation bytes builds an ever larger integer, which takes quadratic time."""
    result = shift = 0
    for _ in range(10):
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result & 0xFFFFFFFFFFFFFFFF, pos
        shift += 7
    raise ValueError(f"a varint at byte {pos - 10} is longer than 10 bytes")


def _int32(value: int) -> int:
    # Negative int32 values (pad_id = -1) are written as 64-bit two's complement varints.
    return value - (1 << 64) if value >= 1 << 63 else value


def _parse_piece(data: bytes) -> Piece:
    piece = Piece("")
    for number, _, value in _fields(data, {1: _LENGTH_DELIMITED, 2: _FIXED32, 3: _VARINT}):
        if number == 1:
            piece.piece = value.decode("utf-8")
        elif number == 2:
            piece.score = struct.unpack("<f", value)[0]
        elif number == 3:
            piece.type = value
    return piece


_TRAINER_INTS = {3: "model_type", 40: "unk_id", 41: "bos_id", 42: "eos_id", 43: "pad_id"}
_TRAINER_STRINGS = {45: "unk_piece", 46: "bos_piece", 47: "eos_piece", 48: "pad_piece"}


def _parse_trainer_spec(data: bytes) -> TrainerSpec:
    spec = TrainerSpec()
    wire_types = {**dict.fromkeys(_TRAINER_INTS, _VARINT), **dict.fromkeys(_TRAINER_STRINGS, _LENGTH_DELIMITED),
                  35: _VARINT}  # fmt: skip
    for number, _, value in _fields(data, wire_types):
        if number in _TRAINER_INTS:
            setattr(spec, _TRAINER_INTS[number], _int32(value))
        elif number in _TRAINER_STRINGS:
            setattr(spec, _TRAINER_STRINGS[number], value.decode("utf-8"))
        elif number == 35:
            spec.byte_fallback = bool(value)
    return spec


def _parse_normalizer_spec(data: bytes) -> NormalizerSpec:
    spec = NormalizerSpec()
    wire_types = {1: _LENGTH_DELIMITED, 2: _LENGTH_DELIMITED, 3: _VARINT, 4: _VARINT, 5: _VARINT}
    for number, _, value in _fields(data, wire_types):
        if number == 1:
            spec.name = value.decode("utf-8")
        elif number == 2:
            spec.precompiled_charsmap = bytes(value)
        elif number == 3:
            spec.add_dummy_prefix = bool(value)
        elif number == 4:
            spec.remove_extra_whitespaces = bool(value)
        elif number == 5:
            spec.escape_whitespaces = bool(value)
    return spec


def parse_model(data: bytes) -> SentencePieceModel:
    model = SentencePieceModel()
    for number, wire_type, value in _fields(data):
        if wire_type != _LENGTH_DELIMITED:
            continue
        if number == 1:
            model.pieces.append(_parse_piece(value))
        elif number == 2:
            model.trainer_spec = _parse_trainer_spec(value)
        elif number == 3:
            model.normalizer_spec = _parse_normalizer_spec(value)
    return model


def load_model(path: str) -> SentencePieceModel:
    """Parse a SentencePiece model file; CheckpointFormatError names the file when it is not one."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        model = parse_model(data)
    except (ValueError, UnicodeDecodeError, struct.error, TypeError, AttributeError) as exc:  # a field of the wrong wire type
        raise CheckpointFormatError(f"{path} is not a valid SentencePiece model file: {exc}") from exc
    if not model.pieces:
        raise CheckpointFormatError(f"{path} is not a valid SentencePiece model file: it holds no pieces.")
    _check_model(model, path)
    return model


# Recovering BPE merges tries every split of every piece: work grows with the square of a piece's length.
MAX_SPLIT_WORK = 2 * 10**8


def _check_model(model: SentencePieceModel, path: str) -> None:
    """Field values a tokenizer is built from: known types, special ids that name pieces."""

    def refuse(what: str, value, expected: str):
        raise CheckpointFormatError(
            f"{path}: {what} is {value!r}; expected {expected}. It is not a valid SentencePiece model file."
        )

    spec, count = model.trainer_spec, len(model.pieces)
    if spec.model_type not in (UNIGRAM, BPE, WORD, CHAR):
        refuse("trainer_spec.model_type", spec.model_type, "1 (Unigram), 2 (BPE), 3 (word) or 4 (char)")
    for name in ("unk_id", "bos_id", "eos_id", "pad_id"):
        value = getattr(spec, name)
        if not -1 <= value < count:
            refuse(f"trainer_spec.{name}", value, f"-1 (none) or the id of one of its {count} pieces")
    for index, piece in enumerate(model.pieces):
        if not NORMAL <= piece.type <= BYTE:
            refuse(f"the type of piece {index} ({piece.piece[:50]!r})", piece.type, "1 to 6")
    if spec.model_type == BPE:
        work = sum(len(piece.piece) ** 2 for piece in model.pieces)
        if work > MAX_SPLIT_WORK:
            longest = max(model.pieces, key=lambda p: len(p.piece))
            refuse("the length of its longest piece", len(longest.piece),
                   "pieces short enough to split into merges (SentencePiece pieces are usually under 20 characters)")  # fmt: skip
