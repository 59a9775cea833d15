"""RFC 6962/9162 Merkle maths: published test vectors, independent verifiers, random trees."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_support import rfc_mth, rfc_verify_consistency, rfc_verify_inclusion
from trusthub.ledger import merkle, tiles

# The 8-leaf reference tree of transparency-dev/merkle (proof/verify_test.go), itself taken from
# the RFC 6962 test data of google/certificate-transparency.
LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# (leaf number counted from 1, tree size, path)
INCLUSION = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (3, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        2,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]
EMPTY_ROOT = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def node_lookup(hashes: list[bytes]) -> merkle.NodeLookup:
    """Nodes of a tree held as leaf hashes, computed from scratch: the slow reference store."""

    def lookup(level: int, index: int) -> bytes:
        return merkle.root_of_hashes(hashes[index << level : (index + 1) << level])

    return lookup


def test_leaf_and_node_hashing_follow_rfc_9162() -> None:
    assert merkle.leaf_hash(b"").hex() == ROOTS[0]
    assert merkle.EMPTY_ROOT.hex() == EMPTY_ROOT
    left, right = merkle.leaf_hash(b"a"), merkle.leaf_hash(b"b")
    assert merkle.node_hash(left, right) == rfc_mth([b"a", b"b"])


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_match_the_reference_tree(size: int) -> None:
    hashes = [merkle.leaf_hash(leaf) for leaf in LEAVES[:size]]
    assert merkle.root_of_hashes(hashes).hex() == ROOTS[size - 1]
    assert merkle.range_hash(0, size, node_lookup(hashes)).hex() == ROOTS[size - 1]
    assert rfc_mth(LEAVES[:size]).hex() == ROOTS[size - 1]


def test_empty_tree_root() -> None:
    assert merkle.root_of_hashes([]).hex() == EMPTY_ROOT


@pytest.mark.parametrize(("leaf", "size", "path"), INCLUSION)
def test_inclusion_proofs_match_the_reference_vectors(
    leaf: int, size: int, path: list[str]
) -> None:
    hashes = [merkle.leaf_hash(x) for x in LEAVES[:size]]
    ranges = merkle.inclusion_ranges(leaf - 1, size)
    produced = merkle.hash_ranges(ranges, node_lookup(hashes))
    assert [h.hex() for h in produced] == path
    root = bytes.fromhex(ROOTS[size - 1])
    assert rfc_verify_inclusion(leaf - 1, size, hashes[leaf - 1], produced, root)
    assert merkle.verify_inclusion(leaf - 1, size, hashes[leaf - 1], produced, root)


@pytest.mark.parametrize(("first", "second", "path"), CONSISTENCY)
def test_consistency_proofs_match_the_reference_vectors(
    first: int, second: int, path: list[str]
) -> None:
    hashes = [merkle.leaf_hash(x) for x in LEAVES[:second]]
    produced = merkle.hash_ranges(merkle.consistency_ranges(first, second), node_lookup(hashes))
    assert [h.hex() for h in produced] == path
    old, new = bytes.fromhex(ROOTS[first - 1]), bytes.fromhex(ROOTS[second - 1])
    assert merkle.verify_consistency(first, second, produced, old, new)
    if first < second:
        assert rfc_verify_consistency(first, second, old, new, produced)


def _corruptions(path: list[bytes]) -> list[list[bytes]]:
    """The tamperings transparency-dev/merkle's tests apply to a proof."""
    bad = [path[:-1], [*path, b"\x00" * 32], [b"\x00" * 32, *path], [*path, path[0]]]
    for i in range(len(path)):
        flipped = list(path)
        flipped[i] = bytes([flipped[i][0] ^ 8]) + flipped[i][1:]
        bad.append(flipped)
    return [p for p in bad if p != path]


@pytest.mark.parametrize(("leaf", "size", "path"), INCLUSION[1:])
def test_tampered_inclusion_proofs_fail(leaf: int, size: int, path: list[str]) -> None:
    proof = [bytes.fromhex(h) for h in path]
    hashes = [merkle.leaf_hash(x) for x in LEAVES[:size]]
    root = bytes.fromhex(ROOTS[size - 1])
    index, leaf_hash = leaf - 1, hashes[leaf - 1]
    for bad in _corruptions(proof):
        assert not rfc_verify_inclusion(index, size, leaf_hash, bad, root)
        assert not merkle.verify_inclusion(index, size, leaf_hash, bad, root)
    for wrong_index, wrong_size in [(index + 1, size), (index ^ 2, size), (index, size * 2)]:
        if wrong_index < wrong_size:
            assert not merkle.verify_inclusion(wrong_index, wrong_size, leaf_hash, proof, root)
    assert not merkle.verify_inclusion(index, size, b"WrongLeaf", proof, root)
    assert not merkle.verify_inclusion(index, size, leaf_hash, proof, merkle.EMPTY_ROOT)


@pytest.mark.parametrize(("first", "second", "path"), CONSISTENCY[1:])
def test_tampered_consistency_proofs_fail(first: int, second: int, path: list[str]) -> None:
    proof = [bytes.fromhex(h) for h in path]
    old, new = bytes.fromhex(ROOTS[first - 1]), bytes.fromhex(ROOTS[second - 1])
    for bad in [*_corruptions(proof), []]:
        assert not rfc_verify_consistency(first, second, old, new, bad)
        assert not merkle.verify_consistency(first, second, bad, old, new)
    assert not merkle.verify_consistency(first, second, proof, new, old)
    assert not merkle.verify_consistency(first, second, proof, b"WrongRoot", new)
    if first > 1:
        assert not merkle.verify_consistency(first - 1, second, proof, old, new)
    assert not merkle.verify_consistency(first, second * 2, proof, old, new)


def test_impossible_proofs_are_refused() -> None:
    with pytest.raises(merkle.ProofError):
        merkle.inclusion_ranges(8, 8)
    with pytest.raises(merkle.ProofError):
        merkle.consistency_ranges(0, 8)
    with pytest.raises(merkle.ProofError):
        merkle.consistency_ranges(9, 8)
    assert merkle.verify_consistency(0, 5, [], merkle.EMPTY_ROOT, b"any")
    assert not merkle.verify_consistency(3, 2, [], b"a", b"b")


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_random_trees_prove_inclusion_and_consistency(data: st.DataObject) -> None:
    size = data.draw(st.integers(min_value=1, max_value=600), label="size")
    leaves = [i.to_bytes(4, "big") for i in range(size)]
    hashes = [merkle.leaf_hash(x) for x in leaves]
    lookup = node_lookup(hashes)
    root = merkle.root_of_hashes(hashes)
    assert root == rfc_mth(leaves)

    index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")
    path = merkle.hash_ranges(merkle.inclusion_ranges(index, size), lookup)
    assert rfc_verify_inclusion(index, size, hashes[index], path, root)
    if path:
        position = data.draw(st.integers(min_value=0, max_value=len(path) - 1), label="flip")
        tampered = list(path)
        tampered[position] = bytes([tampered[position][0] ^ 1]) + tampered[position][1:]
        assert not rfc_verify_inclusion(index, size, hashes[index], tampered, root)
        assert not rfc_verify_inclusion(index, size, hashes[index], path[:-1], root)

    first = data.draw(st.integers(min_value=1, max_value=size), label="first")
    old_root = merkle.root_of_hashes(hashes[:first])
    proof = merkle.hash_ranges(merkle.consistency_ranges(first, size), lookup)
    assert merkle.verify_consistency(first, size, proof, old_root, root)
    if first < size:
        assert rfc_verify_consistency(first, size, old_root, root, proof)
        position = data.draw(st.integers(min_value=0, max_value=len(proof) - 1), label="flip2")
        tampered = list(proof)
        tampered[position] = bytes([tampered[position][0] ^ 1]) + tampered[position][1:]
        assert not rfc_verify_consistency(first, size, old_root, root, tampered)
        assert not merkle.verify_consistency(first, size, tampered, old_root, root)
        other = merkle.leaf_hash(b"forged")
        assert not rfc_verify_consistency(first, size, other, root, proof)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=700), min_size=1, max_size=6))
def test_tiles_grown_in_batches_hold_the_same_nodes(batches: list[int]) -> None:
    """However the leaves arrive, the tiles hold every perfect subtree and the right root."""
    edge: dict[int, tiles.Rows] = {}
    stored: dict[tiles.TileKey, tiles.Rows] = {}
    hashes: list[bytes] = []
    for count in batches:
        new = [
            merkle.leaf_hash(bytes([len(hashes) % 251, i % 256, i // 256])) for i in range(count)
        ]
        stored.update(tiles.extend(edge, len(hashes), new))
        hashes += new
        lookup = tiles.lookup(stored)
        assert merkle.range_hash(0, len(hashes), lookup) == merkle.root_of_hashes(hashes)
    reference = node_lookup(hashes)
    lookup = tiles.lookup(stored)
    for level in range(len(hashes).bit_length()):
        for index in range(len(hashes) >> level):
            assert lookup(level, index) == reference(level, index)
    for rows in stored.values():
        assert tiles.decode_tile(tiles.encode_tile(rows), len(rows[0])) == rows


@given(st.lists(st.binary().map(lambda b: b.replace(b"\n", b"")), max_size=300))
def test_a_bundle_gives_back_each_entry_behind_the_leaf_prefix(entries: list[bytes]) -> None:
    """The verify path's one-split decoding agrees with the plain one for any entries."""
    data = tiles.encode_bundle(entries)
    assert tiles.bundle_leaf_inputs(data) == [merkle.LEAF_PREFIX + e for e in entries]
    assert [merkle.leaf_hash(e) for e in tiles.decode_bundle(data)] == [
        hashlib.sha256(x).digest() for x in tiles.bundle_leaf_inputs(data)
    ]


def test_a_bundle_cut_short_of_its_last_newline_is_refused() -> None:
    with pytest.raises(tiles.LayoutError):
        tiles.bundle_leaf_inputs(b'{"a":1}\n{"b":2}')
