"""Import every part's models so that ``Base.metadata`` — and so Alembic — sees the whole schema."""

from trusthub.consent import models as consent_models
from trusthub.db import Base
from trusthub.identity import models as identity_models
from trusthub.registry import models as registry_models

metadata = Base.metadata

__all__ = ["consent_models", "identity_models", "metadata", "registry_models"]
