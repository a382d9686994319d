"""Export a descriptor and its value schema as an Open Data Contract Standard (ODCS) v3 contract.

Mapping: identity (`id` = `<domain>.<product>.v<major>`, `name`, `version` = `<major>.0.0`,
`status`, `domain`), `description`, `team` and `support` (the contact), the topic as the one
schema object (`physicalType: topic`) whose `properties` are the Avro fields (types, `required`,
`classification`, `tags`, enum values, nested records and arrays), quality rules as `custom`
checks run by the `confluent` engine (message-level on the object, field-level on the
property), SLOs and retention as `slaProperties`, and what ODCS has no field for (input ports,
partitions, cleanup policy, schema files) as `customProperties`. `dataProduct` is left out:
ODCS deprecated it in v3.1.0.
"""

from datetime import timedelta
from typing import Any

from streammesh.products.avro import AvroSchema, parse_avro
from streammesh.products.contract import compile_rule
from streammesh.products.descriptor import Descriptor, OnFailure, QualityRule
from streammesh.products.errors import ContractError

ODCS_API_VERSION = "v3.2.0"

_LOGICAL = {
    "string": "string",
    "enum": "string",
    "fixed": "string",
    "int": "integer",
    "long": "integer",
    "float": "number",
    "double": "number",
    "boolean": "boolean",
    "bytes": "string",
    "record": "object",
    "array": "array",
    "map": "map",
}
_AVRO_LOGICAL = {
    "decimal": "number",
    "timestamp-millis": "timestamp",
    "timestamp-micros": "timestamp",
    "local-timestamp-millis": "timestamp",
    "local-timestamp-micros": "timestamp",
    "date": "date",
    "time-millis": "time",
    "time-micros": "time",
    "uuid": "string",
}


def to_odcs(
    descriptor: Descriptor, value_schema: str, *, bootstrap_servers: str | None = None
) -> dict[str, Any]:
    """The ODCS v3 data contract of `descriptor`, given the text of its value schema.

    `bootstrap_servers`, when given, adds the Kafka cluster as the contract's server.
    """
    d = descriptor
    schema = parse_avro(value_schema, source=d.topic.value_schema)
    if not schema.is_record:
        raise ContractError(f"{d.topic.value_schema}: the value schema must be a record")
    contract: dict[str, Any] = {
        "apiVersion": ODCS_API_VERSION,
        "kind": "DataContract",
        "id": d.ref,
        "name": d.name,
        "version": f"{d.major}.0.0",
        "status": d.status.value,
        "domain": d.domain,
        "description": _without_none(d.description.model_dump()),
        "team": _without_none({"name": d.team.name, "description": d.team.description}),
        "support": [_support(d.team.contact)],
        "schema": [_schema_object(d, schema)],
        "slaProperties": _sla(d),
        "customProperties": _custom(d),
    }
    if bootstrap_servers is not None:
        contract["servers"] = [
            {"server": "kafka", "type": "kafka", "host": bootstrap_servers, "format": "avro"}
        ]
    return contract


def _schema_object(d: Descriptor, schema: AvroSchema) -> dict[str, Any]:
    root = schema.declaration
    by_field = {rule.field: rule for rule in d.quality if rule.field is not None}
    obj: dict[str, Any] = {
        "name": root["name"],
        "physicalName": d.topic.name,
        "physicalType": "topic",
        "logicalType": "object",
        "description": root.get("doc") or d.description.purpose,
        "properties": [_property(f, f["name"], d, schema, by_field) for f in root["fields"]],
    }
    message_rules = [_quality(r, d, schema) for r in d.quality if r.field is None]
    if message_rules:
        obj["quality"] = message_rules
    return obj


def _property(
    field: dict[str, Any],
    path: str,
    d: Descriptor,
    schema: AvroSchema,
    by_field: dict[str, QualityRule],
) -> dict[str, Any]:
    prop = _type(field["type"], path, d, schema, by_field)
    prop["name"] = field["name"]
    if field.get("doc"):
        prop["description"] = field["doc"]
    note = d.fields.get(path)
    if note is not None and note.classification is not None:
        prop["classification"] = note.classification.value
    if note is not None and note.tags:
        prop["tags"] = list(note.tags)
    rule = by_field.get(path)
    if rule is not None:
        prop["quality"] = [_quality(rule, d, schema)]
    return prop


def _type(
    avro: Any,
    path: str,
    d: Descriptor,
    schema: AvroSchema,
    by_field: dict[str, QualityRule],
) -> dict[str, Any]:
    """ODCS type information of an Avro type; a `["null", X]` union is X, not required."""
    required = True
    if isinstance(avro, list):
        branches = [b for b in avro if b != "null"]
        required = len(branches) == len(avro)
        avro = branches[0] if len(branches) == 1 else avro
    if isinstance(avro, list):
        return {"logicalType": "object", "physicalType": "union", "required": required}
    if isinstance(avro, str):
        avro = {"type": avro}
    kind = avro["type"]
    if isinstance(kind, dict | list):
        return _type(kind, path, d, schema, by_field)
    logical = avro.get("logicalType")
    prop: dict[str, Any] = {
        "logicalType": _AVRO_LOGICAL.get(logical, _LOGICAL.get(kind, "object")),
        "physicalType": f"{kind}({logical})" if logical else kind,
        "required": required,
    }
    if logical == "decimal":
        prop["physicalType"] = f"{kind}(decimal({avro['precision']},{avro.get('scale', 0)}))"
    if kind == "enum":
        prop["physicalType"] = f"enum {avro['name']}"
        prop["enum"] = [{"value": symbol} for symbol in avro["symbols"]]
    elif kind == "record":
        prop["physicalType"] = f"record {avro['name']}"
        prop["properties"] = [
            _property(f, f"{path}.{f['name']}", d, schema, by_field) for f in avro["fields"]
        ]
    elif kind == "array":
        prop["items"] = _type(avro["items"], path, d, schema, by_field)
    elif kind not in _LOGICAL:
        prop["physicalType"] = str(kind)  # a reference to a named type declared earlier
    return prop


def _quality(rule: QualityRule, d: Descriptor, schema: AvroSchema) -> dict[str, Any]:
    severity = "warning" if rule.on_failure is OnFailure.NONE else "error"
    check: dict[str, Any] = {
        "name": rule.name,
        "type": "custom",
        "engine": "confluent",
        "implementation": dict(compile_rule(rule, d, schema)),
        "severity": severity,
    }
    if rule.description:
        check["description"] = rule.description
    if rule.dimension is not None:
        check["dimension"] = rule.dimension.value
    return check


def _support(contact: str) -> dict[str, Any]:
    if "@" in contact and not contact.startswith(("http://", "https://")):
        return {"channel": "owner", "tool": "email", "url": f"mailto:{contact}"}
    return {"channel": "owner", "tool": "other", "url": contact}


def _sla(d: Descriptor) -> list[dict[str, Any]]:
    s = d.slos
    sla: list[dict[str, Any]] = []
    if s.freshness is not None:
        sla.append(
            {
                "property": "latency",
                "value": s.freshness.seconds,
                "unit": "s",
                "description": "Freshness: event time to availability on the topic.",
                "customProperties": [{"property": "window", "value": _iso(s.freshness.window)}],
            }
        )
    for name, slo in (("completeness", s.completeness), ("availability", s.availability)):
        if slo is not None:
            sla.append(
                {
                    "property": name,
                    "value": slo.ratio,
                    "unit": "ratio",
                    "customProperties": [{"property": "window", "value": _iso(slo.window)}],
                }
            )
    retention = d.topic.retention
    if retention == "infinite":
        sla.append({"property": "retention", "value": "infinite"})
    else:
        sla.append(
            {"property": "retention", "value": retention.total_seconds() / 86400, "unit": "d"}
        )
    if d.deprecation is not None:
        sla.append({"property": "endOfLife", "value": d.deprecation.sunset.isoformat()})
    return sla


def _custom(d: Descriptor) -> list[dict[str, Any]]:
    topic = d.topic
    custom: list[dict[str, Any]] = [
        {"property": "inputPorts", "value": list(d.input_ports)},
        {"property": "partitions", "value": topic.partitions},
        {"property": "cleanupPolicy", "value": topic.cleanup_policy.value},
        {"property": "valueSchema", "value": topic.value_schema},
    ]
    if topic.key_schema is not None:
        custom.append({"property": "keySchema", "value": topic.key_schema})
    if d.deprecation is not None and d.deprecation.successor:
        custom.append({"property": "successor", "value": d.deprecation.successor})
    return custom


def _iso(window: timedelta) -> str:
    seconds = int(window.total_seconds())
    days, rest = divmod(seconds, 86400)
    return f"P{days}D" if not rest else f"PT{seconds}S"


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
