"""Companies House basic company data: 55 columns, about 5 million live companies, in parts.

The real download is BasicCompanyData-YYYY-MM-DD-partN_M.csv: a header row whose names carry
dots (``RegAddress.PostTown``) and, for some, a leading space (`` CompanyNumber``), dates as
dd/mm/yyyy, empty strings for nothing, and every field quoted. The loader reads every part,
names columns in snake_case and parses dates and counts; company records say nothing about a
person (officers and persons with significant control are not in this file).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

from trusthub.opendata.schemas import (
    ChartSpec,
    DatasetCreate,
    FieldSpec,
    ResourceSpec,
    VersionCreate,
)
from trusthub.opendata.sources import Kind
from trusthub.opendata.sources.sqlgen import copy_csv, draw, file_list, pick, uniforms
from trusthub.opendata.storage import quote_identifier, quote_literal
from trusthub.registry.models import FieldClassification

HEADER = (
    [
        "CompanyName",
        " CompanyNumber",
        "RegAddress.CareOf",
        "RegAddress.POBox",
        "RegAddress.AddressLine1",
        " RegAddress.AddressLine2",
        "RegAddress.PostTown",
        "RegAddress.County",
        "RegAddress.Country",
        "RegAddress.PostCode",
        "CompanyCategory",
        "CompanyStatus",
        "CountryOfOrigin",
        "DissolutionDate",
        "IncorporationDate",
        "Accounts.AccountRefDay",
        "Accounts.AccountRefMonth",
        "Accounts.NextDueDate",
        "Accounts.LastMadeUpDate",
        "Accounts.AccountCategory",
        "Returns.NextDueDate",
        "Returns.LastMadeUpDate",
        "Mortgages.NumMortCharges",
        "Mortgages.NumMortOutstanding",
        "Mortgages.NumMortPartSatisfied",
        "Mortgages.NumMortSatisfied",
        "SICCode.SicText_1",
        "SICCode.SicText_2",
        "SICCode.SicText_3",
        "SICCode.SicText_4",
        "LimitedPartnerships.NumGenPartners",
        "LimitedPartnerships.NumLimPartners",
        "URI",
    ]
    + [
        h
        for n in range(1, 11)
        for h in (f"PreviousName_{n}.CONDATE", f" PreviousName_{n}.CompanyName")
    ]
    + ["ConfStmtNextDueDate", " ConfStmtLastMadeUpDate"]
)
DATES = {
    "DissolutionDate",
    "IncorporationDate",
    "Accounts.NextDueDate",
    "Accounts.LastMadeUpDate",
    "Returns.NextDueDate",
    "Returns.LastMadeUpDate",
    "ConfStmtNextDueDate",
    "ConfStmtLastMadeUpDate",
} | {f"PreviousName_{n}.CONDATE" for n in range(1, 11)}
COUNTS = {
    "Accounts.AccountRefDay",
    "Accounts.AccountRefMonth",
    "Mortgages.NumMortCharges",
    "Mortgages.NumMortOutstanding",
    "Mortgages.NumMortPartSatisfied",
    "Mortgages.NumMortSatisfied",
    "LimitedPartnerships.NumGenPartners",
    "LimitedPartnerships.NumLimPartners",
}
PART_ROWS = 850_000
WORDS = [
    "ACORN",
    "BRIDGE",
    "CASTLE",
    "DELTA",
    "EDEN",
    "FALCON",
    "GRANITE",
    "HARBOUR",
    "IRIS",
    "JUNIPER",
    "KESTREL",
    "LANTERN",
    "MAPLE",
    "NORTHERN",
    "ORCHARD",
    "PENNINE",
    "QUAY",
    "RIVERSIDE",
    "SUMMIT",
    "THAMES",
    "UNION",
    "VALLEY",
    "WESSEX",
    "YEW",
]
TRADES = [
    "CONSULTING",
    "HOLDINGS",
    "PROPERTIES",
    "TECHNOLOGIES",
    "VINEYARDS",
    "BUILDERS",
    "TRADING",
    "SERVICES",
    "LOGISTICS",
    "FOODS",
    "DESIGN",
    "ENERGY",
]
TOWNS = [
    "LONDON",
    "MANCHESTER",
    "BIRMINGHAM",
    "LEEDS",
    "BRISTOL",
    "CARDIFF",
    "EDINBURGH",
    "GLASGOW",
    "NOTTINGHAM",
    "NORWICH",
    "EXETER",
    "SHEFFIELD",
]
SIC = [
    "62020 - Information technology consultancy activities",
    "68209 - Other letting and operating of own or leased real estate",
    "70229 - Management consultancy activities other than financial management",
    "01210 - Growing of grapes",
    "41100 - Development of building projects",
    "47910 - Retail sale via mail order houses or via Internet",
    "56101 - Licensed restaurants",
    "96090 - Other service activities n.e.c.",
    "99999 - Dormant Company",
]
CATEGORIES = ["Private Limited Company"] * 8 + [
    "PRI/LTD BY GUAR/NSC (Private, limited by guarantee, no share capital, use of 'Limited' exemption)",
    "Limited Liability Partnership",
    "Public Limited Company",
]
STATUSES = ["Active"] * 9 + ["Active - Proposal to Strike off", "Liquidation"]


def column_name(header: str) -> str:
    """``RegAddress.PostTown`` → ``reg_address_post_town``; leading spaces are a known quirk."""
    name = "".join(header.split()).replace(".", "_")
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return re.sub(r"_+", "_", name.lower())


def generate(
    out_dir: Path, rows: int, seed: int, progress: Callable[[int], None] | None = None
) -> list[Path]:
    """Write the parts of BasicCompanyData as Companies House does: headed, quoted, dd/mm/yyyy."""
    u = uniforms(seed)

    def date(stream: int, first: str, days: int) -> str:
        return f"strftime(DATE '{first}' + (({u(stream)}) * {days})::INTEGER, '%d/%m/%Y')"

    values: dict[str, str] = {h.strip(): "''" for h in HEADER}
    values.update(
        {
            "CompanyName": f"{pick(seed, 1, WORDS)} || ' ' || {pick(seed, 2, TRADES)} || ' ' || "
            f"CASE WHEN {u(3)} < 0.1 THEN 'LLP' ELSE 'LIMITED' END",
            "CompanyNumber": f"CASE WHEN {u(4)} < 0.08 THEN 'SC' || lpad((i % 999999)::VARCHAR, 6, '0') "
            "ELSE lpad((i + 1)::VARCHAR, 8, '0') END",
            "RegAddress.AddressLine1": f"(1 + {draw(seed, 5)} % 300)::VARCHAR || ' ' || {pick(seed, 6, WORDS)} || ' ROAD'",
            "RegAddress.PostTown": pick(seed, 7, TOWNS),
            "RegAddress.Country": f"CASE WHEN {u(8)} < 0.85 THEN 'ENGLAND' WHEN {u(8)} < 0.93 THEN 'SCOTLAND' ELSE 'WALES' END",
            "RegAddress.PostCode": f"{pick(seed, 9, ['EC1A', 'M1', 'B3', 'LS1', 'BS1', 'CF10', 'EH1', 'G2'])} || ' ' || ({draw(seed, 10)} % 10)::VARCHAR || 'AB'",
            "CompanyCategory": pick(seed, 11, CATEGORIES),
            "CompanyStatus": pick(seed, 12, STATUSES),
            "CountryOfOrigin": "'United Kingdom'",
            "IncorporationDate": date(13, "1950-01-01", 27_000),
            "Accounts.AccountRefDay": "'31'",
            "Accounts.AccountRefMonth": f"(1 + {draw(seed, 14)} % 12)::VARCHAR",
            "Accounts.NextDueDate": date(15, "2025-01-01", 700),
            "Accounts.LastMadeUpDate": date(16, "2023-01-01", 700),
            "Accounts.AccountCategory": pick(
                seed,
                17,
                [
                    "MICRO ENTITY",
                    "TOTAL EXEMPTION FULL",
                    "DORMANT",
                    "SMALL",
                    "FULL",
                    "NO ACCOUNTS FILED",
                ],
            ),
            "Mortgages.NumMortCharges": f"({draw(seed, 18)} % 4)::VARCHAR",
            "Mortgages.NumMortOutstanding": f"({draw(seed, 19)} % 2)::VARCHAR",
            "Mortgages.NumMortPartSatisfied": "'0'",
            "Mortgages.NumMortSatisfied": "'0'",
            "SICCode.SicText_1": pick(seed, 20, SIC),
            "SICCode.SicText_2": f"CASE WHEN {u(21)} < 0.2 THEN {pick(seed, 22, SIC)} ELSE '' END",
            "LimitedPartnerships.NumGenPartners": "'0'",
            "LimitedPartnerships.NumLimPartners": "'0'",
            "URI": "'http://business.data.gov.uk/id/company/' || lpad((i + 1)::VARCHAR, 8, '0')",
            "PreviousName_1.CONDATE": f"CASE WHEN {u(23)} < 0.15 THEN {date(24, '2000-01-01', 8000)} ELSE '' END",
            "PreviousName_1.CompanyName": f"CASE WHEN {u(23)} < 0.15 THEN {pick(seed, 25, WORDS)} || ' LIMITED' ELSE '' END",
            "ConfStmtNextDueDate": date(26, "2025-01-01", 400),
            "ConfStmtLastMadeUpDate": date(27, "2024-01-01", 400),
        }
    )
    paths = []
    parts = max(1, -(-rows // PART_ROWS))
    for part in range(parts):
        start, end = part * PART_ROWS, min(rows, (part + 1) * PART_ROWS)
        select_list = ", ".join(f"{values[h.strip()]} AS {quote_identifier(h)}" for h in HEADER)
        sql = f"SELECT {select_list} FROM range({start}, {end}) AS t(i) ORDER BY i"
        target = out_dir / f"BasicCompanyData-2026-01-01-part{part + 1}_{parts}.csv"
        paths.append(copy_csv(sql, target, header=True, force_quote=True))
        if progress:
            progress(end - start)
    return paths


def load_sql(paths: Sequence[Path]) -> str:
    columns = ", ".join(f"{quote_literal(h)}: 'VARCHAR'" for h in HEADER)
    select = []
    for header in HEADER:
        raw = f"NULLIF(trim({quote_identifier(header)}), '')"
        if header.strip() in DATES:
            raw = f"TRY_STRPTIME({raw}, '%d/%m/%Y')::DATE"
        elif header.strip() in COUNTS:
            raw = f"TRY_CAST({raw} AS INTEGER)"
        select.append(f"{raw} AS {quote_identifier(column_name(header))}")
    return (
        f"SELECT {', '.join(select)} FROM read_csv({file_list(paths)}, header = true, "
        f"columns = {{{columns}}}, quote = '\"', escape = '\"', null_padding = true, "
        "strict_mode = false, union_by_name = false)"
    )


def select(paths: Sequence[Path]) -> dict[str, str]:
    return {"companies": load_sql(paths)}


def manifest(organisation: str = "companies-house") -> VersionCreate:
    fields = [
        FieldSpec(
            name=column_name(h), label=h.strip(), classification=FieldClassification.NON_PERSONAL
        )
        for h in HEADER
    ]
    return VersionCreate(
        dataset=DatasetCreate(
            name="basic-company-data",
            organisation=organisation,
            title="Basic company data",
            description="Every live company on the register: name, number, registered office, "
            "status, incorporation date, accounts and returns, SIC codes and previous names.",
            keywords=["companies", "business", "register"],
            spatial="United Kingdom",
            update_frequency="monthly",
            chart=ChartSpec(
                title="Companies by year of incorporation",
                resource="companies",
                kind="line",
                x="incorporation_date",
                bucket="year",
                agg="count",
                y_label="Companies",
            ),
        ),
        notes="Monthly snapshot.",
        resources=[
            ResourceSpec(
                name="companies",
                description="One row per company.",
                fields=fields,
                sort_by=["company_number"],
            )
        ],
    )


KIND = Kind(
    name="companies",
    summary="Companies House BasicCompanyData-*-part*.csv (55 columns, headed)",
    default_rows=5_000_000,
    generate=generate,
    manifest=manifest,
    select=select,
)
