"""What each provider publishes: the hub's discovery document, narrowed to what it supports."""

from __future__ import annotations

from typing import Any

from trusthub.identity.oidc.metadata import discovery_document, trustmark
from trusthub.identity.oidc.provider import Provider
from trusthub.idp.clients import SCOPES
from trusthub.idp.providers import Brand

CLAIMS = [
    "sub", "vot", "vtm", "nonce", "auth_time", "given_name", "family_name", "birthdate",
    "address", "address_history", "gpg45",
]  # fmt: skip
VTR_VALUES = ["Cl", "Cl.Cm", "Cl.Cm.P1", "Cl.Cm.P2", "Cl.Cm.P3"]


def discovery(provider: Provider, brand: Brand) -> dict[str, Any]:
    """OIDC Discovery 1.0 for one provider: public subjects, the code flow only, ES256."""
    document = discovery_document(provider)
    document.pop("end_session_endpoint", None)
    document.update(
        scopes_supported=list(SCOPES),
        grant_types_supported=["authorization_code"],
        subject_types_supported=["public"],
        claims_supported=CLAIMS,
        prompt_values_supported=["none", "login"],
        vtr_values_supported=VTR_VALUES,
        op_policy_uri=provider.url("/trustmark"),
        service_documentation=provider.url("/trustmark"),
        idp_name=brand.name,
    )
    return document


def provider_trustmark(provider: Provider, brand: Brand) -> dict[str, Any]:
    document = trustmark(provider)
    document["name"] = brand.name
    document["P"] = ["P0", "P1", "P2", "P3"]
    document["meaning"].pop("P4", None)
    document["gpg45"] = "P1 low, P2 medium, P3 high confidence, from the profile reached"
    return document
