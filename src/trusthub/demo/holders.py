"""Each holder's copy of the citizens it serves, with values that look like the holder's own.

Coverage follows life: HMRC holds ~75% of citizens (workers and pensioners), DWP ~35%
(pensioners and working-age claimants), DVLA ~70% of adults, the eye hospital ~3% (mostly older
people), the council ~8% (the adults in its area), the university cohort ~1% (a third of the
eye patients), the bank ~30% and the airline ~15%.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from trusthub.demo import organisations as orgs
from trusthub.demo import strings, vocab
from trusthub.demo.copies import Holder, Members, by_group, choose, dates
from trusthub.demo.people import GIVEN_NAMES, SURNAMES, People
from trusthub.demo.randomness import WORLD_DATE, Block, uniform_days, years_after
from trusthub.demo.vector_ids import (
    driver_number_stems,
    driver_numbers,
    initials,
    surname_keys,
)

V = strings.vocabulary
DAY = np.timedelta64(1, "D")


def _labels(labels: list[str], codes: np.ndarray) -> pa.Array:
    """Labels by small integer codes (faster than converting numpy strings)."""
    return V(labels).take(pa.array(codes.astype(np.int32)))


def _age_group(age: np.ndarray, edges: tuple[int, ...]) -> np.ndarray:
    result: np.ndarray = np.searchsorted(np.array(edges), age, side="right")
    return result


# --- DWP -------------------------------------------------------------------------------------
BENEFITS = V(["State Pension", "Pension Credit", "Attendance Allowance", "Universal Credit",
              "Personal Independence Payment", "Employment and Support Allowance",
              "Carer's Allowance", "Jobseeker's Allowance"])  # fmt: skip
BENEFIT_WEIGHTS = np.array([[0.90, 0.06, 0.04, 0, 0, 0, 0, 0],
                            [0, 0, 0, 0.55, 0.20, 0.08, 0.08, 0.09]])  # fmt: skip
WEEKLY_LOW = np.array([169.50, 218.15, 72.65, 90.00, 72.65, 90.50, 81.90, 71.70])
WEEKLY_HIGH = np.array([221.20, 240.00, 108.55, 190.00, 184.30, 138.20, 81.90, 90.50])


def dwp_claims(h: Holder) -> pa.Table:
    p, rng = h.people, h.rng
    pensioner = p.age >= 66
    working = (p.age >= 16) & ~pensioner
    rows = np.flatnonzero(
        (pensioner & (rng.random(len(p)) < 0.96)) | (working & (rng.random(len(p)) < 0.27))
    )
    group = (~pensioner[rows]).astype(np.int64)
    benefit = by_group(rng, group, BENEFIT_WEIGHTS)
    weekly = WEEKLY_LOW[benefit] + rng.random(rows.shape[0]) * (WEEKLY_HIGH - WEEKLY_LOW)[benefit]
    weekly = np.round(weekly * 20) / 20
    pension_start = years_after(p.birth[rows], 66)
    start = np.where(
        pensioner[rows],
        pension_start,
        uniform_days(
            rng,
            np.maximum(years_after(p.birth[rows], 16), WORLD_DATE - 8 * 365 * DAY),
            np.full(rows.shape[0], WORLD_DATE - 7 * DAY),
        ),
    )
    m = h.enrol(rng, rows, start, refresh_years=3)
    columns = {
        "claim_reference": strings.prefixed_digits("CL", h.local_numbers(m, 9), 9),
        "nino": p.nino.take(rows),
        "given_name": h.given_names(m),
        "family_name": h.family_names(m),
        "date_of_birth": dates(p.birth[rows]),
        "postcode": h.address(m)[2],
        "benefit_type": BENEFITS.take(pa.array(benefit)),
        "weekly_amount": pa.array(weekly),
        "claim_start": dates(start),
    }
    return h.table(m, columns, p.given_code[rows])


# --- HMRC ------------------------------------------------------------------------------------
EMPLOYERS = (
    "Northgate Logistics Ltd", "Albion Retail plc", "Riverside Eye Hospital NHS Foundation Trust",
    "Pennine Vale Borough Council", "Thistle and Crown Bank plc", "Albion Skyways",
    "University of Northmoor", "Brightwater Foods Ltd", "Kestrel Engineering Ltd",
    "Harbourside Care Homes Ltd", "Greenleaf Supermarkets plc", "Meridian Software Ltd",
    "Oakfield Academy Trust", "Ironbridge Construction Ltd", "Swift Parcel Services Ltd",
    "Bluebell Hospitality Ltd", "Castlegate Solicitors LLP", "Northern Lights Energy plc",
    "Copperfield Manufacturing Ltd", "Silverline Telecom plc", "Foxglove Pharmacy Ltd",
    "Ashdown Print Ltd", "Lowther Security Services Ltd", "Department for Work and Pensions",
    "HM Revenue and Customs", "Driver and Vehicle Licensing Agency", "Beacon Recruitment Ltd",
    "Harrow and Vale Bus Company Ltd", "Saltmarsh Fisheries Ltd", "Larkspur Nurseries Ltd",
)  # fmt: skip
PENSION_PAYERS = ("Heritage Mutual Annuities", "Northern Provident Pensions",
                  "Albion Life Pensions", "Keystone Retirement Income")  # fmt: skip
_PAYERS = EMPLOYERS + PENSION_PAYERS
EMPLOYER_NAMES = V(_PAYERS)
EMPLOYER_REFS = V([f"{120 + 7 * i:03d}/{chr(65 + i % 26)}{chr(75 + i % 13)}{40_000 + 997 * i}"
                   for i in range(len(_PAYERS))])  # fmt: skip
PAY_BANDS = V(["Under £12,570", "£12,570 to £20,000", "£20,000 to £30,000",
               "£30,000 to £50,270", "£50,270 to £100,000", "£100,000 to £125,140",
               "Over £125,140"])  # fmt: skip
PAY_WEIGHTS = np.array([[0.45, 0.30, 0.18, 0.06, 0.01, 0.0, 0.0],
                        [0.08, 0.15, 0.25, 0.32, 0.16, 0.02, 0.02],
                        [0.35, 0.30, 0.20, 0.10, 0.04, 0.005, 0.005]])  # fmt: skip
TAX_CODES = ("1257L", "BR", "0T", "D0", "K475", "1100L")
TAX_CODE_WEIGHTS = np.array([0.80, 0.09, 0.04, 0.02, 0.02, 0.03])
_COUNTRY_PREFIX = {"Scotland": "S", "Wales": "C"}
TAX_CODE_VALUES = V([_COUNTRY_PREFIX.get(c, "") + code
                     for c in ("England", "Scotland", "Wales") for code in TAX_CODES])  # fmt: skip
_TOWN_COUNTRY = np.array(
    [{"Scotland": 1, "Wales": 2}.get(t.country, 0) for t in vocab.TOWNS], dtype=np.int64
)


def hmrc_paye(h: Holder) -> pa.Table:
    p, rng = h.people, h.rng
    rows = np.flatnonzero((p.age >= 16) & (rng.random(len(p)) < 0.93))
    size = rows.shape[0]
    age = p.age[rows]
    pensioner = age >= 66
    employer = rng.choice(len(EMPLOYERS), size=size, p=vocab.zipf_weights(len(EMPLOYERS), 3.0))
    payer = rng.integers(len(EMPLOYERS), len(_PAYERS), size=size)
    employer = np.where(pensioner, payer, employer)
    band = by_group(rng, _age_group(age, (22, 66)), PAY_WEIGHTS)
    code = rng.choice(len(TAX_CODES), size=size, p=TAX_CODE_WEIGHTS)
    start = uniform_days(
        rng,
        np.maximum(years_after(p.birth[rows], 16), WORLD_DATE - 25 * 365 * DAY),
        np.full(size, WORLD_DATE - 7 * DAY),
    )
    m = h.enrol(rng, rows, start, refresh_years=1)
    country = np.where(
        m.stale_address, _TOWN_COUNTRY[p.previous.town[rows]], _TOWN_COUNTRY[p.current.town[rows]]
    )
    columns = {
        "employment_id": strings.prefixed_digits("EMP", h.local_numbers(m, 9), 9),
        "nino": p.nino.take(rows),
        "given_name": h.given_names(m),
        "family_name": h.family_names(m),
        "date_of_birth": dates(p.birth[rows]),
        "postcode": h.address(m)[2],
        "employer_name": EMPLOYER_NAMES.take(pa.array(employer)),
        "employer_paye_reference": EMPLOYER_REFS.take(pa.array(employer)),
        "tax_code": TAX_CODE_VALUES.take(pa.array(country * len(TAX_CODES) + code)),
        "annual_pay_band": PAY_BANDS.take(pa.array(band)),
        "employment_start": dates(start),
        "tax_year": _labels(["2024-25"], np.zeros(size)),
    }
    return h.table(m, columns, p.given_code[rows])


# --- DVLA ------------------------------------------------------------------------------------
CATEGORIES = V(["A, B, B1, BE, C1, C1E, D1, D1E, f, k, l, n, p, q",
                "AM, B, BE, f, k, l, n, p, q", "AM, B, f, k, l, n, p, q",
                "A, AM, B, f, k, l, n, p, q",
                "AM, B, BE, C, C1, C1E, CE, f, k, l, n, p, q",
                "AM, A, B, f, k, p, q"])  # fmt: skip
SURNAME_KEYS = surname_keys(SURNAMES)
INITIALS = initials(GIVEN_NAMES)
PENALTY_POINTS = np.array([0, 3, 6, 9], dtype=np.int32)
PENALTY_WEIGHTS = np.array([0.925, 0.055, 0.015, 0.005])


def dvla_licences(h: Holder) -> pa.Table:
    p, rng = h.people, h.rng
    share = np.array([0.0, 0.5, 0.76, 0.55])[_age_group(p.age, (17, 25, 80))]
    rows = np.flatnonzero(rng.random(len(p)) < share)
    size = rows.shape[0]
    age = p.age[rows]
    provisional = rng.random(size) < np.array([0.55, 0.2, 0.03])[_age_group(age, (20, 25))]
    born_early = p.birth[rows] < np.datetime64("1980-01-01")
    category = np.where(
        born_early, 0, rng.choice([1, 2, 3, 4], size=size, p=[0.5, 0.38, 0.08, 0.04])
    )
    category = np.where(provisional, 5, category)
    m = h.enrol(rng, rows, years_after(p.birth[rows], 17), refresh_years=10)
    family_codes = h.family_codes(m)
    middle = p.middle_code[rows]
    stems = driver_number_stems(
        SURNAME_KEYS[family_codes],
        p.birth[rows],
        p.female[rows],
        INITIALS[p.given_code[rows]],
        np.where(middle >= 0, INITIALS[middle], ord("9")).astype(np.uint8),
    )
    given = h.given_names(m)
    with_middle = np.flatnonzero(middle >= 0)
    first_names = strings.replace_rows(
        given,
        with_middle,
        strings.join(given.take(with_middle), p.middle_name(rows[with_middle]), separator=" "),
    )
    line1, town, postcode = h.address(m)
    valid_years = np.where(age >= 70, 3, 10)
    expiry = uniform_days(
        rng, np.full(size, WORLD_DATE), years_after(np.full(size, WORLD_DATE), valid_years)
    )
    columns = {
        "driver_number": driver_numbers(stems, rng.integers(0, 1 << 20, size=size)),
        "first_names": first_names,
        "family_name": strings.take(SURNAMES, family_codes),
        "date_of_birth": dates(p.birth[rows]),
        "address_line1": line1,
        "town": town,
        "postcode": postcode,
        "licence_type": _labels(["full", "provisional"], provisional),
        "categories": CATEGORIES.take(pa.array(category)),
        "penalty_points": pa.array(
            np.where(provisional, 0, PENALTY_POINTS[rng.choice(4, size=size, p=PENALTY_WEIGHTS)])
        ),
        "licence_expiry": dates(expiry),
    }
    return h.table(m, columns, p.given_code[rows])


# --- Riverside Eye Hospital ------------------------------------------------------------------
DIAGNOSES = V(["Wet age-related macular degeneration", "Dry age-related macular degeneration",
               "Glaucoma", "Diabetic retinopathy", "Cataract", "Retinal vein occlusion",
               "Keratoconus", "Uveitis"])  # fmt: skip
CLINICS = V(["Medical Retina", "Medical Retina", "Glaucoma", "Medical Retina", "Cataract",
             "Medical Retina", "Cornea", "Uveitis"])  # fmt: skip
DIAGNOSIS_WEIGHTS = np.array([[0.00, 0.00, 0.08, 0.35, 0.05, 0.02, 0.30, 0.20],
                              [0.02, 0.03, 0.35, 0.35, 0.10, 0.08, 0.03, 0.04],
                              [0.15, 0.15, 0.30, 0.15, 0.15, 0.07, 0.00, 0.03],
                              [0.30, 0.25, 0.20, 0.07, 0.13, 0.05, 0.00, 0.00]])  # fmt: skip
VISITS_MEAN = np.array([9.0, 2.0, 3.0, 4.0, 1.0, 5.0, 2.0, 3.0])
SCAN_CHANCE = np.array([0.95, 0.6, 0.7, 0.8, 0.3, 0.9, 0.1, 0.5])
DEVICES = V(["Heidelberg Spectralis", "Topcon 3D OCT-2000", "Zeiss Cirrus 5000"])
EYE_SHARE_BY_AGE = np.array([0.006, 0.02, 0.065, 0.14])
AGE_EDGES_EYE = (40, 60, 75)


class EyePatients:
    """The eye hospital's patients in one block, kept for the scans and the research cohort."""

    def __init__(self, h: Holder) -> None:
        p, rng = h.people, h.rng
        group = _age_group(p.age, AGE_EDGES_EYE)
        self.rows = np.flatnonzero(rng.random(len(p)) < EYE_SHARE_BY_AGE[group])
        size = self.rows.shape[0]
        self.diagnosis = by_group(rng, group[self.rows], DIAGNOSIS_WEIGHTS)
        self.first_visit = uniform_days(
            rng,
            np.maximum(p.birth[self.rows] + 365 * DAY, WORLD_DATE - 8 * 365 * DAY),
            np.full(size, WORLD_DATE - 30 * DAY),
        )
        visits = np.minimum(1 + rng.poisson(VISITS_MEAN[self.diagnosis]), 24)
        owner = np.repeat(np.arange(size), visits)
        first = self.first_visit[owner]
        when = uniform_days(rng, first + DAY, np.full(owner.shape[0], WORLD_DATE))
        first_of_each = np.cumsum(visits) - visits
        when[first_of_each] = self.first_visit
        order = np.lexsort((when, owner))
        self.visit_owner, self.visit_date = owner[order], when[order]
        self.visit_offsets = np.concatenate([[0], np.cumsum(visits)]).astype(np.int32)
        scanned = rng.random(owner.shape[0]) < SCAN_CHANCE[self.diagnosis[self.visit_owner]]
        both = rng.random(owner.shape[0]) < 0.5
        eyes = np.where(scanned, np.where(both, 2, 1), 0)
        self.scan_owner = np.repeat(self.visit_owner, eyes)
        self.scan_date = np.repeat(self.visit_date, eyes)
        first_eye = (rng.random(owner.shape[0]) < 0.5).astype(np.int8)
        pairs = np.stack([first_eye, 1 - first_eye], axis=1)
        keep = np.arange(2)[None, :] < eyes[:, None]
        self.scan_eye = pairs[keep]
        self.scan_count = np.bincount(self.scan_owner, minlength=size).astype(np.int32)
        self.members: Members = h.enrol(rng, self.rows, self.first_visit, refresh_years=2)
        self.hospital_number = strings.prefixed_digits("RVE", h.local_numbers(self.members, 8), 8)
        self.table = self._table(h)

    def _table(self, h: Holder) -> pa.Table:
        p, rows = h.people, self.rows
        visits = pa.ListArray.from_arrays(pa.array(self.visit_offsets), dates(self.visit_date))
        columns = {
            "hospital_number": self.hospital_number,
            "nhs_number": p.nhs_number.take(rows),
            "given_name": h.given_names(self.members),
            "family_name": h.family_names(self.members),
            "date_of_birth": dates(p.birth[rows]),
            "sex": _labels(["male", "female"], p.female[rows]),
            "postcode": h.address(self.members)[2],
            "diagnosis": DIAGNOSES.take(pa.array(self.diagnosis)),
            "clinic": CLINICS.take(pa.array(self.diagnosis)),
            "clinic_visits": visits,
            "oct_scan_count": pa.array(self.scan_count),
        }
        return h.table(self.members, columns, p.given_code[rows])


def oct_scans(h: Holder, eye: EyePatients) -> pa.Table:
    rng = h.rng
    size = eye.scan_owner.shape[0]
    sequence = np.arange(size) - np.searchsorted(eye.scan_owner, eye.scan_owner, side="left") + 1
    owner = pa.array(eye.scan_owner)
    scan_id = strings.join(
        eye.table.column("hospital_number").combine_chunks().take(owner),
        strings.fixed_width(strings.digits(sequence, 3)),
        separator="-",
    )
    members = Members(
        rows=eye.rows[eye.scan_owner],
        stale_address=np.zeros(size, dtype=bool),
        old_surname=np.zeros(size, dtype=bool),
        updated_at=(eye.scan_date.astype("datetime64[s]") + np.timedelta64(9 * 3600, "s"))
        + (rng.integers(0, 8 * 3600, size=size)).astype("timedelta64[s]"),
    )
    columns = {
        "scan_id": scan_id,
        "nhs_number": eye.table.column("nhs_number").combine_chunks().take(owner),
        "scan_date": dates(eye.scan_date),
        "eye": _labels(["left", "right"], eye.scan_eye),
        "device_model": choose(rng, DEVICES, np.array([0.5, 0.3, 0.2]), size),
        "signal_strength": pa.array(
            np.clip(np.round(rng.normal(8.0, 1.5, size=size)), 1, 10).astype(np.int32)
        ),
    }
    return h.table(members, columns, errors=False)


# --- University of Northmoor -----------------------------------------------------------------
OUTCOMES = V(["improved", "stable", "deteriorated", "withdrawn"])
OUTCOME_WEIGHTS = np.array([[0.30, 0.40, 0.25, 0.05]] + [[0.15, 0.60, 0.20, 0.05]] * 7)
AGE_BANDS = V([f"{low}-{low + 4}" for low in range(0, 100, 5)])
AREAS = V([t.area for t in vocab.TOWNS])
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def cohort(h: Holder, eye: EyePatients) -> pa.Table:
    p, rng = h.people, h.rng
    chosen = np.flatnonzero(rng.random(eye.rows.shape[0]) < 1 / 3)
    rows = eye.rows[chosen]
    size = rows.shape[0]
    enrolled = uniform_days(rng, eye.first_visit[chosen], np.full(size, WORLD_DATE))
    m = h.enrol(rng, rows, enrolled, refresh_years=1)
    age = ((enrolled - p.birth[rows]).astype(np.int64) // 365.25).astype(np.int64)
    number = h.local_numbers(m, 9)
    symbols = [strings.letters((number >> (5 * k)) & 31, CROCKFORD) for k in range(5, -1, -1)]
    study_id = strings.fixed_width(
        np.hstack(
            [
                np.broadcast_to(np.frombuffer(b"NMU-", np.uint8), (size, 4)),
                np.stack(symbols, axis=1).reshape(size, 6),
            ]
        )
    )
    columns = {
        "study_id": study_id,
        "age_band": AGE_BANDS.take(pa.array(np.minimum(age // 5, 19))),
        "sex": _labels(["male", "female"], p.female[rows]),
        "region": AREAS.take(pa.array(p.current.town[rows].astype(np.int64))),
        "diagnosis": DIAGNOSES.take(pa.array(eye.diagnosis[chosen])),
        "outcome": OUTCOMES.take(pa.array(by_group(rng, eye.diagnosis[chosen], OUTCOME_WEIGHTS))),
        "enrolled_on": dates(enrolled),
    }
    return h.table(m, columns, errors=False)


# --- Pennine Vale Borough Council ------------------------------------------------------------
COUNCIL_TOWN_CODES = np.array(
    [i for i, t in enumerate(vocab.TOWNS) if t.name in vocab.COUNCIL_TOWNS]
)
BANDS = V(list("ABCDEFGH"))
BAND_WEIGHTS = np.array([0.24, 0.20, 0.22, 0.16, 0.10, 0.05, 0.025, 0.005])
RESIDENTS = np.array([1, 2, 3, 4, 5], dtype=np.int32)
RESIDENT_WEIGHTS = np.array([0.30, 0.35, 0.15, 0.13, 0.07])


def council_tax(h: Holder) -> pa.Table:
    p, rng = h.people, h.rng
    rows = np.flatnonzero((p.age >= 18) & np.isin(p.current.town, COUNCIL_TOWN_CODES))
    size = rows.shape[0]
    residents = RESIDENTS[rng.choice(5, size=size, p=RESIDENT_WEIGHTS)]
    m = h.enrol(rng, rows, p.moved_in[rows], refresh_years=1)
    line1, _, postcode = h.address(m)
    columns = {
        "account_reference": strings.prefixed_digits("PV", h.local_numbers(m, 8), 8),
        "given_name": h.given_names(m),
        "family_name": h.family_names(m),
        "address_line1": line1,
        "postcode": postcode,
        "council_tax_band": choose(rng, BANDS, BAND_WEIGHTS, size),
        "residents": pa.array(residents),
        "single_person_discount": pa.array((residents == 1) & (rng.random(size) < 0.9)),
        "financial_year": _labels(["2024-25"], np.zeros(size)),
    }
    return h.table(m, columns, p.given_code[rows])


# --- Thistle and Crown Bank ------------------------------------------------------------------
PRODUCTS = V(["Classic Current Account", "Premier Account", "Basic Bank Account",
              "Student Account", "Reward Account"])  # fmt: skip


def bank_accounts(h: Holder) -> pa.Table:
    p, rng = h.people, h.rng
    rows = np.flatnonzero((p.age >= 18) & (rng.random(len(p)) < 0.38))
    size = rows.shape[0]
    opened = uniform_days(
        rng,
        np.maximum(years_after(p.birth[rows], 18), np.datetime64("1985-01-01")),
        np.full(size, WORLD_DATE - DAY),
    )
    young = p.age[rows] < 25
    product = np.where(
        young & (rng.random(size) < 0.5),
        3,
        rng.choice([0, 1, 2, 4], size=size, p=[0.66, 0.12, 0.08, 0.14]),
    )
    m = h.enrol(rng, rows, opened, refresh_years=5)
    line1, town, postcode = h.address(m)
    columns = {
        "customer_id": strings.prefixed_digits("TCB", h.local_numbers(m, 8), 8),
        "given_name": h.given_names(m),
        "family_name": h.family_names(m),
        "date_of_birth": dates(p.birth[rows]),
        "address_line1": line1,
        "town": town,
        "postcode": postcode,
        "account_opened": dates(opened),
        "product": PRODUCTS.take(pa.array(product)),
    }
    return h.table(m, columns, p.given_code[rows])


# --- Albion Skyways --------------------------------------------------------------------------
NATIONALITIES = V(["GBR", "IRL", "POL", "IND", "PAK", "ROU", "USA", "FRA", "DEU", "ESP", "ITA",
                   "NGA"])  # fmt: skip
NATIONALITY_WEIGHTS = np.array([0.86, 0.02, 0.02, 0.02, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01,
                                0.01, 0.01])  # fmt: skip
TIERS = V(["Blue", "Silver", "Gold", "Platinum"])


def airline_passengers(h: Holder) -> pa.Table:
    p, rng = h.people, h.rng
    rows = np.flatnonzero(rng.random(len(p)) < 0.15)
    size = rows.shape[0]
    tier = np.where(p.age[rows] < 16, 0, rng.choice(4, size=size, p=[0.78, 0.14, 0.07, 0.01]))
    joined = uniform_days(
        rng, np.maximum(p.birth[rows], WORLD_DATE - 15 * 365 * DAY), np.full(size, WORLD_DATE - DAY)
    )
    m = h.enrol(rng, rows, joined, refresh_years=3)
    columns = {
        "passenger_ref": strings.prefixed_digits("AS", h.local_numbers(m, 9), 9),
        "given_name": h.given_names(m),
        "family_name": h.family_names(m),
        "date_of_birth": dates(p.birth[rows]),
        "passport_nationality": choose(rng, NATIONALITIES, NATIONALITY_WEIGHTS, size),
        "frequent_flyer_tier": TIERS.take(pa.array(tier)),
    }
    return h.table(m, columns, p.given_code[rows])


# --- All together ----------------------------------------------------------------------------
def generate_copies(seed: int, block: Block, people: People) -> Iterator[tuple[str, pa.Table]]:
    """Every holder's copy of this block's citizens, as (``org.dataset``, table), in fixed order."""

    def holder(spec: orgs.DatasetSpec) -> Holder:
        for organisation, dataset in orgs.all_datasets():
            if dataset is spec:
                return Holder(orgs.dataset_key(organisation, dataset), spec, seed, block, people)
        raise KeyError(spec.slug)

    yield holder(orgs.DWP_CLAIMS).key, dwp_claims(holder(orgs.DWP_CLAIMS))
    yield holder(orgs.HMRC_PAYE).key, hmrc_paye(holder(orgs.HMRC_PAYE))
    yield holder(orgs.DVLA_LICENCES).key, dvla_licences(holder(orgs.DVLA_LICENCES))
    eye = EyePatients(holder(orgs.EYE_PATIENTS))
    yield holder(orgs.EYE_PATIENTS).key, eye.table
    yield holder(orgs.OCT_SCANS).key, oct_scans(holder(orgs.OCT_SCANS), eye)
    yield holder(orgs.COUNCIL_TAX).key, council_tax(holder(orgs.COUNCIL_TAX))
    yield holder(orgs.COHORT).key, cohort(holder(orgs.COHORT), eye)
    yield holder(orgs.BANK_ACCOUNTS).key, bank_accounts(holder(orgs.BANK_ACCOUNTS))
    yield holder(orgs.AIRLINE_PASSENGERS).key, airline_passengers(holder(orgs.AIRLINE_PASSENGERS))
