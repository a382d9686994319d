"""The registry façade: reads answer from the state; writes validate, then go through the log.

`Registry` is the one object the API and the catalog call. Its reads are answered here, from
the state, through the plain functions of `queries` and `config` (one call each, so the hot
reads cost what they did). Its writes are `Mutations`', which holds the lock and the log they
need; `registration` works out what a registration would write, for both sides.
"""

import time
import uuid
from collections.abc import Callable, Sequence

from services.registry.core.compatibility import CompatibilityLevel, compatibility_messages
from services.registry.core.config import effective_config, effective_mode
from services.registry.core.mutations import LogWriter, Mutations
from services.registry.core.queries import (
    Version,
    find_entry,
    is_listed,
    page,
    parse_stored,
    previous_schemas,
    resolve_references,
    schema_string,
    schema_version,
    subject_entries,
)
from services.registry.core.registration import plan_registration
from services.registry.core.schema import AVRO, parse_schema
from services.registry.core.state import RegistryState
from services.registry.errors import (
    RegistryError,
    SchemaNotFoundError,
    SubjectCompatibilityNotConfiguredError,
    SubjectModeNotConfiguredError,
)
from services.registry.models import (
    CompatibilityCheck,
    Config,
    Metadata,
    Mode,
    RuleSet,
    SchemaReference,
    SchemaString,
    SchemaVersion,
    SubjectVersion,
)

__all__ = ["Registry", "Version", "page"]  # the API takes `Version` and `page` from here


class Registry:
    def __init__(
        self,
        state: RegistryState,
        writer: LogWriter,
        *,
        clock: Callable[[], float] = time.time,
        new_guid: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.state = state
        # Writes go through the log one at a time: `Mutations` owns them, served here as they are.
        writes = Mutations(state, writer, clock=clock, new_guid=new_guid)
        self.register = writes.register
        self.delete_version = writes.delete_version
        self.delete_subject = writes.delete_subject
        self.set_config = writes.set_config
        self.delete_config = writes.delete_config
        self.set_mode = writes.set_mode
        self.delete_mode = writes.delete_mode

    # --- schemas

    def get_schema_by_id(
        self, schema_id: int, subject: str | None = None, fetch_max_id: bool = False
    ) -> SchemaString:
        stored = self.state.schemas.get(schema_id)
        if stored is None or (
            subject is not None
            and all(e.schema_id != schema_id for e in self.state.versions(subject, deleted=True))
        ):
            raise SchemaNotFoundError(schema_id)
        return schema_string(stored, max_id=self.state.max_id if fetch_max_id else None)

    def get_schema_by_guid(self, guid: str) -> SchemaString:
        schema_id = self.state.ids_by_guid.get(guid)
        if schema_id is None:
            raise SchemaNotFoundError(guid)
        return schema_string(self.state.schemas[schema_id], max_id=None)

    def list_schemas(
        self, subject_prefix: str = "", deleted: bool = False, latest_only: bool = False
    ) -> list[SchemaVersion]:
        result: list[SchemaVersion] = []
        for subject in sorted(self.state.subjects):
            if not subject.startswith(subject_prefix):
                continue
            entries = self.state.versions(subject, deleted=deleted)
            for entry in entries[-1:] if latest_only else entries:
                result.append(schema_version(self.state, subject, entry))
        return result

    def subjects_for_id(
        self, schema_id: int, deleted: bool = False, subject: str | None = None
    ) -> list[str]:
        return sorted({sv.subject for sv in self.versions_for_id(schema_id, deleted, subject)})

    def versions_for_id(
        self, schema_id: int, deleted: bool = False, subject: str | None = None
    ) -> list[SubjectVersion]:
        """The subject-versions holding `schema_id`; only `subject`'s when given, 40403 when
        `subject` never held it (as ``GET /schemas/ids/{id}?subject=``)."""
        if schema_id not in self.state.schemas:
            raise SchemaNotFoundError(schema_id)
        if subject is not None and all(
            e.schema_id != schema_id for e in self.state.versions(subject, deleted=True)
        ):
            raise SchemaNotFoundError(schema_id)
        return [
            SubjectVersion(subject=name, version=e.version)
            for name in ([subject] if subject is not None else sorted(self.state.subjects))
            for e in self.state.versions(name, deleted=deleted)
            if e.schema_id == schema_id
        ]

    def schema_types(self) -> list[str]:
        return [AVRO]

    def contexts(self) -> list[str]:
        return ["."]

    # --- subjects

    def list_subjects(
        self, prefix: str = "", deleted: bool = False, deleted_only: bool = False
    ) -> list[str]:
        return [
            subject
            for subject in sorted(self.state.subjects)
            if subject.startswith(prefix) and is_listed(self.state, subject, deleted, deleted_only)
        ]

    def list_versions(
        self, subject: str, deleted: bool = False, deleted_only: bool = False
    ) -> list[int]:
        entries = subject_entries(self.state, subject, deleted or deleted_only)
        return [e.version for e in entries if e.deleted or not deleted_only]

    def get_version(self, subject: str, version: Version, deleted: bool = False) -> SchemaVersion:
        return schema_version(
            self.state, subject, find_entry(self.state, subject, version, deleted)
        )

    def referenced_by(self, subject: str, version: Version) -> list[int]:
        entry = find_entry(self.state, subject, version, deleted=False)
        return self.state.live_referrers(subject, entry.version)

    def get_latest_with_metadata(
        self, subject: str, metadata: dict[str, str], deleted: bool = False
    ) -> SchemaVersion:
        for entry in reversed(subject_entries(self.state, subject, deleted)):
            props = self.state.schemas[entry.schema_id].metadata
            have = (props.properties or {}) if props else {}
            if all(have.get(k) == v for k, v in metadata.items()):
                return schema_version(self.state, subject, entry)
        raise SchemaNotFoundError()

    def lookup(
        self,
        subject: str,
        schema: str,
        references: Sequence[SchemaReference] = (),
        normalize: bool = False,
        deleted: bool = False,
    ) -> SchemaVersion:
        """The version of `subject` holding `schema`: 40401 if no subject, 40403 if not there."""
        state = self.state
        entries = subject_entries(state, subject, deleted)
        refs, deps = resolve_references(state, references)
        normalize = normalize or bool(effective_config(state, subject).normalize)
        wanted = parse_schema(schema, deps).text(normalize)
        for entry in reversed(entries):
            stored = state.schemas[entry.schema_id]
            if stored.references == refs and parse_stored(state, stored).text(normalize) == wanted:
                return schema_version(state, subject, entry)
        raise SchemaNotFoundError()

    def registered_id(
        self,
        subject: str,
        schema: str,
        *,
        schema_type: str | None = None,
        references: Sequence[SchemaReference] = (),
        metadata: Metadata | None = None,
        rule_set: RuleSet | None = None,
        normalize: bool = False,
    ) -> int | None:
        """The id `schema` already has as a live version of `subject`, when registering it
        again would write nothing; None when only the primary can answer."""
        try:
            plan = plan_registration(
                self.state,
                subject,
                schema,
                schema_type,
                references,
                metadata,
                rule_set,
                normalize,
                None,
                None,
            )
        except RegistryError:
            return None  # let the primary give the error
        return plan.live_id

    def check_compatibility(
        self,
        subject: str,
        version: Version | None,
        schema: str,
        *,
        references: Sequence[SchemaReference] = (),
        normalize: bool = False,
        verbose: bool = False,
    ) -> CompatibilityCheck:
        """Whether `schema` could be registered after `version` (None: the versions the level
        checks); `messages` are Confluent's, and given only when `verbose`."""
        config = effective_config(self.state, subject)
        if version is None:
            live = self.state.versions(subject)
        else:
            live = [find_entry(self.state, subject, version, deleted=False)]
        _, deps = resolve_references(self.state, references)
        parsed = parse_schema(schema, deps, new=True)
        level = CompatibilityLevel(config.compatibility_level or CompatibilityLevel.BACKWARD)
        messages = compatibility_messages(
            level,
            parsed,
            previous_schemas(self.state, live),
            validate_fields=bool(config.validate_fields),
        )
        return CompatibilityCheck(
            is_compatible=not messages, messages=messages if verbose else None
        )

    # --- config and mode

    def effective_config(self, subject: str | None) -> Config:
        return effective_config(self.state, subject)

    def get_config(self, subject: str | None = None, default_to_global: bool = False) -> Config:
        if subject is None:
            return effective_config(self.state, None)
        config = self.state.configs.get(subject)
        if config is not None:
            return config
        if default_to_global:
            return effective_config(self.state, None)
        raise SubjectCompatibilityNotConfiguredError(subject)

    def effective_mode(self, subject: str | None) -> str:
        return effective_mode(self.state, subject)

    def get_mode(self, subject: str | None = None, default_to_global: bool = False) -> Mode:
        if subject is None or default_to_global:
            return Mode(mode=effective_mode(self.state, subject))
        mode = self.state.modes.get(subject)
        if mode is None:
            raise SubjectModeNotConfiguredError(subject)
        return Mode(mode=mode)
