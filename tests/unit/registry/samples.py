"""Schema builders, a synchronous driver for the registry's coroutines, and a catalog kept in
memory beside a registry."""

import asyncio
import json
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

from services.registry.catalog.service import Catalog
from services.registry.catalog.state import CatalogState
from services.registry.core.registry import Registry

T = TypeVar("T")


class CatalogLog:
    """The catalog's entries applied at once, as the registry's log applies them."""

    def __init__(self, state: CatalogState) -> None:
        self.state = state

    async def write(self, entries: Sequence[tuple[bytes, bytes | None]]) -> None:
        for key, value in entries:
            self.state.apply(key, value)


class NoConsumerGroups:
    async def reading(self, topic: str) -> list[str]:
        return []


def in_memory_catalog(registry: Registry) -> Catalog:
    state = CatalogState()
    return Catalog(state, registry, CatalogLog(state), NoConsumerGroups())


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def record(name: str, *fields: dict[str, Any], **extra: Any) -> str:
    return json.dumps({"type": "record", "name": name, "fields": list(fields), **extra})


def field(name: str, type_: Any, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, **extra}


def enum(name: str, *symbols: str, **extra: Any) -> dict[str, Any]:
    return {"type": "enum", "name": name, "symbols": list(symbols), **extra}


USER_V1 = record("User", field("name", "string"))
USER_V2 = record("User", field("name", "string"), field("age", "int", default=0))
USER_V3 = record("User", field("name", "string"), field("email", "string"))
