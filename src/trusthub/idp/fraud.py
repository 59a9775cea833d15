"""Identity fraud checks — pure: contra-indicators and records in, a fraud score out.

A contra-indicator (CI) is what a fraud-prevention service has on an identity: reported
stolen, the person deceased, or an identity made up (synthetic). Any CI scores 0 and stops
proving; otherwise checking the CI list scores 1, and finding the identity also in the records
of organisations that see real people (tax, benefits, licences, banking) scores 2.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Collection
from datetime import date

CONTRA_INDICATORS = {
    "stolen": "The identity has been reported stolen",
    "deceased": "The person with this identity has died",
    "synthetic": "The identity appears to be made up",
}


def identity_key(given_name: str, family_name: str, birth_date: date) -> str:
    """How a CI list names an identity without holding the names: a hash of the normalised form."""

    def norm(text: str) -> str:
        folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        return "".join(c for c in folded.lower() if c.isalpha())

    words = given_name.split()
    first = norm(words[0]) if words else ""
    text = f"{first}\x00{norm(family_name)}\x00{birth_date.isoformat()}"
    return hashlib.sha256(text.encode()).hexdigest()


def fraud_score(contra_indicators: Collection[str], records_found: int) -> int:
    if contra_indicators:
        return 0
    return 2 if records_found > 0 else 1
