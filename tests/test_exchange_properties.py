"""Through the app, for random agreements and records: nothing outside the agreement ever leaves,
and identifiers leave in clear only where the agreement's form says identifiable."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from exchange_world import active, ask, bearer, sessions, shared, terms
from identity_world import ADA, BOB, World
from trusthub.db import transaction
from trusthub.registry.models import DatasetRecord

__all__ = ["shared"]

FIELDS = ["nino", "nhs_number", "pay_band", "employer"]
IDENTIFIERS = {"nino", "nhs_number"}
PURPOSE = "public_service_delivery"

values = st.one_of(st.none(), st.integers(-5, 5), st.text("ABCxyz 01", max_size=6))
records = st.fixed_dictionaries(
    {name: values for name in FIELDS}, optional={"secret": values, "notes": values}
)


def _check(released: dict[str, Any], data: dict[str, Any], agreed: set[str], form: str) -> None:
    assert set(released) <= agreed
    for name, value in released.items():
        if name in IDENTIFIERS and form == "pseudonymised" and data.get(name) is not None:
            assert value != data[name] and isinstance(value, str) and len(value) == 43
        else:
            assert value == data.get(name)
    if form == "anonymised":
        assert not IDENTIFIERS & set(released)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    agreed=st.lists(st.sampled_from(FIELDS), min_size=1, unique=True),
    form=st.sampled_from(["identifiable", "pseudonymised", "anonymised"]),
    asked=st.one_of(st.none(), st.lists(st.sampled_from([*FIELDS, "secret", "notes"]))),
    data=records,
)
def test_no_field_outside_the_agreement_ever_leaves_online(
    hub: World,
    shared: dict[str, str],
    agreed: list[str],
    form: str,
    asked: list[str] | None,
    data: dict[str, Any],
) -> None:
    with transaction(sessions(hub)) as session:
        session.execute(
            update(DatasetRecord)
            .where(DatasetRecord.citizen_id.in_([hub.citizen_ids[ADA], hub.citizen_ids[BOB]]))
            .values(data=data)
        )
        reference = active(
            session,
            terms(
                fields=agreed,
                data_form=form,
                article9_condition="employment_and_social_security",
                dpia_reference="DPIA-1",
            ),
        )
    extra: dict[str, Any] = {} if asked is None else {"fields": asked}
    single = ask(hub, reference, ADA, PURPOSE, **extra)
    assert single.status_code in (200, 403), single.text
    if single.status_code == 200:
        _check(single.json()["record"], data, set(agreed), form)
    batch = hub.client.post(
        "/exchange/v1/records:batch",
        json={
            "agreement": reference,
            "purpose_category": PURPOSE,
            "subjects": [{"nhs_number": ADA}, {"nhs_number": BOB}, {"nino": "AB123456C"}],
            **extra,
        },
        headers=bearer(hub),
    )
    assert batch.status_code == 200, batch.text
    results = batch.json()["results"]
    assert results[0]["permitted"] == (single.status_code == 200)
    for result in results:
        if result["permitted"]:
            _check(result["record"], data, set(agreed), form)
        else:
            assert result["record"] is None
