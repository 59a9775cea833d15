"""The bulk pipeline's steps as plain SQL over named relations, so another engine can run them.

Each function returns one SQL statement over relations the caller provides: ``staged`` (the
input, with a 1-based ``_row``), ``citizens (citizen_id, nhs_number)``, ``choice_events
(citizen_id, kind, action, scope, occurred_at, seq)`` and ``choice_table`` (the consent rules as
a lookup table, from ``bulk_rules``). The SQL is standard apart from ``regexp_replace`` and
``regexp_full_match``, which Spark spells ``regexp_replace`` and ``rlike``. Orchestration — I/O,
the ledger, the atomic write — lives in ``bulk.py``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from trusthub.consent.models import ChoiceAction, ChoiceKind
from trusthub.exchange.bulk_rules import TableRow
from trusthub.identifiers import NHS_WEIGHTS


def _python_whitespace() -> str:
    """The characters Python's ``\\s`` matches, as an RE2 class body (none lies past U+3000)."""
    spaces = [c for c in map(chr, range(0x3001)) if re.match(r"\s", c)]
    return "".join(f"\\x{{{ord(c):x}}}" for c in spaces)


SEPARATORS = "[" + _python_whitespace() + "-]"
"""What ``identifiers.normalise_nhs_number`` strips before checking: whitespace and hyphens."""


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: str | None) -> str:
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


def clean_nhs(column: str) -> str:
    """The NHS number with separators removed, as the pure rule normalises it."""
    return f"regexp_replace(CAST({column} AS VARCHAR), '{SEPARATORS}', '', 'g')"


def valid_nhs(cleaned: str) -> str:
    """Modulus 11, as ``identifiers.normalise_nhs_number`` decides it, for a cleaned value: ten
    digits whose sum weighted 10 down to 1 is a multiple of 11. (That is the check digit rule:
    with ``r`` the first nine's weighted sum mod 11, the check digit ``(11 - r) % 11`` makes the
    whole sum a multiple of 11, and ``r = 1`` would need a check digit of 10, which no digit
    is.) One sum per value, not the remainder worked out twice."""
    digits = [f"TRY_CAST(substr({cleaned}, {i + 1}, 1) AS INTEGER)" for i in range(10)]
    weights = (*NHS_WEIGHTS, 1)
    total = " + ".join(f"{d} * {w}" for d, w in zip(digits, weights, strict=True))
    return f"(COALESCE(regexp_full_match({cleaned}, '[0-9]{{10}}'), false) AND ({total}) % 11 = 0)"


def stage_rows(columns: Sequence[str]) -> str:
    """Input rows, keeping ``columns`` (only those the output needs), with the cleaned NHS
    number."""
    kept = "".join(f"{quote(c)}, " for c in columns)
    return f"SELECT _row, {kept}{clean_nhs(quote('nhs_number'))} AS _nhs FROM staged"  # noqa: S608


def mark_valid() -> str:
    return f"SELECT *, {valid_nhs('_nhs')} AS _valid FROM cleaned"  # noqa: S608


def invalid_rows(limit: int) -> str:
    return f"SELECT _row FROM input_rows WHERE NOT _valid ORDER BY _row LIMIT {int(limit)}"  # noqa: S608


def count_rows() -> str:
    return "SELECT count(*), count(*) FILTER (WHERE NOT _valid) FROM input_rows"


def choice_values(rows: Sequence[TableRow]) -> str:
    """The consent rules' table as a VALUES relation."""
    values = ", ".join(
        f"({r.facts.opted_out}, {r.facts.objected}, {r.facts.consented}, {r.facts.withdrawn}, "
        f"{literal(r.refusal)}, {literal(r.ledger_reasons[0] if r.ledger_reasons else None)})"
        for r in rows
    )
    return (
        f"SELECT * FROM (VALUES {values}) "  # noqa: S608
        "AS t(opted_out, objected, consented, withdrawn, refusal, ledger_reason)"
    )


def subjects() -> str:
    """Each distinct valid NHS number in the input, its number of rows, and the citizen it
    names, if any."""
    return (
        "SELECT s._nhs, s._rows, c.citizen_id FROM "
        "(SELECT _nhs, count(*) AS _rows FROM input_rows WHERE _valid GROUP BY _nhs) s "
        "LEFT JOIN citizens c ON c.nhs_number = s._nhs"
    )


def choice_facts(agreement: str) -> str:
    """Per citizen, the four facts the rules need: the latest event per (kind, scope) decides."""
    opt_out = literal(ChoiceKind.NATIONAL_DATA_OPT_OUT.value)
    objection, consent = literal(ChoiceKind.OBJECTION.value), literal(ChoiceKind.CONSENT.value)
    set_, withdrawn = literal(ChoiceAction.SET.value), literal(ChoiceAction.WITHDRAWN.value)
    ours = literal(agreement)
    return f"""
WITH relevant AS (
  SELECT e.citizen_id, e.kind, e.scope, e.action,
         row_number() OVER (PARTITION BY e.citizen_id, e.kind, e.scope
                            ORDER BY e.occurred_at DESC, e.seq DESC) AS recency
  FROM choice_events e
  WHERE e.citizen_id IN (SELECT citizen_id FROM subjects WHERE citizen_id IS NOT NULL)
    AND ((e.kind = {opt_out} AND e.scope IS NULL) OR e.scope = {ours})
)
SELECT citizen_id,
  bool_or(kind = {opt_out} AND action = {set_}) AS opted_out,
  bool_or(kind = {objection} AND action = {set_}) AS objected,
  bool_or(kind = {consent} AND action = {set_}) AS consented,
  bool_or(kind = {consent} AND action = {withdrawn}) AS withdrawn
FROM relevant WHERE recency = 1 GROUP BY citizen_id
"""  # noqa: S608


def outcomes() -> str:
    """Per subject: refused (with the reason) or permitted (with any exemption)."""
    return """
SELECT s._nhs, s._rows, s.citizen_id,
  CASE WHEN s.citizen_id IS NULL THEN 'no_such_record' ELSE t.refusal END AS refusal,
  t.ledger_reason
FROM subjects s
LEFT JOIN facts f ON f.citizen_id = s.citizen_id
LEFT JOIN choice_table t
  ON t.opted_out = COALESCE(f.opted_out, false) AND t.objected = COALESCE(f.objected, false)
 AND t.consented = COALESCE(f.consented, false) AND t.withdrawn = COALESCE(f.withdrawn, false)
"""


def removals() -> str:
    """Rows removed, by reason (invalid identifiers apart): summed over the subjects, without
    joining the rows again."""
    return (
        "SELECT refusal, sum(_rows) FROM outcomes "
        "WHERE refusal IS NOT NULL GROUP BY refusal ORDER BY refusal"
    )


def ledger_shapes() -> str:
    """Each distinct outcome among the matched citizens, numbered from 0 (a small table)."""
    return (
        "SELECT refusal, ledger_reason, row_number() OVER (ORDER BY refusal, ledger_reason) - 1 "
        "AS shape FROM (SELECT DISTINCT refusal, ledger_reason FROM outcomes "
        "WHERE citizen_id IS NOT NULL) d"
    )


def ledger_citizen_shapes() -> str:
    """The matched citizens, each once, with the number of their outcome in ``ledger_shapes``:
    the ledger's records as two columns, not a row object per citizen."""
    return (
        "SELECT CAST(o.citizen_id AS VARCHAR) AS citizen_id, s.shape FROM outcomes o "
        "JOIN ledger_shapes s ON o.refusal IS NOT DISTINCT FROM s.refusal "
        "AND o.ledger_reason IS NOT DISTINCT FROM s.ledger_reason "
        "WHERE o.citizen_id IS NOT NULL"
    )


def output_rows(columns: Sequence[str]) -> str:
    """The permitted rows, only the agreed columns, in input order; NHS numbers normalised."""
    kept = ", ".join(
        f"r._nhs AS {quote(c)}" if c == "nhs_number" else f"r.{quote(c)}" for c in columns
    )
    return (
        f"SELECT {kept} FROM input_rows r JOIN outcomes o ON o._nhs = r._nhs "  # noqa: S608
        "WHERE o.refusal IS NULL ORDER BY r._row"
    )


def usable_numbers() -> str:
    """The opt-out check's answer: valid numbers whose holder's choices allow the use."""
    return (
        "SELECT r._nhs AS nhs_number FROM input_rows r JOIN outcomes o ON o._nhs = r._nhs "
        "WHERE o.refusal IS NULL OR o.refusal = 'no_such_record' ORDER BY r._row"
    )
