"""HTTP API of matching: a department's machine client matches one verified identity."""

from __future__ import annotations

from fastapi import APIRouter

from trusthub.deps import AppSettings
from trusthub.identity.deps import MachineClient
from trusthub.identity.matching import service
from trusthub.identity.matching.schemas import MatchAnswer, MatchRequest

router = APIRouter(prefix="/identity/v1", tags=["identity"])


@router.post("/match")
def match(body: MatchRequest, caller: MachineClient, settings: AppSettings) -> MatchAnswer:
    """Find the caller's own record for a verified identity: match, no match or ambiguous (with
    the one extra question to ask the citizen, whose answer is sent back as ``answer``)."""
    decision = service.match_for(
        settings.identity_matching_dir, caller, body.department, body.identity_row(), body.answer
    )
    return MatchAnswer.of(decision)
