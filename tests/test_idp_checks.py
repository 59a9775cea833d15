"""The identity providers' pure checks: MRZ, driver numbers, KBV, fraud."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trusthub.idp import dvla, fraud, kbv, mrz
from trusthub.idp.claims import Address, Identity, userinfo_claims
from trusthub.idp.flows import held_vector

TODAY = date(2026, 11, 24)
ICAO_1 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"
ICAO_2 = "L898902C36UTO7408122F1204159ZE184226B<<<<<10"


# --- passports: ICAO 9303 TD3 --------------------------------------------------------------


def test_reads_the_icao_specimen() -> None:
    passport = mrz.parse_td3(ICAO_1, ICAO_2, TODAY)
    assert passport.surname == "ERIKSSON"
    assert passport.given_names == "ANNA MARIA"
    assert passport.document_number == "L898902C3"
    assert passport.nationality == "UTO" and passport.issuing_state == "UTO"
    assert passport.birth_date == date(1974, 8, 12)
    assert passport.expiry_date == date(2012, 4, 15)
    assert passport.sex == "F"
    assert passport.personal_number == "ZE184226B"


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("L898902C3", "", "6"),
        ("740812", "", "2"),
        ("120415", "", "9"),
        ("ZE184226B<<<<<", "", "1"),
        ("<<<<<<<<<", "", "0"),
    ],
)
def test_check_digits_weight_seven_three_one(field: str, value: str, expected: str) -> None:
    assert mrz.check_digit(field + value) == expected


@pytest.mark.parametrize(
    ("position", "replacement"),
    [(9, "7"), (19, "3"), (27, "0"), (42, "2"), (43, "1"), (0, "M")],
)
def test_a_wrong_character_breaks_a_check(position: int, replacement: str) -> None:
    broken = ICAO_2[:position] + replacement + ICAO_2[position + 1 :]
    with pytest.raises(mrz.MrzError):
        mrz.parse_td3(ICAO_1, broken, TODAY)


@pytest.mark.parametrize(
    ("line1", "line2"),
    [
        (ICAO_1[:-1], ICAO_2),
        (ICAO_1, ICAO_2.lower().replace("<", " ")),
        ("V" + ICAO_1[1:], ICAO_2),
        (ICAO_1, ICAO_2[:13] + "741312" + mrz.check_digit("741312") + ICAO_2[20:]),
    ],
)
def test_malformed_zones_are_refused(line1: str, line2: str) -> None:
    with pytest.raises(mrz.MrzError):
        mrz.parse_td3(line1, line2, TODAY)


names = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=12)
births = st.dates(date(1930, 1, 1), date(2008, 12, 31))


@given(names, names, st.from_regex(r"[0-9]{9}", fullmatch=True), births, st.sampled_from("MF"))
def test_written_zones_read_back(
    surname: str, given_name: str, number: str, birth: date, sex: str
) -> None:
    expiry = date(2030, 5, 17)
    line1, line2 = mrz.make_td3(surname, given_name, number, birth, sex, expiry)
    passport = mrz.parse_td3(line1, line2, TODAY)
    assert (passport.surname, passport.given_names) == (surname, given_name)
    assert (passport.document_number, passport.birth_date, passport.sex) == (number, birth, sex)
    assert passport.expiry_date == expiry


@given(st.from_regex(r"[0-9]{9}", fullmatch=True), st.integers(0, 8), st.integers(1, 9))
def test_any_changed_digit_in_the_number_is_caught(number: str, position: int, delta: int) -> None:
    line1, line2 = mrz.make_td3("SMITH", "JO", number, date(1980, 1, 2), "F", date(2030, 1, 1))
    digit = str((int(line2[position]) + delta) % 10)
    with pytest.raises(mrz.MrzError):
        mrz.parse_td3(line1, line2[:position] + digit + line2[position + 1 :], TODAY)


# --- driving licences ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("surname", "given_names", "birth", "female", "stem"),
    [
        ("Morgan", "Sarah Meredith", date(1965, 7, 11), True, "MORGA657115SM"),
        ("Morgan", "Sarah", date(1965, 7, 11), False, "MORGA607115S9"),
        ("Fox", "Ann", date(1990, 12, 1), True, "FOX99962010A9"),
        ("MacDonald", "Iain Ross", date(1958, 3, 30), False, "MCDON503308IR"),
        ("O'Neil-Smyth", "Mary-Jo Kate", date(2001, 1, 9), True, "ONEIL051091MJ"),
    ],
)
def test_driver_number_stems(
    surname: str, given_names: str, birth: date, female: bool, stem: str
) -> None:
    assert dvla.stem(surname, given_names, birth, female) == stem


def test_a_left_out_middle_name_is_not_held_against_a_licence() -> None:
    assert dvla.check("MORGA657115SM9IJ", "Morgan", "Sarah", date(1965, 7, 11)).matches_person
    assert not dvla.check(
        "MORGA657115SM9IJ", "Morgan", "Sarah Jane", date(1965, 7, 11)
    ).matches_person


@pytest.mark.parametrize(
    ("number", "surname", "birth", "well_formed", "matches"),
    [
        ("MORGA657115SM9IJ", "Morgan", date(1965, 7, 11), True, True),
        ("morga 657115 sm9ij", "Morgan", date(1965, 7, 11), True, True),
        ("MORGA657115SM9IJ", "Morgan", date(1965, 7, 12), True, False),
        ("MORGA657115SM9IJ", "Morgen", date(1965, 7, 11), True, False),
        ("MORGA607115SM9IJ", "Morgan", date(1965, 7, 11), True, False),
        ("MORGA697115SM9IJ", "Morgan", date(1965, 7, 11), False, False),
        ("MORGA657115SM9I", "Morgan", date(1965, 7, 11), False, False),
    ],
)
def test_licences_are_checked_against_the_person(
    number: str, surname: str, birth: date, well_formed: bool, matches: bool
) -> None:
    checked = dvla.check(number, surname, "Sarah Meredith", birth, female=True)
    assert (checked.well_formed, checked.matches_person) == (well_formed, matches)


# --- knowledge-based verification ----------------------------------------------------------

POSTCODES = ("SW1A 2AA", "M1 1AE", "B1 1AA")
EMPLOYERS = ("Beta plc", "Gamma Ltd", "Delta LLP", "Acme Ltd")
BENEFITS = ("Universal Credit", "Carer's Allowance")
FACTS = [
    kbv.Fact("postcode", "Which postcode have you lived at?", "LS1 4AP", POSTCODES, False),
    kbv.Fact("employer", "Who employs you?", "Acme Ltd", EMPLOYERS),
    kbv.Fact("band", "What is your council tax band?", "C", tuple("ABCDEFGH")),
    kbv.Fact("benefit", "Which benefit do you receive?", "Pension Credit", BENEFITS),
    kbv.Fact("band", "A second band fact is not asked twice", "D", tuple("ABCDEFGH")),
]


def test_questions_offer_the_answer_among_wrong_ones() -> None:
    asked = kbv.questions(FACTS, seed=7)
    assert len(asked) == 4
    assert len({q.prompt for q in asked}) == 4
    for question in asked:
        assert question.answer in question.options
        assert len(set(question.options)) == len(question.options)
        assert question.options[-1] == kbv.NONE_OF_THESE
    assert asked == kbv.questions(FACTS, seed=7)
    assert not asked[-1].from_records  # what the person typed comes last


@pytest.mark.parametrize(("wrong", "score"), [(0, 3), (1, 2), (2, 0), (4, 0)])
def test_verification_score(wrong: int, score: int) -> None:
    asked = kbv.questions(FACTS, seed=1)
    answers = {q.id: q.answer for q in asked}
    for question in asked[:wrong]:
        answers[question.id] = kbv.NONE_OF_THESE
    assert kbv.verification_score(asked, answers) == score


def test_too_few_questions_verify_nothing() -> None:
    asked = kbv.questions(FACTS[:2], seed=1)
    assert kbv.verification_score(asked, {q.id: q.answer for q in asked}) == 0


# --- fraud ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cis", "records", "score"),
    [((), 0, 1), ((), 3, 2), (("stolen",), 3, 0), (("deceased",), 0, 0)],
)
def test_fraud_score(cis: tuple[str, ...], records: int, score: int) -> None:
    assert fraud.fraud_score(cis, records) == score


def test_identity_keys_ignore_case_accents_and_middle_names() -> None:
    born = date(1985, 12, 10)
    key = fraud.identity_key("Zoë Anne", "O'Brien", born)
    assert key == fraud.identity_key("zoe", "OBRIEN", born)
    assert key != fraud.identity_key("Zoe", "O'Brien", date(1985, 12, 11))


# --- what is asserted and released ---------------------------------------------------------

IDENTITY = Identity(
    "Ada", "Lovelace", date(1985, 12, 10), (Address("1 Ockham Road", "London", "SW1A 2AA"),),
    {"profile": "M1B"},
)  # fmt: skip


@given(st.integers(1, 2), st.integers(0, 3))
def test_one_factor_never_carries_identity_confidence(credential: int, confidence: int) -> None:
    held = held_vector(credential, confidence)
    assert held.credential == credential
    assert held.confidence == (confidence if credential == 2 else 0)


@given(st.sets(st.sampled_from(["openid", "profile", "address", "email"])), st.integers(0, 3))
def test_nothing_personal_is_released_for_an_unproven_identity(
    scopes: set[str], confidence: int
) -> None:
    claims = userinfo_claims("subject", scopes, confidence, IDENTITY)
    assert claims["sub"] == "subject"
    if confidence == 0 or not scopes & {"profile", "address"}:
        assert set(claims) == {"sub"}
    if "given_name" in claims:
        assert "profile" in scopes and confidence >= 1
