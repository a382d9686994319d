"""The catalog façade: governed upserts, search, lineage, impact and lifecycle transitions.

Governance is computed at registration: every policy runs on the descriptor and the schema
texts sent with it (in a thread, off the event loop), and nothing is registered unless all
pass. The contract (the value schema with its tags, metadata and CEL rules) is registered
through the registry core, so a product's subjects obey the same compatibility rules as any
other subject. The checks are `Governance`'s, which every other path that writes a product's
subjects goes through too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from services.registry.catalog.governance import Governance, schema_texts
from services.registry.catalog.models import (
    DataProductCreate,
    DataProductPublic,
    DeprecateRequest,
    ImpactReport,
    ImpactRequest,
    LineageEdge,
    LineageGraph,
    LineageNode,
    RetireRequest,
    StoredProduct,
)
from services.registry.catalog.records import ProductKey, encode_product
from services.registry.catalog.state import CatalogState, product_subjects
from services.registry.core.registry import Registry
from services.registry.errors import (
    IncompatibleSchemaError,
    LifecycleError,
    PolicyViolationError,
    ProductNotFoundError,
    SubjectNotFoundError,
)
from services.registry.models import Metadata, RuleSet
from streammesh.products.contract import ContractRegistration
from streammesh.products.descriptor import Deprecation, Descriptor, Status
from streammesh.products.errors import AvroSchemaError
from streammesh.products.policies import Severity, check_descriptor, lifecycle

Entry = tuple[bytes, bytes | None]


class EntryWriter(Protocol):
    async def write(self, entries: Sequence[Entry]) -> None:
        """Append to the log; return once applied (read-your-writes)."""


class ConsumerGroups(Protocol):
    async def reading(self, topic: str) -> list[str]:
        """The consumer groups with committed offsets on ``topic``."""


def _ref(key: ProductKey) -> str:
    return f"{key[0]}.{key[1]}.v{key[2]}"


class Catalog:
    def __init__(
        self,
        state: CatalogState,
        registry: Registry,
        writer: EntryWriter,
        consumer_groups: ConsumerGroups,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.state = state
        self.registry = registry
        self._writer = writer
        self._groups = consumer_groups
        self._clock = clock
        self.governance = Governance(state, registry)

    # --- reads

    def _key(self, domain: str, name: str, major: int | None) -> ProductKey:
        majors = self.state.majors(domain, name)
        chosen = major if major is not None else (majors[-1] if majors else None)
        if chosen is None or (domain, name, chosen) not in self.state.products:
            shown = f"{domain}.{name}" + (f".v{major}" if major is not None else "")
            raise ProductNotFoundError(shown)
        return (domain, name, chosen)

    def _public(self, key: ProductKey, warnings: Iterable[str] = ()) -> DataProductPublic:
        stored = self.state.products[key]
        d = stored.descriptor
        value_subject, key_subject = product_subjects(d.topic.name)
        return DataProductPublic(
            **stored.model_dump(by_alias=False),
            ref=d.ref,
            domain=d.domain,
            name=d.name,
            major=d.major,
            status=d.status,
            value_subject=value_subject,
            key_subject=key_subject if stored.key_schema_id is not None else None,
            downstream=sorted(self._downstream_of(d.ref)),
            warnings=list(warnings),
        )

    def get(self, domain: str, name: str, major: int | None = None) -> DataProductPublic:
        return self._public(self._key(domain, name, major))

    def search(
        self,
        *,
        domain: str | None = None,
        tag: str | None = None,
        status: Status | None = None,
        text: str | None = None,
    ) -> list[DataProductPublic]:
        found: list[DataProductPublic] = []
        for key in sorted(self.state.products):
            d = self.state.products[key].descriptor
            if domain is not None and d.domain != domain:
                continue
            if status is not None and d.status is not status:
                continue
            if tag is not None and not _has_tag(d, tag):
                continue
            if text is not None and text.lower() not in _searchable(d):
                continue
            found.append(self._public(key))
        return found

    # --- lineage

    def _downstream_of(self, ref: str) -> set[str]:
        return {
            stored.descriptor.ref
            for stored in self.state.products.values()
            if ref in stored.descriptor.input_ports
        }

    def _walk(self, start: str, step: Callable[[str], Iterable[str]]) -> list[str]:
        seen: list[str] = []
        frontier = list(step(start))
        while frontier:
            ref = frontier.pop(0)
            if ref not in seen and ref != start:
                seen.append(ref)
                frontier.extend(step(ref))
        return seen

    def _inputs_of(self, ref: str) -> tuple[str, ...]:
        stored = self.state.by_ref(ref)
        return stored.descriptor.input_ports if stored else ()

    def lineage(self, domain: str, name: str, major: int | None = None) -> LineageGraph:
        root = _ref(self._key(domain, name, major))
        upstream = self._walk(root, self._inputs_of)
        downstream = self._walk(root, self._downstream_of)
        refs = [root, *upstream, *downstream]
        nodes = []
        for ref in refs:
            stored = self.state.by_ref(ref)
            d = stored.descriptor if stored else None
            nodes.append(
                LineageNode(
                    ref=ref, status=d.status if d else None, owner=d.team.name if d else None
                )
            )
        edges = sorted(
            {(source, ref) for ref in refs for source in self._inputs_of(ref) if source in refs}
        )
        return LineageGraph(
            root=root,
            upstream=upstream,
            downstream=downstream,
            nodes=nodes,
            edges=[LineageEdge(source=s, target=t) for s, t in edges],
        )

    async def impact(self, domain: str, name: str, request: ImpactRequest) -> ImpactReport:
        """Would ``request.schema_`` be accepted as the next value schema, and who would break?"""
        key = self._key(domain, name, request.major)
        stored = self.state.products[key]
        subject = product_subjects(stored.topic)[0]
        check = self.registry.check_compatibility(subject, None, request.schema_, verbose=True)
        downstream = self._walk(_ref(key), self._downstream_of)
        groups = await self._groups.reading(stored.descriptor.topic.name)
        breaks = [] if check.is_compatible else [*downstream, *(f"group:{g}" for g in groups)]
        return ImpactReport(
            product=_ref(key),
            subject=subject,
            compatible=check.is_compatible,
            messages=check.messages or [],
            downstream_products=downstream,
            consumer_groups=groups,
            breaks=breaks,
        )

    # --- writes

    async def upsert(self, domain: str, name: str, body: DataProductCreate) -> DataProductPublic:
        d = body.descriptor
        if (d.domain, d.name) != (domain, name):
            raise PolicyViolationError(
                f"{domain}.{name}",
                [f"the descriptor is {d.domain}.{d.name}, but the request is for {domain}.{name}"],
            )
        governance = self.governance
        async with governance.lock:
            # Pure work on the request (schemas parsed, every rule compiled and costed), in a
            # thread: the event loop keeps answering between its steps.
            warnings, contract = await asyncio.to_thread(self._prepare, body)
            value_subject, key_subject = product_subjects(d.topic.name)
            metadata = Metadata.model_validate(contract.metadata)
            rule_set = RuleSet.model_validate(contract.rule_set)
            # The floor: consumers never meet a record they cannot read.
            await governance.hold_floor(value_subject)
            if body.key_schema is not None:
                await governance.hold_floor(key_subject)
            plan = governance.plan(value_subject, contract.schema, metadata, rule_set)
            governance.check_contract(d, contract, plan)
            # Check both subjects before registering either, so a refusal registers nothing.
            self._check_compatible(value_subject, contract.schema)
            if body.key_schema is not None:
                self._check_compatible(key_subject, body.key_schema)
            key_id = key_version = None
            if body.key_schema is not None:
                key_id = (await self.registry.register(key_subject, body.key_schema)).id
                key_version = self.registry.lookup(key_subject, body.key_schema).version
            value_id = (
                await self.registry.register(
                    value_subject, contract.schema, metadata=metadata, rule_set=rule_set
                )
            ).id
            value_version = self.registry.get_version(value_subject, "latest").version
            product_key = (d.domain, d.name, d.major)
            previous = self.state.products.get(product_key)
            now = int(self._clock() * 1000)
            stored = StoredProduct(
                descriptor=d,
                value_schema_id=value_id,
                value_version=value_version,
                key_schema_id=key_id,
                key_version=key_version,
                registered_at=previous.registered_at if previous else now,
                updated_at=now,
            )
            await self._writer.write([encode_product(product_key, stored)])
            return self._public(product_key, warnings)

    async def deprecate(
        self, domain: str, name: str, request: DeprecateRequest
    ) -> DataProductPublic:
        deprecation = Deprecation(
            sunset=request.sunset, successor=request.successor, note=request.note
        )
        return await self._transition(
            domain, name, request.major, Status.DEPRECATED, deprecation, {Status.ACTIVE}
        )

    async def retire(self, domain: str, name: str, request: RetireRequest) -> DataProductPublic:
        return await self._transition(
            domain, name, request.major, Status.RETIRED, None, {Status.DRAFT, Status.DEPRECATED}
        )

    async def _transition(
        self,
        domain: str,
        name: str,
        major: int | None,
        status: Status,
        deprecation: Deprecation | None,
        allowed_from: set[Status],
    ) -> DataProductPublic:
        async with self.governance.lock:
            key = self._key(domain, name, major)
            stored = self.state.products[key]
            current = stored.descriptor
            if status is Status.RETIRED:
                users = sorted(
                    ref
                    for ref in self._downstream_of(current.ref)
                    if (user := self.state.by_ref(ref))
                    and user.descriptor.status is not Status.RETIRED
                )
                if users:
                    raise LifecycleError(
                        f"Data product '{current.ref}' cannot be retired: {', '.join(users)} "
                        "still read from it"
                    )
            if current.status not in allowed_from:
                raise LifecycleError(
                    f"Data product '{current.ref}' is {current.status.value}; it can become "
                    f"{status.value} only from {' or '.join(sorted(s.value for s in allowed_from))}"
                )
            changed = current.model_copy(
                update={"status": status, "deprecation": deprecation or current.deprecation}
            )
            violations = check_descriptor(
                changed,
                schema_loader=_no_schemas,
                known_products=self.state.descriptor,
                policies=(lifecycle,),
            )
            errors = [str(v) for v in violations if v.severity is Severity.ERROR]
            if errors:
                raise PolicyViolationError(current.ref, errors)
            updated = stored.model_copy(
                update={"descriptor": changed, "updated_at": int(self._clock() * 1000)}
            )
            await self._writer.write([encode_product(key, updated)])
            return self._public(key)

    # --- helpers

    def _prepare(self, body: DataProductCreate) -> tuple[list[str], ContractRegistration]:
        """The governance warnings and the compiled contract; 42290 when a policy refuses."""
        d = body.descriptor
        warnings = self.governance.govern(d, schema_texts(d, body.value_schema, body.key_schema))
        return warnings, self.governance.contract(d, body.value_schema)

    def _check_compatible(self, subject: str, schema: str) -> None:
        try:
            check = self.registry.check_compatibility(subject, None, schema, verbose=True)
        except SubjectNotFoundError:
            return
        if not check.is_compatible:
            raise IncompatibleSchemaError(subject, check.messages or [])


def _no_schemas(relative: str) -> str:
    raise AvroSchemaError(f"{relative}: not needed for a lifecycle change")


def _has_tag(d: Descriptor, tag: str) -> bool:
    wanted = tag.upper()
    return any(
        wanted in (t.upper() for t in note.tags)
        or (note.classification is not None and note.classification.value.upper() == wanted)
        for note in d.fields.values()
    )


def _searchable(d: Descriptor) -> str:
    parts = [d.ref, d.name, d.domain, d.team.name, d.description.purpose]
    parts += [d.description.usage or "", d.description.limitations or ""]
    return " ".join(parts).lower()
