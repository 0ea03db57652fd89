"""State of the reference systems in sqlmodel: SQLite by default, PostgreSQL by URL.

Money is stored as text (cent-exact ``Decimal``), times as UTC (tz-aware on the way out).
SQLite writes are serialised by one process-wide lock (WAL mode, so reads never wait);
PostgreSQL relies on row locks (``SELECT ... FOR UPDATE``) and the primary key of the
idempotency table.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, DateTime, Index, String, event
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, Session, SQLModel, create_engine


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes, stored in UTC, returned aware (even from SQLite)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class DecimalText(TypeDecorator[Decimal]):
    """Cent-exact money as text (portable across SQLite and PostgreSQL)."""

    impl = String(32)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Any) -> str | None:
        return None if value is None else str(Decimal(value))

    def process_result_value(self, value: str | None, dialect: Any) -> Decimal | None:
        return None if value is None else Decimal(value)


def _now_field() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime)


# -- master data ---------------------------------------------------------------------------


class Meta(SQLModel, table=True):
    key: str = Field(primary_key=True)
    value: str


class DcRow(SQLModel, table=True):
    __tablename__ = "dc"
    dc_id: str = Field(primary_key=True)
    name: str
    region: str
    timezone: str
    latitude: float
    longitude: float
    daily_capacity_units: int


class StoreRow(SQLModel, table=True):
    __tablename__ = "store"
    store_id: str = Field(primary_key=True)
    name: str
    region: str = Field(index=True)
    timezone: str
    store_class: str
    dc_id: str
    latitude: float
    longitude: float
    format: str = Field(default="supermarket", index=True)
    price_zone: str = Field(default="Z2", index=True)


class PriceZoneRow(SQLModel, table=True):
    """A price zone: stores whose shelf prices are the same (`ZonePriceRow`)."""

    __tablename__ = "price_zone"
    zone_id: str = Field(primary_key=True)
    name: str


class ZonePriceRow(SQLModel, table=True):
    """An item's shelf price in a zone, where it is not the item's regular price."""

    __tablename__ = "zone_price"
    zone_id: str = Field(primary_key=True)
    item_id: str = Field(primary_key=True)
    shelf_price: Decimal = Field(sa_type=DecimalText)
    updated_at: datetime = _now_field()


class StoreGroupRow(SQLModel, table=True):
    """A named store group: a list of stores (groups by region, format and zone are the
    store master's own attributes)."""

    __tablename__ = "store_group"
    group_id: str = Field(primary_key=True)
    name: str
    store_ids: list[str] = Field(sa_type=JSON)
    version: int = 1
    updated_at: datetime = _now_field()


class VendorRow(SQLModel, table=True):
    __tablename__ = "vendor"
    vendor_id: str = Field(primary_key=True)
    name: str


class ItemRow(SQLModel, table=True):
    __tablename__ = "item"
    item_id: str = Field(primary_key=True)
    name: str
    category: str = Field(index=True)
    vendor_id: str
    cost: Decimal = Field(sa_type=DecimalText)
    regular_price: Decimal = Field(sa_type=DecimalText)
    pack_size: int = 1
    final_sale: bool = False


class DealRow(SQLModel, table=True):
    __tablename__ = "deal"
    deal_id: str = Field(primary_key=True)
    vendor_id: str
    deal_type: str
    item_ids: list[str] = Field(sa_type=JSON)
    funding_per_unit: Decimal = Field(sa_type=DecimalText)
    valid_from: datetime = Field(sa_type=UTCDateTime)
    valid_to: datetime = Field(sa_type=UTCDateTime)
    cap_units: int | None = None
    cap_amount: Decimal | None = Field(default=None, sa_type=DecimalText)
    accrued_amount: Decimal = Field(default=Decimal("0"), sa_type=DecimalText)
    claimed_amount: Decimal = Field(default=Decimal("0"), sa_type=DecimalText)
    claimed_units: int = 0


class CustomerRow(SQLModel, table=True):
    __tablename__ = "customer"
    customer_id: str = Field(primary_key=True)
    name: str
    email: str
    prior_returns: int = 0
    prior_returned_value: Decimal = Field(default=Decimal("0"), sa_type=DecimalText)


class OrderRow(SQLModel, table=True):
    __tablename__ = "sales_order"
    order_id: str = Field(primary_key=True)
    receipt_id: str = Field(unique=True)
    customer_id: str = Field(index=True)
    store_id: str
    ordered_at: datetime = Field(sa_type=UTCDateTime)
    # each line: line_no, item_id, quantity, unit_price, final_sale and, once returns are
    # refunded against it, returned_by {rma_id: units} (the API's returned_quantity is the sum)
    lines: list[dict[str, Any]] = Field(sa_type=JSON)
    total: Decimal = Field(sa_type=DecimalText)


class TenderRow(SQLModel, table=True):
    __tablename__ = "tender"
    tender_id: str = Field(primary_key=True)
    order_id: str = Field(index=True)
    tender_type: str
    amount: Decimal = Field(sa_type=DecimalText)
    refunded_amount: Decimal = Field(default=Decimal("0"), sa_type=DecimalText)
    last4: str | None = None
    closed: bool = False


# -- WMS -----------------------------------------------------------------------------------


class PositionRow(SQLModel, table=True):
    __tablename__ = "position"
    location_id: str = Field(primary_key=True)
    item_id: str = Field(primary_key=True)
    on_hand: int
    in_transit: int
    safety_stock: int
    updated_at: datetime = _now_field()


class MovementRow(SQLModel, table=True):
    """Every change to a position (so stale figures can be reconstructed)."""

    __tablename__ = "stock_movement"
    __table_args__ = (Index("ix_movement_loc_item", "location_id", "item_id"),)
    id: int | None = Field(default=None, primary_key=True)
    location_id: str
    item_id: str
    on_hand_delta: int = 0
    in_transit_delta: int = 0
    reason: str
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class TransferRow(SQLModel, table=True):
    __tablename__ = "transfer"
    transfer_id: str = Field(primary_key=True)
    reference: str | None = Field(default=None, index=True)
    source_id: str
    dest_id: str
    status: str = Field(index=True)
    lines: list[dict[str, Any]] = Field(sa_type=JSON)
    picked: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    shipped: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    received: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    progress: str = "auto"
    step_seconds: float = 1.0
    next_step_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    callback: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    created_at: datetime = _now_field()
    updated_at: datetime = _now_field()


# -- ERP documents -------------------------------------------------------------------------


class PromotionRow(SQLModel, table=True):
    __tablename__ = "promotion_master"
    promotion_id: str = Field(primary_key=True)
    name: str
    offer_type: str
    items: list[dict[str, Any]] = Field(sa_type=JSON)
    store_ids: list[str] = Field(sa_type=JSON)
    start: datetime = Field(sa_type=UTCDateTime)
    end: datetime = Field(sa_type=UTCDateTime)
    deal_id: str | None = None
    status: str
    version: int = 1
    exclusive: bool = True
    priority: int = 0
    updated_at: datetime = _now_field()


class AccrualRow(SQLModel, table=True):
    __tablename__ = "accrual"
    accrual_id: str = Field(primary_key=True)
    promotion_id: str = Field(index=True)
    deal_id: str
    units: int
    amount: Decimal = Field(sa_type=DecimalText)
    status: str
    created_at: datetime = _now_field()


class ClaimRow(SQLModel, table=True):
    __tablename__ = "funding_claim"
    claim_id: str = Field(primary_key=True)
    promotion_id: str = Field(index=True)
    deal_id: str
    units: int
    amount: Decimal = Field(sa_type=DecimalText)
    capped: bool
    created_at: datetime = _now_field()


class PostingRow(SQLModel, table=True):
    __tablename__ = "posting"
    posting_id: str = Field(primary_key=True)
    kind: str
    reference: str = Field(index=True)
    amount: Decimal = Field(sa_type=DecimalText)
    customer_id: str | None = None
    vendor_id: str | None = None
    item_id: str | None = None
    quantity: int | None = None
    reason: str = ""
    created_at: datetime = _now_field()


class TransferClaimRow(SQLModel, table=True):
    __tablename__ = "transfer_claim"
    claim_id: str = Field(primary_key=True)
    transfer_id: str = Field(index=True)
    kind: str
    lines: list[dict[str, Any]] = Field(sa_type=JSON)
    amount: Decimal = Field(sa_type=DecimalText)
    reason: str = ""
    created_at: datetime = _now_field()


# -- POS -----------------------------------------------------------------------------------


class PriceBookRow(SQLModel, table=True):
    __tablename__ = "price_book"
    store_id: str = Field(primary_key=True)
    promotion_id: str = Field(primary_key=True, index=True)
    status: str
    version: int = 1
    prices: list[dict[str, Any]] = Field(sa_type=JSON)
    start: datetime = Field(sa_type=UTCDateTime)
    end: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = _now_field()


class SaleRow(SQLModel, table=True):
    __tablename__ = "sale"
    __table_args__ = (Index("ix_sale_store_item", "store_id", "item_id"),)
    id: int | None = Field(default=None, primary_key=True)
    store_id: str
    item_id: str
    units: int
    unit_price: Decimal = Field(sa_type=DecimalText)
    sold_at: datetime = Field(sa_type=UTCDateTime)


class RefundRow(SQLModel, table=True):
    __tablename__ = "refund"
    refund_id: str = Field(primary_key=True)
    order_id: str = Field(index=True)
    rma_id: str = Field(index=True)
    customer_id: str = Field(index=True)
    tender_type: str
    tender_id: str | None = None
    amount: Decimal = Field(sa_type=DecimalText)
    store_credit_id: str | None = None
    created_at: datetime = _now_field()


# -- channels and store tasks --------------------------------------------------------------


class PublicationRow(SQLModel, table=True):
    __tablename__ = "publication"
    channel: str = Field(primary_key=True)
    promotion_id: str = Field(primary_key=True)
    publication_id: str
    version: int = 1
    status: str = Field(index=True)
    prices: list[dict[str, Any]] = Field(sa_type=JSON)
    start: datetime = Field(sa_type=UTCDateTime)
    end: datetime = Field(sa_type=UTCDateTime)
    reason: str | None = None
    callback: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    confirm_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    updated_at: datetime = _now_field()


class TaskRow(SQLModel, table=True):
    __tablename__ = "store_task"
    task_id: str = Field(primary_key=True)
    store_id: str = Field(index=True)
    kind: str
    title: str
    due_at: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(index=True)
    promotion_id: str | None = Field(default=None, index=True)
    completed_by: str | None = None
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reason: str | None = None
    callback: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    auto_complete_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    created_at: datetime = _now_field()


# -- idempotency, ledger, outbox -----------------------------------------------------------


class IdempotencyRow(SQLModel, table=True):
    __tablename__ = "idempotency_key"
    key: str = Field(primary_key=True, max_length=300)
    method: str
    path: str
    request_hash: str
    status_code: int
    response: str
    created_at: datetime = _now_field()


class LedgerRow(SQLModel, table=True):
    __tablename__ = "effect_ledger"
    __table_args__ = (Index("ix_ledger_sys_op", "system", "operation"),)
    id: int | None = Field(default=None, primary_key=True)
    system: str
    operation: str
    subject: str = Field(index=True)
    idempotency_key: str = Field(index=True)
    amount: Decimal | None = Field(default=None, sa_type=DecimalText)
    quantity: int | None = None
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = _now_field()


class OutboxRow(SQLModel, table=True):
    __tablename__ = "event_outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "deliver_after"),)
    event_id: str = Field(primary_key=True)
    system: str
    workflow_id: str = Field(index=True)
    run_id: str | None = None
    signal: str
    payload: dict[str, Any] = Field(sa_type=JSON)
    status: str = "pending"
    planned_deliveries: int = 1
    deliveries: int = 0
    attempts: int = 0
    deliver_after: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_error: str | None = None
    created_at: datetime = _now_field()


# -- engine --------------------------------------------------------------------------------


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean psycopg 3 here."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Database:
    """Engine plus the write discipline for its dialect."""

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        if self.is_sqlite:
            self.engine: Engine = create_engine(
                self.url, connect_args={"check_same_thread": False, "timeout": 30}
            )
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            self.engine = create_engine(self.url, pool_size=20, max_overflow=20, pool_pre_ping=True)
        self._write_lock = threading.Lock()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def create_all(self) -> None:
        SQLModel.metadata.create_all(self.engine)
        add_missing_columns(self.engine)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session for one write transaction (commit is the caller's)."""
        lock = self._write_lock if self.is_sqlite else nullcontext()
        with lock, Session(self.engine, expire_on_commit=False) as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


ADDED_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    # table: (column, SQL type and default) added after databases were first created
    "store": (
        ("format", "VARCHAR DEFAULT 'supermarket' NOT NULL"),
        ("price_zone", "VARCHAR DEFAULT 'Z2' NOT NULL"),
    ),
    "promotion_master": (
        ("exclusive", "BOOLEAN DEFAULT TRUE NOT NULL"),
        ("priority", "INTEGER DEFAULT 0 NOT NULL"),
    ),
}
"""Columns a database created before store groups and price zones lacks: added with their
defaults on start (every store a supermarket in Z2, every master exclusive), so an existing
backoffice database keeps working; new tables are created by `create_all`."""


def add_missing_columns(engine: Engine) -> None:
    from sqlalchemy import inspect, text

    inspector = inspect(engine)
    tables = set(inspector.get_table_names())
    with engine.begin() as conn:
        for table, columns in ADDED_COLUMNS.items():
            if table not in tables:
                continue
            have = {c["name"] for c in inspector.get_columns(table)}
            for name, ddl in columns:
                if name not in have:
                    conn.execute(text(f'ALTER TABLE {table} ADD COLUMN "{name}" {ddl}'))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
