"""Pages that prove who a person is: register, documents, questions, result."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
