"""Arrow string arrays built and edited as numpy byte matrices: no Python loop per row.

The demo world's strings are ASCII, so a column of them can be viewed as an ``n x width``
matrix of bytes: fixed-width identifiers are written straight into such a matrix, and typos are
made by moving bytes within rows. Building Arrow arrays from the buffers avoids Python objects.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)


def vocabulary(words: Sequence[str]) -> pa.StringArray:
    """A word list as an Arrow array, for ``take`` by integer codes."""
    return pa.array(list(words), type=pa.string())


def take(words: pa.Array, codes: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    """``words[codes]``; rows where ``missing`` is true (or the code is negative) become null."""
    mask = codes < 0 if missing is None else (missing | (codes < 0))
    if not mask.any():
        return words.take(pa.array(codes.astype(np.int64)))
    return words.take(pa.array(np.where(mask, 0, codes).astype(np.int64), mask=mask))


def fixed_width(matrix: np.ndarray, valid: np.ndarray | None = None) -> pa.StringArray:
    """An ``n x width`` matrix of ASCII bytes as n strings of exactly ``width`` characters."""
    rows, width = matrix.shape
    data = np.ascontiguousarray(matrix, dtype=np.uint8).reshape(-1)
    offsets = np.arange(rows + 1, dtype=np.int32) * np.int32(width)
    return _from_buffers(rows, offsets, data, valid)


def digit_columns(values: np.ndarray, width: int) -> list[np.ndarray]:
    """The decimal digits (0-9, most significant first) of non-negative integers, one array each."""
    if width > 9:
        high, low = np.divmod(values.astype(np.uint64), np.uint64(10**9))
        return digit_columns(high, width - 9) + digit_columns(low, 9)
    rest = values.astype(np.uint32)
    ten = np.uint32(10)
    columns = []
    for _ in range(width):
        rest, digit = np.divmod(rest, ten)
        columns.append(digit.astype(np.uint8))
    return columns[::-1]


def digits(values: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded decimal digits of non-negative integers as an ``n x width`` byte matrix."""
    return ascii_digits(digit_columns(values, width))


def ascii_digits(columns: list[np.ndarray]) -> np.ndarray:
    """Digit columns (0-9) as a matrix of ASCII digit bytes."""
    matrix: np.ndarray = np.stack(columns, axis=1)
    matrix += np.uint8(ord("0"))
    return matrix


def letters(codes: np.ndarray, alphabet: str) -> np.ndarray:
    """The byte of ``alphabet[code]`` for each code."""
    table: np.ndarray = np.frombuffer(alphabet.encode("ascii"), dtype=np.uint8)
    result: np.ndarray = table[codes]
    return result


def prefixed_digits(
    prefix: str, values: np.ndarray, width: int, valid: np.ndarray | None = None
) -> pa.StringArray:
    """``prefix`` followed by ``width`` zero-padded digits, e.g. ``CL004211975``."""
    head = np.broadcast_to(
        np.frombuffer(prefix.encode("ascii"), dtype=np.uint8), (values.shape[0], len(prefix))
    )
    return fixed_width(np.hstack([head, digits(values, width)]), valid)


def to_matrix(strings: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The bytes of each string, left-aligned and zero-padded, and each string's length."""
    array = strings.cast(pa.string())
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    count = len(array)
    validity, offsets_buffer, data_buffer = array.buffers()
    offsets = np.frombuffer(
        offsets_buffer, dtype=np.int32, count=count + 1, offset=array.offset * 4
    )
    data = (
        np.frombuffer(data_buffer, dtype=np.uint8)
        if data_buffer is not None and data_buffer.size
        else np.zeros(1, dtype=np.uint8)
    )
    starts = offsets[:-1].astype(np.int64)
    lengths = (offsets[1:] - offsets[:-1]).astype(np.int64)
    if validity is not None:
        lengths = np.where(array.is_null().to_numpy(zero_copy_only=False), 0, lengths)
    width = int(lengths.max()) if count else 0
    columns = np.arange(width, dtype=np.int64)
    inside = columns[None, :] < lengths[:, None]
    positions = np.minimum(starts[:, None] + columns[None, :], data.shape[0] - 1)
    matrix = np.where(inside, data[positions], 0).astype(np.uint8)
    return matrix, lengths


def from_matrix(
    matrix: np.ndarray, lengths: np.ndarray, valid: np.ndarray | None = None
) -> pa.StringArray:
    """Strings made of the first ``lengths[i]`` bytes of each row of ``matrix``."""
    rows, width = matrix.shape
    inside = np.arange(width)[None, :] < lengths[:, None]
    data = np.ascontiguousarray(matrix)[inside]
    offsets = np.zeros(rows + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    return _from_buffers(rows, offsets, data, valid)


def _from_buffers(
    rows: int, offsets: np.ndarray, data: np.ndarray, valid: np.ndarray | None
) -> pa.StringArray:
    validity = None
    null_count = 0
    if valid is not None and not valid.all():
        validity = pa.py_buffer(np.packbits(valid, bitorder="little"))
        null_count = int(rows - np.count_nonzero(valid))
    return pa.StringArray.from_buffers(
        rows, pa.py_buffer(offsets), pa.py_buffer(data), validity, null_count
    )


def join(*parts: pa.Array | str, separator: str = "") -> pa.Array:
    """Concatenate string columns (and constant strings) row by row."""
    return pc.binary_join_element_wise(*parts, separator)


def replace_rows(base: pa.Array, rows: np.ndarray, values: pa.Array) -> pa.Array:
    """``base`` with the given row positions (ascending) replaced by ``values`` in order."""
    if rows.shape[0] == 0:
        return base
    mask = np.zeros(len(base), dtype=bool)
    mask[rows] = True
    return pc.replace_with_mask(base, pa.array(mask), values)


def null_rows(base: pa.Array, rows: np.ndarray) -> pa.Array:
    """``base`` with the given row positions made null, sharing its value buffers."""
    if rows.shape[0] == 0:
        return base
    valid = base.is_valid().to_numpy(zero_copy_only=False)
    valid[rows] = False
    bits = np.zeros(base.offset + len(base), dtype=bool)
    bits[base.offset :] = valid
    buffers = base.buffers()
    return pa.Array.from_buffers(
        base.type,
        len(base),
        [pa.py_buffer(np.packbits(bits, bitorder="little")), *buffers[1:]],
        null_count=int(len(base) - np.count_nonzero(valid)),
        offset=base.offset,
    )
