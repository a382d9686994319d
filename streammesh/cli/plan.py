"""What `product check` and `product apply` compute before they touch anything.

Pure where it can be (dependency order, the registry part of a plan), so it is tested without a
broker or a registry; the commands fetch the current state and hand it in.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from streammesh.cli.common import find_root
from streammesh.products import (
    ContractRegistration,
    Descriptor,
    DescriptorError,
    Violation,
    check_descriptor,
    file_schema_loader,
    load_descriptor,
)
from streammesh.products.loader import iter_descriptor_files
from streammesh.products.policies import Severity
from streammesh.sdk.topics import TopicPlan


@dataclass(frozen=True)
class LocalProduct:
    """A descriptor file as found on disk: its descriptor, or why it did not load."""

    path: Path
    root: Path
    descriptor: Descriptor | None
    error: str | None = None

    @property
    def relative(self) -> PurePosixPath | None:
        try:
            return PurePosixPath(self.path.resolve().relative_to(self.root).as_posix())
        except ValueError:
            return None

    @property
    def shown(self) -> str:
        return str(self.relative or self.path)

    def schema_text(self, relative: str) -> str:
        return file_schema_loader(self.root)(relative)


def load_products(files: Iterable[Path], root: Path | None = None) -> list[LocalProduct]:
    products = []
    for path in files:
        where = root or find_root(path)
        try:
            products.append(LocalProduct(path, where, load_descriptor(path)))
        except DescriptorError as exc:
            products.append(LocalProduct(path, where, None, str(exc)))
    return products


def local_catalog(products: Iterable[LocalProduct]) -> dict[str, Descriptor]:
    """Every descriptor of the checkouts `products` come from, and `products` themselves."""
    known: dict[str, Descriptor] = {}
    for root in {p.root for p in products}:
        for path in iter_descriptor_files(root):
            try:
                descriptor = load_descriptor(path)
            except DescriptorError:
                continue  # reported when it is checked itself
            known.setdefault(descriptor.ref, descriptor)
    for product in products:
        if product.descriptor is not None:
            known[product.descriptor.ref] = product.descriptor
    return known


def local_violations(
    product: LocalProduct, known: Callable[[str], Descriptor | None]
) -> list[Violation]:
    """The governance policies on one file, as the catalog will run them."""
    if product.descriptor is None:
        return [Violation("descriptor.invalid", product.error or "cannot be loaded")]
    return check_descriptor(
        product.descriptor,
        schema_loader=file_schema_loader(product.root),
        known_products=known,
        path=product.relative,
    )


def has_errors(violations: Iterable[Violation]) -> bool:
    return any(v.severity is Severity.ERROR for v in violations)


def dependency_order(descriptors: list[Descriptor]) -> list[Descriptor]:
    """`descriptors` with every product after the inputs it reads that are among them; the
    given order is kept otherwise. Raises `ValueError` naming a cycle."""
    by_ref = {d.ref: d for d in descriptors}
    ordered: list[Descriptor] = []
    state: dict[str, str] = {}

    def visit(d: Descriptor, trail: list[str]) -> None:
        if state.get(d.ref) == "done":
            return
        if state.get(d.ref) == "visiting":
            raise ValueError(f"input ports form a cycle: {' -> '.join([*trail, d.ref])}")
        state[d.ref] = "visiting"
        for port in d.input_ports:
            if port in by_ref:
                visit(by_ref[port], [*trail, d.ref])
        state[d.ref] = "done"
        ordered.append(d)

    for descriptor in descriptors:
        visit(descriptor, [])
    return ordered


@dataclass(frozen=True)
class SubjectState:
    """What the registry holds for a subject: its latest version, and the version holding the
    schema we would register (None if it is not there)."""

    latest: Mapping[str, Any] | None
    found: Mapping[str, Any] | None


def _same_json(a: Any, b: Any) -> bool:
    return json.dumps(a or {}, sort_keys=True) == json.dumps(b or {}, sort_keys=True)


def _schema_change(
    subject: str, state: SubjectState, contract: ContractRegistration | None
) -> str | None:
    if state.latest is None:
        return f"register schema {subject} (first version)"
    current = state.latest.get("version")
    if state.found is None or state.found.get("version") != current:
        return f"register new schema version of {subject} (after version {current})"
    if contract is not None and not (
        _same_json(state.latest.get("metadata"), contract.metadata)
        and _same_json(state.latest.get("ruleSet"), contract.rule_set)
    ):
        return f"register new schema version of {subject} (rules or metadata changed)"
    return None


def registry_changes(
    descriptor: Descriptor,
    contract: ContractRegistration,
    *,
    value: SubjectState,
    key: SubjectState | None,
    stored: Descriptor | None,
) -> list[str]:
    """What `PUT /products/...` would change: schema versions, then the catalog entry."""
    changes: list[str] = []
    value_change = _schema_change(f"{descriptor.topic.name}-value", value, contract)
    if value_change:
        changes.append(value_change)
    if key is not None:
        key_change = _schema_change(f"{descriptor.topic.name}-key", key, None)
        if key_change:
            changes.append(key_change)
    if stored is None:
        changes.append(f"register product {descriptor.ref} in the catalog")
    elif stored != descriptor:
        fields = sorted(
            name
            for name in Descriptor.model_fields
            if getattr(stored, name) != getattr(descriptor, name)
        )
        changes.append(f"update descriptor of {descriptor.ref} ({', '.join(fields)})")
    elif changes:
        changes.append(f"update catalog entry of {descriptor.ref} to the new schema")
    return changes


@dataclass(frozen=True)
class ProductPlan:
    """Everything `apply` would do for one product."""

    ref: str
    topics: TopicPlan
    registry: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.topics.empty and not self.registry

    def lines(self) -> list[str]:
        return [*(str(c) for c in self.topics.changes), *self.registry]

    def as_json(self) -> dict[str, Any]:
        return {
            "product": self.ref,
            "changes": self.lines(),
            "refused": list(self.topics.refusals),
            "nothingToDo": self.empty,
        }
