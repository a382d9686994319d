"""What the monitor reads from the registry: the active products and their value subjects."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import httpx
from confluent_kafka.schema_registry import RegisteredSchema, Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.common.avro import get_inline_tags, parse_schema_with_repo
from confluent_kafka.schema_registry.error import SchemaRegistryError
from pydantic import ValidationError

from services.quality_monitor.checks import Unresolved, WriterSchema
from services.quality_monitor.errors import CatalogUnavailableError
from streammesh.contracts import RuleError, RuleEvaluator
from streammesh.deadletter import Reason
from streammesh.products.catalog import DataProductPublic

_NOT_FOUND = 404


class CatalogReader:
    """Reads `GET /products?status=active` from the catalog."""

    def __init__(self, http: httpx.Client) -> None:
        self._http = http

    def active_products(self) -> list[DataProductPublic]:
        try:
            response = self._http.get("/products", params={"status": "active"})
            response.raise_for_status()
            return [DataProductPublic.model_validate(item) for item in response.json()]
        except (httpx.HTTPError, ValueError, ValidationError) as exc:
            raise CatalogUnavailableError(f"cannot read the catalog: {exc}") from exc


def writer_schema(registered: RegisteredSchema, event_time_fields: Sequence[str]) -> WriterSchema:
    """A `WriterSchema` from a registered version: parsed Avro, its WRITE rules, event time."""
    schema = registered.schema
    if schema.schema_str is None or registered.schema_id is None:
        raise CatalogUnavailableError("the registry returned a version without its schema")
    if schema.references:
        raise CatalogUnavailableError("Avro schemas with references are not supported yet")
    rule_set = schema.rule_set.to_dict() if schema.rule_set is not None else {}
    try:
        rules = RuleEvaluator.from_rule_set(
            rule_set, "WRITE", schema=without_redundant_tags(schema)
        )
    except RuleError as exc:
        raise CatalogUnavailableError(f"the contract's rules do not compile: {exc}") from exc
    return WriterSchema.of(
        registered.schema_id,
        registered.version or 0,
        schema.schema_str,
        rules,
        event_time_fields,
    )


def without_redundant_tags(schema: Schema) -> Schema:
    """`schema` without its metadata when every metadata tag is also inline on its field.

    CEL_FIELD rules select fields by tags: inline `confluent:tags` plus metadata tags matched
    by wildcard, and confluent's walk compiles a wildcard regex per field, per rule, per record
    (most of the time of a check). The catalog writes every tag both ways, so the metadata adds
    nothing and is dropped; any wildcard or any tag not inline keeps it, and with it the exact
    confluent behaviour.
    """
    metadata = schema.metadata
    if metadata is None or metadata.tags is None or schema.schema_str is None:
        return schema
    inline = get_inline_tags(parse_schema_with_repo(schema.schema_str, {}))
    for name, tags in metadata.tags.tags.items():
        if "*" in name or "?" in name or not set(tags) <= inline.get(name, set()):
            return schema
    return Schema(schema.schema_str, schema.schema_type, schema.references, None, schema.rule_set)


class SubjectResolver:
    """Maps schema ids to versions of one value subject, asking the registry once per new id.

    A version is immutable once registered, so a resolved id is kept for good. An id that is
    not (yet) a version of the subject is kept until `forget_unresolved` (called when the
    catalog shows a new version): the same schema can be registered under the subject later.
    Registry failures raise `CatalogUnavailableError`, never a verdict on the record.
    """

    def __init__(
        self, client: SchemaRegistryClient, subject: str, event_time_fields: Sequence[str]
    ) -> None:
        self._client = client
        self.subject = subject
        self._event_time_fields = tuple(event_time_fields)
        self._known: dict[int, WriterSchema | Unresolved] = {}
        self._lock = threading.Lock()

    def resolve(self, schema_id: int, /) -> WriterSchema | Unresolved:
        found = self._known.get(schema_id)
        if found is None:
            with self._lock:
                found = self._known[schema_id] = self._lookup(schema_id)
        return found

    def forget_unresolved(self) -> None:
        with self._lock:
            self._known = {k: v for k, v in self._known.items() if not isinstance(v, Unresolved)}

    def _lookup(self, schema_id: int) -> WriterSchema | Unresolved:
        try:
            pairs = self._client.get_schema_versions(schema_id, deleted=True)
        except SchemaRegistryError as exc:
            if exc.http_status_code == _NOT_FOUND:
                return Unresolved(
                    Reason.UNKNOWN_SCHEMA_ID,
                    f"schema id {schema_id} is not known to the schema registry",
                )
            raise CatalogUnavailableError(f"schema id {schema_id}: {exc}") from exc
        except Exception as exc:  # connection errors come as requests/httpx exceptions
            raise CatalogUnavailableError(f"schema id {schema_id}: {exc!r}") from exc
        versions = sorted(p.version for p in pairs if p.subject == self.subject and p.version)
        if not versions:
            subjects = sorted({p.subject for p in pairs if p.subject})
            return Unresolved(
                Reason.WRONG_SUBJECT,
                f"schema id {schema_id} is not a version of {self.subject} "
                f"(it is registered under {', '.join(subjects) or 'no subject'})",
            )
        try:
            registered = self._client.get_version(self.subject, versions[0], deleted=True)
        except Exception as exc:  # registry or connection error alike: retry later
            raise CatalogUnavailableError(f"{self.subject} v{versions[0]}: {exc!r}") from exc
        return writer_schema(registered, self._event_time_fields)

    def probe(self) -> bool:
        """Whether the subject's versions are readable now (the client caches no listing)."""
        return subject_readable(self._client, self.subject)


def subject_readable(client: SchemaRegistryClient, subject: str) -> bool:
    """Whether `subject`'s versions are readable now (the client caches no listing)."""
    try:
        client.get_versions(subject)
    except Exception:  # noqa: BLE001 - any failure means "not available"
        return False
    return True
