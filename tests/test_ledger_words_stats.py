"""Pure: the ledger's codes in words, the auditor's counts, and which agreements take choices."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trusthub.consent import offers
from trusthub.consent.models import ChoiceKind
from trusthub.ledger import stats, words
from trusthub.ledger.citizen_view import _cell
from trusthub.ledger.entry import Entry, LawfulBasis, Outcome
from trusthub.registry.agreement_rules import AgreementStatus, PurposeCategory
from trusthub.registry.agreement_schemas import RegisterEntry

T0 = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("research", "Research"),
        ("direct_care", "Your health or social care (treating or looking after you)"),
        ("a_new_purpose", "A new purpose"),
    ],
)
def test_purposes_in_words(code: str, text: str) -> None:
    assert words.purpose(code) == text


def test_every_purpose_category_and_lawful_basis_is_worded() -> None:
    for category in PurposeCategory:
        assert category.value in words.PURPOSES
    for basis in LawfulBasis:
        assert basis.value in words.LAWFUL_BASES
    assert words.lawful_basis(None) == "No lawful basis was given"


@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("citizen_opted_out", "You have opted out of research and planning uses"),
        ("exemption:anonymised_data", "Your opt-out does not cover anonymised data"),
        ("agreement covers purpose and fields", "Agreement covers purpose and fields"),
        ("some_new_code", "Some new code"),
        ("exemption:something_new", "Exemption: something new"),
    ],
)
def test_reasons_in_words(code: str, text: str) -> None:
    assert words.reason(code) == text


def test_every_policy_refusal_is_worded() -> None:
    from trusthub.exchange.policy import Reason

    for reason in Reason:
        assert reason.value in words.REASONS


def _entry(
    organisation: str = "dwp",
    agreement: str | None = "DSA-1",
    decision: Outcome = Outcome.PERMIT,
    reasons: tuple[str, ...] = (),
) -> Entry:
    return Entry(
        id="0" * 32,
        time=T0,
        source="exchange",
        organisation=organisation,
        client="c",
        agreement=agreement,
        purpose="research",
        lawful_basis=LawfulBasis.PUBLIC_TASK,
        fields=(),
        decision=decision,
        reasons=reasons,
        citizen="a" * 64,
    )


def test_summary_counts_by_agreement_organisation_and_reason() -> None:
    entries = [
        _entry(),
        _entry(organisation="hmrc", decision=Outcome.REFUSE, reasons=("citizen_opted_out",)),
        _entry(agreement=None, decision=Outcome.REFUSE, reasons=("no_such_agreement",)),
        _entry(
            decision=Outcome.REFUSE,
            reasons=("citizen_opted_out", "exemption:anonymised_data"),
        ),
        _entry(decision=Outcome.REFUSE),
    ]
    summary = stats.summarise(entries, 10, 15, [(T0, 12), (T0, 12), (T0, 15)], {"dwp": "DWP"})
    assert (summary.permitted, summary.refused, summary.entries_counted) == (1, 4, 5)
    assert [(t.key, t.label, t.permitted, t.refused) for t in summary.by_organisation] == [
        ("dwp", "DWP", 1, 3),
        ("hmrc", "hmrc", 0, 1),
    ]
    assert [(t.key, t.total) for t in summary.by_agreement] == [("DSA-1", 4), ("none", 1)]
    assert summary.by_agreement[1].label == "No agreement given"
    assert [(r.reason, r.count) for r in summary.refusals] == [
        ("citizen_opted_out", 2),
        ("no reason given", 1),
        ("no_such_agreement", 1),
    ]
    assert [p.tree_size for p in summary.growth] == [12, 15]


def test_growth_is_ordered_by_size() -> None:
    points = [(T0 + timedelta(minutes=2), 9), (T0, 3), (T0 + timedelta(minutes=1), 5)]
    assert [p.tree_size for p in stats.growth(points)] == [3, 5, 9]


@given(
    st.lists(
        st.tuples(st.sampled_from(["dwp", "hmrc", "nhs"]), st.sampled_from(list(Outcome))),
        max_size=40,
    )
)
def test_tallies_account_for_every_entry(rows: list[tuple[str, Outcome]]) -> None:
    entries = [_entry(organisation=o, decision=d, reasons=("x",)) for o, d in rows]
    tallies = stats.tally(entries, lambda e: e.organisation, str)
    assert sum(t.total for t in tallies) == len(entries)
    assert sum(t.refused for t in tallies) == sum(d is Outcome.REFUSE for _, d in rows)
    assert [t.total for t in tallies] == sorted((t.total for t in tallies), reverse=True)


@given(st.text(alphabet=string.printable, max_size=30))
def test_csv_cells_never_start_a_formula(text: str) -> None:
    assert _cell(text)[:1] not in ("=", "+", "-", "@", "\t", "\r")


def _agreement(reference: str, basis: str, status: AgreementStatus) -> RegisterEntry:
    return RegisterEntry.model_validate(
        {
            "reference": reference,
            "status": status,
            "provider": "hmrc",
            "recipient": "dwp",
            "dataset": "paye",
            "fields": ["nino"],
            "purpose": "p",
            "purpose_category": "research",
            "lawful_basis": basis,
            "article9_condition": None,
            "legal_gateway": None,
            "data_form": "pseudonymised",
            "retention_days": 1,
            "starts_on": "2026-01-01",
            "ends_on": "2027-01-01",
            "dpia_reference": None,
        }
    )


REGISTER = [
    _agreement("A", "public_task", AgreementStatus.ACTIVE),
    _agreement("B", "legitimate_interests", AgreementStatus.APPROVED),
    _agreement("C", "consent", AgreementStatus.ACTIVE),
    _agreement("D", "legal_obligation", AgreementStatus.ACTIVE),
    _agreement("E", "public_task", AgreementStatus.REVOKED),
    _agreement("F", "consent", AgreementStatus.EXPIRED),
]


@pytest.mark.parametrize(
    ("kind", "references"),
    [
        (ChoiceKind.OBJECTION, ["A", "B"]),
        (ChoiceKind.CONSENT, ["C"]),
        (ChoiceKind.NATIONAL_DATA_OPT_OUT, []),
    ],
)
def test_which_agreements_take_which_choice(kind: ChoiceKind, references: list[str]) -> None:
    assert [e.reference for e in offers.offered(kind, REGISTER)] == references
    for entry in REGISTER:
        assert offers.may_choose(kind, entry.reference, REGISTER) is (entry.reference in references)
