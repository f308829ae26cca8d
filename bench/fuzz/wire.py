"""Protobuf wire format, just enough to change a field's type: the `wrong_type` mutation.

A message is a run of fields, each a tag (field number << 3 | wire type) and a payload.
`retype` picks one field at any depth (a length-delimited field that parses as a message
is entered) and writes it back with another wire type, as a producer with a stale or wrong
schema would.
"""
import random

VARINT, FIXED64, LEN, FIXED32 = 0, 1, 2, 5


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("bad varint")
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if not byte & 0x80:
            return value, pos
        shift += 7


def encode_varint(value: int) -> bytes:
    out = bytearray()
    value &= (1 << 64) - 1
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def fields(data: bytes) -> list[tuple[int, int, int, int, int]]:
    """(start, end, field number, wire type, payload start) of each top-level field; raises
    ValueError when `data` is not a message."""
    out, pos = [], 0
    while pos < len(data):
        start = pos
        tag, pos = _varint(data, pos)
        number, wire = tag >> 3, tag & 7
        if number == 0:
            raise ValueError("field 0")
        payload = pos
        if wire == VARINT:
            _, pos = _varint(data, pos)
        elif wire == FIXED64:
            pos += 8
        elif wire == FIXED32:
            pos += 4
        elif wire == LEN:
            size, payload = _varint(data, pos)
            pos = payload + size
        else:
            raise ValueError("group or bad wire type")
        if pos > len(data):
            raise ValueError("truncated")
        out.append((start, pos, number, wire, payload))
    return out


def _retyped(number: int, wire: int, body: bytes, rng: random.Random) -> bytes:
    choices = [w for w in (VARINT, FIXED64, LEN, FIXED32) if w != wire]
    new = rng.choice(choices)
    tag = encode_varint(number << 3 | new)
    if new == VARINT:
        return tag + encode_varint(len(body) or rng.getrandbits(40))
    if new == FIXED64:
        return tag + (body + bytes(8))[:8]
    if new == FIXED32:
        return tag + (body + bytes(4))[:4]
    return tag + encode_varint(len(body)) + body


def retype(data: bytes, rng: random.Random, depth: int = 0) -> bytes:
    """`data` with one field, at a random depth, written with a wrong wire type."""
    try:
        found = fields(data)
    except ValueError:
        return data
    if not found:
        return data
    start, end, number, wire, payload = rng.choice(found)
    body = data[payload:end]
    if wire == LEN and depth < 12 and rng.random() < 0.75:
        inner = retype(body, rng, depth + 1)
        if inner != body:
            return data[:start] + encode_varint(number << 3 | LEN) + encode_varint(len(inner)) + inner + data[end:]
    return data[:start] + _retyped(number, wire, body, rng) + data[end:]
