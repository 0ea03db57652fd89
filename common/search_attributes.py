"""The search attributes every workflow keeps current (see the README's contract table)."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

RETAIL_KIND = SearchAttributeKey.for_keyword("RetailKind")
RETAIL_STATE = SearchAttributeKey.for_keyword("RetailState")
PROMOTION_ID = SearchAttributeKey.for_keyword("PromotionId")
AWAITING_ROLE = SearchAttributeKey.for_keyword("AwaitingRole")
STORE_COUNT = SearchAttributeKey.for_int("StoreCount")
AMOUNT_AT_RISK = SearchAttributeKey.for_float("AmountAtRisk")
RETAIL_PROBLEM = SearchAttributeKey.for_keyword("RetailProblem")
"""Set when a run met a problem it cannot fix by itself (`unreadable_signal`: a signal it
could not read, recorded in its status and audit)."""

ALL_KEYS: tuple[SearchAttributeKey, ...] = (
    RETAIL_KIND,
    RETAIL_STATE,
    PROMOTION_ID,
    AWAITING_ROLE,
    STORE_COUNT,
    AMOUNT_AT_RISK,
    RETAIL_PROBLEM,
)

_CLI_TYPE = {
    "KEYWORD": "Keyword",
    "TEXT": "Text",
    "INT": "Int",
    "DOUBLE": "Double",
    "BOOL": "Bool",
    "DATETIME": "Datetime",
    "KEYWORD_LIST": "KeywordList",
}


def cli_declarations() -> list[str]:
    """`NAME=Type` pairs for `temporal server start-dev --search-attribute`."""
    return [f"{key.name}={_CLI_TYPE[key.indexed_value_type.name]}" for key in ALL_KEYS]
