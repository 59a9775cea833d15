"""The Splink model that scores an identity against a department's records.

Trained once per department (u by random sampling, m by expectation maximisation on three
blockings that between them estimate every comparison) and saved as Splink's JSON, so scoring
never retrains. Comparisons know the life events departments miss: a record may hold the former
surname or the previous postcode, and a birth date may have day and month swapped.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import duckdb

if TYPE_CHECKING:
    from splink import Linker, SettingsCreator
    from splink.comparison_library import CustomComparison

IDENTITIES = "identities"
RECORDS = "records"
"""The DuckDB tables the linker reads, identities first (they are the ``_l`` side)."""

U_SAMPLE_PAIRS = 2_000_000
U_SEED = 2017
PREVIOUS_POSTCODE_U = 1e-5
"""Random pairs almost never share a postcode, current or previous; sampling rarely sees the
latter (records have no previous postcode), so its u is set to the current one's order."""

for _name in ("splink", "splink.internals"):
    logging.getLogger(_name).setLevel(logging.WARNING)
# Splink (and its SQL parser) is imported where it is used: the app starts without it.


def _given_name() -> CustomComparison:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    return cl.CustomComparison(
        output_column_name="given_name",
        comparison_levels=[
            cll.NullLevel("given_name"),
            cll.ExactMatchLevel("given_name"),
            cll.CustomLevel(
                "jaro_winkler_similarity(given_name_l, given_name_r) >= 0.9", "similar"
            ),
            cll.ElseLevel(),
        ],
    )


def _family_name() -> CustomComparison:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    return cl.CustomComparison(
        output_column_name="family_name",
        comparison_levels=[
            cll.NullLevel("family_name"),
            cll.ExactMatchLevel("family_name"),
            cll.CustomLevel(
                "former_family_name_l = family_name_r or family_name_l = former_family_name_r",
                "former surname",
            ),
            cll.CustomLevel(
                "jaro_winkler_similarity(family_name_l, family_name_r) >= 0.9", "similar"
            ),
            cll.ElseLevel(),
        ],
    )


def _date_of_birth() -> CustomComparison:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    return cl.CustomComparison(
        output_column_name="date_of_birth",
        comparison_levels=[
            cll.NullLevel("date_of_birth"),
            cll.ExactMatchLevel("date_of_birth"),
            cll.CustomLevel(
                "strftime(date_of_birth_l, '%Y-%d-%m') = strftime(date_of_birth_r, '%Y-%m-%d')",
                "day and month swapped",
            ),
            cll.CustomLevel(
                "damerau_levenshtein(cast(date_of_birth_l as varchar), "
                "cast(date_of_birth_r as varchar)) <= 1",
                "one digit apart",
            ),
            cll.ElseLevel(),
        ],
    )


def _postcode() -> CustomComparison:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    return cl.CustomComparison(
        output_column_name="postcode",
        comparison_levels=[
            cll.NullLevel("postcode"),
            cll.ExactMatchLevel("postcode"),
            cll.CustomLevel(
                "previous_postcode_l = postcode_r or postcode_l = previous_postcode_r",
                "previous address",
            ).configure(u_probability=PREVIOUS_POSTCODE_U),
            cll.CustomLevel(
                "split_part(postcode_l, ' ', 1) = split_part(postcode_r, ' ', 1) "
                "or split_part(previous_postcode_l, ' ', 1) = split_part(postcode_r, ' ', 1)",
                "same district",
            ),
            cll.ElseLevel(),
        ],
    )


PREDICTION_BLOCKING = (
    "l.date_of_birth = r.date_of_birth and l.family_name = r.family_name",
    "l.date_of_birth = r.date_of_birth and l.former_family_name = r.family_name",
    "l.date_of_birth = r.date_of_birth and l.given_name = r.given_name",
    "l.date_of_birth = r.date_of_birth and l.postcode = r.postcode",
    "l.date_of_birth = r.date_of_birth and l.previous_postcode = r.postcode",
    "l.given_name = r.given_name and l.family_name = r.family_name"
    " and year(l.date_of_birth) = year(r.date_of_birth)",
    "l.family_name = r.family_name and l.postcode = r.postcode",
)
"""Pairs worth scoring: each rule tolerates the errors the others cannot (a typo, a short
given name, a former surname, a move, a missing or swapped birth date)."""


def settings(records: int) -> SettingsCreator:
    """The untrained model; the prior is one true record among ``records``."""
    from splink import SettingsCreator
    from splink.blocking_rule_library import CustomRule

    return SettingsCreator(
        link_type="link_only",
        comparisons=[_given_name(), _family_name(), _date_of_birth(), _postcode()],
        blocking_rules_to_generate_predictions=[CustomRule(rule) for rule in PREDICTION_BLOCKING],
        probability_two_random_records_match=1.0 / max(records, 2),
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


def linker(
    connection: duckdb.DuckDBPyConnection, model: dict[str, Any] | SettingsCreator
) -> Linker:
    """A linker over the connection's ``identities`` and ``records`` tables."""
    from splink import DuckDBAPI, Linker

    return Linker(
        [IDENTITIES, RECORDS],
        model,
        DuckDBAPI(connection),
        set_up_basic_logging=False,
        input_table_aliases=[IDENTITIES, RECORDS],
    )


def train(connection: duckdb.DuckDBPyConnection, records: int) -> dict[str, Any]:
    """Estimate u by random sampling and m by EM; return the model as Splink's JSON dict."""
    from splink import block_on

    trainer = linker(connection, settings(records))
    trainer.training.estimate_u_using_random_sampling(max_pairs=U_SAMPLE_PAIRS, seed=U_SEED)
    for rule in (
        block_on("date_of_birth", "substr(given_name, 1, 1)"),
        block_on("family_name", "given_name"),
        block_on("date_of_birth", "postcode"),
    ):
        trainer.training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=True
        )
    model: dict[str, Any] = trainer.misc.save_model_to_json()
    return model
