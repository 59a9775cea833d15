"""What the provider publishes about itself: discovery (OIDC Discovery 1.0) and its trustmark."""

from __future__ import annotations

from typing import Any

from trusthub.identity.oidc.keys import SIGNING_ALGS
from trusthub.identity.oidc.provider import Provider
from trusthub.identity.oidc.vtr import CONFIDENCE_LEVELS, CREDENTIAL_LEVELS, DEFAULT_VTR

SCOPES = ["openid", "profile"]
CLAIMS = ["sub", "vot", "vtm", "given_name", "family_name", "birthdate", "auth_time", "nonce"]


def discovery_document(provider: Provider) -> dict[str, Any]:
    """The provider's configuration, exactly what it supports and nothing it does not."""
    algs = provider.keyring().algorithms()
    return {
        "issuer": provider.issuer,
        "authorization_endpoint": provider.authorization_endpoint,
        "token_endpoint": provider.token_endpoint,
        "userinfo_endpoint": provider.userinfo_endpoint,
        "jwks_uri": provider.jwks_uri,
        "end_session_endpoint": provider.end_session_endpoint,
        "scopes_supported": SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "client_credentials"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": algs,
        "userinfo_signing_alg_values_supported": algs,
        "token_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_basic"],
        "token_endpoint_auth_signing_alg_values_supported": list(SIGNING_ALGS),
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": CLAIMS,
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "require_request_uri_registration": False,
        "prompt_values_supported": ["none", "login"],
        "vtr_values_supported": [*DEFAULT_VTR, "Cl", "Cl.Cm.P1", "Cl.Cm.P2", "Cl.Cm.P3"],
        "trustmarks": provider.trustmark,
        "service_documentation": provider.url("/docs"),
    }


def trustmark(provider: Provider) -> dict[str, Any]:
    """What the vectors in ``vot`` mean here (RFC 8485 §5's trustmark)."""
    return {
        "idp": provider.issuer,
        "trustmark_provider": provider.issuer,
        "C": [f"C{v}" for v in CREDENTIAL_LEVELS],
        "P": [f"P{v}" for v in CONFIDENCE_LEVELS],
        "meaning": {
            "Cl": "signed in with one factor",
            "Cm": "signed in with two factors",
            "P0": "identity not checked",
            "P1": "identity checked to GPG 45 low confidence",
            "P2": "identity checked to GPG 45 medium confidence",
            "P3": "identity checked to GPG 45 high confidence",
            "P4": "identity checked to GPG 45 very high confidence",
        },
    }
