"""How `promotion status` shows a launch: the status table, KPIs and progress bars."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Group
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from domain.promotion.gates import StoreGateState
from domain.promotion.status import PromotionStatus


def status_renderable(s: PromotionStatus, *, audit_lines: int = 8) -> Group:
    head = Table.grid(padding=(0, 2))
    head.add_row("[bold]promotion[/]", f"{s.promotion_id}: {s.name}")
    head.add_row("[bold]state[/]", f"[bold cyan]{s.state.value}[/] ({s.waiting_for})")
    head.add_row("[bold]offer[/]", f"{s.offer} (price version {s.version})")
    head.add_row("[bold]window[/]", f"{s.starts_at.isoformat()} to {s.ends_at.isoformat()}")
    zones = sorted({st.timezone for st in s.stores if st.timezone})
    if zones:
        head.add_row(
            "[bold]in store time[/]",
            "; ".join(
                f"{zone}: {s.starts_at.astimezone(ZoneInfo(zone)):%a %d %b %H:%M} to "
                f"{s.ends_at.astimezone(ZoneInfo(zone)):%a %d %b %H:%M}"
                for zone in zones
            ),
        )
    if s.metrics is not None:
        head.add_row(
            "[bold]money[/]",
            f"margin impact {s.metrics.margin_impact}, vendor funding {s.metrics.vendor_funding}, "
            f"unfunded {s.metrics.unfunded_cost}",
        )
    head.add_row(
        "[bold]funding[/]",
        f"deal {s.funding.deal_id or '-'}: accrued {s.funding.accrued}, claimed "
        f"{s.funding.claimed}, reversed {s.funding.reversed}"
        + (f" ({s.funding.reconciliation})" if s.funding.reconciliation else ""),
    )
    counts = s.store_counts()
    head.add_row(
        "[bold]stores[/]",
        ", ".join(f"{n} {k.lower()}" for k, n in sorted(counts.items())) or "-",
    )
    if len(s.price_sets) > 1:
        shown = s.price_sets[:6]
        head.add_row(
            "[bold]price sets[/]",
            "\n".join(shown)
            + (f"\n... and {len(s.price_sets) - 6} more" if len(s.price_sets) > 6 else ""),
        )
    if s.task_counts:
        head.add_row(
            "[bold]store tasks[/]",
            ", ".join(f"{n} {k.lower()}" for k, n in sorted(s.task_counts.items())),
        )
    head.add_row("[bold]rebalance[/]", s.rebalance)
    head.add_row("[bold]monitor[/]", s.monitor)
    if s.reasons:
        head.add_row("[bold red]reasons[/]", "\n".join(s.reasons))
    parts: list[Any] = [head]
    if s.approvals:
        table = Table(title="approvals", title_justify="left")
        for col in ("role", "state", "by", "deadline", "note"):
            table.add_column(col)
        for a in s.approvals:
            table.add_row(
                a.role,
                a.state.value,
                a.decided_by or "",
                a.deadline.isoformat(timespec="minutes") if a.deadline else "",
                (a.comment or "")
                + (f" (escalated from {a.escalated_from})" if a.escalated_from else ""),
            )
        parts.append(table)
    channels = Table(title="channels", title_justify="left")
    for col in ("channel", "state", "version", "confirmed", "failed", "detail"):
        channels.add_column(col)
    for c in s.channels:
        channels.add_row(
            c.channel,
            c.state,
            str(c.version),
            f"{c.confirmed}/{c.targets}",
            str(c.failed),
            c.detail,
        )
    parts.append(channels)
    held = [st for st in s.stores if st.gate is StoreGateState.HELD]
    if held:
        table = Table(title="held stores", title_justify="left")
        table.add_column("store")
        table.add_column("why")
        for st in held[:20]:
            table.add_row(st.store_id, st.note)
        parts.append(table)
    if s.kpis is not None:
        parts.append(kpi_table(s))
    if s.audit and audit_lines:
        audit = Table(title="audit trail (latest)", title_justify="left")
        for col in ("at", "who", "what", "detail"):
            audit.add_column(col)
        for e in s.audit[-audit_lines:]:
            audit.add_row(e.at.isoformat(timespec="seconds"), e.actor, e.action, e.detail)
        parts.append(audit)
    return Group(*parts)


def kpi_table(s: PromotionStatus) -> Table:
    table = Table(title=f"KPIs of promotion {s.promotion_id}")
    table.add_column("KPI")
    table.add_column("value", justify="right")
    if s.kpis is not None:
        for name, value in s.kpis.rows():
            table.add_row(name, value)
    return table


def progress_for(s: PromotionStatus) -> Progress:
    progress = Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        TextColumn("{task.completed:>5.0f}/{task.total:<5.0f}"),
        expand=False,
    )
    decided = sum(1 for a in s.approvals if a.state.value in ("APPROVED", "ESCALATED"))
    progress.add_task("approvals", total=max(len(s.approvals), 1), completed=decided)
    ready = sum(1 for st in s.stores if st.gate is StoreGateState.READY)
    progress.add_task("inventory gates (ready)", total=max(len(s.stores), 1), completed=ready)
    for c in s.channels:
        progress.add_task(
            f"{c.channel} confirmations", total=max(c.targets, 1), completed=c.confirmed
        )
    return progress
