"""The layering the code keeps: services depend on `streammesh/`, never the reverse; a domain
never imports another domain's code; the platform package reaches a service only through
`streammesh/cli/services.py`, and only when a command runs."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOOR = ROOT / "streammesh" / "cli" / "services.py"


def _imports(path: Path) -> Iterator[tuple[str, bool]]:
    """Each module `path` imports, and whether the import runs when `path` is imported (at
    module level, not inside a function)."""
    tree = ast.parse(path.read_text("utf-8"))
    deferred: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            deferred.update(id(inner) for inner in ast.walk(node) if inner is not node)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        else:
            continue
        for name in names:
            yield name, id(node) not in deferred


def _modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("path", _modules("streammesh"), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_platform_package_imports_no_service_or_domain(path: Path) -> None:
    for name, at_import in _imports(path):
        assert not name.startswith("domains"), f"{path.name} imports {name}"
        if name.startswith("services"):
            assert path == DOOR, f"{path.name} imports {name}: go through cli/services.py"
            assert not at_import, f"cli/services.py imports {name} at import time"


@pytest.mark.parametrize("path", _modules("domains"), ids=lambda p: str(p.relative_to(ROOT)))
def test_a_domain_imports_no_other_domain_and_no_service(path: Path) -> None:
    own = path.relative_to(ROOT / "domains").parts[0]
    for name, _ in _imports(path):
        assert not name.startswith("services"), f"{path.name} imports {name}"
        if name.startswith("domains."):
            assert name.split(".")[1] == own, f"domains/{own} imports {name}"


@pytest.mark.parametrize("path", _modules("services"), ids=lambda p: str(p.relative_to(ROOT)))
def test_a_service_imports_no_other_service_and_no_domain(path: Path) -> None:
    own = path.relative_to(ROOT / "services").parts[0]
    for name, _ in _imports(path):
        assert not name.startswith("domains"), f"{path.name} imports {name}"
        if name.startswith("services."):
            assert name.split(".")[1] == own, f"services/{own} imports {name}"


def _string_constants(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value


CODE = [*_modules("streammesh"), *_modules("services"), *_modules("domains")]


@pytest.mark.parametrize("path", CODE, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_dead_letter_vocabulary_is_spelled_only_in_streammesh_deadletter(path: Path) -> None:
    # Every writer and reader of letters takes the names from `streammesh.deadletter`, so
    # they cannot drift apart: nowhere else spells a header or a dead-letter topic.
    if path == ROOT / "streammesh" / "deadletter.py":
        return
    for text in _string_constants(path):
        assert not text.startswith(("__streammesh.", "__rule.")), f"{path.name}: {text!r}"
        assert not text.endswith(".dlq"), f"{path.name}: {text!r}"
