"""Import every part's models so that ``Base.metadata`` — and so Alembic — sees the whole schema."""

from trusthub.consent import models as consent_models
from trusthub.db import Base
from trusthub.identity import models as identity_models
from trusthub.identity.broker import models as identity_broker_models
from trusthub.identity.oidc import models as identity_oidc_models
from trusthub.idp import models as idp_models
from trusthub.ledger import models as ledger_models
from trusthub.opendata import models as opendata_models
from trusthub.registry import models as registry_models
from trusthub.release import models as release_models

metadata = Base.metadata

__all__ = [
    "consent_models",
    "identity_broker_models",
    "identity_models",
    "identity_oidc_models",
    "idp_models",
    "ledger_models",
    "metadata",
    "opendata_models",
    "registry_models",
    "release_models",
]
