"""What the starter checks before it starts a launch (the workflow validates again: it is
the authority): the plan's size, and its items, stores, groups and deal in the ERP."""

from __future__ import annotations

import httpx

from cli.common import (
    InputError,
)
from common.config import Settings
from domain.promotion.contract import (
    LaunchInput,
)
from domain.promotion.plan import (
    MAX_LAUNCH_INPUT_BYTES,
    MAX_PLAN_CELLS,
    PromotionPlan,
    StoreFacts,
)
from domain.promotion.policy import PromotionPolicy
from domain.promotion.targeting import resolve_targets


def check_size(plan: PromotionPlan, policy: PromotionPolicy, source: str) -> None:
    """Refuse, in one line, a plan bigger than a launch takes (`MAX_PLAN_CELLS` items x
    stores, `MAX_LAUNCH_INPUT_BYTES` serialized)."""
    cells = len(plan.items) * max(len(plan.stores), 1)
    if cells > MAX_PLAN_CELLS:
        raise InputError(
            source,
            [
                (
                    "items",
                    f"{len(plan.items)} items x {len(plan.stores)} stores = {cells:,} cells; a "
                    f"launch takes at most {MAX_PLAN_CELLS:,}: split the event",
                )
            ],
        )
    size = len(LaunchInput(plan=plan, policy=policy).model_dump_json())
    if size > MAX_LAUNCH_INPUT_BYTES:
        raise InputError(
            source,
            [
                (
                    "",
                    f"the plan and policy are {size:,} bytes; a launch takes at most "
                    f"{MAX_LAUNCH_INPUT_BYTES:,}: split the event",
                )
            ],
        )


async def check_master_data(settings: Settings, plan: PromotionPlan, source: str) -> None:
    """Items, stores, store groups and the deal known to the ERP, or an `InputError` naming
    each unknown one. Skipped when the backoffice does not answer: the workflow validates."""
    from adapters.erp import ErpClient
    from adapters.errors import BusinessRefusal, TransientError

    problems: list[tuple[str, str]] = []
    async with ErpClient(settings.backoffice_url, timeout_s=settings.http_timeout_s) as erp:
        try:
            item_ids = [i.item_id for i in plan.items]
            items = await erp.list_items(item_ids=item_ids, limit=max(len(item_ids), 1))
            stores = await erp.list_stores()
            named = await erp.list_store_groups()
            deal_missing = False
            if plan.vendor_deal_id:
                try:
                    await erp.get_deal(plan.vendor_deal_id)
                except BusinessRefusal:
                    deal_missing = True
        except (TransientError, httpx.TransportError):
            return
    known_items = {i.item_id for i in items}
    known_stores = {st.store_id for st in stores}
    for n, item in enumerate(plan.items):
        if item.item_id not in known_items:
            problems.append((f"items.{n}.item_id", f"item {item.item_id!r} is not in the ERP"))
    for n, store_id in enumerate(plan.stores):
        if store_id not in known_stores:
            problems.append((f"stores.{n}", f"store {store_id!r} is not in the ERP"))
    masters = [
        StoreFacts(
            store_id=st.store_id,
            store_class=st.store_class,
            region=st.region,
            format=st.format,
            price_zone=st.price_zone,
            dc_id=st.dc_id,
        )
        for st in stores
    ]
    targets = resolve_targets(plan, masters, {g.group_id: g.store_ids for g in named})
    unknown = set(targets.unknown_groups)
    cells = len(plan.items) * len(targets.store_ids)
    if cells > MAX_PLAN_CELLS:
        problems.append(
            (
                "store_groups" if plan.store_groups else "stores",
                f"the plan's stores and groups resolve to {len(targets.store_ids):,} stores x "
                f"{len(plan.items):,} items = {cells:,} cells; a launch takes at most "
                f"{MAX_PLAN_CELLS:,}: split the event",
            )
        )
    for n, group in enumerate(plan.store_groups):
        if group in unknown:
            problems.append((f"store_groups.{n}", unknown_group_words(group)))
    for index, item in enumerate(plan.items):
        for m, offer in enumerate(item.group_offers):
            for k, group in enumerate(offer.store_groups):
                if group in unknown:
                    problems.append(
                        (
                            f"items.{index}.group_offers.{m}.store_groups.{k}",
                            unknown_group_words(group),
                        )
                    )
    if deal_missing:
        problems.append(("vendor_deal_id", f"deal {plan.vendor_deal_id!r} is not in the ERP"))
    if problems:
        raise InputError(source, problems)


def unknown_group_words(group: str) -> str:
    """Why the ERP does not know a store group, in words."""
    kind, sep, value = group.partition(":")
    if sep and kind == "group":
        return f"store group {group!r}: the ERP defines no store group named {value!r}"
    if sep and kind not in ("region", "format", "zone", "class", "dc"):
        return (
            f"store group {group!r}: unknown kind {kind!r} (use group:, region:, format:, "
            "zone:, class: or dc:)"
        )
    return f"store group {group!r} has no store"
