"""The data-product descriptor: one YAML file per product, validated by these models.

The models say what a descriptor *can* say (shape and types); whether it says it well is the
governance policies' job (`policies.py`), so a descriptor that breaks a convention still loads
and gets a clear violation instead of a parse error. Keys are camelCase and, where the Open Data
Contract Standard (ODCS v3) has a field for something, they use its name and meaning: `status`,
`description.purpose/usage/limitations`, `team`, `classification`, `quality`, `dimension`.
"""

import json
import re
from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Final, Literal, NamedTuple, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    StrictBool,
    StringConstraints,
    model_validator,
)
from pydantic.alias_generators import to_camel

from streammesh.models import INTEGER_ONLY

# Every string and collection a descriptor holds is bounded, so one tenant's descriptor cannot
# make the shared registry parse, check or store unbounded input; a longer one is refused with
# the field named. The policies rely on these bounds (their checks never see longer text).
NAME_MAX: Final = 256
"""Names, e-mail addresses, URLs, file paths, tags, product references."""
TEXT_MAX: Final = 4096
"""A note: a team's or a rule's description, migration notes, a rule parameter."""
DESCRIPTION_MAX: Final = 16384
"""The product's own description: purpose, usage, limitations."""
EXPR_MAX: Final = 4096
"""A quality rule's CEL expression."""
ITEMS_MAX: Final = 256
"""Rules, tags, input ports, rule parameters."""
FIELDS_MAX: Final = 4096
"""Annotated fields (an Avro record may have many)."""

Name = Annotated[str, StringConstraints(max_length=NAME_MAX)]
Text = Annotated[str, StringConstraints(max_length=TEXT_MAX)]
LongText = Annotated[str, StringConstraints(max_length=DESCRIPTION_MAX)]
Tags = Annotated[tuple[Name, ...], Field(max_length=ITEMS_MAX)]

#: Where the published JSON Schema of the descriptor lives, relative to the repository root.
JSON_SCHEMA_PATH = Path("schemas/descriptor.schema.json")

_REF = re.compile(
    r"^(?P<domain>[a-z][a-z0-9_]*)\.(?P<product>[a-z][a-z0-9_]*)\.v(?P<major>[1-9]\d*)$"
)


class ProductRef(NamedTuple):
    """A product's major line, written `<domain>.<product>.v<major>` (also its topic name)."""

    domain: str
    product: str
    major: int

    def __str__(self) -> str:
        return f"{self.domain}.{self.product}.v{self.major}"

    @classmethod
    def parse(cls, text: str) -> "ProductRef":
        """Parse `<domain>.<product>.v<major>`; raises `ValueError` with the expected form."""
        match = _REF.match(text)
        if match is None:
            raise ValueError(
                f"{text!r} is not a product reference of the form <domain>.<product>.v<major> "
                "(lowercase snake_case names, major >= 1)"
            )
        return cls(match["domain"], match["product"], int(match["major"]))


class Status(StrEnum):
    """Lifecycle status (ODCS `status`)."""

    DRAFT = "draft"
    ACTIVE = "active"
    DEPRECATED = "deprecated"
    RETIRED = "retired"


class CleanupPolicy(StrEnum):
    """Kafka `cleanup.policy` of the product topic."""

    DELETE = "delete"
    COMPACT = "compact"


class Classification(StrEnum):
    """Data classification of a field (ODCS `classification`)."""

    PUBLIC = "public"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"
    RESTRICTED = "restricted"


class Dimension(StrEnum):
    """Data-quality dimension of a rule (ODCS `quality[].dimension`)."""

    ACCURACY = "accuracy"
    COMPLETENESS = "completeness"
    CONFORMITY = "conformity"
    CONSISTENCY = "consistency"
    COVERAGE = "coverage"
    TIMELINESS = "timeliness"
    UNIQUENESS = "uniqueness"


class RuleKind(StrEnum):
    """Confluent rule kind: a CONDITION checks a value, a TRANSFORM rewrites it."""

    CONDITION = "CONDITION"
    TRANSFORM = "TRANSFORM"


class RuleMode(StrEnum):
    """When Confluent's serdes run the rule: on produce, on consume, or both."""

    WRITE = "WRITE"
    READ = "READ"
    WRITEREAD = "WRITEREAD"


class OnFailure(StrEnum):
    """Confluent rule action on failure: raise, send to the dead-letter topic, or ignore."""

    ERROR = "ERROR"
    DLQ = "DLQ"
    NONE = "NONE"


# A positive JSON integer: not true, which lax pydantic reads as 1.
Count = Annotated[PositiveInt, INTEGER_ONLY]


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        use_attribute_docstrings=True,
    )


class Team(_Model):
    """The owning team (ODCS `team`) and how to reach it."""

    name: Name
    """Team name, e.g. `sales-platform`."""
    contact: Name
    """An email address or an http(s) URL (chat channel, issue tracker) that reaches the team."""
    description: Text | None = None
    """What the team does, for the catalog."""


class Description(_Model):
    """High-level description of the product (ODCS `description`)."""

    purpose: LongText
    """Why the product exists and what one record means."""
    usage: LongText | None = None
    """Intended usage."""
    limitations: LongText | None = None
    """Known limitations: lateness, gaps, approximations."""


class Topic(_Model):
    """The product's Kafka topic and its Avro contract files."""

    name: Name
    """Topic name, `<domain>.<product>.v<major>`."""
    partitions: Count
    """Number of partitions."""
    cleanup_policy: CleanupPolicy = CleanupPolicy.DELETE
    """`delete` (an event stream) or `compact` (latest value per key)."""
    retention: timedelta | Literal["infinite"]
    """How long records are kept: an ISO-8601 duration such as `P7D`, or `infinite`."""
    key_schema: Name | None = None
    """Key `.avsc` path from the repository root: `schemas/avro/<domain>/<name>.avsc`."""
    value_schema: Name
    """Value `.avsc` path from the repository root: `schemas/avro/<domain>/<name>.avsc`."""

    @property
    def retention_ms(self) -> int:
        """Kafka `retention.ms`: -1 means keep forever."""
        if self.retention == "infinite":
            return -1
        return int(self.retention.total_seconds() * 1000)


class FreshnessSlo(_Model):
    """Records are available this many seconds after their event time, measured over `window`."""

    seconds: float
    """Maximum end-to-end lag in seconds (event time to availability on the topic)."""
    window: timedelta
    """Evaluation window, an ISO-8601 duration such as `PT1H`."""


class RatioSlo(_Model):
    """A ratio objective in (0, 1], measured over `window`."""

    ratio: float
    """Target ratio, e.g. 0.999."""
    window: timedelta
    """Evaluation window, an ISO-8601 duration such as `P28D`."""


class Slos(_Model):
    """Service-level objectives; exported to ODCS `slaProperties`."""

    freshness: FreshnessSlo | None = None
    """Lag between event time and availability."""
    completeness: RatioSlo | None = None
    """Share of records that pass every quality rule."""
    availability: RatioSlo | None = None
    """Share of time the topic accepts writes and serves reads."""


class FieldAnnotation(_Model):
    """Classification and tags of one Avro field (ODCS `classification`, `tags`)."""

    classification: Classification | None = None
    """How sensitive the field is."""
    tags: Tags = ()
    """Confluent schema tags, e.g. `PII`; field-level quality rules can target them."""


class QualityRule(_Model):
    """A quality rule (ODCS `quality`), compiled to a Confluent data-contract rule.

    Without `field` or `tags` the rule is a message-level CEL expression over `message`. With
    `field` (a dotted path from the record root, e.g. `line_items.sku`) or `tags` it is a
    CEL_FIELD rule over `value` (also `name`, `fullName`, `typeName`, `tags`, `message`).
    """

    # `_one_target` below, said to editors and API clients too.
    model_config = ConfigDict(
        json_schema_extra={
            "not": {
                "required": ["field", "tags"],
                "properties": {"field": {"type": "string"}, "tags": {"minItems": 1}},
            }
        }
    )

    name: Name
    """Rule name, snake_case, unique within the product."""
    description: Text | None = None
    """What the rule guarantees, in words."""
    dimension: Dimension | None = None
    """The quality dimension it measures."""
    field: Text | None = None
    """Apply to this field only (dotted path from the root record)."""
    tags: Tags = ()
    """Apply to every field carrying one of these tags."""
    expr: Annotated[str, StringConstraints(max_length=EXPR_MAX)]
    """CEL expression that must be true (CONDITION) or yields the new value (TRANSFORM)."""
    kind: RuleKind = RuleKind.CONDITION
    """CONDITION or TRANSFORM."""
    mode: RuleMode = RuleMode.WRITE
    """WRITE (producer), READ (consumer) or WRITEREAD."""
    on_failure: OnFailure = OnFailure.ERROR
    """ERROR, DLQ (to `<topic>.dlq`) or NONE."""
    params: dict[Name, Text] = Field(default_factory=dict, max_length=ITEMS_MAX)
    """Extra Confluent rule parameters."""
    disabled: StrictBool = False
    """Keep the rule declared but do not run it."""

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if self.field is not None and self.tags:
            raise ValueError("a quality rule targets either one `field` or `tags`, not both")
        return self


class Deprecation(_Model):
    """When a deprecated product goes away and what replaces it."""

    sunset: date
    """The date the topic stops receiving data."""
    successor: Name | None = None
    """The product that replaces it, `<domain>.<product>.v<major>`."""
    note: Text | None = None
    """Migration notes for consumers."""


class Descriptor(_Model):
    """A data product: its identity, owner, topic, contract, SLOs, lineage and lifecycle."""

    model_config = ConfigDict(title="StreamMesh data product descriptor")

    domain: Name
    """Owning domain, lowercase snake_case (ODCS `domain`)."""
    name: Name
    """Product name, lowercase snake_case, unique within the domain."""
    major: Count
    """Major version: a breaking change to the contract means a new major and a new topic."""
    status: Status
    """Lifecycle status (ODCS `status`)."""
    description: Description
    """What the product is (ODCS `description`)."""
    team: Team
    """Owner (ODCS `team`)."""
    topic: Topic
    """The product topic and its Avro contract."""
    slos: Slos = Slos()
    """Service-level objectives."""
    quality: Annotated[tuple[QualityRule, ...], Field(max_length=ITEMS_MAX)] = ()
    """Quality rules, enforced by Confluent serdes and by the quality monitor."""
    fields: dict[Text, FieldAnnotation] = Field(default_factory=dict, max_length=FIELDS_MAX)
    """Classification and tags per value field, keyed by dotted path from the root record."""
    input_ports: Annotated[tuple[Name, ...], Field(max_length=ITEMS_MAX)] = ()
    """Upstream products this one is derived from, `<domain>.<product>.v<major>`."""
    deprecation: Deprecation | None = None
    """Sunset date and successor; required once `status` is `deprecated`."""

    @property
    def ref(self) -> str:
        """This product's reference, `<domain>.<product>.v<major>`."""
        return f"{self.domain}.{self.name}.v{self.major}"

    def tagged(self, tag: str) -> list[str]:
        """The field paths carrying `tag`, in declaration order."""
        return [path for path, note in self.fields.items() if tag in note.tags]


def descriptor_json_schema() -> dict[str, Any]:
    """The descriptor's JSON Schema, as published for editors at `JSON_SCHEMA_PATH`."""
    schema = Descriptor.model_json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def render_json_schema() -> str:
    """The exact text of the published JSON Schema file."""
    return json.dumps(descriptor_json_schema(), indent=2, sort_keys=False) + "\n"


def write_json_schema(root: Path) -> Path:
    """Write the JSON Schema under repository `root`; returns the file written."""
    target = root / JSON_SCHEMA_PATH
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_json_schema(), encoding="utf-8")
    return target
