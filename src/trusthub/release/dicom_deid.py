"""Apply the confidentiality profile to one pydicom dataset: no I/O, so it is table-tested.

UIDs are replaced by keyed hashes (``2.25.<128 bits>``), so the same original UID becomes the same
new UID in every file and every worker process — studies and series stay together without
shared state. Dates shift by a keyed, per-patient whole number of days (never zero), keeping the
intervals between a patient's studies. Sequences are cleaned item by item, at every depth.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag, Tag
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID

from trusthub.release.dicom_profile import Profile

STANDARD_UID_ROOT = "1.2.840.10008."
DUMMY_TEXT = "ANONYMISED"
DUMMY_BY_VR: dict[str, Any] = {
    "DA": "19000101",
    "TM": "000000",
    "DT": "19000101000000",
    "AS": "000Y",
    "IS": "0",
    "DS": "0",
    "PN": "ANONYMISED",
}
NUMERIC_VRS = frozenset({"US", "SS", "UL", "SL", "FL", "FD", "UV", "SV", "AT"})
BINARY_VRS = frozenset({"OB", "OW", "OF", "OD", "OL", "OV", "UN"})
PATIENT_ID = Tag(0x0010, 0x0020)
MIN_SHIFT_DAYS, MAX_SHIFT_DAYS = 365, 3650
METHOD = "PS3.15 E.1-1 Basic Profile; Retain Longitudinal Modified Dates"
METHOD_CODES = (
    ("113100", "Basic Application Confidentiality Profile"),
    ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
)
DICOMDIR_CLASS = "1.2.840.10008.1.3.10"
RISKY_MODALITIES = frozenset({"US", "OT", "SC", "XC", "ES", "GM", "DOC", "SM", "PX", "IO"})
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"


@dataclass
class Actions:
    """What was done, counted by action code, for the manifest."""

    counts: Counter[str] = field(default_factory=Counter)


def new_uid(key: bytes, uid: str) -> str:
    """A UUID-derived UID (2.25 arc) from a keyed hash: consistent and not reversible."""
    digest = hmac.new(key, b"uid:" + uid.strip().encode(), hashlib.sha256).digest()
    return f"2.25.{int.from_bytes(digest[:16], 'big')}"


def pseudonym(key: bytes, value: str) -> str:
    digest = hmac.new(key, b"patient:" + value.strip().encode(), hashlib.sha256).hexdigest()
    return f"ANON{digest[:12].upper()}"


def shift_days(key: bytes, patient: str) -> int:
    """A per-patient shift back in time of 1 to 10 years, whole days, never zero."""
    digest = hmac.new(key, b"shift:" + patient.strip().encode(), hashlib.sha256).digest()
    span = MAX_SHIFT_DAYS - MIN_SHIFT_DAYS + 1
    return -(MIN_SHIFT_DAYS + int.from_bytes(digest[:8], "big") % span)


def _shift_date(value: str, days: int) -> str | None:
    text = value.strip()
    if len(text) == 10 and text[4] == text[7] == ".":
        text = text.replace(".", "")  # the retired ACR-NEMA form YYYY.MM.DD
    if len(text) < 8 or not text[:8].isdigit():
        return None
    try:
        moved = date(int(text[:4]), int(text[4:6]), int(text[6:8])) + timedelta(days=days)
    except ValueError:
        return None
    return moved.strftime("%Y%m%d") + text[8:]


def _values(element: DataElement) -> list[Any]:
    value = element.value
    if value is None or value == "":
        return []
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        return list(value)
    return [value]


def _set(element: DataElement, values: list[Any]) -> None:
    element.value = values[0] if len(values) == 1 else values


@dataclass(frozen=True)
class Context:
    profile: Profile
    key: bytes
    days: int


def _dummy(element: DataElement, context: Context) -> None:
    vr = element.VR
    if vr == "UI":
        _remap(element, context)
    elif element.tag == PATIENT_ID:
        element.value = pseudonym(context.key, str(element.value or ""))
    elif vr in DUMMY_BY_VR:
        element.value = DUMMY_BY_VR[vr]
    elif vr in NUMERIC_VRS:
        element.value = 0
    elif vr in BINARY_VRS:
        element.value = b"\x00\x00"
    else:
        element.value = DUMMY_TEXT


def _remap(element: DataElement, context: Context) -> None:
    _set(element, [new_uid(context.key, str(v)) for v in _values(element)] or [""])


def _clean_date(element: DataElement, context: Context) -> None:
    if element.VR == "TM":
        return  # whole-day shifts leave the time of day as it was
    if element.VR not in ("DA", "DT"):
        element.value = None
        return
    shifted = [_shift_date(str(v), context.days) for v in _values(element)]
    if any(s is None for s in shifted):
        element.value = None
    elif shifted:
        _set(element, shifted)


def clean(dataset: Dataset, context: Context, actions: Actions) -> None:
    """Apply the profile to every element of ``dataset`` and, recursively, of its sequences."""
    for tag in list(dataset.keys()):
        btag = BaseTag(tag)
        code = context.profile.action(btag)
        if code == "X":
            actions.counts["private" if btag.is_private else "X"] += 1
            del dataset[tag]
            continue
        if code == "K" and dataset.get_item(btag).VR not in (None, "UN", "SQ", "UI"):
            actions.counts["K"] += 1  # kept without decoding: decoding is most of the cost
            continue
        element = dataset[tag]
        if (
            code == "K"
            and element.VR == "UI"
            and any(not str(v).startswith(STANDARD_UID_ROOT) for v in _values(element))
        ):
            code = "U"  # stricter than the table: only the standard's own UIDs survive
        actions.counts[code] += 1
        if code == "Z":
            element.value = Sequence() if element.VR == "SQ" else None
        elif element.VR == "SQ":
            for item in element.value or []:
                clean(item, context, actions)
        elif code == "D":
            _dummy(element, context)
        elif code == "U":
            _remap(element, context)
        elif code == "C":
            _clean_date(element, context)


def patient_of(dataset: Dataset) -> str:
    """What identifies the patient for the date shift: the ID, else name and birth date."""
    for keyword in ("PatientID", "PatientName", "StudyInstanceUID"):
        value = str(dataset.get(keyword, "") or "").strip()
        if value:
            return f"{keyword}:{value}"
    return "unknown"


def review_reasons(dataset: Dataset) -> list[str]:
    """Why the pixels may show identifying text or features, so the file must be reviewed."""
    if "PixelData" not in dataset and "FloatPixelData" not in dataset:
        return []
    reasons = []
    burned = str(dataset.get("BurnedInAnnotation", "") or "").upper()
    if burned == "YES":
        reasons.append("BurnedInAnnotation is YES")
    if str(dataset.get("RecognizableVisualFeatures", "") or "").upper() == "YES":
        reasons.append("RecognizableVisualFeatures is YES")
    if burned != "NO":
        modality = str(dataset.get("Modality", "") or "").upper()
        sop_class = str(dataset.get("SOPClassUID", "") or "")
        if modality in RISKY_MODALITIES:
            reasons.append(f"modality {modality} often carries burned-in text")
        if sop_class.startswith(SECONDARY_CAPTURE):
            reasons.append("secondary capture images often carry burned-in text")
        image_type = (
            [str(v).upper() for v in _values(dataset["ImageType"])]
            if "ImageType" in dataset
            else []
        )
        if "SCREEN SAVE" in image_type:
            reasons.append("a screen save carries whatever the screen showed")
    return reasons


def deidentify(dataset: Dataset, profile: Profile, key: bytes) -> Actions:
    """De-identify in place and mark the dataset as de-identified; returns what was done."""
    days = shift_days(key, patient_of(dataset))
    context = Context(profile=profile, key=key, days=days)
    actions = Actions()
    clean(dataset, context, actions)
    dataset.PatientIdentityRemoved = "YES"
    earlier = (
        _values(dataset["DeidentificationMethod"]) if "DeidentificationMethod" in dataset else []
    )
    dataset.DeidentificationMethod = [*[str(v) for v in earlier], METHOD] if earlier else METHOD
    codes = []
    for value, meaning in METHOD_CODES:
        item = Dataset()
        item.CodeValue = value
        item.CodingSchemeDesignator = "DCM"
        item.CodeMeaning = meaning
        codes.append(item)
    dataset.DeidentificationMethodCodeSequence = Sequence(codes)
    dataset.LongitudinalTemporalInformationModified = "MODIFIED"
    meta = getattr(dataset, "file_meta", None)
    if meta is not None:
        if "MediaStorageSOPInstanceUID" in meta:
            original = str(meta.MediaStorageSOPInstanceUID)
            meta.MediaStorageSOPInstanceUID = new_uid(key, original)
        meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
        meta.ImplementationVersionName = "TRUSTHUB"
        for keyword in (
            "SourceApplicationEntityTitle",
            "SendingApplicationEntityTitle",
            "ReceivingApplicationEntityTitle",
            "PrivateInformation",
            "PrivateInformationCreatorUID",
        ):
            if keyword in meta:
                del meta[keyword]
    return actions
