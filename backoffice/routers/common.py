"""Small checks the routers share: known items/stores, windows, list params."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session, col, select

from backoffice.db import DcRow, ItemRow, StoreRow
from backoffice.errors import ApiError, bad_input


def split_ids(raw: str | None) -> list[str] | None:
    if raw is None:
        return None
    ids = [part.strip() for part in raw.split(",") if part.strip()]
    return ids or None


def check_window(start: datetime, end: datetime, *, field: str = "end") -> None:
    if end <= start:
        raise bad_input(
            field, f"must be after start ({start.isoformat()}): the window is backwards"
        )


def known_items(session: Session, item_ids: Iterable[str], *, field: str) -> dict[str, ItemRow]:
    """Every id must exist; otherwise a 400 naming the first unknown one and its index."""
    ids = list(item_ids)
    rows = {
        r.item_id: r for r in session.exec(select(ItemRow).where(col(ItemRow.item_id).in_(ids)))
    }
    for index, item_id in enumerate(ids):
        if item_id not in rows:
            raise ApiError(
                400,
                "unknown_item",
                f"{field}[{index}]: unknown item {item_id!r}",
                field=f"{field}[{index}]",
            )
    return rows


def known_stores(session: Session, store_ids: Iterable[str], *, field: str) -> dict[str, StoreRow]:
    ids = list(store_ids)
    rows = {
        r.store_id: r for r in session.exec(select(StoreRow).where(col(StoreRow.store_id).in_(ids)))
    }
    for index, store_id in enumerate(ids):
        if store_id not in rows:
            raise ApiError(
                400,
                "unknown_store",
                f"{field}[{index}]: unknown store {store_id!r}",
                field=f"{field}[{index}]",
            )
    return rows


def known_location(session: Session, location_id: str, *, field: str) -> str:
    """A store or a DC; returns 'store' or 'dc'."""
    if session.get(StoreRow, location_id) is not None:
        return "store"
    if session.get(DcRow, location_id) is not None:
        return "dc"
    raise ApiError(
        400,
        "unknown_location",
        f"{field}: unknown store or distribution centre {location_id!r}",
        field=field,
    )


def no_duplicates(values: list[str], *, field: str) -> None:
    seen: set[str] = set()
    for index, value in enumerate(values):
        if value in seen:
            raise bad_input(f"{field}[{index}]", f"{value!r} is listed twice")
        seen.add(value)
