"""The ledger's public JSON: hashes in lower-case hex, leaf inputs in base64, paths in RFC order."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from trusthub.ledger import service, store


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class CheckpointOut(BaseModel):
    tree_size: int
    root_hash: str = Field(description="Lower-case hex.")
    checkpoint: str = Field(description="The C2SP signed-note checkpoint, as served as text.")
    created_at: datetime

    @classmethod
    def of(cls, stored: store.StoredCheckpoint) -> CheckpointOut:
        return cls(
            tree_size=stored.tree_size,
            root_hash=stored.root_hash.hex(),
            checkpoint=stored.note,
            created_at=stored.created_at,
        )


class CheckpointPage(BaseModel):
    checkpoints: list[CheckpointOut]
    next_from: int | None = Field(description="Pass as `from` for the next page; null at the end.")


class EntryOut(BaseModel):
    index: int
    leaf_input: str = Field(
        description="Base64 of the exact bytes whose RFC 9162 leaf hash is in the tree."
    )
    entry: dict[str, Any] = Field(description="The leaf input decoded (docs/ledger.md).")

    @classmethod
    def of(cls, stored: service.StoredEntry) -> EntryOut:
        return cls(
            index=stored.index,
            leaf_input=_b64(stored.leaf_input),
            entry=json.loads(stored.leaf_input),
        )


class InclusionProofOut(BaseModel):
    index: int
    tree_size: int
    leaf_hash: str
    inclusion_path: list[str]
    root_hash: str

    @classmethod
    def of(cls, proof: service.InclusionProof) -> InclusionProofOut:
        return cls(
            index=proof.index,
            tree_size=proof.tree_size,
            leaf_hash=proof.leaf_hash.hex(),
            inclusion_path=[h.hex() for h in proof.path],
            root_hash=proof.root_hash.hex(),
        )


class ConsistencyProofOut(BaseModel):
    first: int
    second: int
    consistency_path: list[str]
    first_root: str
    second_root: str

    @classmethod
    def of(cls, proof: service.ConsistencyProof) -> ConsistencyProofOut:
        return cls(
            first=proof.first,
            second=proof.second,
            consistency_path=[h.hex() for h in proof.path],
            first_root=proof.first_root.hex(),
            second_root=proof.second_root.hex(),
        )


class RecordProofOut(BaseModel):
    """Verify in two steps, each a standard RFC 9162 inclusion proof (see docs/ledger.md)."""

    index: int
    position: int
    records_count: int
    record_input: str = Field(description="Base64 of the citizen's record as hashed.")
    record: dict[str, Any]
    record_hash: str
    record_path: list[str]
    records_root: str = Field(description="Equals the entry's records.root.")
    entry_leaf_input: str
    inclusion: InclusionProofOut

    @classmethod
    def of(cls, proof: service.RecordProof) -> RecordProofOut:
        return cls(
            index=proof.index,
            position=proof.position,
            records_count=proof.records_count,
            record_input=_b64(proof.record_input),
            record=json.loads(proof.record_input),
            record_hash=proof.record_hash.hex(),
            record_path=[h.hex() for h in proof.record_path],
            records_root=proof.records_root.hex(),
            entry_leaf_input=_b64(proof.entry_leaf_input),
            inclusion=InclusionProofOut.of(proof.inclusion),
        )


class KeysOut(BaseModel):
    origin: str
    keys: list[str] = Field(description="Verifier keys (name+keyid+base64 key), current first.")
