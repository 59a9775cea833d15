"""RFC 9162 Merkle tree hashing and proofs as pure functions, so the maths is table-tested alone.

Every proof element is the hash of a range of leaves ``[start, end)``; a range is either a
perfect subtree, stored as a node ``(level, index)``, or is folded from perfect subtrees. Proof
builders name the ranges; storage fetches the nodes; these functions do the hashing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from hashlib import sha256

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = sha256(b"").digest()

Node = tuple[int, int]
"""A perfect subtree ``(level, index)``: leaves ``[index << level, (index + 1) << level)``."""

NodeLookup = Callable[[int, int], bytes]


class ProofError(ValueError):
    """A proof was asked for sizes or indices the tree cannot answer."""


def leaf_hash(leaf_input: bytes) -> bytes:
    """RFC 9162 §2.1.1: the 0x00 prefix keeps leaves and nodes from being confused."""
    return sha256(LEAF_PREFIX + leaf_input).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(NODE_PREFIX + left + right).digest()


def split_point(size: int) -> int:
    """The largest power of two strictly smaller than ``size`` (RFC 9162's k), for size >= 2."""
    return 1 << ((size - 1).bit_length() - 1)


def root_of_hashes(hashes: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes: pair level by level, carrying an odd node up, as RFC 9162 does."""
    if not hashes:
        return EMPTY_ROOT
    level = list(hashes)
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def is_perfect(start: int, end: int) -> bool:
    size = end - start
    return size > 0 and size & (size - 1) == 0 and start % size == 0


def perfect_node(start: int, end: int) -> Node:
    level = (end - start).bit_length() - 1
    return level, start >> level


def range_nodes(start: int, end: int) -> list[Node]:
    """The perfect subtrees RFC 9162 folds to hash ``[start, end)``, left to right."""
    nodes: list[Node] = []
    _collect(start, end, nodes)
    return nodes


def _collect(start: int, end: int, out: list[Node]) -> None:
    if end <= start:
        return
    if is_perfect(start, end):
        out.append(perfect_node(start, end))
        return
    k = split_point(end - start)
    _collect(start, start + k, out)
    _collect(start + k, end, out)


def range_hash(start: int, end: int, node: NodeLookup) -> bytes:
    """MTH(D[start:end]) from stored perfect subtrees, following RFC 9162's split at k."""
    if end <= start:
        raise ProofError("an empty range has no subtree hash")
    if is_perfect(start, end):
        return node(*perfect_node(start, end))
    k = split_point(end - start)
    return node_hash(range_hash(start, start + k, node), range_hash(start + k, end, node))


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """RFC 9162 §2.1.3.1 PATH(m, D[n]) as leaf ranges, bottom-most sibling first."""
    if not 0 <= index < size:
        raise ProofError(f"index {index} is not in a tree of size {size}")
    siblings: list[tuple[int, int]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = split_point(hi - lo)
        if index < lo + k:
            siblings.append((lo + k, hi))
            hi = lo + k
        else:
            siblings.append((lo, lo + k))
            lo += k
    siblings.reverse()
    return siblings


def consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """RFC 9162 §2.1.4.1 PROOF(m, D[n]) as leaf ranges, in the order the RFC lists them."""
    if not 0 < first <= second:
        raise ProofError(f"no consistency proof from size {first} to size {second}")
    if first == second:
        return []
    ranges: list[tuple[int, int]] = []
    lo, hi, m, whole = 0, second, first, True
    while m != hi - lo:
        k = split_point(hi - lo)
        if m <= k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo, m, whole = lo + k, m - k, False
    if not whole:
        ranges.append((lo, hi))
    ranges.reverse()
    return ranges


def nodes_for(ranges: Iterable[tuple[int, int]]) -> set[Node]:
    """Every stored node needed to hash the given ranges: fetched in one round trip."""
    needed: set[Node] = set()
    for start, end in ranges:
        needed.update(range_nodes(start, end))
    return needed


def hash_ranges(ranges: Iterable[tuple[int, int]], node: NodeLookup) -> list[bytes]:
    return [range_hash(start, end, node) for start, end in ranges]


def root_from_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes:
    """Recompute the root an inclusion path implies, splitting it at the tree's right border.

    Written as the inner/border decomposition transparency logs use, so that it is not the same
    code as the RFC's step-by-step verifier in the tests: the two check each other.
    """
    if not 0 <= index < size:
        raise ProofError(f"index {index} is not in a tree of size {size}")
    inner = (index ^ (size - 1)).bit_length()
    border = bin(index >> inner).count("1")
    if len(path) != inner + border:
        raise ProofError(f"an inclusion path here has {inner + border} hashes, not {len(path)}")
    result = leaf
    for depth, sibling in enumerate(path[:inner]):
        left = (index >> depth) & 1
        result = node_hash(sibling, result) if left else node_hash(result, sibling)
    for sibling in path[inner:]:
        result = node_hash(sibling, result)
    return result


def verify_inclusion(
    index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes
) -> bool:
    try:
        return root_from_inclusion(index, size, leaf, path) == root
    except ProofError:
        return False


def verify_consistency(
    first: int, second: int, path: Sequence[bytes], first_root: bytes, second_root: bytes
) -> bool:
    """Check that the tree of size ``second`` extends the tree of size ``first`` (append-only)."""
    if first == 0:
        return not path and first_root == EMPTY_ROOT
    if not 0 < first <= second:
        return False
    if first == second:
        return not path and first_root == second_root
    if not path:
        return False
    # The proof is the tail of an inclusion path for leaf first-1 in the second tree, starting at
    # the level where the first tree's rightmost perfect subtree ends.
    inner = ((first - 1) ^ (second - 1)).bit_length()
    border = bin((first - 1) >> inner).count("1")
    shift = (first & -first).bit_length() - 1
    inner -= shift
    seed_is_root = first == 1 << shift  # a perfect first tree is its own seed
    seed = first_root if seed_is_root else path[0]
    rest = path if seed_is_root else path[1:]
    if len(rest) != inner + border:
        return False
    mask = (first - 1) >> shift
    old_hash = new_hash = seed
    for depth, sibling in enumerate(rest[:inner]):
        if (mask >> depth) & 1:
            old_hash = node_hash(sibling, old_hash)
            new_hash = node_hash(sibling, new_hash)
        else:
            new_hash = node_hash(new_hash, sibling)
    for sibling in rest[inner:]:
        old_hash = node_hash(sibling, old_hash)
        new_hash = node_hash(sibling, new_hash)
    return old_hash == first_root and new_hash == second_root
