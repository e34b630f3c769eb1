"""The house's floors (docs/HOUSE.md): the kernel is the ground floor, so no module of it imports a service, the
gateway, a contract or deploy/, not even inside a function; services never import one another or the gateway, the
gateway imports no service (the contracts are what they share), and a contract imports nothing of ours."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("attendance", "grading", "identity", "makeup", "reports")


def imported(path: Path) -> set[str]:
    """The top-level package of every import in one module, at any depth of the tree."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def offenders(folder: Path, forbidden: set[str]) -> dict[str, set[str]]:
    found = {}
    for path in sorted(folder.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        bad = imported(path) & forbidden
        if bad:
            found[str(path.relative_to(ROOT))] = bad
    return found


def test_the_kernel_imports_no_service_no_gateway_no_contract_and_nothing_of_deploy():
    assert offenders(ROOT / "kernel", {*SERVICES, "gateway", "contracts", "deploy"}) == {}


def test_the_gateway_imports_no_service():
    assert offenders(ROOT / "gateway" / "gateway", {*SERVICES, "deploy"}) == {}


def test_a_contract_imports_nothing_of_ours():
    assert offenders(ROOT / "contracts", {*SERVICES, "gateway", "kernel", "deploy"}) == {}


def test_a_service_imports_no_other_service_and_not_the_gateway():
    for name in SERVICES:
        others = {*SERVICES, "gateway", "deploy"} - {name}
        assert offenders(ROOT / "services" / name / name, others) == {}, name


def test_the_walk_sees_imports_inside_functions():
    tree = imported(ROOT / "deploy" / "ops" / "provision.py")
    assert "kernel" in tree
