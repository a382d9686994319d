"""Registry entities, shaped as Confluent's JSON; render with `by_alias=True, exclude_none=True`."""

from pydantic import BaseModel, ConfigDict, Field


class _Entity(BaseModel):
    # Unknown fields are ignored so newer clients and newer log records still parse.
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class SchemaReference(_Entity):
    name: str
    subject: str
    version: int


class Rule(_Entity):
    """A data-contract rule; fields other than `name` are kept as given (Confluent adds more)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    name: str
    kind: str | None = None
    mode: str | None = None
    type: str | None = None


class RuleSet(_Entity):
    migrationRules: list[Rule] | None = None  # noqa: N815 - Confluent's JSON name
    domainRules: list[Rule] | None = None  # noqa: N815
    encodingRules: list[Rule] | None = None  # noqa: N815 - payload encryption, Confluent 8


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
    schemaType: str | None = None  # noqa: N815
    references: list[SchemaReference] | None = None
    metadata: Metadata | None = None
    ruleSet: RuleSet | None = None  # noqa: N815
    maxId: int | None = None  # noqa: N815
    guid: str | None = None


class SchemaVersion(_Entity):
    """One version of a subject; `schemaType` is omitted for AVRO, as Confluent does."""

    subject: str
    version: int
    id: int
    schema_: str = Field(alias="schema")
    schemaType: str | None = None  # noqa: N815
    references: list[SchemaReference] | None = None
    metadata: Metadata | None = None
    ruleSet: RuleSet | None = None  # noqa: N815
    guid: str | None = None
    ts: int | None = None
    deleted: bool | None = None


class Config(_Entity):
    compatibilityLevel: str | None = None  # noqa: N815
    normalize: bool | None = None
    compatibilityGroup: str | None = None  # noqa: N815
    defaultMetadata: Metadata | None = None  # noqa: N815
    overrideMetadata: Metadata | None = None  # noqa: N815
    defaultRuleSet: RuleSet | None = None  # noqa: N815
    overrideRuleSet: RuleSet | None = None  # noqa: N815
    alias: str | None = None
    validateFields: bool | None = None  # noqa: N815
    validateRules: bool | None = None  # noqa: N815


class Mode(_Entity):
    mode: str


class CompatibilityCheck(_Entity):
    is_compatible: bool
    messages: list[str] | None = None
