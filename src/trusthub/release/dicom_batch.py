"""De-identify a folder of DICOM files across worker processes, one manifest entry per file."""

from __future__ import annotations

import hashlib
import io
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydicom
from pydicom.errors import InvalidDicomError

from trusthub.release.dicom_deid import DICOMDIR_CLASS, deidentify, review_reasons
from trusthub.release.dicom_profile import profile

CHUNK = 32


@dataclass(frozen=True)
class Job:
    index: int
    source: str
    released: str
    review: str
    key: bytes


def process(job: Job) -> dict[str, Any]:
    """De-identify one file; what comes back names no original value."""
    try:
        data = Path(job.source).read_bytes()
    except OSError:
        return {"index": job.index, "status": "error", "reasons": ["unreadable file"]}
    entry: dict[str, Any] = {"index": job.index, "input_sha256": hashlib.sha256(data).hexdigest()}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dataset = pydicom.dcmread(io.BytesIO(data))
    except (InvalidDicomError, EOFError, OSError, ValueError, KeyError, TypeError):
        return {**entry, "status": "skipped", "reasons": ["not a readable DICOM file"]}
    media_class = str(getattr(getattr(dataset, "file_meta", None), "MediaStorageSOPClassUID", ""))
    if media_class == DICOMDIR_CLASS or "DirectoryRecordSequence" in dataset:
        return {**entry, "status": "skipped", "reasons": ["a DICOMDIR index, not an instance"]}
    reasons = review_reasons(dataset)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            actions = deidentify(dataset, profile(), job.key)
            dataset.save_as(job.review if reasons else job.released)
    except Exception as error:
        return {**entry, "status": "error", "reasons": [type(error).__name__]}
    return {
        **entry,
        "status": "review" if reasons else "released",
        "reasons": reasons,
        "file": None if reasons else Path(job.released).name,
        "study": str(dataset.get("StudyInstanceUID", "")),
        "series": str(dataset.get("SeriesInstanceUID", "")),
        "sop_instance": str(dataset.get("SOPInstanceUID", "")),
        "actions": dict(sorted(actions.counts.items())),
    }


def sources(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))


def run(
    files: list[Path],
    released: Path,
    review: Path,
    key: bytes,
    workers: int,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """Entries in input order; with one worker everything runs in this process."""
    jobs = [
        Job(
            index=i,
            source=str(path),
            released=str(released / f"{i:06d}.dcm"),
            review=str(review / f"{i:06d}.dcm"),
            key=key,
        )
        for i, path in enumerate(files, start=1)
    ]
    total = len(jobs)
    released.mkdir(parents=True, exist_ok=True)
    review.mkdir(parents=True, exist_ok=True)
    if workers <= 1:
        for done, job in enumerate(jobs, start=1):
            yield process(job)
            if progress:
                progress(done, total)
        return
    profile()  # loaded once here, inherited by the forked workers
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for done, entry in enumerate(pool.map(process, jobs, chunksize=CHUNK), start=1):
            yield entry
            if progress:
                progress(done, total)
