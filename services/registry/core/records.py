"""Log records of the registry topic and their JSON encoding, after Confluent's `_schemas` topic.

Keys are compact JSON with a fixed key order so that equal keys are equal bytes, which log
compaction relies on. A `None` value is a tombstone. Unknown key types decode to `UnknownRecord`
so other components (the catalog) can share the topic; garbage is logged and skipped.
"""

import json
import logging
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.registry.models import Config, Metadata, RuleSet, SchemaReference
from streammesh.models import WireModel

log = logging.getLogger(__name__)

SCHEMA = "SCHEMA"
CONFIG = "CONFIG"
MODE = "MODE"
DELETE_SUBJECT = "DELETE_SUBJECT"
NOOP = "NOOP"
ID_WATERMARK = "ID_WATERMARK"


class SchemaValue(WireModel):
    """The value of a SCHEMA record: one version of a subject. `schemaType` None means AVRO."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    subject: str
    version: int
    id: int
    schema_: str = Field(alias="schema")
    schema_type: str | None = None
    references: list[SchemaReference] = Field(default_factory=list)
    metadata: Metadata | None = None
    rule_set: RuleSet | None = None
    deleted: bool = False
    guid: str | None = None
    ts: int | None = None


@dataclass(frozen=True, slots=True)
class SchemaRecord:
    subject: str
    version: int
    value: SchemaValue | None  # None: permanently deleted


@dataclass(frozen=True, slots=True)
class ConfigRecord:
    subject: str | None  # None: the global config
    value: Config | None  # None: deleted


@dataclass(frozen=True, slots=True)
class ModeRecord:
    subject: str | None
    mode: str | None


@dataclass(frozen=True, slots=True)
class DeleteSubjectRecord:
    """Soft-deletes every version of `subject` up to `version`."""

    subject: str
    version: int


@dataclass(frozen=True, slots=True)
class NoopRecord:
    """Written by the log writer to learn when its reader has caught up."""


@dataclass(frozen=True, slots=True)
class IdWatermarkRecord:
    """The highest id ever issued, kept under one key so compaction never forgets it: once a
    hard-deleted schema's records are compacted away, its id must still not be handed out."""

    max_id: int


@dataclass(frozen=True, slots=True)
class UnknownRecord:
    keytype: str
    key: bytes
    value: bytes | None


Record = (
    SchemaRecord
    | ConfigRecord
    | ModeRecord
    | DeleteSubjectRecord
    | NoopRecord
    | IdWatermarkRecord
    | UnknownRecord
)


def _dumps(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _model(value: BaseModel | None) -> bytes | None:
    if value is None:
        return None
    data = value.model_dump(mode="json", by_alias=True, exclude_none=True)
    if data.get("references") == []:
        del data["references"]
    return _dumps(data)


def encode(record: Record) -> tuple[bytes, bytes | None]:
    """The Kafka key and value of `record`."""
    match record:
        case SchemaRecord(subject, version, value):
            key = {"keytype": SCHEMA, "subject": subject, "version": version, "magic": 1}
            return _dumps(key), _model(value)
        case ConfigRecord(subject, value):
            return _dumps({"keytype": CONFIG, "subject": subject, "magic": 0}), _model(value)
        case ModeRecord(subject, mode):
            key = {"keytype": MODE, "subject": subject, "magic": 0}
            return _dumps(key), None if mode is None else _dumps({"subject": subject, "mode": mode})
        case DeleteSubjectRecord(subject, version):
            key = {"keytype": DELETE_SUBJECT, "subject": subject, "magic": 0}
            return _dumps(key), _dumps({"subject": subject, "version": version})
        case NoopRecord():
            return _dumps({"keytype": NOOP, "magic": 0}), None
        case IdWatermarkRecord(max_id):
            return _dumps({"keytype": ID_WATERMARK, "magic": 0}), _dumps({"maxId": max_id})
        case UnknownRecord(_, key_bytes, value_bytes):
            return key_bytes, value_bytes


def decode(key: bytes, value: bytes | None) -> Record | None:
    """The record stored under `key`, or None (logged) when it is not one we can read."""
    try:
        parsed_key = json.loads(key)
        keytype = parsed_key["keytype"]
        parsed_value = None if value is None else json.loads(value)
        return _decode(keytype, parsed_key, parsed_value, key, value)
    except (ValueError, KeyError, TypeError, ValidationError) as exc:
        log.warning("Skipping unreadable registry record %r: %s", key[:200], exc)
        return None


def _decode(
    keytype: str, k: dict[str, Any], v: Any, key: bytes, value: bytes | None
) -> Record | None:
    subject = k.get("subject")
    if keytype == SCHEMA:
        sv = None if v is None else SchemaValue.model_validate(v)
        return SchemaRecord(str(subject), int(k["version"]), sv)
    if keytype == CONFIG:
        return ConfigRecord(subject, None if v is None else Config.model_validate(v))
    if keytype == MODE:
        return ModeRecord(subject, None if v is None else str(v["mode"]))
    if keytype == DELETE_SUBJECT:
        # Compaction may tombstone these; the SCHEMA records already carry the deleted flags.
        return None if v is None else DeleteSubjectRecord(str(subject), int(v["version"]))
    if keytype == NOOP:
        return NoopRecord()
    if keytype == ID_WATERMARK:
        return None if v is None else IdWatermarkRecord(int(v["maxId"]))
    return UnknownRecord(str(keytype), key, value)
