"""The registry's in-memory state, built only by applying log records.

Applying a record is idempotent and depends only on the records before it, so replaying the log
(after a restart or a compaction) rebuilds the same subjects, versions and ids.

A schema id, once handed out, lives in records for as long as the topics keep them, so applying
refuses a record that would bind an id to other content than it has (or had, before a hard
delete), a live (subject, version) to another id, or an id outside 1..2^31-1: such a record can
only come from a writer that should not have written it (two primaries, a deposed leader), and
applying it would make records already written decode with the wrong schema. It is logged and
counted (`refused`), never applied.
"""

import json
import logging
from dataclasses import dataclass
from typing import Final

from services.registry.core.records import (
    ConfigRecord,
    DeleteSubjectRecord,
    IdWatermarkRecord,
    ModeRecord,
    Record,
    SchemaRecord,
    SchemaValue,
)
from services.registry.models import Config, Metadata, RuleSet, SchemaReference

log = logging.getLogger(__name__)

# Schemas are the same (and share an id) when all of these are equal.
ContentKey = tuple[str, str, str]

#: The largest schema id: every Confluent client puts the id in a 4-byte header, and Java's
#: clients read it as a signed int.
MAX_SCHEMA_ID: Final = 2**31 - 1


def content_key(
    schema: str,
    schema_type: str | None,
    references: list[SchemaReference],
    metadata: Metadata | None,
    rule_set: RuleSet | None,
) -> ContentKey:
    extras = [
        [r.model_dump() for r in references],
        metadata and metadata.model_dump(exclude_none=True),
        rule_set and rule_set.model_dump(exclude_none=True),
    ]
    return (schema_type or "AVRO", schema, json.dumps(extras, sort_keys=True))


@dataclass(frozen=True, slots=True)
class VersionEntry:
    version: int
    schema_id: int
    deleted: bool


@dataclass(frozen=True, slots=True)
class StoredSchema:
    id: int
    schema: str
    schema_type: str | None
    references: list[SchemaReference]
    metadata: Metadata | None
    rule_set: RuleSet | None
    guid: str | None
    ts: int | None

    @property
    def content(self) -> ContentKey:
        return content_key(
            self.schema, self.schema_type, self.references, self.metadata, self.rule_set
        )


class RegistryState:
    def __init__(self) -> None:
        self.subjects: dict[str, dict[int, VersionEntry]] = {}
        self.schemas: dict[int, StoredSchema] = {}
        self.ids_by_content: dict[ContentKey, int] = {}
        self.ids_by_guid: dict[str, int] = {}
        self.configs: dict[str | None, Config] = {}
        self.modes: dict[str | None, str] = {}
        # (referenced subject, version) -> the live (subject, version)s whose schema references it
        self.referrers: dict[tuple[str, int], set[tuple[str, int]]] = {}
        # Highest id ever seen, so a hard-deleted id is not handed out again in this replay.
        self.max_id = 0
        # The content of each id no version uses any more: an id is never bound to other content.
        self.retired: dict[int, ContentKey] = {}
        # Records refused on apply (see the module's docstring).
        self.refused = 0

    def copy(self) -> "RegistryState":
        """An independent state equal to this one (the writer's state is rebuilt from it).

        Stored values are immutable, so only the containers are copied."""
        other = RegistryState()
        other.subjects = {subject: dict(versions) for subject, versions in self.subjects.items()}
        other.schemas = dict(self.schemas)
        other.ids_by_content = dict(self.ids_by_content)
        other.ids_by_guid = dict(self.ids_by_guid)
        other.configs = dict(self.configs)
        other.modes = dict(self.modes)
        other.referrers = {key: set(users) for key, users in self.referrers.items()}
        other.max_id = self.max_id
        other.retired = dict(self.retired)
        return other

    def apply(self, record: Record) -> None:
        """Fold one log record into the state; other record types are ignored."""
        match record:
            case SchemaRecord(subject, version, None):
                self._remove_version(subject, version)
            case SchemaRecord(subject, version, SchemaValue() as value):
                self._put_version(subject, version, value)
            case DeleteSubjectRecord(subject, up_to):
                for entry in list(self.subjects.get(subject, {}).values()):
                    if entry.version <= up_to and not entry.deleted:
                        self._set_entry(subject, VersionEntry(entry.version, entry.schema_id, True))
            case ConfigRecord(subject, None):
                self.configs.pop(subject, None)
            case ConfigRecord(subject, Config() as config):
                self.configs[subject] = config
            case ModeRecord(subject, None):
                self.modes.pop(subject, None)
            case ModeRecord(subject, str() as mode):
                self.modes[subject] = mode
            case IdWatermarkRecord(max_id):
                self._raise_watermark(max_id)
            case _:
                pass

    # --- queries

    def versions(self, subject: str, *, deleted: bool = False) -> list[VersionEntry]:
        """The subject's versions, oldest first; soft-deleted ones only when `deleted`."""
        entries = sorted(self.subjects.get(subject, {}).values(), key=lambda e: e.version)
        return [e for e in entries if deleted or not e.deleted]

    def next_id(self) -> int:
        return self.max_id + 1

    def bound_content(self, schema_id: int) -> ContentKey | None:
        """The content `schema_id` is bound to, live or retired; None for an id never used."""
        stored = self.schemas.get(schema_id)
        return stored.content if stored is not None else self.retired.get(schema_id)

    def conflict(self, subject: str, version: int, value: SchemaValue) -> str | None:
        """Why binding `value` at (`subject`, `version`) would corrupt the state, or None."""
        if not 1 <= value.id <= MAX_SCHEMA_ID:
            return f"schema id {value.id} is outside 1..{MAX_SCHEMA_ID}"
        bound = self.bound_content(value.id)
        if bound is not None and bound != content_key(
            value.schema_, value.schema_type, list(value.references), value.metadata, value.rule_set
        ):
            return f"schema id {value.id} is bound to another schema"
        current = self.subjects.get(subject, {}).get(version)
        if current is not None and current.schema_id != value.id:
            return f"{subject} version {version} is bound to schema id {current.schema_id}"
        return None

    def live_referrers(self, subject: str, version: int) -> list[int]:
        """Ids of the live schemas that reference `subject` at `version`, ascending."""
        return sorted(
            {self.subjects[s][v].schema_id for s, v in self.referrers.get((subject, version), ())}
        )

    # --- mutations

    def _raise_watermark(self, max_id: int) -> None:
        if max_id > MAX_SCHEMA_ID:
            self._refuse(f"a watermark of {max_id} is past the largest id")
            return
        self.max_id = max(self.max_id, max_id)

    def _put_version(self, subject: str, version: int, value: SchemaValue) -> None:
        conflict = self.conflict(subject, version, value)
        if conflict is not None:
            self._refuse(f"{conflict}; the record binds id {value.id} to {subject} {version}")
            return
        stored = StoredSchema(
            id=value.id,
            schema=value.schema_,
            schema_type=value.schema_type,
            references=list(value.references),
            metadata=value.metadata,
            rule_set=value.rule_set,
            guid=value.guid,
            ts=value.ts,
        )
        if value.id not in self.schemas:  # `conflict` made sure the content is the same
            self.schemas[value.id] = stored
            self.retired.pop(value.id, None)
            self.ids_by_content.setdefault(stored.content, value.id)
            if stored.guid:
                self.ids_by_guid.setdefault(stored.guid, value.id)
        self.max_id = max(self.max_id, value.id)
        self._set_entry(subject, VersionEntry(version, value.id, value.deleted))

    def _set_entry(self, subject: str, entry: VersionEntry) -> None:
        old = self.subjects.get(subject, {}).get(entry.version)
        if old is not None:
            self._link(subject, old, add=False)
        self.subjects.setdefault(subject, {})[entry.version] = entry
        self._link(subject, entry, add=True)
        if old is not None and old.schema_id != entry.schema_id:
            self._collect(old.schema_id)

    def _remove_version(self, subject: str, version: int) -> None:
        versions = self.subjects.get(subject, {})
        old = versions.pop(version, None)
        if old is None:
            return
        self._link(subject, old, add=False)
        if not versions:
            del self.subjects[subject]
        self._collect(old.schema_id)

    def _link(self, subject: str, entry: VersionEntry, *, add: bool) -> None:
        schema = self.schemas.get(entry.schema_id)
        if schema is None or (add and entry.deleted):
            return
        for ref in schema.references:
            users = self.referrers.setdefault((ref.subject, ref.version), set())
            if add:
                users.add((subject, entry.version))
            else:
                users.discard((subject, entry.version))

    def _collect(self, schema_id: int) -> None:
        """Drop a schema no version uses any more, as a compacted log would not hold it."""
        in_use = any(
            e.schema_id == schema_id
            for versions in self.subjects.values()
            for e in versions.values()
        )
        if not in_use and schema_id in self.schemas:
            schema = self.schemas.pop(schema_id)
            self.retired[schema_id] = schema.content
            self._forget_schema(schema)

    def _forget_schema(self, schema: StoredSchema) -> None:
        if self.ids_by_content.get(schema.content) == schema.id:
            del self.ids_by_content[schema.content]
        if schema.guid and self.ids_by_guid.get(schema.guid) == schema.id:
            del self.ids_by_guid[schema.guid]

    def _refuse(self, why: str) -> None:
        self.refused += 1
        log.error("refused a registry log record: %s", why)
