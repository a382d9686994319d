"""Finding versions in the state and rendering them: what reads and writes both look up.

Every read and every write's validation finds a subject's versions, one version, and the
schemas a schema references the same way, so these are plain functions of a `RegistryState`,
shared without either side owning them. They sit on the hot read path: each is one call, as
the private methods they were.
"""

import unicodedata
from collections.abc import Sequence
from typing import TypeVar

from services.registry.core.compatibility import PreviousSchema
from services.registry.core.schema import AVRO, ParsedSchema, parse_schema
from services.registry.core.state import RegistryState, StoredSchema, VersionEntry
from services.registry.errors import (
    InvalidSchemaError,
    InvalidVersionError,
    SubjectNotFoundError,
    VersionNotFoundError,
)
from services.registry.models import SchemaReference, SchemaString, SchemaVersion

T = TypeVar("T")
Version = int | str
"""A version as clients send it: a number, "latest" or -1 (the latest live version)."""

_MAX_VERSION = 2**31 - 1


def page(items: Sequence[T], offset: int = 0, limit: int = -1) -> list[T]:
    """Confluent's paging of a listing: from `offset`, at most `limit` items; a `limit` of
    zero or less means all of them (Confluent caps that at a configured default, we do not)."""
    end = None if limit <= 0 else max(offset + limit, 0)
    return list(items[max(offset, 0) : end])


def parse_version(version: Version) -> int | None:
    """The version number, or None for the latest; Confluent's 42202 for anything else.

    Decimal digits are read as Java's `parseInt` reads them (any number of leading zeros, any
    script's digits), without handing `int()` more digits than a version can have.
    """
    if version in ("latest", -1, "-1"):
        return None
    text = str(version)
    if text.isdecimal():
        first = next((i for i, char in enumerate(text) if unicodedata.decimal(char)), len(text))
        digits = text[first:]  # past its leading zeros, of whichever script
        if 1 <= len(digits) <= len(str(_MAX_VERSION)) and int(digits) <= _MAX_VERSION:
            return int(digits)
    raise InvalidVersionError(version)


def is_listed(state: RegistryState, subject: str, deleted: bool, deleted_only: bool) -> bool:
    """Whether a subject listing with these flags shows `subject`."""
    entries = state.versions(subject, deleted=True)
    if deleted_only:
        return any(e.deleted for e in entries)
    return any(deleted or not e.deleted for e in entries)


def subject_entries(state: RegistryState, subject: str, deleted: bool) -> list[VersionEntry]:
    """The subject's versions, oldest first; 40401 when it has none."""
    entries = state.versions(subject, deleted=deleted)
    if not entries:
        raise SubjectNotFoundError(subject)
    return entries


def find_entry(state: RegistryState, subject: str, version: Version, deleted: bool) -> VersionEntry:
    """One version of the subject, the latest for "latest"; 40401, 40402 or 42202."""
    number = parse_version(version)
    entries = subject_entries(state, subject, deleted)
    if number is None:
        return entries[-1]
    for entry in entries:
        if entry.version == number:
            return entry
    raise VersionNotFoundError(number)


def resolve_references(
    state: RegistryState, references: Sequence[SchemaReference]
) -> tuple[list[SchemaReference], tuple[str, ...]]:
    """References with "latest" (-1) pinned, and every referenced text, dependencies first."""
    pinned: list[SchemaReference] = []
    texts: list[str] = []
    for ref in references:
        try:
            entry = find_entry(state, ref.subject, ref.version, deleted=False)
        except (SubjectNotFoundError, VersionNotFoundError, InvalidVersionError) as exc:
            raise InvalidSchemaError(
                f"Invalid schema reference {ref.name} to subject {ref.subject} "
                f"version {ref.version}: {exc.message}"
            ) from exc
        pinned.append(ref.model_copy(update={"version": entry.version}))
        stored = state.schemas[entry.schema_id]
        _, nested = resolve_references(state, stored.references)
        for text in (*nested, stored.schema):
            if text not in texts:
                texts.append(text)
    return pinned, tuple(texts)


def parse_stored(state: RegistryState, stored: StoredSchema) -> ParsedSchema:
    return parse_schema(stored.schema, resolve_references(state, stored.references)[1])


def previous_schemas(state: RegistryState, entries: list[VersionEntry]) -> list[PreviousSchema]:
    """The schemas of `entries`, parsed, as the compatibility check takes them."""
    return [
        PreviousSchema(e.version, parse_stored(state, state.schemas[e.schema_id])) for e in entries
    ]


def schema_version(state: RegistryState, subject: str, entry: VersionEntry) -> SchemaVersion:
    stored = state.schemas[entry.schema_id]
    return SchemaVersion(
        subject=subject,
        version=entry.version,
        id=stored.id,
        schema_=stored.schema,
        schema_type=None if stored.schema_type in (None, AVRO) else stored.schema_type,
        references=stored.references or None,
        metadata=stored.metadata,
        rule_set=stored.rule_set,
        guid=stored.guid,
        ts=stored.ts,
        deleted=entry.deleted or None,
    )


def schema_string(stored: StoredSchema, max_id: int | None) -> SchemaString:
    return SchemaString(
        schema_=stored.schema,
        schema_type=None if stored.schema_type in (None, AVRO) else stored.schema_type,
        references=stored.references or None,
        metadata=stored.metadata,
        rule_set=stored.rule_set,
        max_id=max_id,
        guid=stored.guid,
    )
