"""ERP store groups and price zones: named lists of stores, the zones and their shelf
prices. (A store's region, format and zone are on its master: ``/erp/stores``.)"""

from __future__ import annotations

from collections import Counter

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlmodel import Session, col, select

from backoffice.core import Ctx, gate, get_or_404, mutate, read
from backoffice.db import PriceZoneRow, StoreGroupRow, StoreRow, ZonePriceRow
from backoffice.errors import bad_input, not_found
from backoffice.routers.common import known_items, known_stores, no_duplicates, split_ids
from wire.erp import PriceZone, StoreGroup, StoreGroupRequest, ZonePrice, ZonePriceRequest

SYSTEM = "erp"
router = APIRouter(prefix="/erp", tags=["erp"])
MAX_ZONE_PRICE_ITEMS = 5000


def group_model(row: StoreGroupRow) -> StoreGroup:
    return StoreGroup.model_validate(row.model_dump())


# -- named store groups --------------------------------------------------------------------


@router.get("/store-groups")
async def list_store_groups(request: Request) -> list[StoreGroup]:
    """Every named store group with its stores."""
    await gate(request, SYSTEM, "list_store_groups")

    def q(s: Session) -> list[StoreGroup]:
        rows = s.exec(select(StoreGroupRow).order_by(col(StoreGroupRow.group_id)))
        return [group_model(r) for r in rows]

    result: list[StoreGroup] = await read(request, q)
    return result


@router.get("/store-groups/{group_id}")
async def get_store_group(group_id: str, request: Request) -> StoreGroup:
    await gate(request, SYSTEM, "get_store_group")

    def q(s: Session) -> StoreGroup:
        return group_model(get_or_404(s, StoreGroupRow, group_id, "store group"))

    result: StoreGroup = await read(request, q)
    return result


@router.post("/store-groups")
async def define_store_group(body: StoreGroupRequest, request: Request) -> JSONResponse:
    """Define a named group, or redefine it (a new version): every store must exist."""
    await gate(request, SYSTEM, "define_store_group")
    no_duplicates(body.store_ids, field="store_ids")

    def fn(ctx: Ctx) -> StoreGroup:
        s = ctx.session
        known_stores(s, body.store_ids, field="store_ids")
        row = s.exec(
            select(StoreGroupRow).where(StoreGroupRow.group_id == body.group_id).with_for_update()
        ).first()
        if row is None:
            row = StoreGroupRow(
                group_id=body.group_id,
                name=body.name,
                store_ids=list(body.store_ids),
                version=1,
                updated_at=ctx.now,
            )
        else:
            row.name = body.name
            row.store_ids = list(body.store_ids)
            row.version += 1
            row.updated_at = ctx.now
        s.add(row)
        ctx.effect(
            SYSTEM,
            "define_store_group",
            f"store_group:{body.group_id}",
            quantity=len(body.store_ids),
            version=row.version,
        )
        return group_model(row)

    return await mutate(request, body, fn)


# -- price zones ---------------------------------------------------------------------------


def defined_zones(s: Session) -> list[str]:
    """The zones the ERP defines, and any zone a store is in without a row of its own (a
    database or estate from before zones: its stores are at the regular price)."""
    rows = {r.zone_id for r in s.exec(select(PriceZoneRow))}
    used = {z for z in s.exec(select(StoreRow.price_zone).distinct())}
    return sorted(rows | used)


@router.get("/price-zones")
async def list_price_zones(request: Request) -> list[PriceZone]:
    """Every price zone with its number of stores."""
    await gate(request, SYSTEM, "list_price_zones")

    def q(s: Session) -> list[PriceZone]:
        counts = Counter(st.price_zone for st in s.exec(select(StoreRow)))
        names = {r.zone_id: r.name for r in s.exec(select(PriceZoneRow))}
        return [
            PriceZone(zone_id=z, name=names.get(z, z), store_count=counts.get(z, 0))
            for z in defined_zones(s)
        ]

    result: list[PriceZone] = await read(request, q)
    return result


@router.get("/zone-prices")
async def zone_prices(
    request: Request,
    item_ids: str = Query(description="comma-separated item ids"),
    zones: str | None = Query(default=None, description="comma-separated zone ids; default all"),
) -> list[ZonePrice]:
    """The shelf price of each item in each zone (the regular price where the zone has
    none of its own), zone by zone, items in the order asked."""
    await gate(request, SYSTEM, "zone_prices")
    ids = split_ids(item_ids)
    if not ids:
        raise bad_input("item_ids", "give at least one item id")
    if len(ids) > MAX_ZONE_PRICE_ITEMS:
        raise bad_input("item_ids", f"at most {MAX_ZONE_PRICE_ITEMS} items at a time")
    wanted = split_ids(zones)

    def q(s: Session) -> list[ZonePrice]:
        items = known_items(s, ids, field="item_ids")
        all_zones = defined_zones(s)
        for index, zone in enumerate(wanted or []):
            if zone not in all_zones:
                raise not_found("price zone", zone, field=f"zones[{index}]")
        chosen = wanted or all_zones
        own = {
            (r.zone_id, r.item_id): r.shelf_price
            for r in s.exec(
                select(ZonePriceRow).where(
                    col(ZonePriceRow.zone_id).in_(chosen), col(ZonePriceRow.item_id).in_(ids)
                )
            )
        }
        out = []
        for zone in chosen:
            for item_id in ids:
                price = own.get((zone, item_id))
                out.append(
                    ZonePrice(
                        zone_id=zone,
                        item_id=item_id,
                        shelf_price=items[item_id].regular_price if price is None else price,
                        zone_specific=price is not None,
                    )
                )
        return out

    result: list[ZonePrice] = await read(request, q)
    return result


@router.post("/price-zones/{zone_id}/prices")
async def set_zone_prices(zone_id: str, body: ZonePriceRequest, request: Request) -> JSONResponse:
    """Set shelf prices in a zone; a price equal to the item's regular price drops the
    zone's own price."""
    await gate(request, SYSTEM, "set_zone_prices")
    no_duplicates([p.item_id for p in body.prices], field="prices")

    def fn(ctx: Ctx) -> list[ZonePrice]:
        s = ctx.session
        if s.get(PriceZoneRow, zone_id) is None:
            raise not_found("price zone", zone_id, field="zone_id")
        items = known_items(s, [p.item_id for p in body.prices], field="prices")
        out = []
        for p in body.prices:
            row = s.get(ZonePriceRow, (zone_id, p.item_id))
            regular = items[p.item_id].regular_price
            if p.shelf_price == regular:
                if row is not None:
                    s.delete(row)
            elif row is None:
                s.add(
                    ZonePriceRow(
                        zone_id=zone_id,
                        item_id=p.item_id,
                        shelf_price=p.shelf_price,
                        updated_at=ctx.now,
                    )
                )
            else:
                row.shelf_price = p.shelf_price
                row.updated_at = ctx.now
                s.add(row)
            out.append(
                ZonePrice(
                    zone_id=zone_id,
                    item_id=p.item_id,
                    shelf_price=p.shelf_price,
                    zone_specific=p.shelf_price != regular,
                )
            )
        ctx.effect(SYSTEM, "set_zone_prices", f"zone:{zone_id}", quantity=len(out))
        return out

    return await mutate(request, body, fn)
