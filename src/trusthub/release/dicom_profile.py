"""PS3.15 Annex E action codes for every attribute: the table is maintained data, not hand-typed.

The Basic Application Level Confidentiality Profile column comes from the `dicom-anonymizer`
package's machine-readable copy of Table E.1-1 (DICOM edition 2026c). The Retain Longitudinal
Temporal Information with Modified Dates option marks the table's dates and times "C" (shifted);
that column is derived with pydicom's data dictionary as every DA, DT or TM attribute in the
table except the patient's birth date and time, which the option leaves to the Basic profile.
Composite codes resolve to the choice that keeps the instance conformant (Z/D → D, X/Z → Z,
X/D → D, X/Z/D → D, X/Z/U* → U), and attributes outside the table are kept (K).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from dicomanonymizer.dicomfields_selector import dicom_anonymization_database_selector
from pydicom.datadict import dictionary_VR
from pydicom.tag import BaseTag, Tag

EDITION = "dicomfields_2026c"
PATIENT_BIRTH_DATE = Tag(0x0010, 0x0030)
PATIENT_BIRTH_TIME = Tag(0x0010, 0x0032)
DATE_TIME_VRS = frozenset({"DA", "DT", "TM"})
GROUPS = {
    "D_TAGS": "D",
    "Z_TAGS": "Z",
    "X_TAGS": "X",
    "U_TAGS": "U",
    "Z_D_TAGS": "Z/D",
    "X_Z_TAGS": "X/Z",
    "X_D_TAGS": "X/D",
    "X_Z_D_TAGS": "X/Z/D",
    "X_Z_U_STAR_TAGS": "X/Z/U*",
}
RESOLVED = {"Z/D": "D", "X/Z": "Z", "X/D": "D", "X/Z/D": "D", "X/Z/U*": "U"}


@dataclass(frozen=True)
class Profile:
    """Basic-profile codes by tag, masked ranges (curves, overlays) and the dated tags."""

    basic: dict[int, str]
    ranges: tuple[tuple[int, int, int, int, str], ...]
    modified_dates: frozenset[int]

    def basic_code(self, tag: BaseTag) -> str | None:
        """The table's own code for a tag (e.g. 'X/Z/D'), or None if the table omits it."""
        code = self.basic.get(int(tag))
        if code is not None:
            return code
        for group, element, group_mask, element_mask, range_code in self.ranges:
            if (tag.group & group_mask) == (group & group_mask) and (
                tag.element & element_mask
            ) == (element & element_mask):
                return range_code
        return None

    def action(self, tag: BaseTag) -> str:
        """The single action applied: one of X, Z, D, U, C, K."""
        if tag.is_private:
            return "X"
        if int(tag) in self.modified_dates:
            return "C"
        code = self.basic_code(tag)
        if code is None:
            return "K"
        return RESOLVED.get(code, code)


def _vr(tag: int) -> str | None:
    try:
        return str(dictionary_VR(tag))
    except KeyError:
        return None


@lru_cache(maxsize=1)
def profile() -> Profile:
    """Load the table once per process."""
    database = dicom_anonymization_database_selector(EDITION)
    basic: dict[int, str] = {}
    ranges: list[tuple[int, int, int, int, str]] = []
    for group_name, code in GROUPS.items():
        for entry in database[group_name]:
            if len(entry) == 4:
                ranges.append((entry[0], entry[1], entry[2], entry[3], code))
            else:
                basic[int(Tag(entry[0], entry[1]))] = code
    dated = frozenset(
        tag
        for tag in basic
        if _vr(tag) in DATE_TIME_VRS and tag not in (PATIENT_BIRTH_DATE, PATIENT_BIRTH_TIME)
    )
    return Profile(basic=basic, ranges=tuple(ranges), modified_dates=dated)
