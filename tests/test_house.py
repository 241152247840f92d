"""The house rule (DESIGN.md): arrows point down only. bot -> handlers -> core, bot -> adapters ->
core; core knows nothing of chat, mail servers, the web or payment libraries; no front door
imports another; the capability packages of core import each other without cycles."""

from __future__ import annotations

import ast
import importlib
import tomllib
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOORS = ("console", "discord", "mail", "slack", "web")
OUTSIDE = ("discord", "slack_bolt", "slack_sdk", "aiosmtpd", "aiohttp", "aiosmtplib", "stripe")


def imports(package: str) -> dict[str, set[str]]:
    """Module -> the modules it imports (absolute names), for every module under `package`."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        if "migrations" in path.parts:
            continue
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
        found[module] = names
    return found


def offenders(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(f"{module} imports {name}" for module, names in imports(package).items()
                  for name in names if name.split(".")[0] in forbidden)


def test_core_knows_nothing_of_doors_adapters_or_outside_libraries() -> None:
    assert offenders("core", ("bot", "handlers", "adapters", *OUTSIDE)) == []


def test_handlers_import_no_door_and_no_chat_library() -> None:
    assert offenders("handlers", ("bot", "adapters", "discord", "slack_bolt", "slack_sdk", "aiosmtpd",
                                  "aiohttp")) == []


def test_adapters_serve_core_only() -> None:
    assert offenders("adapters", ("bot", "handlers")) == []


@pytest.mark.parametrize("door", DOORS)
def test_no_front_door_imports_another(door: str) -> None:
    others = {f"bot.{d}" for d in DOORS if d != door}
    wrong = sorted(f"{module} imports {name}" for module, names in imports("bot").items()
                   if module.startswith(f"bot.{door}") for name in names
                   if any(name == o or name.startswith(o + ".") for o in others))
    assert wrong == []


def test_core_packages_have_no_import_cycles() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for module, names in imports("core").items():
        source = module.split(".")[1] if module.count(".") else module
        for name in names:
            parts = name.split(".")
            if parts[0] == "core" and len(parts) > 1 and parts[1] != source and parts[1] != "models":
                graph[source].add(parts[1])

    def cycle_from(start: str) -> list[str] | None:
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in graph.get(node, ()):
                if nxt == start:
                    return [*path, start]
                if nxt not in path:
                    stack.append((nxt, [*path, nxt]))
        return None

    cycles = {" -> ".join(c) for p in list(graph) if (c := cycle_from(p))}
    assert cycles == set()


@pytest.mark.parametrize("bench", sorted(p.stem for p in (ROOT / "bench").glob("bench_*.py")))
def test_every_benchmark_still_imports(bench: str) -> None:
    # Benchmarks run outside the suite; a moved module must not break them unnoticed.
    importlib.import_module(f"bench.{bench}")


def test_every_package_of_the_code_is_installed() -> None:
    # Tests import from the checkout; `shopkeep` as installed only sees what pyproject lists.
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    listed = {pattern.rstrip("*") for pattern in patterns["include"]}
    code = {path.parent.name for path in ROOT.glob("*/__init__.py")} - {"tests", "bench"}
    assert code <= listed, f"not installed: {sorted(code - listed)}"
