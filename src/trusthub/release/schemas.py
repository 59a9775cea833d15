"""Release specifications and what the release part returns: pydantic, checked at every edge."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from trusthub.opendata.schemas import DatasetCreate
from trusthub.opendata.vocab import DEFAULT_LICENCE

SLUG = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"
OPEN_PUBLICATION = "open"
AGREEMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{1,63}$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Role(StrEnum):
    DIRECT_IDENTIFIER = "direct_identifier"
    QUASI_IDENTIFIER = "quasi_identifier"
    SENSITIVE = "sensitive"
    KEEP = "keep"


class CsvSource(Strict):
    csv: str = Field(description="Path of a CSV file, relative to the specification's folder.")
    separator: str = Field(default=",", min_length=1, max_length=1)
    name: str | None = Field(default=None, description="Stable name for budgets and records.")


class ParquetSource(Strict):
    parquet: str = Field(description="Path of a Parquet file, relative to the specification.")
    name: str | None = None


class DatasetSource(Strict):
    dataset: str = Field(
        pattern=r"^[a-z0-9-]+/[a-z0-9-]+$",
        description="A registered dataset as organisation/dataset, e.g. moorfields/oct-scans.",
    )

    @property
    def name(self) -> str:
        return self.dataset


Source = CsvSource | ParquetSource | DatasetSource


class CsvHierarchy(Strict):
    type: Literal["csv"]
    path: str = Field(description="One row per value: the value, then ever coarser groups.")
    separator: str = Field(default=";", min_length=1, max_length=1)


class BandsHierarchy(Strict):
    type: Literal["bands"]
    widths: list[Annotated[int, Field(ge=1)]] = Field(min_length=1)
    origin: int = 0


class DatesHierarchy(Strict):
    type: Literal["dates"]
    levels: list[Literal["month", "quarter", "year"]] = ["month", "quarter", "year"]


class PostcodeHierarchy(Strict):
    type: Literal["postcode"]


class SuppressHierarchy(Strict):
    type: Literal["suppress"]


HierarchySpec = Annotated[
    CsvHierarchy | BandsHierarchy | DatesHierarchy | PostcodeHierarchy | SuppressHierarchy,
    Field(discriminator="type"),
]


class FieldSpec(Strict):
    role: Role
    action: Literal["drop", "pseudonymise"] | None = Field(
        default=None, description="For direct identifiers only: drop, or a keyed pseudonym."
    )
    hierarchy: HierarchySpec | None = Field(
        default=None, description="For quasi-identifiers only: how values generalise."
    )

    @model_validator(mode="after")
    def _fits_role(self) -> FieldSpec:
        if self.role is Role.DIRECT_IDENTIFIER and self.action is None:
            raise ValueError("a direct identifier needs action: drop or action: pseudonymise")
        if self.role is not Role.DIRECT_IDENTIFIER and self.action is not None:
            raise ValueError("only direct identifiers take an action")
        if self.role is Role.QUASI_IDENTIFIER and self.hierarchy is None:
            raise ValueError("a quasi-identifier needs a hierarchy")
        if self.role is not Role.QUASI_IDENTIFIER and self.hierarchy is not None:
            raise ValueError("only quasi-identifiers take a hierarchy")
        return self


class LDiversity(Strict):
    l: float = Field(ge=1, description="At least ℓ distinct values, or entropy ≥ log ℓ.")  # noqa: E741
    variant: Literal["distinct", "entropy"] = "distinct"


class TCloseness(Strict):
    t: float = Field(gt=0, le=1)
    distance: Literal["equal", "ordered"] = Field(
        default="equal", description="equal for categories, ordered for numbers or ranks."
    )


class AnonymityModel(Strict):
    model: Literal["k_anonymity"]
    k: int = Field(ge=1)
    l_diversity: LDiversity | None = None
    t_closeness: TCloseness | None = None
    suppression_limit: float = Field(default=0.0, ge=0, lt=1)
    information_loss: Literal["loss"] = Field(
        default="loss",
        description="Iyengar's loss (ARX 'Loss'): suppressed cells count as fully generalised.",
    )


class Query(Strict):
    statistic: Literal["count", "sum", "mean", "histogram"]
    field: str | None = None
    epsilon: float = Field(gt=0, le=10)
    bounds: tuple[float, float] | None = None
    categories: list[str] | None = None
    edges: list[float] | None = None

    @model_validator(mode="after")
    def _complete(self) -> Query:
        if self.statistic in ("sum", "mean"):
            if self.field is None or self.bounds is None:
                raise ValueError(f"a {self.statistic} needs a field and bounds: [low, high]")
            if self.bounds[0] >= self.bounds[1]:
                raise ValueError("bounds must be [low, high] with low < high")
        if self.statistic == "histogram":
            if self.field is None or (self.categories is None) == (self.edges is None):
                raise ValueError("a histogram needs a field and either categories or edges")
            if self.edges is not None and sorted(set(self.edges)) != self.edges:
                raise ValueError("histogram edges must be strictly increasing")
        return self


class DifferentialPrivacy(Strict):
    model: Literal["differential_privacy"]
    mechanism: Literal["laplace", "gaussian"] = "laplace"
    delta: float = Field(default=0.0, ge=0, lt=1e-3)
    contributions: int = Field(default=1, ge=1, description="Most rows one person can have.")
    queries: list[Query] = Field(min_length=1)

    @model_validator(mode="after")
    def _delta(self) -> DifferentialPrivacy:
        if (self.mechanism == "gaussian") != (self.delta > 0):
            raise ValueError("the gaussian mechanism needs delta > 0; laplace takes no delta")
        return self


class RiskThresholds(Strict):
    prosecutor_max: float | None = Field(default=None, gt=0, le=1)
    journalist_max: float | None = Field(default=None, gt=0, le=1)
    marketer_max: float | None = Field(default=None, gt=0, le=1)


class OutputSpec(Strict):
    format: Literal["parquet", "csv"] = "parquet"


class Publication(Strict):
    """Where an open release goes in the open-data catalogue, and how it is described there."""

    dataset: str = Field(pattern=SLUG, description="The catalogue dataset's name (CKAN's).")
    organisation: str = Field(pattern=SLUG, description="The publisher's registry slug.")
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=20_000)
    licence_id: str = DEFAULT_LICENCE
    keywords: list[str] = Field(default_factory=list, max_length=50)
    resource: str = Field(default="release-output", pattern=SLUG)

    @model_validator(mode="after")
    def _catalogue_accepts(self) -> Publication:
        try:
            self.dataset_create("")
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ValueError(f"{where}: {first['msg']}") from None
        return self

    def dataset_create(self, fallback_description: str) -> DatasetCreate:
        return DatasetCreate(
            name=self.dataset,
            organisation=self.organisation,
            title=self.title,
            description=self.description or fallback_description,
            licence_id=self.licence_id,
            keywords=self.keywords,
        )


def check_agreement(value: str) -> str:
    if value != OPEN_PUBLICATION and not AGREEMENT.match(value):
        raise ValueError(
            "an agreement is a reference like DSA-2017-0042 (letters, digits, . _ / -) "
            "or 'open' for open publication"
        )
    return value


class DicomRelease(Strict):
    """Who receives a folder of de-identified images, and under which agreement."""

    name: str = Field(pattern=SLUG)
    recipient: str = Field(pattern=SLUG)
    agreement: str

    @field_validator("agreement")
    @classmethod
    def _agreement(cls, value: str) -> str:
        return check_agreement(value)


class ReleaseSpec(Strict):
    """A release: what leaves, to whom, under which agreement, protected how."""

    name: str = Field(pattern=SLUG)
    description: str = ""
    source: Source
    recipient: str = Field(pattern=SLUG)
    agreement: str = Field(
        description="The data-sharing agreement's reference, or 'open' for open publication."
    )
    fields: dict[str, FieldSpec] = Field(default_factory=dict)
    privacy: Annotated[AnonymityModel | DifferentialPrivacy, Field(discriminator="model")]
    risk_thresholds: RiskThresholds = RiskThresholds()
    output: OutputSpec = OutputSpec()
    publication: Publication | None = Field(
        default=None,
        description="With agreement 'open': the catalogue dataset the release is published to.",
    )

    @field_validator("agreement")
    @classmethod
    def _agreement(cls, value: str) -> str:
        return check_agreement(value)

    @property
    def is_open(self) -> bool:
        return self.agreement == OPEN_PUBLICATION

    @model_validator(mode="after")
    def _open_publication(self) -> ReleaseSpec:
        if self.is_open and self.publication is None:
            raise ValueError(
                "agreement 'open' publishes to the open-data catalogue: add a publication "
                "section with dataset, organisation and title"
            )
        if self.publication is not None and not self.is_open:
            raise ValueError("only a release with agreement 'open' takes a publication section")
        pseudonymised = [n for n, f in self.fields.items() if f.action == "pseudonymise"]
        if self.is_open and pseudonymised:
            raise ValueError(
                "pseudonyms are never openly published: drop "
                + ", ".join(sorted(pseudonymised))
                + " (action: drop)"
            )
        return self

    @model_validator(mode="after")
    def _fields_fit_model(self) -> ReleaseSpec:
        if isinstance(self.privacy, AnonymityModel):
            if not self.fields:
                raise ValueError("list every field of the source under fields, each with a role")
            sensitive = [n for n, f in self.fields.items() if f.role is Role.SENSITIVE]
            needs = self.privacy.l_diversity or self.privacy.t_closeness
            if needs and not sensitive:
                raise ValueError("ℓ-diversity and t-closeness need at least one sensitive field")
        return self

    @property
    def source_name(self) -> str:
        if isinstance(self.source, DatasetSource):
            return self.source.dataset
        if self.source.name:
            return self.source.name
        path = self.source.csv if isinstance(self.source, CsvSource) else self.source.parquet
        return path.rsplit("/", 1)[-1].rsplit(".", 1)[0]

    def names(self, role: Role) -> list[str]:
        return [n for n, f in self.fields.items() if f.role is role]


class BudgetSet(Strict):
    dataset: str = Field(min_length=1, max_length=200)
    recipient: str = Field(pattern=SLUG)
    epsilon: float = Field(gt=0, le=100)
    delta: float = Field(default=0.0, ge=0, lt=1e-3)


class SpendView(BaseModel):
    release: str
    epsilon: float
    delta: float
    statistics: list[str]
    spent_by: str
    spent_at: datetime


class BudgetView(BaseModel):
    dataset: str
    recipient: str
    epsilon: float
    delta: float
    epsilon_spent: float
    delta_spent: float
    epsilon_left: float
    delta_left: float
    spends: list[SpendView]


class ReleaseView(BaseModel):
    id: int
    name: str
    kind: str
    source: str
    recipient: str
    agreement: str
    released_by: str
    released_at: datetime
    passed: bool
    output: str
    summary: dict[str, Any]


class ReleaseRequest(Strict):
    """A release through the API: the specification as YAML text or as JSON."""

    spec_yaml: str | None = Field(default=None, max_length=200_000)
    spec: dict[str, Any] | None = None
    released_by: str = Field(default="operator", min_length=1, max_length=200)

    @model_validator(mode="after")
    def _one(self) -> ReleaseRequest:
        if (self.spec_yaml is None) == (self.spec is None):
            raise ValueError("send the specification either as spec_yaml or as spec")
        return self
