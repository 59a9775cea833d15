"""DICOM de-identification on the sample files pydicom ships, checked attribute by attribute."""

from __future__ import annotations

import copy
import io
import json
import shutil
import warnings
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom.data.data_manager import DATA_ROOT
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.tag import BaseTag
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID

from trusthub.release import service
from trusthub.release.dicom_deid import (
    DICOMDIR_CLASS,
    deidentify,
    new_uid,
    patient_of,
    review_reasons,
    shift_days,
)
from trusthub.release.dicom_profile import profile

KEY = b"dicom-test-key-0123456789abcdef!"
MARKERS = {
    "PatientIdentityRemoved",
    "DeidentificationMethod",
    "DeidentificationMethodCodeSequence",
    "LongitudinalTemporalInformationModified",
}


def sample_files() -> list[Path]:
    """The test files pydicom ships in its own package (no download is attempted)."""
    root = Path(DATA_ROOT) / "test_files"
    return sorted(p for p in root.rglob("*") if p.is_file())


def readable() -> Iterator[tuple[Path, Dataset]]:
    for path in sample_files():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                dataset = pydicom.dcmread(path)
        except (InvalidDicomError, EOFError, OSError, ValueError, KeyError, TypeError):
            continue
        meta = getattr(dataset, "file_meta", None)
        if str(getattr(meta, "MediaStorageSOPClassUID", "")) == DICOMDIR_CLASS:
            continue
        if "DirectoryRecordSequence" in dataset:
            continue
        yield path, dataset


SAMPLES = list(readable())


def test_there_are_many_samples() -> None:
    assert len(SAMPLES) > 100
    assert {str(d.get("Modality", "")) for _, d in SAMPLES} >= {"CT", "MR", "US", "RTPLAN"}


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or (hasattr(value, "__len__") and len(value) == 0)


def _values(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        return [str(v) for v in value]
    return [str(value)]


def check(original: Dataset, cleaned: Dataset, days: int, where: str) -> int:
    """Every attribute of ``original`` ends as its action code says; returns how many checked."""
    table = profile()
    checked = 0
    for element in original:
        tag = BaseTag(element.tag)
        if element.keyword in MARKERS:
            continue  # set by de-identification itself, checked on their own
        place = f"{where}{tag}"
        code = table.action(tag)
        if (
            code == "K"
            and element.VR == "UI"
            and any(not v.startswith("1.2.840.10008.") for v in _values(element.value))
        ):
            code = "U"
        checked += 1
        present = tag in cleaned
        if code == "X":
            assert not present, f"{place} should be removed"
            continue
        assert present, f"{place} ({code}) should be kept"
        after = cleaned[tag]
        if code == "Z":
            assert _is_empty(after.value), f"{place} should be empty"
        elif element.VR == "SQ":
            for i, (a, b) in enumerate(zip(element.value or [], after.value or [], strict=True)):
                checked += check(a, b, days, f"{place}[{i}]")
        elif code == "D":
            assert not _is_empty(after.value), f"{place} should hold a dummy value"
            if not _is_empty(element.value) and element.VR not in ("US", "SS", "UL", "SL"):
                assert after.value != element.value, f"{place} should be replaced"
        elif code == "U":
            before = _values(element.value)
            assert _values(after.value) == [new_uid(KEY, v) for v in before], place
        elif code == "C":
            if element.VR == "DA" and _values(element.value):
                for b, a in zip(_values(element.value), _values(after.value), strict=True):
                    b = b.replace(".", "")
                    moved = date(int(b[:4]), int(b[4:6]), int(b[6:8])) + timedelta(days=days)
                    assert a == moved.strftime("%Y%m%d"), place
            elif element.VR == "TM":
                assert after.value == element.value
        else:
            assert code == "K"
            assert after.value == element.value, f"{place} should be kept as it was"
    return checked


@pytest.mark.parametrize(
    ("path", "dataset"), SAMPLES, ids=[str(p.relative_to(DATA_ROOT)) for p, _ in SAMPLES]
)
def test_every_attribute_ends_as_its_action_code_says(path: Path, dataset: Dataset) -> None:
    original, dataset = dataset, copy.deepcopy(dataset)
    days = shift_days(KEY, patient_of(original))
    deidentify(dataset, profile(), KEY)
    assert check(original, dataset, days, "") > 0
    assert dataset.PatientIdentityRemoved == "YES"
    assert "Basic Profile" in _values(dataset.DeidentificationMethod)[-1]
    assert [c.CodeValue for c in dataset.DeidentificationMethodCodeSequence] == [
        "113100",
        "113107",
    ]
    assert not any(BaseTag(e.tag).is_private for e in dataset.iterall())


def test_profile_codes_come_from_the_table() -> None:
    table = profile()
    assert table.action(BaseTag(0x00100010)) == "Z"  # Patient's Name
    assert table.action(BaseTag(0x00100020)) == "D"  # Patient ID (Z/D)
    assert table.action(BaseTag(0x0020000D)) == "U"  # Study Instance UID
    assert table.action(BaseTag(0x00080020)) == "C"  # Study Date, modified-dates option
    assert table.action(BaseTag(0x00100030)) == "Z"  # Patient's Birth Date stays Basic
    assert table.action(BaseTag(0x00081030)) == "X"  # Study Description
    assert table.action(BaseTag(0x00080060)) == "K"  # Modality: not in the table
    assert table.action(BaseTag(0x60003000)) == "X"  # Overlay Data, a masked range
    assert table.action(BaseTag(0x00091001)) == "X"  # private
    assert len(table.basic) > 600


def test_review_rules() -> None:
    image = Dataset()
    image.PixelData = b"\x00\x00"
    image.Modality = "CT"
    assert review_reasons(image) == []
    image.BurnedInAnnotation = "YES"
    assert review_reasons(image) == ["BurnedInAnnotation is YES"]
    image.BurnedInAnnotation = "NO"
    image.Modality = "US"
    assert review_reasons(image) == []
    del image.BurnedInAnnotation
    assert review_reasons(image) == ["modality US often carries burned-in text"]
    del image.PixelData
    assert review_reasons(image) == []


def _identifiers(dataset: Dataset) -> set[str]:
    """Original names, IDs, birth dates and instance UIDs, at every depth, worth searching for."""
    found: set[str] = set()
    for element in dataset.iterall():
        if element.keyword in ("PatientName", "PatientID", "PatientBirthDate", "OtherPatientIDs"):
            found.update(v for v in _values(element.value) if len(v.strip()) >= 4)
        if element.VR == "UI":
            found.update(
                v
                for v in _values(element.value)
                if len(v) >= 8 and not v.startswith("1.2.840.10008.")
            )
    meta = getattr(dataset, "file_meta", None)
    if meta is not None:
        found.update(
            v
            for e in meta
            if e.VR == "UI"
            for v in _values(e.value)
            if len(v) >= 8 and not v.startswith("1.2.840.10008.")
        )
    ours = {"ANONYMIZED", "ANONYMOUS", "ANONYMISED", PYDICOM_IMPLEMENTATION_UID}
    return {v for v in found if v.upper() not in ours}


def _header_bytes(path: Path) -> bytes:
    """The file as written, less its pixels (whose bytes can spell anything by chance)."""
    dataset = pydicom.dcmread(path)
    for keyword in ("PixelData", "FloatPixelData", "DoubleFloatPixelData"):
        if keyword in dataset:
            del dataset[keyword]
    buffer = io.BytesIO()
    dataset.save_as(buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def folder_release(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, Any]]:
    source = tmp_path_factory.mktemp("scans") / "in"
    shutil.copytree(Path(DATA_ROOT) / "test_files", source)
    out = source.parent / "out"
    manifest = service.deidentify_folder(
        None,
        source,
        out,
        name="eye-scans",
        recipient="deepmind-health",
        agreement="DSA-2016-0001",
        released_by="test",
        key=KEY,
        workers=2,
    )
    return source, out, manifest


def test_no_original_identifier_survives_in_any_output_file(
    folder_release: tuple[Path, Path, dict[str, Any]],
) -> None:
    _, out, manifest = folder_release
    secrets_: set[str] = set()
    for _path, dataset in SAMPLES:
        secrets_ |= _identifiers(dataset)
    assert len(secrets_) > 50
    outputs = sorted((out / "files").glob("*.dcm")) + sorted(
        (out / "internal" / "review").glob("*.dcm")
    )
    assert len(outputs) == manifest["counts"]["released"] + manifest["counts"]["review"]
    for path in outputs:
        raw = _header_bytes(path)
        leaked = [s for s in secrets_ if s.encode() in raw]
        assert not leaked, f"{path.name} still holds {len(leaked)} original identifier(s)"
    # internal/source-map.json maps back to the input paths, which are the releaser's own and
    # can name patients (folders named by patient ID): it never leaves the releaser.
    source_map = out / "internal" / "source-map.json"
    others = [p for p in out.rglob("*") if p.is_file() and p.suffix != ".dcm" and p != source_map]
    assert out / "manifest.json" in others
    for path in others:
        raw = path.read_bytes()
        assert not any(s.encode() in raw for s in secrets_), path.name


def test_the_manifest_accounts_for_every_file_and_holds_back_risky_pixels(
    folder_release: tuple[Path, Path, dict[str, Any]],
) -> None:
    source, out, manifest = folder_release
    assert len(manifest["files"]) == len([p for p in source.rglob("*") if p.is_file()])
    assert json.loads((out / "manifest.json").read_text())["counts"] == manifest["counts"]
    by_status: dict[str, list[dict[str, Any]]] = {}
    for entry in manifest["files"]:
        by_status.setdefault(entry["status"], []).append(entry)
    assert not by_status.get("error")
    released = {e["file"] for e in by_status["released"]}
    assert released == {p.name for p in (out / "files").iterdir()}
    for entry in by_status["review"]:
        assert entry["reasons"] and entry["file"] is None
    source_map = json.loads((out / "internal" / "source-map.json").read_text())
    for entry in by_status["released"]:
        original = pydicom.dcmread(source / source_map[f"{entry['index']:06d}"], force=True)
        assert str(original.get("Modality", "")) not in ("US", "OT")
        if "SOPInstanceUID" in original:
            assert entry["sop_instance"] == new_uid(KEY, str(original.SOPInstanceUID))


def test_uids_and_dates_stay_consistent_across_a_study(
    folder_release: tuple[Path, Path, dict[str, Any]],
) -> None:
    source, out, manifest = folder_release
    source_map = json.loads((out / "internal" / "source-map.json").read_text())
    studies: dict[str, set[str]] = {}
    shifts: dict[str, set[int]] = {}
    for entry in manifest["files"]:
        if entry["status"] != "released":
            continue
        original = pydicom.dcmread(source / source_map[f"{entry['index']:06d}"], force=True)
        if "StudyInstanceUID" in original:
            studies.setdefault(str(original.StudyInstanceUID), set()).add(entry["study"])
        cleaned = pydicom.dcmread(out / "files" / entry["file"])
        if original.get("StudyDate") and cleaned.get("StudyDate"):
            a = date.fromisoformat(
                f"{original.StudyDate[:4]}-{original.StudyDate[4:6]}-{original.StudyDate[6:8]}"
            )
            b = date.fromisoformat(
                f"{cleaned.StudyDate[:4]}-{cleaned.StudyDate[4:6]}-{cleaned.StudyDate[6:8]}"
            )
            shifts.setdefault(str(original.PatientID), set()).add((b - a).days)
    assert all(len(new) == 1 for new in studies.values())
    assert len({next(iter(v)) for v in studies.values()}) == len(studies)
    assert all(len(s) == 1 and next(iter(s)) < 0 for s in shifts.values())
    assert len(shifts) >= 3
