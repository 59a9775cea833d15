"""The publication gate, pure: nothing about a person is published unless a release made it safe."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trusthub.opendata.gate import publishable
from trusthub.opendata.models import Source
from trusthub.registry.models import FieldClassification as C

NP = C.NON_PERSONAL


@pytest.mark.parametrize(
    ("fields", "source", "risk", "allowed"),
    [
        ({"price": NP, "date": NP}, Source.CATALOGUE, None, True),
        ({"price": NP, "postcode": C.QUASI_IDENTIFIER}, Source.CATALOGUE, None, False),
        ({"price": NP, "diagnosis": C.SENSITIVE}, Source.CATALOGUE, None, False),
        ({"nhs_number": C.DIRECT_IDENTIFIER}, Source.CATALOGUE, None, False),
        ({"price": NP, "mystery": None}, Source.CATALOGUE, None, False),
        ({}, Source.CATALOGUE, None, False),
        ({"postcode": C.QUASI_IDENTIFIER, "band": C.SENSITIVE}, Source.RELEASE, True, True),
        ({"postcode": C.QUASI_IDENTIFIER}, Source.RELEASE, False, False),
        ({"postcode": C.QUASI_IDENTIFIER}, Source.RELEASE, None, False),
        ({"price": NP}, Source.RELEASE, None, False),
        ({"nhs_number": C.DIRECT_IDENTIFIER}, Source.RELEASE, True, False),
        ({"mystery": None}, Source.RELEASE, True, False),
        # A catalogue publication cannot borrow a release's verdict.
        ({"postcode": C.QUASI_IDENTIFIER}, Source.CATALOGUE, True, False),
    ],
)
def test_gate_table(
    fields: dict[str, C | None], source: Source, risk: bool | None, allowed: bool
) -> None:
    decision = publishable({"table": fields}, source, risk)
    assert decision.allowed is allowed
    assert bool(decision.reasons) is not allowed


def test_reasons_name_fields_and_rules() -> None:
    decision = publishable(
        {"sales": {"price": NP, "postcode": C.QUASI_IDENTIFIER, "note": None}}, Source.CATALOGUE
    )
    assert decision.reasons == (
        "field 'postcode' of resource 'sales' is classified quasi_identifier: only non-personal "
        "fields are published, unless a release with a passing risk report produced them",
        "field 'note' of resource 'sales' is not classified",
    )
    assert "risk report did not pass" in " ".join(
        publishable({"t": {"a": C.QUASI_IDENTIFIER}}, Source.RELEASE, False).reasons
    )
    assert publishable({}, Source.CATALOGUE).reasons == ("a version needs at least one resource",)
    assert publishable({"t": {}}, Source.CATALOGUE).reasons == (
        "resource 't' has no data dictionary",
    )


classifications = st.one_of(st.none(), st.sampled_from(list(C)))
resources = st.dictionaries(
    st.text(min_size=1, max_size=8),
    st.dictionaries(st.text(min_size=1, max_size=8), classifications, max_size=6),
    max_size=4,
)


@given(resources=resources, risk=st.one_of(st.none(), st.booleans()))
def test_catalogue_publishes_only_all_non_personal(
    resources: dict[str, dict[str, C | None]], risk: bool | None
) -> None:
    decision = publishable(resources, Source.CATALOGUE, risk)
    every = [c for fields in resources.values() for c in fields.values()]
    expected = bool(resources) and all(resources.values()) and all(c is NP for c in every)
    assert decision.allowed is expected


@given(resources=resources, risk=st.one_of(st.none(), st.booleans()))
def test_release_publishes_only_with_a_passing_report_and_no_direct_identifier(
    resources: dict[str, dict[str, C | None]], risk: bool | None
) -> None:
    decision = publishable(resources, Source.RELEASE, risk)
    every = [c for fields in resources.values() for c in fields.values()]
    expected = (
        risk is True
        and bool(resources)
        and all(resources.values())
        and all(c is not None and c is not C.DIRECT_IDENTIFIER for c in every)
    )
    assert decision.allowed is expected
