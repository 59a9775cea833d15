"""Citizens' choices as events; the current state is always derived, never stored."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from trusthub.db import Base
from trusthub.models_common import BigId, Timestamp, str_enum


class ChoiceKind(enum.StrEnum):
    NATIONAL_DATA_OPT_OUT = "national_data_opt_out"
    OBJECTION = "objection"
    CONSENT = "consent"


class ChoiceAction(enum.StrEnum):
    SET = "set"
    WITHDRAWN = "withdrawn"


class Channel(enum.StrEnum):
    WEB = "web"
    PHONE = "phone"
    POST = "post"
    GP_PRACTICE = "gp_practice"
    DEMO = "demo"


class ChoiceEvent(Base):
    __tablename__ = "choice_events"
    __table_args__ = (Index("ix_choice_events_citizen_kind", "citizen_id", "kind"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"))
    kind: Mapped[ChoiceKind] = mapped_column(str_enum(ChoiceKind, "choice_kind"))
    action: Mapped[ChoiceAction] = mapped_column(str_enum(ChoiceAction, "choice_action"))
    scope: Mapped[str | None] = mapped_column(
        String(64), doc="What an objection or consent is about, e.g. an agreement reference."
    )
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "channel"))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[Timestamp]
