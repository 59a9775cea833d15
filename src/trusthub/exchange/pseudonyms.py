"""Pseudonyms for a whole column at once, equal to ``minimise.pseudonym`` value by value.

The column travels as two blocks of bytes (its values' offsets and their UTF-8), so the HMACs
can run here or in a bulk worker process (``bulk_pseudonyms``) without an object per value, and
come back as one block of 43-character pseudonyms that becomes a string column without copying.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trusthub.exchange.bulk_pseudonyms import ENCODED, pseudonym_block


def value_blocks(column: pa.Array | pa.ChunkedArray) -> tuple[bytes, bytes]:
    """The values as text (nulls as empty): native 64-bit offsets from 0, and the UTF-8."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    text = pc.fill_null(column.cast(pa.large_string()), "")
    bounds = np.frombuffer(text.buffers()[1], dtype=np.int64)[
        text.offset : text.offset + len(text) + 1
    ]
    data = text.buffers()[2]
    first, last = int(bounds[0]), int(bounds[-1])
    block = b"" if data is None else data.slice(first, last - first).to_pybytes()
    return (bounds - first).tobytes(), block


def pseudonym_column(block: bytes, column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The column of pseudonyms made from ``block`` for ``column``, its nulls kept null."""
    count = len(column)
    if len(block) != count * ENCODED:
        raise ValueError("a block of pseudonyms does not match its column")
    offsets = pa.array(np.arange(0, (count + 1) * ENCODED, ENCODED, dtype=np.int32))
    strings = pa.StringArray.from_buffers(count, offsets.buffers()[1], pa.py_buffer(block))
    if column.null_count:
        strings = pc.if_else(column.is_null(), pa.scalar(None, pa.string()), strings)
    return strings


def pseudonymise_column(
    key: bytes, field_name: str, column: pa.Array | pa.ChunkedArray
) -> pa.Array:
    """Each value's pseudonym (nulls stay null), worked out in this process."""
    offsets, data = value_blocks(column)
    return pseudonym_column(pseudonym_block(key, field_name, offsets, data), column)
