"""Ledger codes in plain English, said in one place so every page and download says the same.

Pure: codes in, words out. A code nobody has worded yet is shown readably rather than hidden,
so a new recorder's reasons still reach the citizen.
"""

from __future__ import annotations

PURPOSES: dict[str, str] = {
    "direct_care": "Your health or social care (treating or looking after you)",
    "public_service_delivery": "Providing a public service to you",
    "fraud_and_debt": "Preventing fraud or recovering money owed",
    "research": "Research",
    "planning_and_statistics": "Planning services and producing statistics",
    "identity_verification": "Checking who you are when you signed in to a service",
    "private_service_with_consent": "A service you chose to use, with your consent",
}

LAWFUL_BASES: dict[str, str] = {
    "consent": "You gave your consent",
    "contract": "It is needed for a contract with you",
    "legal_obligation": "The law requires it",
    "vital_interests": "To protect someone’s life",
    "public_task": "A public task the organisation has in law",
    "legitimate_interests": "The organisation’s legitimate interests",
}
NO_LAWFUL_BASIS = "No lawful basis was given"

REASONS: dict[str, str] = {
    "no_such_agreement": "There is no data-sharing agreement with the reference they gave",
    "agreement_not_active": "The data-sharing agreement was not in force",
    "agreement_expired": "The data-sharing agreement had ended",
    "wrong_recipient": "The data-sharing agreement does not cover this organisation",
    "purpose_mismatch": "They gave a purpose the agreement does not allow",
    "field_not_in_agreement": "They asked for data the agreement does not cover",
    "identifier_in_anonymised_data": "They asked for data that would identify you under an "
    "agreement that allows only anonymised data",
    "no_such_record": "The organisation holding the data has no record about you",
    "citizen_opted_out": "You have opted out of research and planning uses",
    "citizen_objected": "You objected to this agreement",
    "consent_missing": "You have not given your consent",
    "consent_withdrawn": "You withdrew your consent",
    "exemption:anonymised_data": "Your opt-out does not cover anonymised data",
    "exemption:citizen_consented": "You consented to this agreement, which overrides your opt-out",
    "exemption:required_by_law": "The law requires this use, so your opt-out does not apply",
}

DECISIONS: dict[str, str] = {"permit": "Permitted", "refuse": "Refused"}

SOURCES: dict[str, str] = {
    "exchange": "A request for your record",
    "identity": "Signing in to a service",
    "release": "A research or statistics release",
}


def _readable(code: str) -> str:
    text = code.replace("_", " ").replace(":", ": ").strip()
    return text[:1].upper() + text[1:]


def purpose(code: str) -> str:
    return PURPOSES.get(code, _readable(code))


def lawful_basis(code: str | None) -> str:
    if code is None:
        return NO_LAWFUL_BASIS
    return LAWFUL_BASES.get(code, _readable(code))


def reason(code: str) -> str:
    """A reason code worded; a free-text reason from a recorder is shown as written."""
    if code in REASONS:
        return REASONS[code]
    if " " in code:
        return code[:1].upper() + code[1:]
    return _readable(code)


def decision(code: str) -> str:
    return DECISIONS.get(code, _readable(code))


def source(code: str) -> str:
    return SOURCES.get(code, _readable(code))
