"""Compiling a descriptor into a Confluent data contract: schema, `metadata` and `ruleSet`.

The result is registered with the value schema, so Confluent's own serializers (with
`use.latest.version`) and our quality monitor enforce the same rules:

- a quality rule without a target becomes a `CEL` rule over `message`;
- a rule on one `field` becomes a `CEL_FIELD` rule guarded by the field's full name
  (`fullName == 'streammesh.sales.Order.currency' ; <expr>`), Confluent's `guard ; expr` form;
- a rule on `tags` becomes a `CEL_FIELD` rule with those `tags`, run on every tagged field;
- field tags and classification go both inline (`confluent:tags` on the field, which travels with
  the schema text) and into `metadata.tags` keyed by the field's full name;
- ownership, identity, lifecycle and SLOs go into `metadata.properties` (string values);
  `metadata.sensitive` names the properties whose values are personal data.
"""

import copy
import json
from dataclasses import dataclass
from typing import NotRequired, TypedDict

from streammesh.deadletter import dlq_topic
from streammesh.products.avro import AvroSchema, iter_fields, parse_avro
from streammesh.products.descriptor import Descriptor, OnFailure, QualityRule
from streammesh.products.errors import ContractError

#: Confluent's rule parameter naming the dead-letter topic of a DLQ rule.
DLQ_TOPIC_PARAM = "dlq.topic"


class ConfluentRule(TypedDict):
    """One entry of `ruleSet.domainRules`, in the registry's JSON shape."""

    name: str
    doc: NotRequired[str]
    kind: str
    mode: str
    type: str
    tags: NotRequired[list[str]]
    params: NotRequired[dict[str, str]]
    expr: str
    onFailure: str
    disabled: bool


class RuleSet(TypedDict):
    domainRules: list[ConfluentRule]


class Metadata(TypedDict):
    tags: dict[str, list[str]]
    properties: dict[str, str]
    sensitive: list[str]


@dataclass(frozen=True)
class ContractRegistration:
    """What to register under `<topic>-value`: the annotated schema, its metadata and rules."""

    subject: str
    schema: str
    metadata: Metadata
    rule_set: RuleSet

    def request_body(self) -> dict[str, object]:
        """The body of `POST /subjects/{subject}/versions`."""
        return {
            "schemaType": "AVRO",
            "schema": self.schema,
            "metadata": self.metadata,
            "ruleSet": self.rule_set,
        }


def compile_contract(descriptor: Descriptor, value_schema_text: str) -> ContractRegistration:
    """Compile `descriptor` against its value schema; raises `ContractError` on a bad reference."""
    schema = parse_avro(value_schema_text, source=descriptor.topic.value_schema)
    if not schema.is_record:
        raise ContractError(f"{descriptor.topic.value_schema}: the value schema must be a record")
    tags = _field_tags(descriptor, schema)
    annotated = copy.deepcopy(schema.declaration)
    annotated_fields = {field.path: field for field in iter_fields(annotated)}
    for path, field_tags in tags.items():
        annotated_fields[path].declaration["confluent:tags"] = field_tags
    metadata = Metadata(
        tags={schema.fields[path].full_name: field_tags for path, field_tags in tags.items()},
        properties=_properties(descriptor),
        sensitive=["owner.contact"] if "@" in descriptor.team.contact else [],
    )
    rules = [compile_rule(rule, descriptor, schema) for rule in descriptor.quality]
    return ContractRegistration(
        subject=f"{descriptor.topic.name}-value",
        schema=json.dumps(annotated, separators=(",", ":")),
        metadata=metadata,
        rule_set=RuleSet(domainRules=rules),
    )


def compile_rule(rule: QualityRule, descriptor: Descriptor, schema: AvroSchema) -> ConfluentRule:
    """One quality rule as a Confluent `domainRules` entry."""
    params = dict(rule.params)
    if rule.on_failure is OnFailure.DLQ:
        params.setdefault(DLQ_TOPIC_PARAM, dlq_topic(descriptor.topic.name))
    if rule.field is not None:
        field = schema.fields.get(rule.field)
        if field is None:
            raise ContractError(
                f"quality rule {rule.name!r}: no field {rule.field!r} in the schema"
            )
        guard, body = split_guard(rule.expr)
        target = f"fullName == '{field.full_name}'"
        rule_type, expr = (
            "CEL_FIELD",
            f"{target} && ({guard}) ; {body}" if guard else f"{target} ; {body}",
        )
    elif rule.tags:
        rule_type, expr = "CEL_FIELD", rule.expr
    else:
        rule_type, expr = "CEL", rule.expr
    compiled = ConfluentRule(
        name=rule.name,
        kind=rule.kind.value,
        mode=rule.mode.value,
        type=rule_type,
        expr=expr,
        onFailure=rule.on_failure.value,
        disabled=rule.disabled,
    )
    if rule.description:
        compiled["doc"] = rule.description
    if rule.tags:
        compiled["tags"] = list(rule.tags)
    if params:
        compiled["params"] = params
    return compiled


def split_guard(expr: str) -> tuple[str, str]:
    """Split Confluent's `guard ; expr` form (at the first `;`, as the serdes do)."""
    guard, separator, body = expr.partition(";")
    if not separator:
        return "", expr.strip()
    return guard.strip(), body.strip()


def _field_tags(descriptor: Descriptor, schema: AvroSchema) -> dict[str, list[str]]:
    tags: dict[str, list[str]] = {}
    for path, note in descriptor.fields.items():
        if path not in schema.fields:
            raise ContractError(f"fields: no field {path!r} in {descriptor.topic.value_schema}")
        names = set(note.tags)
        if note.classification is not None:
            names.add(note.classification.value.upper())
        if names:
            tags[path] = sorted(names)
    return tags


def _properties(descriptor: Descriptor) -> dict[str, str]:
    properties = {
        "owner": descriptor.team.name,
        "owner.contact": descriptor.team.contact,
        "domain": descriptor.domain,
        "product": descriptor.name,
        "major": str(descriptor.major),
        "topic": descriptor.topic.name,
        "status": descriptor.status.value,
    }
    slos = descriptor.slos
    if slos.freshness is not None:
        properties["slo.freshness.seconds"] = f"{slos.freshness.seconds:g}"
    if slos.completeness is not None:
        properties["slo.completeness.ratio"] = f"{slos.completeness.ratio:g}"
    if slos.availability is not None:
        properties["slo.availability.ratio"] = f"{slos.availability.ratio:g}"
    if descriptor.input_ports:
        properties["input_ports"] = ",".join(descriptor.input_ports)
    if descriptor.deprecation is not None:
        properties["sunset"] = descriptor.deprecation.sunset.isoformat()
        if descriptor.deprecation.successor:
            properties["successor"] = descriptor.deprecation.successor
    return properties
