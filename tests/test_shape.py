"""The project's shape, checked: layering, names only in the contracts, one registry.

These are the rules of `../shared/DESIGN.md` and of issue 10 as tests, so a change that
breaks them fails here with the file and the offending import or literal."""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from activities import activity_name, build_activities
from common.config import Settings
from domain.activity_options import specs_of

REPO = Path(__file__).resolve().parents[1]
SOURCES = ["activities", "adapters", "backoffice", "bench", "cli", "common", "devstack"]
SOURCES += ["domain", "fakes", "ingress", "tests", "wire", "workflows"]
CONTRACTS = ["promotion", "publication", "sellthrough", "rebalance", "returns"]
PRODUCT = {"adapters", "activities", "cli", "fakes", "ingress", "starter", "worker", "workflows"}
WIRE_MAY_IMPORT = {"__future__", "datetime", "decimal", "typing", "pydantic", "wire"}
IO = {"httpx", "sqlmodel", "sqlalchemy", "fastapi", "uvicorn", "psycopg", "socket", "requests"}
MAX_LINES = 600
"""The house rule: a module past about 600 lines is asking to be split."""

MESSAGE_CALLS = {
    "execute_update",
    "start_update",
    "signal",
    "query",
    "execute_activity",
    "start_activity",
    "start_workflow",
    "execute_workflow",
    "start_child_workflow",
    "execute_child_workflow",
    "get_external_workflow_handle_for",
}
"""Client and workflow calls whose first argument names a workflow, message or activity."""
NAMED_DECORATORS = {"defn", "update", "signal", "query"}


def python_files(*packages: str) -> Iterator[Path]:
    for package in packages:
        yield from sorted((REPO / package).rglob("*.py"))
    if not packages:
        yield from (REPO / f for f in ("worker.py", "starter.py"))


def rel(path: Path) -> str:
    return str(path.relative_to(REPO))


def imported_roots(package: str) -> dict[str, set[str]]:
    """Top-level module of every import, per file of ``package``."""
    found: dict[str, set[str]] = {}
    for path in python_files(package):
        roots: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                roots |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                roots.add(node.module.split(".")[0])
        found[rel(path)] = roots
    return found


def offenders(package: str, forbidden: set[str]) -> dict[str, list[str]]:
    return {f: sorted(r & forbidden) for f, r in imported_roots(package).items() if r & forbidden}


# ---------------------------------------------------------------------------- layering


def test_workflows_import_no_activities_adapters_or_io() -> None:
    assert offenders("workflows", {"activities", "adapters", "backoffice"} | IO) == {}


def test_domain_does_no_io_and_knows_no_workflow_or_system() -> None:
    forbidden = {"activities", "adapters", "backoffice", "ingress", "workflows", "cli"} | IO
    assert offenders("domain", forbidden) == {}


def test_the_backoffice_imports_no_product_code() -> None:
    assert offenders("backoffice", PRODUCT) == {}


def test_the_wire_schemas_are_pydantic_only() -> None:
    found = imported_roots("wire")
    assert {f: sorted(r - WIRE_MAY_IMPORT) for f, r in found.items() if r - WIRE_MAY_IMPORT} == {}


def test_the_ingress_does_not_import_the_reference_systems() -> None:
    assert offenders("ingress", {"backoffice"}) == {}


@pytest.mark.parametrize("package", ["workflows", "domain", "activities", "cli"])
def test_modules_stay_small_enough_to_read(package: str) -> None:
    long = {rel(p): n for p in python_files(package) if (n := len(p.read_text().splitlines()))}
    assert {f: n for f, n in long.items() if n > MAX_LINES} == {}


def test_domain_packages_export_nothing_from_their_init() -> None:
    for process in CONTRACTS:
        tree = ast.parse((REPO / "domain" / process / "__init__.py").read_text())
        assert all(isinstance(node, ast.Expr) for node in tree.body), process


# ---------------------------------------------------------------------------- names


def contract_names() -> set[str]:
    """Every activity name and workflow type the contracts declare."""
    names: set[str] = set()
    for process in CONTRACTS:
        module = importlib.import_module(f"domain.{process}.contract")
        names |= {spec.name for spec in specs_of(module)}
        names |= {
            value
            for key, value in vars(module).items()
            if key.endswith("WORKFLOW_TYPE") and isinstance(value, str)
        }
    return names


def literal_names(path: Path, known: set[str]) -> list[str]:
    """Where `path` spells a workflow, message or activity name as a string literal."""
    found: list[str] = []
    tree = ast.parse(path.read_text())
    exported = {  # `__all__` lists class names, which may equal their workflow types
        id(element)
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
        for element in ast.walk(node.value)
    }
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value in known
            and id(node) not in exported
        ):
            found.append(f"{node.lineno}: {node.value!r}")
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        first = node.args[0] if node.args else None
        if (
            name in MESSAGE_CALLS
            and isinstance(first, ast.Constant)
            and isinstance(first.value, str)
        ):
            found.append(f"{node.lineno}: {name}({first.value!r})")
        if name in NAMED_DECORATORS:
            for keyword in node.keywords:
                value = keyword.value
                if keyword.arg == "name" and isinstance(value, ast.Constant):
                    found.append(f"{node.lineno}: {name}(name={value.value!r})")
    return found


def test_no_workflow_message_or_activity_name_is_spelled_outside_the_contracts() -> None:
    known = contract_names()
    contracts = {REPO / "domain" / process / "contract.py" for process in CONTRACTS}
    spelled = {
        rel(path): hits
        for path in [*python_files(*SOURCES), *python_files()]
        if path not in contracts and path != Path(__file__) and (hits := literal_names(path, known))
    }
    assert spelled == {}


# ---------------------------------------------------------------------------- one registry


def test_the_worker_registers_exactly_the_activities_the_contracts_declare() -> None:
    declared = set()
    for process in CONTRACTS:
        declared |= {
            s.name for s in specs_of(importlib.import_module(f"domain.{process}.contract"))
        }
    registered = [activity_name(fn) for fn in build_activities(Settings())]
    assert len(registered) == len(set(registered)), "an activity is registered twice"
    assert sorted(declared - set(registered)) == [], "declared but not registered"
    assert sorted(set(registered) - declared) == [], "registered without a contract"


def test_every_fake_stands_in_for_a_registered_activity() -> None:
    registered = {activity_name(fn) for fn in build_activities(Settings())}
    for path in python_files("fakes"):
        module = importlib.import_module(f"fakes.{path.stem}")
        for value in vars(module).values():
            for attr in vars(value).values() if isinstance(value, type) else ():
                fn = getattr(attr, "__temporal_activity_definition", None)
                if fn is not None:
                    assert fn.name in registered, f"{path.name}: {fn.name}"
