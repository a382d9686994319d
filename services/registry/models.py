"""Registry entities, shaped as Confluent's JSON (``WireModel``); render with exclude_none."""

from typing import Annotated, Final

from pydantic import ConfigDict, Field, StrictBool, WithJsonSchema

from streammesh.models import JsonInt, WireModel

MAX_INT: Final = 2**31 - 1  # Confluent's ids and versions are Java ints


class _Entity(WireModel):
    # Unknown fields are ignored so newer clients and newer log records still parse.
    model_config = ConfigDict(frozen=True, extra="ignore")


class SchemaReference(_Entity):
    name: str
    subject: str
    # 1 to 2^31-1, or -1 for the latest (pinned when registered); 42201 otherwise.
    version: Annotated[
        JsonInt,
        WithJsonSchema(
            {"anyOf": [{"type": "integer", "minimum": 1, "maximum": MAX_INT}, {"const": -1}]}
        ),
    ]


class Rule(_Entity):
    """A data-contract rule; fields other than `name` are kept as given (Confluent adds more)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    name: str
    kind: str | None = None
    mode: str | None = None
    type: str | None = None


class RuleSet(_Entity):
    migration_rules: list[Rule] | None = None
    domain_rules: list[Rule] | None = None
    encoding_rules: list[Rule] | None = None


class Metadata(_Entity):
    tags: dict[str, list[str]] | None = None
    properties: dict[str, str] | None = None
    sensitive: list[str] | None = None


class SchemaId(_Entity):
    id: int


class SubjectVersion(_Entity):
    subject: str
    version: int


class SchemaString(_Entity):
    """`GET /schemas/ids/{id}` and `/schemas/guids/{guid}`."""

    schema_: str = Field(alias="schema")
    schema_type: str | None = None
    references: list[SchemaReference] | None = None
    metadata: Metadata | None = None
    rule_set: RuleSet | None = None
    max_id: int | None = None
    guid: str | None = None


class SchemaVersion(_Entity):
    """One version of a subject; `schemaType` is omitted for AVRO, as Confluent does."""

    subject: str
    version: int
    id: int
    schema_: str = Field(alias="schema")
    schema_type: str | None = None
    references: list[SchemaReference] | None = None
    metadata: Metadata | None = None
    rule_set: RuleSet | None = None
    guid: str | None = None
    ts: int | None = None
    deleted: bool | None = None


class Config(_Entity):
    compatibility_level: str | None = None
    # Strict here and in requests: 0 or "yes" is refused, as the documented boolean says.
    normalize: StrictBool | None = None
    compatibility_group: str | None = None
    default_metadata: Metadata | None = None
    override_metadata: Metadata | None = None
    default_rule_set: RuleSet | None = None
    override_rule_set: RuleSet | None = None
    alias: str | None = None
    validate_fields: StrictBool | None = None
    validate_rules: StrictBool | None = None


class Mode(_Entity):
    mode: str


class CompatibilityCheck(_Entity):
    is_compatible: bool = Field(alias="is_compatible")  # snake_case in Confluent's JSON too
    messages: list[str] | None = None
