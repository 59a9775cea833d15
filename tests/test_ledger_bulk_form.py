"""The packed form of bulk records and of their private index, as pure code, table-tested."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trusthub.ledger import bulk_form, merkle
from trusthub.ledger.bulk_form import FormError
from trusthub.ledger.entry import CitizenRecord, Outcome, encode_record

PERMIT = bulk_form.template(Outcome.PERMIT, ())
REFUSE = bulk_form.template(Outcome.REFUSE, ("national_data_opt_out",))


@pytest.mark.parametrize(
    ("templates", "width"), [(1, 1), (256, 1), (257, 2), (65_536, 2), (65_537, 4)]
)
def test_template_numbers_take_as_few_bytes_as_the_templates_allow(
    templates: int, width: int
) -> None:
    assert bulk_form.number_width(templates) == width


def test_a_template_puts_the_commitment_where_the_canonical_record_has_it() -> None:
    commitment = os.urandom(32).hex()
    head, tail = REFUSE
    record = CitizenRecord(commitment, Outcome.REFUSE, ("national_data_opt_out",))
    assert head + commitment.encode() + tail == encode_record(record)
    assert bulk_form.decode_templates(bulk_form.encode_templates([PERMIT, REFUSE])) == [
        PERMIT,
        REFUSE,
    ]
    bulk_form.check_templates([PERMIT, REFUSE])


@pytest.mark.parametrize(
    "bad",
    [
        (PERMIT[0] + b" ", PERMIT[1]),  # not canonical
        (PERMIT[0], PERMIT[1] + b"x"),  # trailing bytes
        (b'{"decision":"permit","citizen":"', b'","reasons":[],"v":1}'),  # keys out of order
        (b"", PERMIT[0] + PERMIT[1]),  # the commitment elsewhere
    ],
)
def test_a_template_that_is_not_its_records_own_is_refused(bad: tuple[bytes, bytes]) -> None:
    with pytest.raises(FormError):
        bulk_form.check_templates([PERMIT, bad])


@pytest.mark.parametrize("data", [b"", b"[]", b"{}", b"[[1, 2]]", b"[['a']]", b"not json"])
def test_malformed_templates_are_refused(data: bytes) -> None:
    with pytest.raises(FormError):
        bulk_form.decode_templates(data)


@given(
    numbers=st.lists(st.integers(0, 1), min_size=1, max_size=256),
    seed=st.binary(min_size=32, max_size=32),
)
@settings(max_examples=100)
def test_a_row_unpacks_to_what_was_packed_and_hashes_as_its_records(
    numbers: list[int], seed: bytes
) -> None:
    commitments = b"".join(
        merkle.leaf_hash(seed + bytes([i % 256, i // 256])) for i in range(len(numbers))
    )
    row = bulk_form.pack_row(bytes(numbers), commitments)
    assert bulk_form.unpack_row(row, 2) == (numbers, commitments)
    inputs = bulk_form.record_inputs([PERMIT, REFUSE], numbers, commitments)
    assert inputs == [
        encode_record(
            CitizenRecord(
                commitments[32 * i : 32 * i + 32].hex(),
                Outcome.REFUSE if n else Outcome.PERMIT,
                ("national_data_opt_out",) if n else (),
            )
        )
        for i, n in enumerate(numbers)
    ]
    hashes = bulk_form.leaf_hashes([PERMIT, REFUSE], numbers, commitments)
    assert hashes == [merkle.leaf_hash(data) for data in inputs]


def test_a_row_of_wide_template_numbers_unpacks() -> None:
    commitments = os.urandom(64)
    row = bulk_form.pack_row((300).to_bytes(2, "big") + (2).to_bytes(2, "big"), commitments)
    assert bulk_form.unpack_row(row, 301) == ([300, 2], commitments)


ROW = bulk_form.pack_row(bytes([0, 1]), bytes(64))


@pytest.mark.parametrize(
    ("data", "templates"),
    [
        (ROW, 1),  # names template 1 of one
        (ROW[:-1], 2),  # a byte short
        (ROW + b"\x00", 2),  # a byte long
        (b"{" + ROW[1:], 2),  # not the packed mark
        (bulk_form.MARK, 2),  # no records
        (bulk_form.pack_row(bytes(257), bytes(32 * 257)), 2),  # more than a row holds
    ],
)
def test_a_row_that_is_not_packed_records_is_refused(data: bytes, templates: int) -> None:
    with pytest.raises(FormError):
        bulk_form.unpack_row(data, templates)


def test_row_roots_are_the_roots_of_each_full_256_leaves() -> None:
    hashes = [merkle.leaf_hash(bytes([i % 256, i // 256])) for i in range(700)]
    roots = bulk_form.bundle_roots(hashes)
    assert roots == [merkle.root_of_hashes(hashes[k : k + 256]) for k in (0, 256)]
    assert bulk_form.bundle_roots(hashes[:255]) == []


def _index_row(pairs: list[tuple[bytes, int]]) -> bytes:
    return b"".join(key + position.to_bytes(4, "big") for key, position in sorted(pairs))


@pytest.mark.parametrize(
    ("pairs", "key", "positions"),
    [
        ([], b"abcd", []),
        ([(b"abcd", 7)], b"abcd", [7]),
        ([(b"abcd", 7)], b"abce", []),
        ([(b"aaaa", 1), (b"abcd", 9), (b"abcd", 3), (b"zzzz", 2)], b"abcd", [3, 9]),
        ([(b"aaaa", 1), (b"zzzz", 2)], b"mmmm", []),
        (
            [(b"\x00\x00\x00\x00", 0), (b"\xff\xff\xff\xff", 4_294_967_295)],
            b"\xff" * 4,
            [4_294_967_295],
        ),
    ],
)
def test_an_index_row_gives_every_position_under_a_key(
    pairs: list[tuple[bytes, int]], key: bytes, positions: list[int]
) -> None:
    assert bulk_form.find_positions(_index_row(pairs), key) == positions


def test_a_key_that_spans_two_pairs_is_no_match() -> None:
    row = b"zzab" + b"cd\x00\x01" + b"abcd" + (9).to_bytes(4, "big")
    assert bulk_form.find_positions(row, b"abcd") == [9]
    assert bulk_form.find_positions(row[:8], b"abcd") == []


def test_a_tag_is_filed_by_its_first_two_bytes_and_keyed_by_the_next_four() -> None:
    assert bulk_form.bucket_and_key(bytes(range(16))) == (0x0001, bytes([2, 3, 4, 5]))
    with pytest.raises(FormError):
        bulk_form.find_positions(b"\x00" * 7, b"abcd")
