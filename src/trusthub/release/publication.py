"""What an open release hands the catalogue, decided without I/O: the table and its dictionary.

Each released column is classified by its role (a kept field by its registry classification
where the source is registered, else as sensitive); the open-data gate then decides on those
classifications and the risk report's verdict, the one rule every publication passes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from trusthub.opendata import gate
from trusthub.opendata.models import Source
from trusthub.opendata.schemas import COLUMN, FieldSpec
from trusthub.registry.models import FieldClassification
from trusthub.release.schemas import ReleaseSpec, Role

BY_ROLE = {
    Role.DIRECT_IDENTIFIER: FieldClassification.DIRECT_IDENTIFIER,
    Role.QUASI_IDENTIFIER: FieldClassification.QUASI_IDENTIFIER,
    Role.SENSITIVE: FieldClassification.SENSITIVE,
    Role.KEEP: FieldClassification.SENSITIVE,
}
STATISTICS_COLUMNS = ("statistic", "field", "category", "value", "epsilon", "delta")
_COLUMN = re.compile(COLUMN)


def catalogue_name(column: str) -> str:
    """The catalogue's column name: letters, digits and _ (``salary-class``: ``salary_class``)."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", column)
    return name if not name[:1].isdigit() else f"_{name}"


def unpublishable_names(columns: Sequence[str]) -> list[str]:
    """Columns the catalogue cannot name, or that would collide once renamed."""
    renamed = [catalogue_name(c) for c in columns]
    bad = [c for c, n in zip(columns, renamed, strict=True) if not _COLUMN.match(n)]
    bad += [c for c, n in zip(columns, renamed, strict=True) if renamed.count(n) > 1]
    return sorted(set(bad))


def dictionary(
    spec: ReleaseSpec,
    columns: Sequence[str],
    registered: Mapping[str, FieldClassification] | None = None,
) -> list[FieldSpec]:
    """Every released column, classified, under its catalogue name with the original as label."""
    out = []
    for column in columns:
        role = spec.fields[column].role
        classification = BY_ROLE[role]
        if role is Role.KEEP and registered and column in registered:
            classification = registered[column]
        notes = f"{role.value.replace('_', ' ')} in release {spec.name}"
        out.append(
            FieldSpec(
                name=catalogue_name(column),
                classification=classification,
                label=column,
                notes=notes,
            )
        )
    return out


def statistics_dictionary() -> list[FieldSpec]:
    return [
        FieldSpec(name=n, classification=FieldClassification.NON_PERSONAL)
        for n in STATISTICS_COLUMNS
    ]


def statistics_table(statistics: Sequence[Mapping[str, Any]]) -> pa.Table:
    """Differentially private answers, one row per value (a histogram: one per category)."""
    rows: list[dict[str, Any]] = []
    for s in statistics:
        base = {"statistic": s["statistic"], "field": s["field"], "epsilon": s["epsilon"]}
        base["delta"] = s["delta"]
        if "histogram" in s:
            for category, value in s["histogram"].items():
                rows.append({**base, "category": str(category), "value": float(value)})
        else:
            rows.append({**base, "category": None, "value": float(s["value"])})
    schema = pa.schema(
        [
            ("statistic", pa.string()),
            ("field", pa.string()),
            ("category", pa.string()),
            ("value", pa.float64()),
            ("epsilon", pa.float64()),
            ("delta", pa.float64()),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)


def renamed(table: pa.Table) -> pa.Table:
    return table.rename_columns([catalogue_name(c) for c in table.column_names])


def verdict(
    resource: str, fields: Sequence[FieldSpec], passed: bool, failed_checks: Sequence[str]
) -> gate.Decision:
    """The open-data gate's decision, with the risk checks that failed named."""
    decision = gate.publishable(
        {resource: {f.name: f.classification for f in fields}}, Source.RELEASE, passed
    )
    if decision.allowed or not failed_checks:
        return decision
    return gate.Decision(
        allowed=False,
        reasons=(*decision.reasons, "failed checks: " + ", ".join(failed_checks)),
    )


def failed_checks(report: Mapping[str, Any]) -> list[str]:
    return [str(c["name"]) for c in report.get("checks", []) if not c["passed"]]
