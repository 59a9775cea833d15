"""The release part's one action layer: the API routes and the CLI call these functions.

A release is checked whole before anything is written — the specification, the source, every
hierarchy, the privacy model and any budget — and its outputs go to a hidden folder beside the
target that is renamed into place at the end, so a failed release leaves nothing half-written.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import yaml
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from trusthub.ledger import service as ledger_service
from trusthub.ledger.runtime import Ledger
from trusthub.ledger.writer import LedgerUnavailable
from trusthub.opendata.models import OpenDataset
from trusthub.opendata.publishing import NotPublishable, publish_release_output
from trusthub.opendata.schemas import FieldSpec as CatalogueField
from trusthub.problems import Conflict, NotFound, Problem
from trusthub.registry.models import Dataset, FieldClassification, Organisation
from trusthub.release import dp, publication
from trusthub.release.anonymise import Anonymised, anonymise
from trusthub.release.citizens import RowCitizens, read_with_citizens
from trusthub.release.models import BudgetSpend, PrivacyBudget, ReleaseRecord
from trusthub.release.recording import LedgerEntry, citizens_of, ledger_decision, purpose_of
from trusthub.release.report import render_html
from trusthub.release.schemas import (
    AnonymityModel,
    BudgetSet,
    BudgetView,
    CsvHierarchy,
    DatasetSource,
    DicomRelease,
    DifferentialPrivacy,
    ReleaseSpec,
    ReleaseView,
    Role,
    SpendView,
)
from trusthub.release.sources import SpecError, read_table_rows, resolve

Progress = Callable[[str, float], None]
BUDGET_TOLERANCE = 1e-9


class LedgerUnreachable(Problem):
    """The release could not be put on the ledger, so nothing was handed over."""

    def __init__(self) -> None:
        super().__init__(
            503,
            "Service Unavailable",
            "The release could not be recorded on the ledger, so nothing was released or "
            "published; try again when the ledger is back.",
            kind="ledger-unavailable",
        )


def _registered_purpose(session: Session, agreement: str) -> tuple[str | None, Any]:
    """The registered agreement's purpose and lawful basis, if the agreement is registered."""
    from trusthub.registry import service as registry

    if agreement == "open":
        return None, None
    try:
        terms = registry.get_agreement(session, agreement).terms
    except NotFound:
        return None, None
    return terms.purpose_category.value, terms.lawful_basis


def _record_release(
    session: Session | None, ledger: Ledger | None, entry: LedgerEntry
) -> dict[str, Any] | None:
    """The one place a release reaches the ledger: before any output is handed over.

    Called before the session writes anything, so that on SQLite the ledger's writer (which
    may share the file) is never kept waiting by this transaction.
    """
    if session is None:
        return None  # an offline run, with no database: nothing is stored or published
    if ledger is None:
        raise LedgerUnreachable()
    purpose, basis = _registered_purpose(session, entry.agreement)
    decision = ledger_decision(
        entry, purpose=purpose_of(entry.agreement, purpose), lawful_basis=basis
    )
    try:
        receipt = ledger_service.record(ledger, decision)
    except LedgerUnavailable as error:
        raise LedgerUnreachable() from error
    return {"index": receipt.index, "leaf_hash": receipt.leaf_hash.hex()}


@dataclass(frozen=True)
class ReleaseOutcome:
    record: ReleaseView
    output: Path
    report: dict[str, Any]
    ledger: dict[str, Any] | None = None
    published: dict[str, Any] | None = None


def _spec_errors(error: ValidationError) -> list[dict[str, Any]]:
    out = []
    for e in error.errors():
        where = ".".join(str(p) for p in e["loc"] if not str(p).endswith("Source")) or "spec"
        out.append({"field": where, "message": str(e["msg"]).removeprefix("Value error, ")})
    return out


def parse_spec(data: str | dict[str, Any]) -> ReleaseSpec:
    """A specification from YAML text or a mapping, with every mistake named by its place."""
    if isinstance(data, str):
        try:
            data = yaml.safe_load(data)
        except yaml.YAMLError as error:
            raise SpecError(f"the specification is not valid YAML: {error}") from error
    if not isinstance(data, dict):
        raise SpecError("the specification must be a mapping of name, source, fields, privacy…")
    try:
        return ReleaseSpec.model_validate(data)
    except ValidationError as error:
        errors = _spec_errors(error)
        fields = ", ".join(sorted({e["field"] for e in errors}))
        raise Problem(
            422,
            "Invalid release specification",
            f"Fix these parts of the specification: {fields}.",
            kind="invalid-release-spec",
            errors=errors,
        ) from error


def load_spec(path: Path) -> ReleaseSpec:
    if not path.is_file():
        raise SpecError(f"no specification at {path}")
    return parse_spec(path.read_text(encoding="utf-8"))


def _hierarchy_rows(spec: ReleaseSpec, base: Path) -> dict[str, list[list[str]]]:
    rows = {}
    for name, field in spec.fields.items():
        if isinstance(field.hierarchy, CsvHierarchy):
            path = resolve(field.hierarchy.path, base)
            if not path.is_file():
                raise SpecError(f"no hierarchy file at {path}", field=f"fields.{name}.hierarchy")
            rows[name] = read_table_rows(path, field.hierarchy.separator)
    return rows


def _check_output(out: Path) -> None:
    if out.exists():
        raise SpecError(f"the output folder {out} already exists: choose a new one", field="out")
    if not out.parent.is_dir():
        raise SpecError(f"the output's parent folder {out.parent} does not exist", field="out")


class _Staging:
    """A hidden folder beside the target, renamed into place only when everything is written."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.path = out.parent / f".{out.name}.partial-{secrets.token_hex(4)}"

    def __enter__(self) -> Path:
        self.path.mkdir()
        return self.path

    def commit(self) -> None:
        os.replace(self.path, self.out)

    def __exit__(self, *exc: object) -> None:
        if self.path.exists():
            shutil.rmtree(self.path, ignore_errors=True)


def _write_table(table: pa.Table, path: Path, fmt: str) -> Path:
    if fmt == "csv":
        target = path.with_suffix(".csv")
        pacsv.write_csv(
            pa.table({n: _as_text(table.column(n)) for n in table.column_names}), target
        )
    else:
        target = path.with_suffix(".parquet")
        pq.write_table(table, target)
    return target


def _as_text(column: pa.ChunkedArray) -> pa.Array:
    """CSV holds text: nested values (lists, structs) are written as JSON."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        return column.combine_chunks().dictionary_decode().cast(pa.string())
    if pa.types.is_nested(kind):
        return pa.array(
            [None if v is None else json.dumps(v, default=str) for v in column.to_pylist()],
            pa.string(),
        )
    return column.combine_chunks().cast(pa.string())


def _write_json(value: Any, path: Path) -> None:
    path.write_text(json.dumps(value, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def _manifest(folder: Path) -> dict[str, str]:
    """SHA-256 of every file, so the recipient can check what arrived."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }


def release_key(configured: str | None) -> bytes:
    """The configured key, or a fresh one so that nothing links across releases."""
    return configured.encode() if configured else secrets.token_bytes(32)


def run_release(
    session: Session | None,
    spec: ReleaseSpec,
    *,
    base: Path,
    out: Path,
    released_by: str,
    key: bytes,
    ledger: Ledger | None = None,
    opendata_dir: Path | None = None,
    progress: Progress | None = None,
) -> ReleaseOutcome:
    """Check, compute, record on the ledger, publish if open, and only then hand the output over.

    With a database (``session``) the ledger is required: the release is on the ledger before
    the output folder appears or the catalogue changes, and a ledger that cannot record stops
    it (503, nothing written). Without one (offline runs in tests and benchmarks) nothing is
    recorded and nothing can be published.
    """
    note = progress or (lambda _stage, _done: None)
    _check_output(out)
    if session is not None and ledger is None:
        raise LedgerUnreachable()
    _check_publication(session, spec, opendata_dir)
    note("reading the source", 0.0)
    hierarchy_rows = _hierarchy_rows(spec, base)
    table, row_citizens = read_with_citizens(spec.source, base, session)
    if isinstance(spec.privacy, AnonymityModel):
        result = anonymise(spec, table, hierarchy_rows, key, progress=note)
        hand = _Handover(session, ledger, spec, out, released_by, opendata_dir, note)
        return hand.anonymised(result, row_citizens)
    return _run_dp(
        session, spec, table, _Handover(session, ledger, spec, out, released_by, opendata_dir, note)
    )


def _check_publication(session: Session | None, spec: ReleaseSpec, data_dir: Path | None) -> None:
    """An open release must be publishable as specified, checked before anything is computed."""
    target = spec.publication
    if target is None:
        return
    if session is None or data_dir is None:
        raise SpecError(
            "open publication needs the database and the open-data folder", field="publication"
        )
    if isinstance(spec.privacy, AnonymityModel):
        kept = [n for n, f in spec.fields.items() if f.role is not Role.DIRECT_IDENTIFIER]
        bad = publication.unpublishable_names(kept)
        if bad:
            raise SpecError(
                "the catalogue names columns with letters, digits and _; these cannot be "
                f"named or collide once renamed: {', '.join(bad)}",
                field="fields",
            )
    organisation = session.scalar(
        select(Organisation).where(Organisation.slug == target.organisation)
    )
    if organisation is None:
        raise SpecError(
            f"no organisation '{target.organisation}' in the registry to publish as",
            field="publication.organisation",
        )
    owner = session.scalar(
        select(OpenDataset.organisation_id).where(OpenDataset.name == target.dataset)
    )
    if owner is not None and owner != organisation.id:
        raise SpecError(
            f"the catalogue dataset '{target.dataset}' is published by another organisation",
            field="publication.dataset",
        )


def _registered_classes(
    session: Session | None, spec: ReleaseSpec
) -> dict[str, FieldClassification] | None:
    if session is None or not isinstance(spec.source, DatasetSource):
        return None
    organisation, slug = spec.source.dataset.split("/", 1)
    dataset = session.scalar(
        select(Dataset)
        .join(Organisation)
        .where(Organisation.slug == organisation, Dataset.slug == slug)
    )
    return None if dataset is None else {f.name: f.classification for f in dataset.fields}


@dataclass
class _Handover:
    """Everything between a computed release and its recipient: ledger, record, catalogue."""

    session: Session | None
    ledger: Ledger | None
    spec: ReleaseSpec
    out: Path
    released_by: str
    opendata_dir: Path | None
    note: Progress

    def entry(self, kind: str, passed: bool, **more: Any) -> LedgerEntry:
        return LedgerEntry(
            kind=kind,
            release=self.spec.name,
            actor=self.released_by,
            recipient=self.spec.recipient,
            agreement=self.spec.agreement,
            source=self.spec.source_name,
            passed=passed,
            **more,
        )

    def refuse(self, entry: LedgerEntry, problem: Problem) -> Problem:
        """Put a refusal on the ledger; the caller raises the problem, having written nothing."""
        _record_release(self.session, self.ledger, entry)
        return problem

    def anonymised(self, result: Anonymised, rows: RowCitizens | None) -> ReleaseOutcome:
        spec, report = self.spec, result.report
        passed = bool(report["passed"])
        facts = (
            f"k:{report['model']['k']}",
            f"records:{report['records']['released']}",
            f"suppressed:{report['records']['suppressed']}",
        )
        fields: list[CatalogueField] = []
        if spec.publication is not None:
            fields = publication.dictionary(
                spec, result.table.column_names, _registered_classes(self.session, spec)
            )
            gate = publication.verdict(
                spec.publication.resource, fields, passed, publication.failed_checks(report)
            )
            if not gate.allowed:
                reasons = (*facts, *(f"gate:{r}" for r in gate.reasons))
                refused = self.entry("k_anonymity", False, facts=reasons)
                raise self.refuse(refused, NotPublishable(gate.reasons))
        entry = self.entry(
            "k_anonymity",
            passed,
            fields=tuple(result.table.column_names) if passed else (),
            facts=facts,
            citizens=citizens_of(rows, result.suppressed_rows.tolist()) if passed else None,
        )
        self.note("writing", 0.9)
        staging = _Staging(self.out)
        with staging as folder:
            if passed:
                _write_table(result.table, folder / "data", spec.output.format)
            _write_json(report, folder / "report.json")
            (folder / "report.html").write_text(render_html(report), encoding="utf-8")
            internal = folder / "internal"
            internal.mkdir()
            pq.write_table(
                pa.table({"source_row": pa.array(result.suppressed_rows, pa.int64())}),
                internal / "suppressed_rows.parquet",
            )
            (internal / "README.txt").write_text(
                "For the releasing organisation only: never hand this folder to the recipient.\n",
                encoding="utf-8",
            )
            _write_json(_manifest(folder), folder / "manifest.json")
            summary = {
                "generalisation": result.node,
                "records": report["records"],
                "checks": report["checks"],
                "measured": report["measured"],
                "risk": {k: v for k, v in report["risk"].items() if isinstance(v, dict)},
            }
            outcome = self.finish(entry, summary, report, publication.renamed(result.table), fields)
            staging.commit()
        self.note("done", 1.0)
        return outcome

    def finish(
        self,
        entry: LedgerEntry,
        summary: dict[str, Any],
        report: dict[str, Any],
        table: pa.Table,
        fields: list[CatalogueField],
    ) -> ReleaseOutcome:
        """Ledger first, then the release record, then the catalogue; the caller then renames."""
        receipt = _record_release(self.session, self.ledger, entry)
        if receipt is not None:
            summary = {**summary, "ledger": receipt}
        record = _store(
            self.session,
            ReleaseRecord(
                name=self.spec.name,
                kind=entry.kind,
                source=self.spec.source_name,
                recipient=self.spec.recipient,
                agreement=self.spec.agreement,
                released_by=self.released_by,
                released_at=datetime.now(UTC),
                passed=entry.passed,
                output=str(self.out),
                summary=summary,
            ),
        )
        published = None
        target = self.spec.publication
        if target is not None and self.session is not None and self.opendata_dir is not None:
            self.note("publishing", 0.95)
            package = publish_release_output(
                self.session,
                self.opendata_dir,
                dataset=target.dataset_create(self.spec.description),
                release_ref=f"{self.spec.name}#{record.id}",
                table=table,
                data_dictionary=fields,
                risk_report_passed=entry.passed,
                resource_name=target.resource,
            )
            published = {"dataset": package.name, "id": package.id, "version": package.version}
        return ReleaseOutcome(record, self.out, report, receipt, published)


def _store(session: Session | None, row: ReleaseRecord) -> ReleaseView:
    """Keep the part's own record of a release (already on the ledger)."""
    if session is not None:
        session.add(row)
        session.flush()
    return _release_view(row)


def _release_view(row: ReleaseRecord) -> ReleaseView:
    return ReleaseView(
        id=row.id or 0,
        name=row.name,
        kind=row.kind,
        source=row.source,
        recipient=row.recipient,
        agreement=row.agreement,
        released_by=row.released_by,
        released_at=row.released_at,
        passed=row.passed,
        output=row.output,
        summary=row.summary,
    )


def _load_budget(session: Session, dataset: str, recipient: str) -> PrivacyBudget | None:
    return session.scalar(
        select(PrivacyBudget)
        .where(PrivacyBudget.dataset == dataset, PrivacyBudget.recipient == recipient)
        .options(selectinload(PrivacyBudget.spends))
        .with_for_update()
    )


def _run_dp(
    session: Session | None, spec: ReleaseSpec, table: pa.Table, hand: _Handover
) -> ReleaseOutcome:
    assert isinstance(spec.privacy, DifferentialPrivacy)
    if session is None:
        raise SpecError("differential privacy needs the database that holds the budgets")
    note = hand.note
    note("costing the queries", 0.2)
    planned = dp.plan(spec.privacy, table)
    epsilon, delta = dp.cost(planned)
    budget = _load_budget(session, spec.source_name, spec.recipient)
    if budget is None:
        raise SpecError(
            f"'{spec.recipient}' has no privacy budget on '{spec.source_name}': set one first "
            "(trusthub release budget set)",
            field="privacy",
        )
    view = _budget_view(budget)
    queried = tuple(sorted({q.field for q in spec.privacy.queries if q.field}))
    costs = (f"epsilon:{epsilon:.6g}", f"delta:{delta:.6g}")
    if epsilon > view.epsilon_left + BUDGET_TOLERANCE or delta > view.delta_left + BUDGET_TOLERANCE:
        exhausted = (*costs, "refused:budget exhausted", f"epsilon_left:{view.epsilon_left:.6g}")
        refused = hand.entry("differential_privacy", False, fields=queried, facts=exhausted)
        raise hand.refuse(refused, _exhausted(spec, epsilon, delta, view))
    note("answering", 0.5)
    statistics = dp.run(planned)
    left = {"epsilon": view.epsilon_left - epsilon, "delta": view.delta_left - delta}
    report = {
        "release": spec.name,
        "recipient": spec.recipient,
        "agreement": spec.agreement,
        "source": spec.source_name,
        "mechanism": spec.privacy.mechanism,
        "contributions": spec.privacy.contributions,
        "epsilon": epsilon,
        "delta": delta,
        "budget_left_after": left,
        "statistics": statistics,
        "passed": True,
    }
    described = [f"{q.statistic}({q.field or '*'})" for q in spec.privacy.queries]
    entry = hand.entry(
        "differential_privacy",
        True,
        fields=queried,
        facts=(*costs, f"epsilon_left:{left['epsilon']:.6g}", *described[:9]),
    )
    staging = _Staging(hand.out)
    with staging as folder:
        _write_json(report, folder / "statistics.json")
        _write_json(_manifest(folder), folder / "manifest.json")
        summary = {"epsilon": epsilon, "delta": delta, "statistics": described}
        # the ledger first (inside finish), then the spend, charged in the same transaction
        outcome = hand.finish(
            entry,
            summary,
            report,
            publication.statistics_table(statistics),
            publication.statistics_dictionary(),
        )
        budget.spends.append(
            BudgetSpend(
                release=spec.name,
                epsilon=epsilon,
                delta=delta,
                statistics=described,
                spent_by=hand.released_by,
                spent_at=datetime.now(UTC),
            )
        )
        session.flush()
        staging.commit()
    note("done", 1.0)
    return outcome


def _exhausted(spec: ReleaseSpec, epsilon: float, delta: float, view: BudgetView) -> Problem:
    return Problem(
        409,
        "Privacy budget exhausted",
        f"this release needs ε = {epsilon:.4g}, δ = {delta:.3g}; '{spec.recipient}' has "
        f"ε = {view.epsilon_left:.4g}, δ = {view.delta_left:.3g} left on "
        f"'{spec.source_name}': ask for fewer or smaller queries, or have the budget raised",
        kind="budget-exhausted",
    )


def _budget_view(budget: PrivacyBudget) -> BudgetView:
    eps = sum(s.epsilon for s in budget.spends)
    delta = sum(s.delta for s in budget.spends)
    return BudgetView(
        dataset=budget.dataset,
        recipient=budget.recipient,
        epsilon=budget.epsilon,
        delta=budget.delta,
        epsilon_spent=eps,
        delta_spent=delta,
        epsilon_left=max(budget.epsilon - eps, 0.0),
        delta_left=max(budget.delta - delta, 0.0),
        spends=[
            SpendView(
                release=s.release,
                epsilon=s.epsilon,
                delta=s.delta,
                statistics=s.statistics,
                spent_by=s.spent_by,
                spent_at=s.spent_at,
            )
            for s in budget.spends
        ],
    )


def set_budget(session: Session, data: BudgetSet) -> BudgetView:
    """Create or change a budget; it cannot be set below what has already been spent."""
    budget = _load_budget(session, data.dataset, data.recipient)
    if budget is None:
        budget = PrivacyBudget(
            dataset=data.dataset, recipient=data.recipient, epsilon=data.epsilon, delta=data.delta
        )
        budget.spends = []
        session.add(budget)
    else:
        spent = _budget_view(budget)
        if data.epsilon < spent.epsilon_spent or data.delta < spent.delta_spent:
            raise Conflict(
                f"ε = {spent.epsilon_spent:.4g} and δ = {spent.delta_spent:.3g} are already spent: "
                "a budget cannot be set below that"
            )
        budget.epsilon, budget.delta = data.epsilon, data.delta
    session.flush()
    return _budget_view(budget)


def get_budget(session: Session, dataset: str, recipient: str) -> BudgetView:
    budget = _load_budget(session, dataset, recipient)
    if budget is None:
        raise NotFound("privacy budget")
    return _budget_view(budget)


def list_budgets(session: Session) -> list[BudgetView]:
    budgets = session.scalars(
        select(PrivacyBudget)
        .order_by(PrivacyBudget.dataset, PrivacyBudget.recipient)
        .options(selectinload(PrivacyBudget.spends))
    )
    return [_budget_view(b) for b in budgets]


def list_releases(session: Session) -> list[ReleaseView]:
    rows = session.scalars(select(ReleaseRecord).order_by(ReleaseRecord.id.desc()))
    return [_release_view(r) for r in rows]


def get_release(session: Session, release_id: int) -> ReleaseView:
    row = session.get(ReleaseRecord, release_id)
    if row is None:
        raise NotFound("release")
    return _release_view(row)


def publishable(session: Session, release_id: int) -> ReleaseView:
    """The gate the open-data catalogue calls: only releases whose risk report passed."""
    release = get_release(session, release_id)
    if not release.passed:
        raise Conflict("this release's risk report did not pass: it cannot be published")
    if release.kind == "dicom":
        raise Conflict("de-identified images are released under agreements, not published")
    return release


def roles_of(spec: ReleaseSpec) -> dict[str, list[str]]:
    return {role.value: spec.names(role) for role in Role}


def deidentify_folder(
    session: Session | None,
    source: Path,
    out: Path,
    *,
    name: str,
    recipient: str,
    agreement: str,
    released_by: str,
    key: bytes,
    ledger: Ledger | None = None,
    workers: int = 2,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """De-identify every DICOM file under ``source`` into ``out``; files needing review stay out.

    The released folder holds files/ and manifest.json (what was done to each file, by index and
    input hash); internal/ keeps the input paths and the files held for review, for the
    releasing organisation only.
    """
    from trusthub.release import dicom_batch

    try:
        checked = DicomRelease(name=name, recipient=recipient, agreement=agreement)
    except ValidationError as error:
        raise Problem(
            422,
            "Invalid release",
            "Fix the release's name, recipient or agreement.",
            kind="invalid-release-spec",
            errors=_spec_errors(error),
        ) from error
    if not source.is_dir():
        raise SpecError(f"no folder at {source}", field="source")
    _check_output(out)
    if session is not None and ledger is None:
        raise LedgerUnreachable()
    files = dicom_batch.sources(source)
    staging = _Staging(out)
    with staging as folder:
        entries = list(
            dicom_batch.run(
                files, folder / "files", folder / "internal" / "review", key, workers, progress
            )
        )
        counts = {
            status: sum(1 for e in entries if e["status"] == status)
            for status in ("released", "review", "skipped", "error")
        }
        manifest: dict[str, Any] = {
            "release": name,
            "recipient": recipient,
            "agreement": agreement,
            "profile": "DICOM PS3.15 E.1-1 Basic Application Level Confidentiality Profile, "
            "Retain Longitudinal Temporal Information with Modified Dates Option",
            "counts": counts,
            "files": entries,
        }
        _write_json(manifest, folder / "manifest.json")
        (folder / "internal").mkdir(exist_ok=True)
        _write_json(
            {f"{i:06d}": str(p.relative_to(source)) for i, p in enumerate(files, start=1)},
            folder / "internal" / "source-map.json",
        )
        passed = counts["error"] == 0
        receipt = _record_release(
            session,
            ledger,
            LedgerEntry(
                kind="dicom",
                release=checked.name,
                actor=released_by,
                recipient=recipient,
                agreement=checked.agreement,
                source=str(source.name),
                passed=passed,
                facts=tuple(f"files_{status}:{n}" for status, n in counts.items()),
            ),
        )
        summary: dict[str, Any] = {"counts": counts}
        if receipt is not None:
            summary["ledger"] = receipt
        record = _store(
            session,
            ReleaseRecord(
                name=checked.name,
                kind="dicom",
                source=str(source.name),
                recipient=recipient,
                agreement=checked.agreement,
                released_by=released_by,
                released_at=datetime.now(UTC),
                passed=passed,
                output=str(out),
                summary=summary,
            ),
        )
        staging.commit()
    manifest["release_id"] = record.id
    return manifest
