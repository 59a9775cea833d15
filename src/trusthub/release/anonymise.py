"""Turn a source table and a k-anonymity specification into a released table and its risk report.

No files are read or written here: the service hands in the table and the hierarchy rows and
writes what comes back, so a specification that cannot be met fails before any output exists.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trusthub.release import hierarchy as hier
from trusthub.release.criteria import PrivacyModel, emd_equal, emd_ordered, entropies, group
from trusthub.release.frequency import Encoded, Evaluator
from trusthub.release.lattice import optimal
from trusthub.release.risk import Thresholds, checks, information_loss, risks, size_histogram
from trusthub.release.schemas import (
    AnonymityModel,
    BandsHierarchy,
    CsvHierarchy,
    DatesHierarchy,
    PostcodeHierarchy,
    ReleaseSpec,
    Role,
)
from trusthub.release.sources import SpecError

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class Anonymised:
    """Everything a k-anonymity release produces; ``suppressed_rows`` stays with the releaser."""

    table: pa.Table
    node: dict[str, int]
    suppressed_rows: np.ndarray
    report: dict[str, Any]


def model_of(privacy: AnonymityModel) -> PrivacyModel:
    return PrivacyModel(
        k=privacy.k,
        l=privacy.l_diversity.l if privacy.l_diversity else None,
        l_variant=privacy.l_diversity.variant if privacy.l_diversity else "distinct",
        t=privacy.t_closeness.t if privacy.t_closeness else None,
        t_distance=privacy.t_closeness.distance if privacy.t_closeness else "equal",
        suppression_limit=privacy.suppression_limit,
    )


def check_fields(spec: ReleaseSpec, columns: Sequence[str]) -> None:
    """Every field in the spec exists in the source and every source field has a role."""
    unknown = [n for n in spec.fields if n not in columns]
    if unknown:
        raise SpecError(
            f"unknown field(s) {', '.join(unknown)}: the source has {', '.join(columns)}",
            field="fields",
        )
    unlisted = [c for c in columns if c not in spec.fields]
    if unlisted:
        raise SpecError(
            f"give every source field a role; missing: {', '.join(unlisted)} "
            "(use role: direct_identifier with action: drop to leave a field out)",
            field="fields",
        )


def _encode(column: pa.ChunkedArray) -> tuple[np.ndarray, list[Any]]:
    """Base codes for every row and the distinct value behind each code (None for missing)."""
    encoded = pc.dictionary_encode(column.combine_chunks())
    values = encoded.dictionary.to_pylist()
    indices = encoded.indices
    codes = indices.fill_null(len(values)).to_numpy(zero_copy_only=False).astype(np.int32)
    if indices.null_count:
        values.append(None)
    return codes, values


def build_hierarchy(
    name: str, spec: ReleaseSpec, values: list[Any], rows: Sequence[Sequence[str]] | None
) -> hier.Hierarchy:
    """The field's hierarchy over the values present, or a SpecError saying what to fix."""
    chosen = spec.fields[name].hierarchy
    try:
        if isinstance(chosen, CsvHierarchy):
            return hier.tree(values, rows or [])
        if isinstance(chosen, BandsHierarchy):
            return hier.intervals(values, chosen.widths, origin=chosen.origin)
        if isinstance(chosen, DatesHierarchy):
            return hier.dates(values, chosen.levels)
        if isinstance(chosen, PostcodeHierarchy):
            return hier.postcodes(values)
        return hier.suppress_only(values)
    except hier.HierarchyError as error:
        raise SpecError(f"field '{name}': {error}", field=f"fields.{name}.hierarchy") from error


def _ordered(values: list[Any]) -> list[int]:
    """Rank of each distinct value: numerically if all are numbers, else as text."""

    def as_number(v: Any) -> float | None:
        try:
            return float(v)
        except (TypeError, ValueError):
            return None

    numbers = [as_number(v) for v in values]
    if all(n is not None for n in numbers):
        order = sorted(range(len(values)), key=lambda i: numbers[i] or 0.0)
    else:
        order = sorted(range(len(values)), key=lambda i: str(values[i]))
    rank = [0] * len(values)
    for position, i in enumerate(order):
        rank[i] = position
    return rank


def encode_sensitive(column: pa.ChunkedArray, ordered: bool) -> tuple[np.ndarray, np.ndarray]:
    """Codes (ranks when ordered) and the reference distribution over the whole source."""
    codes, values = _encode(column)
    if ordered:
        codes = np.asarray(_ordered(values), dtype=np.int32)[codes]
    reference = np.bincount(codes, minlength=len(values)) / max(len(codes), 1)
    return codes, reference


def pseudonymise(column: pa.ChunkedArray, key: bytes) -> pa.Array:
    """Keyed HMAC-SHA256 pseudonyms: the same value gives the same pseudonym for this key."""
    codes, values = _encode(column)
    digests = [
        None if v is None else hmac.new(key, str(v).encode(), hashlib.sha256).hexdigest()[:32]
        for v in values
    ]
    return pa.array(digests, pa.string()).take(pa.array(codes))


def field_key(master: bytes, recipient: str, field: str) -> bytes:
    """One pseudonym key per recipient and field, so two recipients cannot link their copies."""
    label = f"trusthub-release-pseudonym:{recipient}:{field}".encode()
    return hmac.new(master, label, hashlib.sha256).digest()


def anonymise(
    spec: ReleaseSpec,
    table: pa.Table,
    hierarchy_rows: dict[str, list[list[str]]],
    pseudonym_key: bytes,
    progress: Progress | None = None,
) -> Anonymised:
    """Search the lattice for the optimal generalisation and build the release and its report."""
    assert isinstance(spec.privacy, AnonymityModel)
    note = progress or (lambda _stage, _done: None)
    check_fields(spec, table.column_names)
    model = model_of(spec.privacy)
    n = table.num_rows
    if n == 0:
        raise SpecError("the source has no records", field="source")
    if model.k > n:
        raise SpecError(
            f"k = {model.k} is larger than the table ({n} records): lower k", field="privacy.k"
        )
    qis = spec.names(Role.QUASI_IDENTIFIER)
    sensitive = spec.names(Role.SENSITIVE)
    uses_sensitive = model.l is not None or model.t is not None
    note("encoding", 0.05)
    hierarchies, qi_codes = [], []
    for name in qis:
        codes, values = _encode(table.column(name))
        hierarchies.append(build_hierarchy(name, spec, values, hierarchy_rows.get(name)))
        qi_codes.append(codes)
    ordered = model.t is not None and model.t_distance == "ordered"
    sens = [encode_sensitive(table.column(s), ordered) for s in sensitive] if uses_sensitive else []
    encoded = Encoded(
        hierarchies=hierarchies,
        qi_codes=qi_codes,
        sensitive_codes=[c for c, _ in sens],
        references=[r for _, r in sens],
    )
    note("searching", 0.15)
    started = time.perf_counter()
    evaluator = Evaluator(encoded, model)
    result = optimal(encoded.heights, evaluator.lower_bounds, evaluator.evaluate)
    seconds = time.perf_counter() - started
    if result.node is None:
        raise SpecError(
            "no generalisation meets the privacy model within the suppression limit: raise "
            "suppression_limit, lower k (or ℓ, or loosen t), or give hierarchies more levels",
            field="privacy",
        )
    note("building the release", 0.7)
    node = result.node
    level_codes, found = evaluator.rows_at(node)
    kept = ~found.suppressed_rows
    columns: dict[str, pa.Array] = {}
    for name in table.column_names:
        role = spec.fields[name]
        if role.role is Role.QUASI_IDENTIFIER:
            i = qis.index(name)
            labels = pa.array(hierarchies[i].labels[node[i]], pa.string())
            columns[name] = pa.DictionaryArray.from_arrays(pa.array(level_codes[i]), labels)
        elif role.role is Role.DIRECT_IDENTIFIER:
            if role.action == "pseudonymise":
                key = field_key(pseudonym_key, spec.recipient, name)
                columns[name] = pseudonymise(table.column(name), key)
        else:
            columns[name] = table.column(name).combine_chunks()
    everything = pa.table(columns)
    order = np.flatnonzero(kept)
    order = order[np.random.default_rng(secrets.randbits(64)).permutation(len(order))]
    released = everything.take(pa.array(order))
    note("measuring risk", 0.85)
    report = _report(
        spec,
        model,
        encoded,
        evaluator,
        node,
        found.classes,
        kept,
        result.loss,
        seconds,
        result.evaluated,
        result.lattice_size,
    )
    return Anonymised(
        table=released,
        node={name: int(level) for name, level in zip(qis, node, strict=True)},
        suppressed_rows=np.flatnonzero(~kept),
        report=report,
    )


def _measured(
    model: PrivacyModel, encoded: Encoded, classes: np.ndarray, kept: np.ndarray
) -> dict[str, Any]:
    """k, ℓ and t of the released classes, as the report states them."""
    ids, first = group(
        [classes[kept]], [int(classes.max()) + 1 if len(classes) else 1], int(kept.sum())
    )
    n_classes = len(first)
    weights = np.ones(len(ids), dtype=np.int64)
    sizes = np.bincount(ids, minlength=n_classes).astype(np.float64)
    out: dict[str, Any] = {"k": int(sizes.min()) if n_classes else 0}
    distinct, entropy_l, t_values = [], [], []
    for codes, reference in zip(encoded.sensitive_codes, encoded.references, strict=True):
        codes = codes[kept]
        m = len(reference)
        pairs = np.unique(ids * m + codes)
        distinct.append(int(np.bincount(pairs // m, minlength=n_classes).min()))
        entropy_l.append(float(math.exp(entropies(ids, codes, weights, m, sizes).min())))
        measure = emd_ordered if model.t_distance == "ordered" else emd_equal
        t_values.append(float(measure(ids, codes, weights, sizes, reference).max()))
    if distinct:
        out["l_distinct"] = min(distinct)
        out["l_entropy"] = min(entropy_l)
        out["t"] = max(t_values)
    return out


def _holds(model: PrivacyModel, measured: dict[str, Any]) -> bool:
    if measured["k"] < model.k:
        return False
    if model.l is not None:
        value = measured["l_distinct"] if model.l_variant == "distinct" else measured["l_entropy"]
        if value < model.l - 1e-9:
            return False
    return not (model.t is not None and measured["t"] > model.t + 1e-9)


def _report(
    spec: ReleaseSpec,
    model: PrivacyModel,
    encoded: Encoded,
    evaluator: Evaluator,
    node: tuple[int, ...],
    classes: np.ndarray,
    kept: np.ndarray,
    loss: float,
    seconds: float,
    evaluated: int,
    lattice_size: int,
) -> dict[str, Any]:
    assert isinstance(spec.privacy, AnonymityModel)
    n = len(kept)
    suppressed = int((~kept).sum())
    sizes_all = np.bincount(classes).astype(np.float64)
    kept_classes = np.unique(classes[kept])
    released_sizes = sizes_all[kept_classes]
    measured = _measured(model, encoded, classes, kept)
    qis = spec.names(Role.QUASI_IDENTIFIER)
    heights = encoded.heights
    thresholds = Thresholds(
        prosecutor_max=spec.risk_thresholds.prosecutor_max or 1.0 / model.k,
        journalist_max=spec.risk_thresholds.journalist_max or 1.0 / model.k,
        marketer_max=spec.risk_thresholds.marketer_max or 1.0 / model.k,
        suppression_limit=model.suppression_limit,
    )
    measured_risk = risks(released_sizes, released_sizes)
    results = checks(measured_risk, suppressed / n, _holds(model, measured), thresholds)
    privacy = spec.privacy
    return {
        "release": spec.name,
        "recipient": spec.recipient,
        "agreement": spec.agreement,
        "source": spec.source_name,
        "model": {
            "k": model.k,
            "l_diversity": privacy.l_diversity.model_dump() if privacy.l_diversity else None,
            "t_closeness": privacy.t_closeness.model_dump() if privacy.t_closeness else None,
            "suppression_limit": model.suppression_limit,
            "information_loss": privacy.information_loss,
            "t_reference": "the distribution of each sensitive field in the whole source",
        },
        "generalisation": {
            name: {"level": int(node[i]), "height": heights[i]} for i, name in enumerate(qis)
        },
        "records": {
            "source": n,
            "released": n - suppressed,
            "suppressed": suppressed,
            "suppressed_fraction": suppressed / n,
        },
        "classes": {
            "count": len(released_sizes),
            "min_size": int(released_sizes.min()) if len(released_sizes) else 0,
            "max_size": int(released_sizes.max()) if len(released_sizes) else 0,
            "mean_size": float(released_sizes.mean()) if len(released_sizes) else 0.0,
            "median_size": float(np.median(released_sizes)) if len(released_sizes) else 0.0,
            "size_histogram": size_histogram(released_sizes),
        },
        "measured": measured,
        "risk": {**measured_risk, "population": "the source table"},
        "information_loss": information_loss(
            loss, list(node), heights, released_sizes, n, suppressed, model.k
        ),
        "search": {
            "algorithm": "Flash-style optimal search with loss lower bounds",
            "lattice_size": lattice_size,
            "evaluated": evaluated,
            "seconds": round(seconds, 3),
        },
        "checks": results,
        "passed": all(c["passed"] for c in results),
    }
