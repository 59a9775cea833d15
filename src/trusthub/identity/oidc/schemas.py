"""Client registration as accepted and answered at the operator API edge."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from trusthub.identity.oidc.clients import CLIENT_SECRET_BASIC, PRIVATE_KEY_JWT, check_redirect_uri
from trusthub.identity.oidc.keys import DEFAULT_ALG
from trusthub.identity.oidc.vtr import parse_vector

AuthMethod = Literal["private_key_jwt", "client_secret_basic"]
SigningAlg = Literal["ES256", "RS256"]
Scope = Literal["openid", "profile"]
RpKind = Literal["government", "non_government"]
ReleasableClaim = Literal[
    "given_name", "family_name", "birthdate", "https://vocab.account.gov.uk/v1/coreIdentityJWT"
]
SECTOR = r"^[a-z0-9](?:[a-z0-9.:-]{0,253}[a-z0-9])?$"


class MachineClientCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    jwks: dict[str, Any] = Field(
        description="Public JWKS of the client's signing keys (EC P-256 or RSA 2048+)."
    )
    scopes: list[str] = Field(default_factory=lambda: ["exchange"], max_length=20)
    name: str | None = Field(default=None, min_length=1, max_length=200)


class MachineClientView(BaseModel):
    """What a machine client needs to get tokens: its id and where and how to ask."""

    client_id: str
    organisation: str
    scopes: list[str]
    token_endpoint: str
    token_endpoint_auth_method: str = PRIVATE_KEY_JWT
    grant_type: str = "client_credentials"
    audience: str = Field(description="The aud of the access tokens it will get.")


class RelyingPartyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    organisation: str | None = Field(default=None, description="Slug of the organisation.")
    redirect_uris: list[str] = Field(min_length=1, max_length=20)
    post_logout_redirect_uris: list[str] = Field(default_factory=list, max_length=20)
    sector_identifier: str | None = Field(
        default=None,
        pattern=SECTOR,
        description="Services sharing one see the same pairwise sub; default: the redirect host.",
    )
    token_endpoint_auth_method: AuthMethod = PRIVATE_KEY_JWT
    jwks: dict[str, Any] | None = None
    id_token_signed_response_alg: SigningAlg = DEFAULT_ALG
    scopes: list[Scope] = Field(default_factory=lambda: list[Scope](["openid"]))
    kind: RpKind = Field(
        default="government",
        description="non_government services show the citizen a consent screen first.",
    )
    allowed_claims: list[ReleasableClaim] | None = Field(
        default=None, description="Claims it may receive; unset: all its scopes give."
    )
    minimum_level: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9.]{2,32}$",
        description="The least vector of trust asked on its behalf, e.g. Cl.Cm.P2.",
    )

    @field_validator("minimum_level")
    @classmethod
    def _vector(cls, value: str | None) -> str | None:
        return None if value is None else parse_vector(value).text

    @field_validator("redirect_uris", "post_logout_redirect_uris")
    @classmethod
    def _uris(cls, uris: list[str]) -> list[str]:
        return [check_redirect_uri(uri) for uri in uris]

    @model_validator(mode="after")
    def _keys_match_method(self) -> RelyingPartyCreate:
        if self.token_endpoint_auth_method == PRIVATE_KEY_JWT and not self.jwks:
            raise ValueError("private_key_jwt needs the client's public jwks")
        if self.token_endpoint_auth_method == CLIENT_SECRET_BASIC and self.jwks:
            raise ValueError("client_secret_basic takes no jwks; the hub issues a secret")
        if "openid" not in self.scopes:
            raise ValueError("scopes must include openid")
        return self


class RelyingPartyView(BaseModel):
    client_id: str
    client_secret: str | None = Field(
        default=None, description="Shown once, for client_secret_basic; only its hash is kept."
    )
    name: str
    sector_identifier: str
    redirect_uris: list[str]
    token_endpoint_auth_method: str
    id_token_signed_response_alg: str
    kind: str = "government"
    allowed_claims: list[str] | None = None
    minimum_level: str | None = None
