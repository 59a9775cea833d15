"""The demo world block by block: its citizens and every holder's copy of them.

Generation is pure (numpy and Arrow, no I/O) and deterministic: ``generate_block(seed, block)``
returns the same tables whenever and wherever it runs, so blocks may be built in any order or in
parallel and written in order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa

from trusthub.demo.holders import generate_copies
from trusthub.demo.people import People, generate_people
from trusthub.demo.randomness import Block, blocks


@dataclass(frozen=True, slots=True)
class WorldBlock:
    """One block of citizens and, per ``org.dataset`` key, that holder's copy of them."""

    block: Block
    people: People
    copies: dict[str, pa.Table]


def generate_block(seed: int, block: Block) -> WorldBlock:
    people = generate_people(seed, block)
    return WorldBlock(block, people, dict(generate_copies(seed, block, people)))


def generate_world(citizens: int, seed: int) -> Iterator[WorldBlock]:
    """Every block of a world of ``citizens`` people, in order."""
    for block in blocks(citizens):
        yield generate_block(seed, block)
