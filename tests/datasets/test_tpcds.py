"""TPC-DS store returns: generated from the shipped extension file, cached, tenders add up."""

from __future__ import annotations

from pathlib import Path

import pytest

from datasets import tpcds
from datasets.cache import ENV_VAR


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    return tmp_path


def test_returns_are_generated_once_and_read_back_from_the_cache(cache: Path) -> None:
    first = tpcds.store_returns(0.01)
    assert len(first) > 1_000
    cached = list(cache.glob("tpcds-sf0.01/*.parquet"))
    assert [p.name for p in cached] == ["store_returns.parquet"]
    assert tpcds.store_returns(0.01, limit=50) == first[:50]


def test_each_refund_split_adds_up_to_the_returned_amount(cache: Path) -> None:
    rows = tpcds.store_returns(0.01, limit=500)
    for row in rows:
        assert sum(row.tenders.values()) == row.return_amount
        assert row.returned_on >= row.sold_on
        assert row.quantity > 0
    assert any(len(row.tenders) > 1 for row in rows)


def test_a_scale_out_of_range_is_refused_in_words(cache: Path) -> None:
    with pytest.raises(tpcds.DataSetError, match="scale factor"):
        tpcds.store_returns(0)
