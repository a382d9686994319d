"""Governance of a data product's subjects, on every path that writes them.

A subject belongs to a product when it is ``<topic>-value`` or ``<topic>-key`` of a product in
the catalog; governance applies to it until the product is retired. Every route that writes
such a subject (``/subjects`` registrations and deletes, ``/config``, ``/mode``) makes its
write through `Governance`, and the catalog's own writes (``PUT /products``, lifecycle
changes) run the same checks under the same lock, so a check and its write see one catalog:

- the floor: the compatibility level in force on a product subject is never below BACKWARD,
  for anyone, admins included: a breaking change ships as a new major on a new topic;
- the contract: a new schema passes the descriptor's policies, exactly as ``PUT /products``
  runs them, and keeps what the descriptor compiles to (field tags, sensitive properties,
  quality rules); only an admin restoring history in IMPORT mode skips this;
- deletes and mode changes of a product subject are an admin's, as Confluent leaves them to
  operators; the owners' way out is retiring the product.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, Final

from services.registry.catalog.models import StoredProduct
from services.registry.catalog.state import CatalogState, product_subjects
from services.registry.core.compatibility import CompatibilityLevel
from services.registry.core.config import DEFAULT_CONFIG, IMPORT, merge_config
from services.registry.core.registration import RegistrationPlan, plan_registration
from services.registry.core.registry import Registry, Version
from services.registry.errors import (
    CompatibilityFloorError,
    ForbiddenError,
    OperationNotPermittedError,
    PolicyViolationError,
    SchemaNotFoundError,
)
from services.registry.models import Config, Metadata, Mode, RuleSet, SchemaId, SchemaReference
from streammesh.products.avro import parse_avro
from streammesh.products.contract import ContractRegistration, compile_contract
from streammesh.products.descriptor import Descriptor, Status
from streammesh.products.errors import AvroSchemaError, ContractError
from streammesh.products.loader import SchemaLoader
from streammesh.products.policies import Severity, Violation, check_descriptor

log = logging.getLogger(__name__)

FLOOR: Final = CompatibilityLevel.BACKWARD
# The levels that do not check a new schema as BACKWARD does: consumers could meet a record
# they cannot read. An unknown level is not one of them: the registry refuses it as invalid.
_BELOW_FLOOR: Final = frozenset(
    {CompatibilityLevel.NONE, CompatibilityLevel.FORWARD, CompatibilityLevel.FORWARD_TRANSITIVE}
)
_AT_FLOOR: Final = ", ".join(level for level in CompatibilityLevel if level not in _BELOW_FLOOR)
_INLINE_TAGS: Final = "confluent:tags"


def below_floor(global_config: Config | None, own: Config | None) -> str | None:
    """The level a subject with these global and own configs has in force, when it is below
    the floor; None when the floor holds. The one floor check: every path asks it."""
    level = merge_config(merge_config(DEFAULT_CONFIG, global_config), own).compatibility_level
    level = (level or FLOOR).upper()
    return level if level in _BELOW_FLOOR else None


def schema_texts(descriptor: Descriptor, value: str | None, key: str | None) -> SchemaLoader:
    """The policies' schema loader: these texts, under the file names the descriptor gives."""
    texts: dict[str, str] = {}
    for relative, text in (
        (descriptor.topic.value_schema, value),
        (descriptor.topic.key_schema, key),
    ):
        if relative is not None and text is not None:
            texts[relative] = text

    def load(relative: str) -> str:
        if relative not in texts:
            raise AvroSchemaError(f"{relative}: its text was not sent with the request")
        return texts[relative]

    return load


def contract_dropped(
    contract: ContractRegistration,
    schema: str,
    metadata: Metadata | None,
    rule_set: RuleSet | None,
) -> list[Violation]:
    """What storing ``schema`` with ``metadata`` and ``rule_set`` would drop of the compiled
    ``contract``: a field's tags (inline or in ``metadata.tags``), a sensitive property, a
    quality rule, or a part of one the descriptor sets. A registration may add its own.

    Properties are not compared: they describe the product, which the catalog serves, and a
    lifecycle change updates them there without a new schema version."""
    try:
        given = parse_avro(schema, source=contract.subject)
    except AvroSchemaError as error:
        return [Violation("contract.schema", str(error))]
    dropped: list[Violation] = []
    for path, field in parse_avro(contract.schema, source=contract.subject).fields.items():
        kept = given.fields.get(path)
        missing = _inline_tags(field.declaration) - (
            _inline_tags(kept.declaration) if kept else set()
        )
        if missing:
            dropped.append(
                Violation(
                    "contract.tags",
                    f"field {path!r} must keep its tags {_listed(missing)} ({_INLINE_TAGS}), "
                    "as the descriptor classifies it",
                )
            )
    given_tags = (metadata.tags if metadata else None) or {}
    for full_name, tags in contract.metadata["tags"].items():
        if missing := set(tags) - set(given_tags.get(full_name, [])):
            dropped.append(
                Violation(
                    "contract.tags", f"metadata.tags must keep {_listed(missing)} on {full_name!r}"
                )
            )
    sensitive = set((metadata.sensitive if metadata else None) or [])
    for name in contract.metadata["sensitive"]:
        if name not in sensitive:
            dropped.append(
                Violation(
                    "contract.sensitive",
                    f"metadata.sensitive must keep {name!r}: its value is personal data",
                )
            )
    rules = (rule_set.domain_rules if rule_set else None) or []
    given_rules = {rule.name: rule.model_dump(by_alias=True) for rule in rules}
    for compiled in contract.rule_set["domainRules"]:
        name, have = compiled["name"], given_rules.get(compiled["name"])
        if have is None:
            dropped.append(
                Violation(
                    "contract.rules", f"quality rule {name!r} must stay in ruleSet.domainRules"
                )
            )
        elif changed := sorted(k for k, v in compiled.items() if have.get(k) != v):
            dropped.append(
                Violation(
                    "contract.rules",
                    f"quality rule {name!r} must stay as the descriptor compiles it "
                    f"({', '.join(changed)} changed)",
                )
            )
    return dropped


class Governance:
    """Checks, then makes, every write to a data product's subjects (see the module's doc)."""

    def __init__(self, catalog: CatalogState, registry: Registry) -> None:
        self.catalog = catalog
        self.registry = registry
        # Held around each check and its write, by the catalog's writes too: a subject cannot
        # become a product's, or change contract, between the two.
        self.lock = asyncio.Lock()

    def product_of(self, subject: str) -> StoredProduct | None:
        """The product ``subject`` belongs to while it is governed: until it is retired."""
        stored = self.catalog.with_subject(subject)
        if stored is None or stored.descriptor.status is Status.RETIRED:
            return None
        return stored

    # --- the policies and the contract, as ``PUT /products`` and registrations run them

    def govern(self, descriptor: Descriptor, loader: SchemaLoader) -> list[str]:
        """Every policy on ``descriptor`` and its schemas: 42290 listing the errors, else the
        warnings."""
        violations = check_descriptor(
            descriptor, schema_loader=loader, known_products=self.catalog.descriptor
        )
        errors = [str(v) for v in violations if v.severity is Severity.ERROR]
        if errors:
            raise PolicyViolationError(descriptor.ref, errors)
        return [str(v) for v in violations]

    def contract(self, descriptor: Descriptor, value_schema: str) -> ContractRegistration:
        """The contract ``descriptor`` compiles to on ``value_schema``; 42290 if it cannot."""
        try:
            return compile_contract(descriptor, value_schema)
        except (ContractError, AvroSchemaError) as error:
            raise PolicyViolationError(descriptor.ref, [str(error)]) from error

    def plan(
        self, subject: str, schema: str, metadata: Metadata | None, rule_set: RuleSet | None
    ) -> RegistrationPlan:
        """What registering ``schema`` under ``subject`` would store, as the registry plans it."""
        return plan_registration(
            self.registry.state, subject, schema, None, (), metadata, rule_set, False, None, None
        )

    def check_contract(
        self, descriptor: Descriptor, contract: ContractRegistration, plan: RegistrationPlan
    ) -> None:
        """42290 when ``plan`` (after Confluent merged the request with the latest version and
        the config's defaults and overrides) would store less than ``contract``."""
        dropped = contract_dropped(contract, plan.text, plan.metadata, plan.rule_set)
        if dropped:
            raise PolicyViolationError(descriptor.ref, [str(v) for v in dropped])

    # --- the floor

    async def hold_floor(self, subject: str) -> None:
        """Raise a product subject's own level to the floor when the level in force is below
        it; call with the lock held. Every registration of a product's schema does this first,
        so no path registers one under a weaker level, whatever the configs were."""
        await self._hold(subject, self._config(None))

    async def _hold(self, subject: str, global_config: Config | None) -> None:
        level = below_floor(global_config, self._config(subject))
        if level is not None:
            log.info(
                "holding %s at the compatibility floor %s rather than %s", subject, FLOOR, level
            )
            await self.registry.set_config(subject, Config(compatibility_level=FLOOR))

    def _check_floor(self, subject: str, own: Config | None) -> None:
        product = self.product_of(subject)
        level = below_floor(self._config(None), own)
        if product is not None and level is not None:
            raise CompatibilityFloorError(subject, product.descriptor.ref, level, FLOOR, _AT_FLOOR)

    def _config(self, subject: str | None) -> Config | None:
        return self.registry.state.configs.get(subject)

    # --- config and mode

    async def set_config(self, subject: str | None, config: Config) -> Config:
        """A subject's: refused below the floor on a product subject. The global one: product
        subjects it would take below the floor are held at the floor first."""
        async with self.lock:
            if subject is None:
                after = merge_config(self._config(None) or Config(), config)
                for governed in self._governed_subjects():
                    await self._hold(governed, after)
            elif (product := self.product_of(subject)) is not None:
                if config.override_metadata is not None or config.override_rule_set is not None:
                    # Overrides are merged over every registration: they would rewrite the
                    # contract the descriptor compiles, which changes through PUT /products.
                    overriding = Violation(
                        "contract.override",
                        f"subject '{subject}' takes its metadata and rules from the "
                        "descriptor: change them through PUT /products, not overrideMetadata "
                        "or overrideRuleSet",
                    )
                    raise PolicyViolationError(product.descriptor.ref, [str(overriding)])
                self._check_floor(subject, merge_config(self._config(subject) or Config(), config))
            return await self.registry.set_config(subject, config)

    async def delete_config(self, subject: str | None) -> Config:
        """The global config falls back to Confluent's default, BACKWARD, which keeps the
        floor; a product subject's own config goes only if the global level keeps it."""
        async with self.lock:
            if subject is not None and self._config(subject) is not None:
                self._check_floor(subject, None)
            return await self.registry.delete_config(subject)

    async def set_mode(self, subject: str | None, mode: str, force: bool, *, admin: bool) -> Mode:
        async with self.lock:
            self._check_mode(subject, mode, admin)
            return await self.registry.set_mode(subject, mode, force)

    async def delete_mode(self, subject: str | None, *, admin: bool) -> Mode:
        async with self.lock:
            self._check_mode(subject, None, admin)
            return await self.registry.delete_mode(subject)

    def _check_mode(self, subject: str | None, mode: str | None, admin: bool) -> None:
        if admin:
            return
        where = "the registry" if subject is None else f"subject '{subject}'"
        if mode is not None and mode.upper() == IMPORT:
            # IMPORT lets a writer choose schema ids, which every domain's records share.
            raise ForbiddenError(f"Only an admin may put {where} in IMPORT mode")
        product = None if subject is None else self.product_of(subject)
        if product is not None:
            # READONLY would stop the product's own updates, READWRITE undo an admin's freeze.
            raise ForbiddenError(
                f"Only an admin may change the mode of {where}: it belongs to data product "
                f"'{product.descriptor.ref}'"
            )

    # --- schemas

    async def register(
        self,
        subject: str,
        schema: str,
        *,
        admin: bool,
        schema_type: str | None = None,
        references: Sequence[SchemaReference] = (),
        metadata: Metadata | None = None,
        rule_set: RuleSet | None = None,
        normalize: bool = False,
        id: int | None = None,
        version: int | None = None,
    ) -> SchemaId:
        """Register as the registry does; a product's schema first passes the contract check,
        and its subject is held at the floor.

        Only a product's registrations take the lock: the others share the log's transactions
        with whatever else is being written (a product created meanwhile finds them there, as
        if they had come first)."""

        async def registered() -> SchemaId:
            return await self.registry.register(
                subject,
                schema,
                schema_type=schema_type,
                references=references,
                metadata=metadata,
                rule_set=rule_set,
                normalize=normalize,
                id=id,
                version=version,
            )

        if self.product_of(subject) is None:
            return await registered()
        async with self.lock:
            product = self.product_of(subject)
            if product is not None:
                plan = plan_registration(
                    self.registry.state,
                    subject,
                    schema,
                    schema_type,
                    references,
                    metadata,
                    rule_set,
                    normalize,
                    id,
                    version,
                )
                writes = plan.live_id is None or id not in (None, plan.existing_id)
                if writes:
                    if not (admin and plan.mode == IMPORT):  # an admin's restore of history
                        self._check_schema(product, subject, schema, plan)
                    await self.hold_floor(subject)
            return await registered()

    def _check_schema(
        self, product: StoredProduct, subject: str, schema: str, plan: RegistrationPlan
    ) -> None:
        """The product's policies on ``schema`` beside its other registered schema, then, for
        the value subject, the contract the descriptor compiles on it."""
        d = product.descriptor
        value_subject, key_subject = product_subjects(d.topic.name)
        value = schema if subject == value_subject else self._text(product.value_schema_id)
        key = schema if subject == key_subject else self._text(product.key_schema_id)
        self.govern(d, schema_texts(d, value, key))
        if subject == value_subject:
            self.check_contract(d, self.contract(d, schema), plan)

    def _text(self, schema_id: int | None) -> str | None:
        if schema_id is None:
            return None
        try:
            return self.registry.get_schema_by_id(schema_id).schema_
        except SchemaNotFoundError:
            return None

    async def delete_subject(self, subject: str, permanent: bool, *, admin: bool) -> list[int]:
        async with self.lock:
            self._check_delete(subject, admin)
            return await self.registry.delete_subject(subject, permanent)

    async def delete_version(
        self, subject: str, version: Version, permanent: bool, *, admin: bool
    ) -> int:
        async with self.lock:
            self._check_delete(subject, admin)
            return await self.registry.delete_version(subject, version, permanent)

    def _check_delete(self, subject: str, admin: bool) -> None:
        # Deleting versions moves `latest` back to an older contract under producers that use
        # it, and a subject left without live versions takes any schema next: a way round the
        # floor. Retiring the product ends its governance; admins may delete, as Confluent's
        # operators do.
        product = self.product_of(subject)
        if product is None or admin:
            return
        d = product.descriptor
        raise OperationNotPermittedError(
            f"Subject '{subject}' belongs to data product '{d.ref}', which is {d.status.value}: "
            f"its versions are deleted once the product is retired (POST /products/{d.domain}/"
            f"{d.name}/retire), or by an admin"
        )

    def _governed_subjects(self) -> list[str]:
        """Every governed subject with live versions (one without takes the floor when its
        first schema is registered)."""
        return [
            subject
            for stored in self.catalog.products.values()
            if stored.descriptor.status is not Status.RETIRED
            for subject in product_subjects(stored.topic)
            if self.registry.state.versions(subject)
        ]


def _inline_tags(declaration: dict[str, Any]) -> set[str]:
    tags = declaration.get(_INLINE_TAGS)
    return {str(tag) for tag in tags} if isinstance(tags, list) else set()


def _listed(tags: set[str]) -> str:
    return ", ".join(sorted(tags))
