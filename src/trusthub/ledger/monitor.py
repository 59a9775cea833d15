"""Follow another hub's ledger as a Certificate Transparency monitor does: every new checkpoint
must be signed by the pinned key and provably extend the last one seen, or we raise the alarm."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

from trusthub.ledger import merkle
from trusthub.ledger.note import Checkpoint, NoteError, Verifier, open_checkpoint, open_note

API = "/ledger/v1"


@dataclass
class MonitorState:
    """What a monitor remembers between polls: the pinned keys and the last verified tree head."""

    origin: str | None = None
    keys: list[str] = field(default_factory=list)
    tree_size: int = 0
    root_hash: str = merkle.EMPTY_ROOT.hex()

    @classmethod
    def load(cls, path: Path) -> MonitorState:
        return cls(**json.loads(path.read_text())) if path.exists() else cls()

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(self), indent=2) + "\n")
        temporary.replace(path)


@dataclass
class Poll:
    """One look at the hub: alarms mean the log misbehaved; notes are for the operator."""

    alarms: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.alarms


class MonitorError(RuntimeError):
    """The hub could not be asked (network, HTTP error): not evidence of misbehaviour."""


def _get(client: httpx.Client, url: str, **params: int) -> httpx.Response:
    try:
        response = client.get(url, params=params or None)
    except httpx.HTTPError as error:
        raise MonitorError(f"cannot reach {url}: {type(error).__name__}") from error
    if response.status_code != 200:
        raise MonitorError(f"{url} answered HTTP {response.status_code}")
    return response


def _consistent(client: httpx.Client, base: str, old: Checkpoint, new: Checkpoint) -> bool:
    if old.size == 0:
        return old.root == merkle.EMPTY_ROOT
    if old.size == new.size:
        return old.root == new.root
    body = _get(client, f"{base}{API}/proofs/consistency", first=old.size, second=new.size).json()
    path = [bytes.fromhex(h) for h in body.get("consistency_path", [])]
    return merkle.verify_consistency(old.size, new.size, path, old.root, new.root)


def poll(
    client: httpx.Client,
    base_url: str,
    state: MonitorState,
    *,
    every_checkpoint: bool = False,
) -> Poll:
    """Check the hub's latest checkpoint (or every one since the last poll) against ``state``.

    ``state`` is updated to the newest head that verified; it is never moved past an alarm.
    """
    base = base_url.rstrip("/")
    result = Poll()
    if not state.keys:
        published = _get(client, f"{base}{API}/keys").json()
        state.keys, state.origin = list(published["keys"]), str(published["origin"])
        result.notes.append(f"trusting the hub's own keys on first use: {', '.join(state.keys)}")
    verifiers = [Verifier.from_vkey(k) for k in state.keys]
    latest_note = _get(client, f"{base}{API}/checkpoint").text
    try:
        text, _ = open_note(latest_note, verifiers)
        latest = Checkpoint.parse(text)
    except NoteError as error:
        result.alarms.append(f"the latest checkpoint does not verify: {error}")
        return result
    if state.origin is None:
        state.origin = latest.origin
    if latest.origin != state.origin:
        result.alarms.append(f"the hub now speaks for another log: {latest.origin}")
        return result
    current = Checkpoint(state.origin, state.tree_size, bytes.fromhex(state.root_hash))
    if latest.size < current.size:
        result.alarms.append(f"the log shrank from {current.size} to {latest.size} entries")
        return result
    try:
        chain = _history(client, base, state, current, latest) if every_checkpoint else [latest]
    except NoteError as error:
        result.alarms.append(f"a published checkpoint does not verify: {error}")
        return result
    for checkpoint in chain:
        result.checked += 1
        if not _consistent(client, base, current, checkpoint):
            result.alarms.append(
                f"checkpoint {checkpoint.size} is not consistent with checkpoint {current.size}"
                " (a fork or a rewritten history)"
            )
            return result
        current = checkpoint
        state.tree_size, state.root_hash = current.size, current.root.hex()
    if not result.alarms:
        result.notes.append(f"consistent up to {current.size} entries")
    return result


def _history(
    client: httpx.Client, base: str, state: MonitorState, current: Checkpoint, latest: Checkpoint
) -> list[Checkpoint]:
    """Every signed checkpoint between the last verified one and the latest, oldest first."""
    verifiers = [Verifier.from_vkey(k) for k in state.keys]
    origin = state.origin or latest.origin
    chain: list[Checkpoint] = []
    start: int | None = current.size + 1
    while start is not None and start <= latest.size:
        page = _get(client, f"{base}{API}/checkpoints", **{"from": start, "limit": 1000}).json()
        for item in page["checkpoints"]:
            if item["tree_size"] > latest.size:
                break
            chain.append(open_checkpoint(item["checkpoint"], origin, verifiers))
        start = page.get("next_from")
    if not chain or chain[-1] != latest:
        chain.append(latest)
    return chain
