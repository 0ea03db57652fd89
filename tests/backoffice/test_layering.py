"""The reference systems import no product code; the wire schemas import no I/O."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PRODUCT = {"adapters", "activities", "cli", "fakes", "ingress", "starter", "worker", "workflows"}
WIRE_MAY_IMPORT = {"__future__", "datetime", "decimal", "typing", "pydantic", "wire"}


def imported_roots(package: str) -> dict[str, set[str]]:
    """Top-level module of every import, per file of ``package``."""
    found: dict[str, set[str]] = {}
    for path in sorted((REPO / package).rglob("*.py")):
        roots: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                roots |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                roots.add(node.module.split(".")[0])
        found[str(path.relative_to(REPO))] = roots
    return found


def test_the_backoffice_imports_no_product_code() -> None:
    offenders = {
        f: sorted(r & PRODUCT) for f, r in imported_roots("backoffice").items() if r & PRODUCT
    }
    assert offenders == {}


def test_the_wire_schemas_are_pydantic_only() -> None:
    offenders = {
        f: sorted(r - WIRE_MAY_IMPORT)
        for f, r in imported_roots("wire").items()
        if r - WIRE_MAY_IMPORT
    }
    assert offenders == {}


def test_the_ingress_does_not_import_the_reference_systems() -> None:
    offenders = {f: sorted(r) for f, r in imported_roots("ingress").items() if "backoffice" in r}
    assert offenders == {}
