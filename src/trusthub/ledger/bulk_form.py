"""How a bulk entry's records and its private index are packed into rows, as pure code.

Every record of a bulk entry is one of a few templates (an outcome and its reasons) with the
citizen's commitment put in. So a row of records holds, for up to 256 records, each one's
template number and its commitment's 32 raw bytes, and the entry's templates are stored once:
a third of the bytes of the JSON records, built by slicing columns rather than per record. The
record inputs that are hashed, proved and published stay byte for byte the canonical JSON.

The private index of a bulk entry is one row per 16-bit prefix of the citizens' lookup tags,
holding the next 32 bits of each tag and the record's position: a citizen's lookup reads one
short row per bulk entry with a record in that prefix, and opens the commitment to confirm.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Sequence
from hashlib import sha256

from trusthub.ledger import merkle
from trusthub.ledger.entry import CitizenRecord, EntryError, Outcome, decode_record, encode_record

MARK = b"\x01"
"""First byte of a packed row of records; a row of JSON records starts with ``{``."""
COMMITMENT_SIZE = 32
HEX_SIZE = 2 * COMMITMENT_SIZE
BUCKET_BYTES = 2
KEY_BYTES = 4
POSITION_BYTES = 4
PAIR_SIZE = KEY_BYTES + POSITION_BYTES
MAX_RECORDS = 1 << (8 * POSITION_BYTES)
"""Positions are stored in four bytes, so a bulk entry holds fewer records than this."""
BOTTOM_LEVELS = 8
"""A row holds 256 records: the sub-tree's lowest eight levels are hashed from it when needed,
never stored, so tiles of a bulk entry start at tile level 1."""

Template = tuple[bytes, bytes]
"""A record's canonical bytes before and after its commitment's hex."""


class FormError(ValueError):
    """Stored bulk bytes do not have the shape this form promises."""


_PLACEHOLDER = "0" * HEX_SIZE


def template(outcome: Outcome, reasons: tuple[str, ...]) -> Template:
    """A record's canonical bytes around its commitment, made once per outcome and reasons. The
    commitment is the first key in canonical order, so it is the first 64 zeros found."""
    encoded = encode_record(CitizenRecord(_PLACEHOLDER, outcome, reasons))
    head, _, tail = encoded.partition(_PLACEHOLDER.encode("ascii"))
    return head, tail


def check_templates(templates: Sequence[Template]) -> None:
    """Each stored template must be exactly the one its own record would make: canonical JSON
    with the commitment in the right place (so every record built from it is canonical)."""
    for head, tail in templates:
        try:
            record = decode_record(head + _PLACEHOLDER.encode("ascii") + tail)
        except EntryError as error:
            raise FormError(f"a template does not make a canonical record: {error}") from None
        if template(record.decision, record.reasons) != (head, tail):
            raise FormError("a template does not put the commitment where its record has it")


def number_width(templates: int) -> int:
    """Bytes per stored template number: one for up to 256 templates, else two, else four."""
    return 1 if templates <= 1 << 8 else 2 if templates <= 1 << 16 else 4


def encode_templates(templates: Sequence[Template]) -> bytes:
    """The entry's templates as JSON (they are ASCII JSON fragments), stored once per entry."""
    text = [[head.decode("ascii"), tail.decode("ascii")] for head, tail in templates]
    return json.dumps(text, separators=(",", ":")).encode("ascii")


def decode_templates(data: bytes) -> list[Template]:
    try:
        parsed = json.loads(data)
        templates = [(head.encode("ascii"), tail.encode("ascii")) for head, tail in parsed]
    except (ValueError, TypeError, AttributeError) as error:
        raise FormError(f"the templates are malformed ({type(error).__name__})") from None
    if not templates:
        raise FormError("a bulk entry has at least one template")
    return templates


def pack_row(numbers: bytes | memoryview, commitments: bytes | memoryview) -> bytes:
    """One stored row: the mark, every record's template number, then every commitment."""
    return MARK + numbers + commitments


def unpack_row(data: bytes, templates: int) -> tuple[list[int], bytes]:
    """A row's template numbers and its commitments (32 raw bytes each, concatenated)."""
    width = number_width(templates)
    count, rest = divmod(len(data) - len(MARK), width + COMMITMENT_SIZE)
    if data[:1] != MARK or rest or not 0 < count <= 1 << BOTTOM_LEVELS:
        raise FormError("a row of packed records has the wrong mark or length")
    split = len(MARK) + count * width
    raw = data[len(MARK) : split]
    numbers = list(raw) if width == 1 else _numbers(raw, width)
    if max(numbers) >= templates:
        raise FormError("a record names a template the entry does not have")
    return numbers, data[split:]


def _numbers(raw: bytes, width: int) -> list[int]:
    return [int.from_bytes(raw[i : i + width], "big") for i in range(0, len(raw), width)]


def record_inputs(
    templates: Sequence[Template], numbers: Sequence[int], commitments: bytes
) -> list[bytes]:
    """The records' canonical bytes: each template with its commitment's hex put in."""
    hexed = binascii.hexlify(commitments)
    return [
        templates[n][0] + hexed[i : i + HEX_SIZE] + templates[n][1]
        for n, i in zip(numbers, range(0, len(hexed), HEX_SIZE), strict=True)
    ]


def leaf_hashes(
    templates: Sequence[Template], numbers: Sequence[int], commitments: bytes | memoryview
) -> list[bytes]:
    """RFC 9162 leaf hashes of the records: each record's bytes hashed in one call (cheaper
    than feeding a copied hash three times)."""
    heads = [merkle.LEAF_PREFIX + head for head, _ in templates]
    tails = [tail for _, tail in templates]
    hexed = binascii.hexlify(commitments)
    return [
        sha256(heads[n] + hexed[i : i + HEX_SIZE] + tails[n]).digest()
        for n, i in zip(numbers, range(0, len(hexed), HEX_SIZE), strict=True)
    ]


def bundle_roots(hashes: Sequence[bytes]) -> list[bytes]:
    """The root of every full 256 leaves (tree level 8), pairing a whole level at a time: each
    level is one block of bytes, and each node hashes its prefix and a 64-byte slice of it."""
    width = 1 << BOTTOM_LEVELS
    full = len(hashes) - len(hashes) % width
    level = b"".join(hashes[:full])
    prefix, pair = merkle.NODE_PREFIX, 2 * merkle.HASH_SIZE
    for _ in range(BOTTOM_LEVELS):
        level = b"".join(
            [sha256(prefix + level[i : i + pair]).digest() for i in range(0, len(level), pair)]
        )
    size = merkle.HASH_SIZE
    return [level[i : i + size] for i in range(0, len(level), size)]


def find_positions(data: bytes, key: bytes) -> list[int]:
    """Positions stored under ``key`` (the tag's bytes after the prefix) in one index row: a
    scan of a short row, taking only matches that start a pair."""
    if len(data) % PAIR_SIZE or len(key) != KEY_BYTES:
        raise FormError("an index row has the wrong length")
    found: list[int] = []
    at = data.find(key)
    while at >= 0:
        if at % PAIR_SIZE == 0:
            found.append(int.from_bytes(data[at + KEY_BYTES : at + PAIR_SIZE], "big"))
        at = data.find(key, at + 1)
    return found


def bucket_and_key(tag: bytes) -> tuple[int, bytes]:
    """Where a lookup tag is filed: its first two bytes choose the row, the next four are kept."""
    bucket = int.from_bytes(tag[:BUCKET_BYTES], "big")
    return bucket, tag[BUCKET_BYTES : BUCKET_BYTES + KEY_BYTES]
