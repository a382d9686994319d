"""What the product, publish and tail commands share: settings, the mesh, errors, consoles."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console

from streammesh.cli.output import ExitCode, fail
from streammesh.errors import StreamMeshError
from streammesh.sdk import Mesh, ProductRefError
from streammesh.settings import MeshSettings

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def mesh_settings() -> MeshSettings:
    """Read afresh on every command, so `STREAMMESH_*` set by a script always count."""
    return MeshSettings()


@contextlib.contextmanager
def errors_exit() -> Iterator[None]:
    """Turn StreamMesh errors into `error: ...` and exit code 1 (2 for a malformed name)."""
    try:
        yield
    except ProductRefError as exc:
        fail(exc, ExitCode.USAGE)
    except StreamMeshError as exc:
        fail(exc)


@contextlib.contextmanager
def open_mesh() -> Iterator[Mesh]:
    with errors_exit(), Mesh(mesh_settings()) as mesh:
        yield mesh


def collect_descriptor_files(paths: list[Path]) -> list[Path]:
    """The YAML files among `paths`, folders searched recursively (hidden ones skipped)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(
                p
                for p in path.rglob("*.y*ml")
                if p.suffix in (".yaml", ".yml")
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        else:
            found.append(path)
    unique: dict[Path, None] = {}
    for path in found:
        unique.setdefault(path.resolve(), None)
    return list(unique)


def find_root(path: Path) -> Path:
    """The checkout a descriptor belongs to: the nearest folder holding `schemas/` (schema
    paths in descriptors are relative to it); the current folder if there is none."""
    for folder in path.resolve().parents:
        if (folder / "schemas").is_dir():
            return folder
    return Path.cwd()
