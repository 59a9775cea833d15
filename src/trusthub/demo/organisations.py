"""The demo world's organisations and datasets, each field classified as the registry requires.

Department names are real public bodies; every person, the hospital, council, university, bank
and airline are fictional, and every e-mail address is under the reserved ``.example`` domain.
"""

from __future__ import annotations

from dataclasses import dataclass

from trusthub.registry.models import FieldClassification, OrganisationKind

DIRECT = FieldClassification.DIRECT_IDENTIFIER
QUASI = FieldClassification.QUASI_IDENTIFIER
SENSITIVE = FieldClassification.SENSITIVE
NON_PERSONAL = FieldClassification.NON_PERSONAL


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    classification: FieldClassification
    description: str


@dataclass(frozen=True, slots=True)
class DatasetSpec:
    """A dataset; ``local_id`` names the field that is the holder's own reference."""

    slug: str
    title: str
    description: str
    record_key: str
    local_id: str
    fields: tuple[FieldSpec, ...]

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


@dataclass(frozen=True, slots=True)
class OrganisationSpec:
    slug: str
    name: str
    kind: OrganisationKind
    dpo_name: str
    dpo_email: str
    datasets: tuple[DatasetSpec, ...]


def _f(name: str, classification: FieldClassification, description: str) -> FieldSpec:
    return FieldSpec(name, classification, description)


GIVEN = _f("given_name", DIRECT, "First given name as the holder recorded it.")
FAMILY = _f("family_name", DIRECT, "Family name as the holder recorded it.")
BIRTH = _f("date_of_birth", QUASI, "Date of birth.")
POSTCODE = _f("postcode", QUASI, "Postcode of the address the holder has on file.")
LINE1 = _f("address_line1", DIRECT, "First line of the address the holder has on file.")
TOWN = _f("town", QUASI, "Post town of the address the holder has on file.")
NINO = _f("nino", DIRECT, "National Insurance number.")
NHS = _f("nhs_number", DIRECT, "NHS number.")

DWP_CLAIMS = DatasetSpec(
    slug="benefit-claims",
    title="Benefit claims",
    description="Current claims for State Pension and working-age benefits.",
    record_key="nino",
    local_id="claim_reference",
    fields=(
        _f("claim_reference", DIRECT, "DWP's reference for the claim."),
        NINO,
        GIVEN,
        FAMILY,
        BIRTH,
        POSTCODE,
        _f("benefit_type", SENSITIVE, "Benefit claimed."),
        _f("weekly_amount", SENSITIVE, "Amount paid per week, in pounds."),
        _f("claim_start", QUASI, "Date the claim started."),
    ),
)
HMRC_PAYE = DatasetSpec(
    slug="paye-employments",
    title="PAYE employments and pensions",
    description="Current employment or private pension per taxpayer, from Real Time Information.",
    record_key="nino",
    local_id="employment_id",
    fields=(
        _f("employment_id", DIRECT, "HMRC's reference for the employment."),
        NINO,
        GIVEN,
        FAMILY,
        BIRTH,
        POSTCODE,
        _f("employer_name", QUASI, "Employer or pension payer."),
        _f("employer_paye_reference", QUASI, "The employer's PAYE scheme reference."),
        _f("tax_code", SENSITIVE, "Tax code in use (S for Scotland, C for Wales)."),
        _f("annual_pay_band", SENSITIVE, "Annual pay from this employment, in bands."),
        _f("employment_start", QUASI, "Date the employment started."),
        _f("tax_year", NON_PERSONAL, "Tax year of the return."),
    ),
)
DVLA_LICENCES = DatasetSpec(
    slug="driver-licences",
    title="Driving licences",
    description="Licence holders in Great Britain, keyed by driver number.",
    record_key="driver_number",
    local_id="driver_number",
    fields=(
        _f("driver_number", DIRECT, "16-character driver number built from name and birth date."),
        _f("first_names", DIRECT, "All forenames as on the licence."),
        FAMILY,
        BIRTH,
        LINE1,
        TOWN,
        POSTCODE,
        _f("licence_type", QUASI, "Full or provisional."),
        _f("categories", QUASI, "Vehicle categories the holder may drive."),
        _f("penalty_points", SENSITIVE, "Penalty points currently on the licence."),
        _f("licence_expiry", QUASI, "Date the photocard expires."),
    ),
)
EYE_PATIENTS = DatasetSpec(
    slug="eye-patients",
    title="Ophthalmology patients",
    description="Patients under the hospital's eye clinics, with visits and OCT scan counts.",
    record_key="nhs_number",
    local_id="hospital_number",
    fields=(
        _f("hospital_number", DIRECT, "The trust's own patient number."),
        NHS,
        GIVEN,
        FAMILY,
        BIRTH,
        _f("sex", QUASI, "Sex as recorded by the trust."),
        POSTCODE,
        _f("diagnosis", SENSITIVE, "Main eye diagnosis."),
        _f("clinic", NON_PERSONAL, "Clinic the patient is under."),
        _f("clinic_visits", SENSITIVE, "Dates of clinic visits."),
        _f("oct_scan_count", SENSITIVE, "Number of OCT scans taken."),
    ),
)
OCT_SCANS = DatasetSpec(
    slug="oct-scans",
    title="OCT scans",
    description="Optical coherence tomography scans: one record per scan of one eye.",
    record_key="nhs_number",
    local_id="scan_id",
    fields=(
        _f("scan_id", DIRECT, "Scan reference: the hospital number and a sequence number."),
        NHS,
        _f("scan_date", QUASI, "Date of the scan."),
        _f("eye", NON_PERSONAL, "Left or right eye."),
        _f("device_model", NON_PERSONAL, "Scanner model."),
        _f("signal_strength", NON_PERSONAL, "Scan quality, 1 (poor) to 10 (excellent)."),
    ),
)
COUNCIL_TAX = DatasetSpec(
    slug="council-tax",
    title="Council tax accounts",
    description="Liable adults at each property in the borough.",
    record_key="account_reference",
    local_id="account_reference",
    fields=(
        _f("account_reference", DIRECT, "Council tax account number."),
        GIVEN,
        FAMILY,
        LINE1,
        POSTCODE,
        _f("council_tax_band", QUASI, "Valuation band A to H."),
        _f("residents", QUASI, "Number of adults living at the property."),
        _f("single_person_discount", SENSITIVE, "Whether the 25% single person discount applies."),
        _f("financial_year", NON_PERSONAL, "Financial year of the bill."),
    ),
)
COHORT = DatasetSpec(
    slug="eye-health-cohort",
    title="Eye health cohort study",
    description="Pseudonymous research cohort recruited from Riverside's eye clinics.",
    record_key="study_id",
    local_id="study_id",
    fields=(
        _f("study_id", DIRECT, "Pseudonymous study identifier."),
        _f("age_band", QUASI, "Age at enrolment in five-year bands."),
        _f("sex", QUASI, "Sex."),
        _f("region", QUASI, "Postcode area of residence."),
        _f("diagnosis", SENSITIVE, "Main eye diagnosis."),
        _f("outcome", SENSITIVE, "Visual outcome at last follow-up."),
        _f("enrolled_on", QUASI, "Date of enrolment."),
    ),
)
BANK_ACCOUNTS = DatasetSpec(
    slug="current-accounts",
    title="Current account customers",
    description="Personal current account holders.",
    record_key="customer_id",
    local_id="customer_id",
    fields=(
        _f("customer_id", DIRECT, "The bank's customer number."),
        GIVEN,
        FAMILY,
        BIRTH,
        LINE1,
        TOWN,
        POSTCODE,
        _f("account_opened", QUASI, "Date the account was opened."),
        _f("product", NON_PERSONAL, "Account product."),
    ),
)
AIRLINE_PASSENGERS = DatasetSpec(
    slug="passengers",
    title="Passenger profiles",
    description="Frequent flyer members' passenger profiles.",
    record_key="passenger_ref",
    local_id="passenger_ref",
    fields=(
        _f("passenger_ref", DIRECT, "Frequent flyer number."),
        GIVEN,
        FAMILY,
        BIRTH,
        _f("passport_nationality", QUASI, "Nationality on the passport (ISO 3166 alpha-3)."),
        _f("frequent_flyer_tier", QUASI, "Loyalty tier."),
    ),
)

ORGANISATIONS: tuple[OrganisationSpec, ...] = (
    OrganisationSpec(
        "dwp",
        "Department for Work and Pensions",
        OrganisationKind.GOVERNMENT_DEPARTMENT,
        "Harriet Okonjo",
        "dpo@dwp.demo.example",
        (DWP_CLAIMS,),
    ),
    OrganisationSpec(
        "hmrc",
        "HM Revenue and Customs",
        OrganisationKind.GOVERNMENT_DEPARTMENT,
        "Gareth Pryce-Lewis",
        "dpo@hmrc.demo.example",
        (HMRC_PAYE,),
    ),
    OrganisationSpec(
        "dvla",
        "Driver and Vehicle Licensing Agency",
        OrganisationKind.GOVERNMENT_DEPARTMENT,
        "Siân Howells",
        "dpo@dvla.demo.example",
        (DVLA_LICENCES,),
    ),
    OrganisationSpec(
        "riverside-eye",
        "Riverside Eye Hospital NHS Foundation Trust",
        OrganisationKind.NHS_BODY,
        "Dr Anjali Mistry",
        "dpo@riverside-eye.demo.example",
        (EYE_PATIENTS, OCT_SCANS),
    ),
    OrganisationSpec(
        "pennine-vale",
        "Pennine Vale Borough Council",
        OrganisationKind.LOCAL_AUTHORITY,
        "Martin Ackroyd",
        "dpo@pennine-vale.demo.example",
        (COUNCIL_TAX,),
    ),
    OrganisationSpec(
        "northmoor-university",
        "University of Northmoor",
        OrganisationKind.RESEARCH_PARTNER,
        "Professor Eilidh Ross",
        "dpo@northmoor.demo.example",
        (COHORT,),
    ),
    OrganisationSpec(
        "thistle-crown-bank",
        "Thistle and Crown Bank plc",
        OrganisationKind.PRIVATE_RELYING_PARTY,
        "Oluwaseun Adeyemi",
        "dpo@thistle-crown.demo.example",
        (BANK_ACCOUNTS,),
    ),
    OrganisationSpec(
        "albion-skyways",
        "Albion Skyways",
        OrganisationKind.PRIVATE_RELYING_PARTY,
        "Claire Fenwick",
        "dpo@albion-skyways.demo.example",
        (AIRLINE_PASSENGERS,),
    ),
)


def all_datasets() -> list[tuple[OrganisationSpec, DatasetSpec]]:
    """Every dataset with its holder, in the fixed order ids are given out in."""
    return [(org, ds) for org in ORGANISATIONS for ds in org.datasets]


def dataset_key(organisation: OrganisationSpec, dataset: DatasetSpec) -> str:
    """``org.dataset``: the name a dataset's copy goes by in reports and Parquet file names."""
    return f"{organisation.slug}.{dataset.slug}"
