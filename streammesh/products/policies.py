"""Federated governance: the platform-wide rules every data product descriptor must follow.

Each policy is a small function from a `PolicyContext` to the violations it finds; `POLICIES`
lists them in the order they run, so the platform can show them (`streammesh governance
policies`) and a domain can lint a descriptor in CI (`check_descriptor`). A violation's `code`
starts with its policy's name.

Not here: whether a schema change is breaking and so needs a new major version. The schema
registry decides that with its compatibility check when the schema is registered under the
product's subject; a breaking change then has to ship as `v<major + 1>` on a new topic.
"""

import dataclasses
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email

from streammesh.contracts import CelProgram, RuleCompileError, RuleCostError, check_rule_cost
from streammesh.products.avro import AvroSchema, parse_avro
from streammesh.products.contract import split_guard
from streammesh.products.descriptor import (
    NAME_MAX,
    CleanupPolicy,
    Descriptor,
    ProductRef,
    Status,
)
from streammesh.products.errors import AvroSchemaError
from streammesh.products.loader import SchemaLoader
from streammesh.products.settings import GovernanceSettings

#: Finds a product in the catalog by `<domain>.<product>.v<major>`; None if there is none.
ProductLookup = Callable[[str], Descriptor | None]

PII_TAG = "PII"
_SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
# Field names that usually hold personal data, matched on snake_case word boundaries.
_PII_NAME = re.compile(
    r"(^|_)(e?mail|email_address|phone|mobile|msisdn|address|street|postcode|zip_code"
    r"|birth_?date|date_of_birth|dob|ip|ip_address|ssn|passport"
    r"|first_name|last_name|full_name|given_name|family_name|middle_name|name)($|_)"
)
# A bare `name` of something other than a person (a segment, a product) is not personal.
_NOT_PERSON_NAME = re.compile(r"(segment|product|item|category|campaign|domain|file|topic)_name$")


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Violation:
    """One broken rule: a stable `code` (`<policy>.<what>`) and a message saying how to fix it."""

    code: str
    message: str
    severity: Severity = Severity.ERROR

    @property
    def policy(self) -> str:
        return self.code.partition(".")[0]

    def __str__(self) -> str:
        return f"{self.severity.value}: [{self.code}] {self.message}"


@dataclass(frozen=True)
class PolicyContext:
    """What a policy may look at: the descriptor, its loaded schemas and the catalog."""

    descriptor: Descriptor
    value_schema: AvroSchema | None
    """None when the file is missing or invalid (the `schemas` policy reports why)."""
    key_schema: AvroSchema | None
    schema_errors: tuple[str, ...]
    known_products: ProductLookup
    path: PurePosixPath | None
    """The descriptor file relative to the repository root, when it came from one."""
    today: date
    settings: GovernanceSettings = dataclasses.field(default_factory=GovernanceSettings)


Policy = Callable[[PolicyContext], Iterable[Violation]]


def naming(ctx: PolicyContext) -> Iterator[Violation]:
    """Names are lowercase snake_case; the topic is `<domain>.<product>.v<major>`; files sit
    under their domain (`domains/<domain>/products/<product>.yaml`, `schemas/avro/<domain>/`)."""
    d = ctx.descriptor
    for what, value in (("domain", d.domain), ("name", d.name)):
        if not _SNAKE.match(value):
            yield Violation(f"naming.{what}", f"{what} {value!r} must be lowercase snake_case")
    if d.topic.name != d.ref:
        yield Violation("naming.topic", f"topic {d.topic.name!r} must be named {d.ref!r}")
    expected = PurePosixPath("domains", d.domain, "products", f"{d.name}.yaml")
    if ctx.path is not None and ctx.path != expected:
        yield Violation("naming.file", f"descriptor file {ctx.path} must be {expected}")
    folder = PurePosixPath("schemas", "avro", d.domain)
    for schema_file in (d.topic.value_schema, d.topic.key_schema):
        if schema_file is None:
            continue
        path = PurePosixPath(schema_file)
        if path.parent != folder or path.suffix != ".avsc":
            yield Violation(
                "naming.schema_file", f"schema file {schema_file} must be an .avsc in {folder}/"
            )


def ownership(ctx: PolicyContext) -> Iterator[Violation]:
    """The owning team has a name and a contact that is an email address or an http(s) URL."""
    team = ctx.descriptor.team
    if not team.name.strip():
        yield Violation("ownership.team", "team.name must name the owning team")
    contact = team.contact.strip()
    if not contact:
        yield Violation("ownership.contact", "team.contact must say how to reach the owners")
    elif not reachable(contact):
        yield Violation(
            "ownership.contact",
            f"team.contact {contact!r} must be an email address or an http(s) URL",
        )


def documentation(ctx: PolicyContext) -> Iterator[Violation]:
    """The product has a purpose, and every Avro field of its key and value has a `doc`."""
    if not ctx.descriptor.description.purpose.strip():
        yield Violation(
            "documentation.purpose", "description.purpose must say what one record means"
        )
    for schema, file in _schemas(ctx):
        for field in schema.fields.values():
            if not (field.doc or "").strip():
                yield Violation(
                    "documentation.field_doc", f"field {field.path!r} in {file} has no doc"
                )


def pii(ctx: PolicyContext) -> Iterator[Violation]:
    """Fields that look personal (email, phone, name, address, birth date, IP...) or are tagged
    PII carry a classification; a PII product on a `delete` topic has finite retention.

    A compacted topic keeps the latest value per key by design: personal data there is erased
    with a tombstone, not by retention, so the retention rule does not apply to it.
    """
    d = ctx.descriptor
    if ctx.value_schema is None:
        return
    for path in ctx.value_schema.fields:
        note = d.fields.get(path)
        tagged = note is not None and PII_TAG in note.tags
        if (tagged or looks_personal(path)) and (note is None or note.classification is None):
            yield Violation(
                "pii.unclassified",
                f"field {path!r} looks like personal data: give it a classification under "
                f"fields.{path} (and the {PII_TAG} tag if it is personal)",
            )
    if (
        d.tagged(PII_TAG)
        and d.topic.cleanup_policy is CleanupPolicy.DELETE
        and d.topic.retention == "infinite"
    ):
        yield Violation(
            "pii.retention",
            "a product with PII fields must not keep them forever: set a finite topic.retention",
        )


def slos(ctx: PolicyContext) -> Iterator[Violation]:
    """Freshness, completeness and availability objectives are declared and sane: ratios in
    (0, 1], freshness and windows above zero."""
    s = ctx.descriptor.slos
    for what, slo in (
        ("freshness", s.freshness),
        ("completeness", s.completeness),
        ("availability", s.availability),
    ):
        if slo is None:
            yield Violation("slos.missing", f"slos.{what} must be declared")
        elif slo.window.total_seconds() <= 0:
            yield Violation("slos.window", f"slos.{what}.window must be longer than zero")
    if s.freshness is not None and s.freshness.seconds <= 0:
        yield Violation(
            "slos.freshness", f"slos.freshness.seconds must be > 0, not {s.freshness.seconds:g}"
        )
    for what, ratio_slo in (("completeness", s.completeness), ("availability", s.availability)):
        if ratio_slo is not None and not 0 < ratio_slo.ratio <= 1:
            yield Violation(
                "slos.ratio", f"slos.{what}.ratio must be in (0, 1], not {ratio_slo.ratio:g}"
            )


def schemas(ctx: PolicyContext) -> Iterator[Violation]:
    """Key and value schema files exist and are valid Avro; the value is a record whose fields
    include every field the descriptor names; a compacted topic has a key schema."""
    d = ctx.descriptor
    for error in ctx.schema_errors:
        yield Violation("schemas.invalid", error)
    if d.topic.cleanup_policy is CleanupPolicy.COMPACT and d.topic.key_schema is None:
        yield Violation(
            "schemas.key_required",
            "a compacted topic needs topic.keySchema: compaction keeps the latest value per key",
        )
    value = ctx.value_schema
    if value is None:
        return
    if not value.is_record:
        yield Violation("schemas.not_record", f"{d.topic.value_schema} must declare a record")
        return
    named = [(f"fields.{path}", path) for path in d.fields]
    named += [(f"quality rule {r.name!r}", r.field) for r in d.quality if r.field is not None]
    for where, path in named:
        if path not in value.fields:
            known = ", ".join(value.fields)
            yield Violation(
                "schemas.unknown_field",
                f"{where} names {path!r}, which is not a field of {d.topic.value_schema} ({known})",
            )


def quality(ctx: PolicyContext) -> Iterator[Violation]:
    """Quality rules have unique snake_case names, compile as CEL, cannot make one evaluation
    too expensive (`streammesh.contracts.cost`), and target tags some field carries (a rule on
    a tag no field has would never run)."""
    d = ctx.descriptor
    seen: set[str] = set()
    declared_tags = {tag for note in d.fields.values() for tag in note.tags}
    for rule in d.quality:
        if not _SNAKE.match(rule.name):
            yield Violation("quality.name", f"quality rule {rule.name!r} must be snake_case")
        if rule.name in seen:
            yield Violation("quality.name", f"quality rule name {rule.name!r} is used twice")
        seen.add(rule.name)
        errors = [error for part in split_guard(rule.expr) if part and (error := cel_error(part))]
        for error in errors:
            yield Violation("quality.cel", f"quality rule {rule.name!r}: {error}")
        if not errors:
            try:
                check_rule_cost(rule.expr, rule.name)
            except RuleCostError as exc:
                yield Violation("quality.cost", str(exc))
        for tag in sorted(set(rule.tags) - declared_tags):
            yield Violation(
                "quality.unknown_tag",
                f"quality rule {rule.name!r} targets tag {tag!r}, which no field carries",
            )


def lifecycle(ctx: PolicyContext) -> Iterator[Violation]:
    """A deprecated product has a future sunset date and a successor; an active product does
    not read from a retired one (and is warned about deprecated inputs)."""
    yield from _deprecation(ctx)
    if ctx.descriptor.status is not Status.ACTIVE:
        return
    for port in ctx.descriptor.input_ports:
        upstream = ctx.known_products(port)
        if upstream is None:
            continue  # reported by input_ports
        if upstream.status is Status.RETIRED:
            yield Violation(
                "lifecycle.retired_input",
                f"input {port!r} is retired: an active product cannot depend on it",
            )
        elif upstream.status is Status.DEPRECATED and upstream.deprecation is not None:
            successor = upstream.deprecation.successor or "its successor"
            yield Violation(
                "lifecycle.deprecated_input",
                f"input {port!r} sunsets on {upstream.deprecation.sunset}: move to {successor}",
                Severity.WARNING,
            )


def _deprecation(ctx: PolicyContext) -> Iterator[Violation]:
    d, deprecation = ctx.descriptor, ctx.descriptor.deprecation
    if d.status is not Status.DEPRECATED:
        if deprecation is not None and d.status in (Status.DRAFT, Status.ACTIVE):
            yield Violation(
                "lifecycle.deprecation",
                f"a {d.status.value} product has a deprecation block: "
                "set status: deprecated or remove it",
            )
        return
    if deprecation is None:
        yield Violation(
            "lifecycle.deprecation",
            "a deprecated product needs deprecation.sunset and deprecation.successor",
        )
        return
    previous = ctx.known_products(d.ref)
    # The notice period applies when a deprecation is declared or changed, not on re-apply.
    declared_now = previous is None or previous.deprecation != deprecation
    notice = timedelta(days=ctx.settings.min_sunset_days)
    if deprecation.sunset <= ctx.today:
        yield Violation(
            "lifecycle.sunset",
            f"deprecation.sunset {deprecation.sunset} must be in the future "
            "(or set status: retired)",
        )
    elif declared_now and deprecation.sunset < ctx.today + notice:
        yield Violation(
            "lifecycle.sunset",
            f"deprecation.sunset {deprecation.sunset} must be at least "
            f"{ctx.settings.min_sunset_days} days ahead, so consumers can move "
            "(STREAMMESH_GOVERNANCE_MIN_SUNSET_DAYS)",
        )
    if not deprecation.successor:
        yield Violation("lifecycle.successor", "a deprecated product must name its successor")
    elif deprecation.successor == d.ref:
        yield Violation("lifecycle.successor", "a product cannot succeed itself")
    elif ctx.known_products(deprecation.successor) is None:
        yield Violation(
            "lifecycle.successor", f"successor {deprecation.successor!r} is not a known product"
        )


def input_ports(ctx: PolicyContext) -> Iterator[Violation]:
    """Input ports are `<domain>.<product>.v<major>` references to other, known products."""
    d = ctx.descriptor
    for port in d.input_ports:
        try:
            ProductRef.parse(port)
        except ValueError as exc:
            yield Violation("input_ports.format", f"inputPorts: {exc}")
            continue
        if port == d.ref:
            yield Violation("input_ports.self", f"{port!r} cannot be an input of itself")
        elif ctx.known_products(port) is None:
            yield Violation("input_ports.unknown", f"input {port!r} is not a known product")


#: Every policy, in the order `check_descriptor` runs them.
POLICIES: tuple[Policy, ...] = (
    naming,
    ownership,
    documentation,
    pii,
    slos,
    schemas,
    quality,
    lifecycle,
    input_ports,
)


def describe_policies() -> list[tuple[str, str]]:
    """(name, summary) of every policy, for listing."""
    return [
        (policy.__name__, " ".join((policy.__doc__ or "").split("\n\n")[0].split()))
        for policy in POLICIES
    ]


def check_descriptor(
    descriptor: Descriptor,
    *,
    schema_loader: SchemaLoader,
    known_products: ProductLookup,
    path: PurePosixPath | None = None,
    today: date | None = None,
    policies: Iterable[Policy] = POLICIES,
    settings: GovernanceSettings | None = None,
) -> list[Violation]:
    """Run `policies` on `descriptor`; an empty list means it may be applied."""
    errors: list[str] = []
    value = _load(schema_loader, descriptor.topic.value_schema, errors)
    key = _load(schema_loader, descriptor.topic.key_schema, errors)
    ctx = PolicyContext(
        descriptor=descriptor,
        value_schema=value,
        key_schema=key,
        schema_errors=tuple(errors),
        known_products=known_products,
        path=path,
        today=today or datetime.now(UTC).date(),
        settings=settings or GovernanceSettings(),
    )
    return [violation for policy in policies for violation in policy(ctx)]


def looks_personal(path: str) -> bool:
    """Whether a field's name suggests personal data (by its last path segment)."""
    name = path.rpartition(".")[2].lower()
    return bool(_PII_NAME.search(name)) and not _NOT_PERSON_NAME.search(name)


def reachable(contact: str) -> bool:
    """Whether `contact` is an e-mail address or an http(s) URL, in time linear in its length.

    Text longer than a descriptor's name may be (`NAME_MAX`) is refused before it is parsed:
    descriptors changed in code (`model_copy`) skip the model's own bound.
    """
    if len(contact) > NAME_MAX or any(char.isspace() for char in contact):
        return False
    if contact.startswith(("http://", "https://")):
        try:
            return bool(urlsplit(contact).hostname)
        except ValueError:  # a malformed port or IPv6 address
            return False
    try:
        validate_email(contact, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def cel_error(expr: str) -> str | None:
    """Why `expr` is not valid CEL, or None if it parses."""
    try:
        CelProgram.compile(expr)
    except RuleCompileError as exc:
        return f"not valid CEL: {' '.join(str(exc.cause).split())}"
    return None


def _load(loader: SchemaLoader, relative: str | None, errors: list[str]) -> AvroSchema | None:
    if relative is None:
        return None
    try:
        return parse_avro(loader(relative), source=relative)
    except AvroSchemaError as exc:
        errors.append(str(exc))
        return None


def _schemas(ctx: PolicyContext) -> Iterator[tuple[AvroSchema, str]]:
    if ctx.value_schema is not None:
        yield ctx.value_schema, ctx.descriptor.topic.value_schema
    if ctx.key_schema is not None and ctx.descriptor.topic.key_schema is not None:
        yield ctx.key_schema, ctx.descriptor.topic.key_schema
