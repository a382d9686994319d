"""The one base of StreamMesh's JSON bodies: snake_case fields in Python, camelCase on the wire.

Confluent's APIs spell their JSON in camelCase (`schemaType`, `ruleSet`), and the catalog's
follows them. Both spellings are read; every dump uses the wire names, which clients read. A
wire name that is not the camelCase of its field (``schema``, ``is_compatible``) is set on the
field itself.
"""

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class WireModel(BaseModel):
    """A JSON body of the registry or the catalog."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True
    )
